"""GeoNodeRemote over real HTTP against a loopback server replaying documents
recorded from GeoNode 4.4.5."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.geonode import GeoNodeRemote
from harvesting.remotes.http import HttpClient
from tests.servers.replay import JSON, Answer, Replay, Seen

DATA = Path(__file__).resolve().parents[1] / "data" / "geonode" / "captured-geonode-4.4.5"
DATASET_UUID = "72ec2bc7-c198-475c-bdeb-7554b95ff114"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_bytes())


class ReplayServer:
    """Serves a two-page listing (recorded page 1 and the recorded last page
    renumbered as page 2), the API root and one dataset detail.

    Path prefixes pick a misbehaviour: /broken/… answers 500, /html/… answers
    200 with an HTML body.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                owner.requests.append((parts.path, query))
                status, content_type, body = owner.answer(parts.path, query)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval keeps shutdown (and so each test) quick.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def pages(self) -> dict[int, Any]:
        first = load("resources_page1_size5.json")
        first["links"]["next"] = f"{self.base}/api/v2/resources?page=2&page_size=5"
        last = load("resources_page206_size5_last.json")
        last["page"] = 2
        last["links"]["previous"] = f"{self.base}/api/v2/resources?page=1&page_size=5"
        return {1: first, 2: last}

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        as_json = "application/json"
        if path.startswith("/broken/"):
            return 500, "text/html", b"<h1>Server Error (500)</h1>"
        if path.startswith("/html/"):
            return 200, "text/html", b"<!doctype html><html><body>Welcome to GeoNode</body></html>"
        if path == "/api/v2/":
            return 200, as_json, (DATA / "api_v2_root.json").read_bytes()
        if path == "/api/v2/resources":
            pages = self.pages()
            if "filter{uuid}" in query:
                wanted = query["filter{uuid}"][0]
                found = [r for p in pages.values() for r in p["resources"] if r["uuid"] == wanted]
                doc = {
                    "links": {"next": None, "previous": None},
                    "total": len(found),
                    "page": 1,
                    "page_size": 10,
                    "resources": found,
                }
                return 200, as_json, json.dumps(doc).encode()
            page = int(query.get("page", ["1"])[0])
            if page not in pages:
                return 404, as_json, (DATA / "resources_page_out_of_range_404.json").read_bytes()
            return 200, as_json, json.dumps(pages[page]).encode()
        if path == "/api/v2/datasets/1028":
            return 200, as_json, (DATA / "dataset_detail_1028.json").read_bytes()
        return 404, as_json, (DATA / "dataset_not_found_404.json").read_bytes()


@pytest.fixture()
def server() -> Iterator[ReplayServer]:
    s = ReplayServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(timeout=5)


@pytest.fixture()
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5.0)
    try:
        yield client
    finally:
        client.close()


def test_availability_listing_and_fetch(server: ReplayServer, http: HttpClient) -> None:
    remote = GeoNodeRemote(server.base + "/", RemoteOptions({"page_size": "5"}), http)
    assert remote.check_availability() is True

    cursor: str | None = None
    seen: list[str] = []
    pages = 0
    while True:
        page = remote.list_resources(cursor)
        pages += 1
        seen.extend(r.remote_id for r in page.resources)
        assert page.total == 1028
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 2
    assert len(seen) == 8
    assert seen[0] == DATASET_UUID
    assert seen[-1] == "ebb00ca2-7584-49de-9058-cfa28099a313"
    listing_queries = [q for p, q in server.requests if p == "/api/v2/resources"]
    assert [q["page"] for q in listing_queries] == [["1"], ["2"]]
    assert all(q["page_size"] == ["5"] for q in listing_queries)

    fetched = remote.fetch(DATASET_UUID)
    assert fetched.descriptor["identifier"] == DATASET_UUID
    assert fetched.descriptor["title"] == "layer_00999"
    assert fetched.descriptor["bbox"] == [0.0, 0.0, 22.0, 22.0]
    assert fetched.descriptor["crs"] == "EPSG:4326"
    assert fetched.modified == "2026-11-28T01:00:26.434849Z"
    assert fetched.raw == (DATA / "dataset_detail_1028.json").read_bytes()
    assert len(fetched.content_hash) == 64
    assert server.requests[-1][0] == "/api/v2/datasets/1028"


def test_server_side_filters_are_sent(server: ReplayServer, http: HttpClient) -> None:
    options = RemoteOptions({"resource_types": "dataset,document", "title_filter": "Layer_0099"})
    remote = GeoNodeRemote(server.base + "/api/v2/", options, http)
    page = remote.list_resources(None)
    assert len(page.resources) == 5
    _, query = server.requests[-1]
    assert query["filter{resource_type.in}"] == ["dataset", "document"]
    assert query["filter{title.icontains}"] == ["Layer_0099"]
    assert query["page_size"] == ["50"]


def test_fetch_in_a_fresh_process_looks_the_uuid_up(server: ReplayServer, http: HttpClient) -> None:
    remote = GeoNodeRemote(server.base, RemoteOptions(), http)
    fetched = remote.fetch(DATASET_UUID)
    assert fetched.descriptor["title"] == "layer_00999"
    assert [p for p, _ in server.requests] == ["/api/v2/resources", "/api/v2/datasets/1028"]
    with pytest.raises(RemoteError) as e:
        remote.fetch("00000000-0000-0000-0000-000000000000")
    assert e.value.kind == "not-found"


def test_page_that_vanished_is_reported(server: ReplayServer, http: HttpClient) -> None:
    remote = GeoNodeRemote(server.base, RemoteOptions({"page_size": "5"}), http)
    with pytest.raises(RemoteError) as e:
        remote.list_resources("3")
    assert e.value.kind == "http-error"
    assert "page 3 no longer exists" in e.value.message


def test_server_error_is_an_http_error(server: ReplayServer, http: HttpClient) -> None:
    remote = GeoNodeRemote(server.base + "/broken", RemoteOptions(), http)
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "http-error"
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)
    assert e.value.kind == "http-error"
    assert "500" in e.value.message


def test_non_json_answer_is_a_parse_error(server: ReplayServer, http: HttpClient) -> None:
    remote = GeoNodeRemote(server.base + "/html", RemoteOptions(), http)
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "parse-error" and "expected JSON, got 59 bytes of text/html" in e.value.message
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)
    assert e.value.kind == "parse-error"


def test_refused_connection_is_unreachable(http: HttpClient) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    remote = GeoNodeRemote(f"http://127.0.0.1:{port}", RemoteOptions(), http)
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "unreachable"
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)
    assert e.value.kind == "unreachable"
    with pytest.raises(RemoteError) as e:
        remote.fetch(DATASET_UUID)
    assert e.value.kind == "unreachable"


# --------------------------------------------------------------------------
# Item 15: metadata-only resources
# --------------------------------------------------------------------------


class MetadataOnlyServer(Replay):
    """A GeoNode 4.4.5 listing three recorded resources: document 19 flagged
    `metadata_only` in the listing, map 9 not flagged, map 8 gone. Like the
    live server, the type-specific endpoints answer 404 for metadata-only
    resources, which `/api/v2/resources/{pk}` serves under "resource"."""

    def __init__(self) -> None:
        super().__init__(fallback=self.answer)
        documents = load("documents_page1_size2.json")["documents"]
        maps = load("maps_page1_size2.json")["maps"]
        self.flagged = {**documents[0], "metadata_only": True}
        self.unflagged = maps[0]
        self.gone = maps[1]

    def answer(self, seen: Seen) -> Answer:
        path = seen.path
        gone = (DATA / "dataset_not_found_404.json").read_bytes()
        if path == "/api/v2/resources":
            listed = [self.flagged, self.unflagged, self.gone]
            doc = {"links": {"next": None, "previous": None}, "total": 3, "page": 1, "page_size": 50}
            return 200, JSON, json.dumps({**doc, "resources": listed}).encode()
        if path == f"/api/v2/resources/{self.flagged['pk']}":
            return 200, JSON, json.dumps({"resource": self.flagged}).encode()
        if path == f"/api/v2/resources/{self.unflagged['pk']}":
            return 200, JSON, json.dumps({"resource": {**self.unflagged, "metadata_only": True}}).encode()
        return 404, JSON, gone


@pytest.fixture()
def metadata_only() -> Iterator[MetadataOnlyServer]:
    with MetadataOnlyServer() as server:
        yield server


@pytest.mark.fault("15")
def test_metadata_only_resources_are_fetched_from_the_generic_endpoint(
    metadata_only: MetadataOnlyServer, http: HttpClient
) -> None:
    """GeoNode 4.4.5 lists `metadata_only` resources but answers 404 on
    /api/v2/documents/{pk} and /api/v2/maps/{pk}, so every run failed them:
    they are read from /api/v2/resources/{pk} (straight away when the listing
    says metadata_only, after the 404 otherwise), flagged in the descriptor."""
    remote = GeoNodeRemote(metadata_only.base, RemoteOptions(), http)
    listed = remote.list_resources(None)
    assert len(listed.resources) == 3

    flagged = remote.fetch(metadata_only.flagged["uuid"])
    assert flagged.descriptor["identifier"] == metadata_only.flagged["uuid"]
    assert flagged.descriptor["title"] == metadata_only.flagged["title"].strip()
    assert flagged.descriptor["extra"]["metadata_only"] is True
    assert metadata_only.paths()[-1] == f"/api/v2/resources/{metadata_only.flagged['pk']}"
    assert f"/api/v2/documents/{metadata_only.flagged['pk']}" not in metadata_only.paths()
    assert remote.reparse(flagged.raw, metadata_only.flagged["uuid"]).content_hash == flagged.content_hash

    unflagged = remote.fetch(metadata_only.unflagged["uuid"])
    assert unflagged.descriptor["extra"]["metadata_only"] is True
    pk = metadata_only.unflagged["pk"]
    assert metadata_only.paths()[-2:] == [f"/api/v2/maps/{pk}", f"/api/v2/resources/{pk}"]


@pytest.mark.fault("15")
def test_a_resource_gone_from_both_endpoints_is_not_found(metadata_only: MetadataOnlyServer, http: HttpClient) -> None:
    """A detail that 404s on its type endpoint and on /api/v2/resources/{pk}
    is gone: `not-found`, as before the metadata-only fallback."""
    remote = GeoNodeRemote(metadata_only.base, RemoteOptions(), http)
    remote.list_resources(None)
    with pytest.raises(RemoteError) as e:
        remote.fetch(metadata_only.gone["uuid"])
    assert e.value.kind == "not-found"
    pk = metadata_only.gone["pk"]
    assert metadata_only.paths()[-2:] == [f"/api/v2/maps/{pk}", f"/api/v2/resources/{pk}"]
