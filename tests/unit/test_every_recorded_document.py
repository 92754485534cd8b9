"""Every recorded document in tests/data, handed to every protocol's parser as
if a remote had served it: each either parses or fails with a RemoteError (a
clear, specific message), never another exception that would crash a worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvesting.remotes import REMOTE_TYPES, make_remote
from harvesting.remotes.base import FetchedResource, RemoteError
from harvesting.remotes.http import HttpClient
from harvesting.remotes.wms import parse_capabilities

DATA = Path(__file__).resolve().parents[1] / "data"
DOCUMENTS = sorted(p for p in DATA.rglob("*") if p.suffix in (".xml", ".json") and p.is_file())
OPTIONS = {"csw": {"output_schema": "iso"}}


def test_there_are_recorded_documents_of_every_protocol() -> None:
    folders = {p.relative_to(DATA).parts[0] for p in DOCUMENTS}
    assert {"wms", "geonode", "csw", "ogcapi", "arcgis"} <= folders
    assert len(DOCUMENTS) > 100


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(DATA)))
def test_document_parses_or_fails_clearly_in_every_protocol(path: Path) -> None:
    body = path.read_bytes()
    http = HttpClient(timeout_s=1)
    try:
        for remote_type in REMOTE_TYPES:
            remote = make_remote(remote_type, "http://127.0.0.1:9/unused", OPTIONS.get(remote_type, {}), http)
            for remote_id in ("some-id", "metadata:main/some-id", "collection:some-id", "MapServer/0"):
                try:
                    result = remote.reparse(body, remote_id)
                except RemoteError as e:
                    assert e.message and "\n" not in e.message, (remote_type, e.message)
                else:
                    assert isinstance(result, FetchedResource)
                    assert result.content_hash
        try:
            parse_capabilities(body, "http://127.0.0.1:9/wms")
        except RemoteError as e:
            assert e.kind in ("parse-error", "exception-report"), e
    finally:
        http.close()
