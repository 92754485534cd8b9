"""Large documents on disk, not in memory: a download goes to a spooled body,
the XML stream parser reads from it, the raw store copies it in pieces, and a
WMS keeps its parsed layers in a spool. Against a real loopback server, and
the raw store on both backends."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.spool import Spool, SpooledBody
from harvesting.remotes.wms import WmsLayer, WmsRemote, parse_capabilities
from harvesting.remotes.xml import iter_xml
from harvesting.runners.config import load_settings
from harvesting.runners.raw_store import RawStore
from harvesting.runners.runtime import Runtime
from tests.conftest import read_data
from tests.servers.hostile import HostileServer

CAPABILITIES = "wms/owslib/wms_geoserver-cap.xml"  # nested layers, inherited CRS and boxes


def spooled(data: bytes, piece: int = 1000) -> SpooledBody:
    body = SpooledBody()
    for start in range(0, len(data), piece):
        body.write(data[start : start + piece])
    return body.finish()


def test_a_spooled_body_reads_back_what_was_written() -> None:
    data = bytes(range(256)) * 5000
    body = spooled(data)
    assert body.size == len(data) == len(body)
    assert body.sha256 == hashlib.sha256(data).hexdigest()
    assert body.read_all() == data
    assert body.read(10, 250) == data[250:260]
    assert body.read(100, len(data) - 5) == data[-5:]
    assert b"".join(body.chunks(7777)) == data
    assert body.reader(start=3).read() == data[3:]
    assert body == data and body != data[:-1] and body == spooled(data)


def test_a_spool_keeps_the_first_item_of_a_key_in_order() -> None:
    spool: Spool[dict[str, Any]] = Spool()
    spool.add("b", {"n": 1})
    spool.add("a", {"n": 2})
    spool.add("b", {"n": 3})
    assert spool.keys() == ["b", "a"]
    assert spool.get("b") == {"n": 1}
    assert spool.get("missing") is None
    assert list(spool) == [{"n": 1}, {"n": 2}]
    assert len(spool) == 2


def test_download_spools_a_body_and_reads_errors_as_usual(hostile: HostileServer) -> None:
    document = read_data(CAPABILITIES)
    hostile.route("/big", lambda x: x.text(document, content_type="text/xml"))
    hostile.route("/missing", lambda x: x.text("no such map", status=404))
    client = HttpClient(timeout_s=5)
    try:
        answer = client.download(hostile.url + "/big")
        assert answer.body == b"" and answer.file is not None
        assert answer.file == document
        assert answer.file.sha256 == hashlib.sha256(document).hexdigest()
        with pytest.raises(RemoteError) as caught:
            client.download(hostile.url + "/missing")
        assert caught.value.kind == "http-error" and "404" in caught.value.message
    finally:
        client.close()


def test_download_refuses_a_body_above_the_limit(hostile: HostileServer) -> None:
    hostile.route("/huge", lambda x: x.text(b"<a>" + b"x" * 50_000 + b"</a>", content_type="text/xml"))
    client = HttpClient(timeout_s=5, max_bytes=10_000)
    try:
        with pytest.raises(RemoteError) as caught:
            client.download(hostile.url + "/huge")
        assert caught.value.kind == "too-large"
    finally:
        client.close()


def test_the_stream_parser_reads_a_spooled_body_like_bytes() -> None:
    document = read_data(CAPABILITIES)
    # A byte-order mark and blanks before the declaration, both seen in the wild.
    odd = b"\xef\xbb\xbf \r\n" + document
    from_bytes = [(e, el.tag) for e, el in iter_xml(odd, "u")]
    from_disk = [(e, el.tag) for e, el in iter_xml(spooled(odd), "u")]
    assert from_disk == from_bytes and len(from_disk) > 100
    with pytest.raises(RemoteError) as caught:
        list(iter_xml(spooled(b"<a><b></a>"), "u"))
    assert caught.value.kind == "parse-error" and "10 bytes" in caught.value.message
    with pytest.raises(RemoteError) as empty:
        list(iter_xml(spooled(b"   \n"), "u"))
    assert empty.value.kind == "parse-error"


def test_layers_parsed_into_a_spool_are_the_layers_parsed_into_a_list() -> None:
    document = read_data(CAPABILITIES)
    in_memory = parse_capabilities(document, "http://h/wms")
    spool: Spool[WmsLayer] = Spool()
    on_disk = parse_capabilities(spooled(document), "http://h/wms", spool=spool)
    assert on_disk.layers == [] and len(spool) > 0
    assert on_disk.layer_names() == in_memory.layer_names()
    for name in in_memory.layer_names():
        assert on_disk.layer(name) == in_memory.layer(name)


def test_a_wms_remote_fetches_layers_from_its_spooled_document(hostile: HostileServer) -> None:
    document = read_data(CAPABILITIES)
    hostile.route("/wms", lambda x: x.text(document, content_type="text/xml"))
    client = HttpClient(timeout_s=5)
    try:
        remote = WmsRemote(hostile.url + "/wms", RemoteOptions({"page_size": "2"}), client)
        page = remote.list_resources(None)
        assert len(page.resources) == 2 and page.next_cursor and page.total == 3
        rest = remote.list_resources(page.next_cursor)
        assert [r.remote_id for r in rest.resources] == ["child_layer"] and rest.next_cursor is None
        fetched = remote.fetch(page.resources[0].remote_id)
        assert isinstance(fetched.raw, SpooledBody) and fetched.raw == document
        assert remote.reparse(fetched.raw, page.resources[0].remote_id).content_hash == fetched.content_hash
        assert remote.reparse(document, page.resources[0].remote_id).content_hash == fetched.content_hash
        assert len(hostile.requests_to("/wms")) == 1
    finally:
        client.close()


def test_the_raw_store_keeps_a_spooled_document_once(rt: Runtime) -> None:
    data = read_data(CAPABILITIES) * 3
    body = spooled(data, piece=65536)
    store = RawStore(rt.db)
    assert store.put_many([body, body]) == {id(body): body.sha256}
    other = spooled(data)
    assert RawStore(rt.db).put_many([other]) == {id(other): body.sha256}
    assert RawStore(rt.db).get(body.sha256) == data
    assert rt.db.scalar("SELECT COUNT(*) FROM raw_documents") == 1
    assert rt.db.scalar("SELECT size FROM raw_documents") == len(data)


def test_a_store_made_before_the_body_was_last_still_takes_spooled_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HARVEST_DATABASE_URL", raising=False)
    path = tmp_path / "harvesting.sqlite3"
    Runtime(load_settings()).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE raw_documents")
        conn.execute("CREATE TABLE raw_documents (sha256 TEXT PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL)")
    rt = Runtime(load_settings())
    try:
        data = read_data(CAPABILITIES)
        body = spooled(data)
        RawStore(rt.db).put_many([body])
        assert RawStore(rt.db).get(body.sha256) == data
    finally:
        rt.close()


FULL_DISK = """
import resource, signal, sys
# Files of this process may not grow past 1 MB: writing further fails as a
# full disk does (EFBIG instead of ENOSPC), without touching the machine's disk.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.wms import WmsRemote
client = HttpClient(timeout_s=5)
try:
    WmsRemote(sys.argv[1], RemoteOptions({}), client).check_availability()
    print("no error")
except RemoteError as e:
    print(e.kind)
    print(e.message)
finally:
    client.close()
"""


def test_a_temporary_directory_that_cannot_take_the_document_is_one_clear_line(hostile: HostileServer) -> None:
    document = read_data(CAPABILITIES)
    big = document.replace(b"</WMT_MS_Capabilities>", b"<!--" + b"x" * 3_000_000 + b"--></WMT_MS_Capabilities>")
    assert len(big) > 3_000_000
    hostile.route("/wms", lambda x: x.text(big, content_type="text/xml"))
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, hostile.url + "/wms"], capture_output=True, text=True, timeout=60
    )
    lines = done.stdout.splitlines()
    assert lines and lines[0] == "local-disk", done.stdout + done.stderr
    assert "cannot keep the answer in the temporary directory" in lines[1]
    assert "Traceback" not in done.stderr
