"""OgcApiRecordsRemote over real HTTP against a loopback server replaying
documents recorded from pycsw 3.0.0b2 and pygeoapi 0.21."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.ogcapi import PageRequest, WalkCursor
from harvesting.remotes.ogcapi_records import OgcApiRecordsRemote
from tests.servers.replay import Replay, without_next

DATA = Path(__file__).resolve().parents[1] / "data" / "ogcapi"
PYCSW = DATA / "records" / "captured-pycsw-3.0.0b2"
PYGEOAPI = DATA / "records" / "captured-pygeoapi-0.21.0"
MAPSERVER = DATA / "features" / "captured-mapserver-8.0.0"
JSON = "application/json"
GEOJSON = "application/geo+json"
DC_ID = "urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"
CANADA_ID = "e5a71860-827c-453f-990e-0e0ba0ee67bb"
NOT_FOUND = b'{"code": "NotFound", "description": "item not found"}'


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5)
    yield client
    client.close()


@pytest.fixture
def pycsw() -> Iterator[Replay]:
    """pycsw 3's Records API: one record collection of two pages (the second
    page's next link removed, so the walk ends there) and two records."""
    server = Replay(("http://127.0.0.1:8010",), NOT_FOUND)
    server.serve("/", (200, JSON, server.document(PYCSW / "landing.json")))
    server.serve("/conformance", (200, JSON, server.document(PYCSW / "conformance.json")))
    server.serve("/collections", (200, JSON, server.document(PYCSW / "collections.json")))
    server.serve("/collections/metadata:main", (200, JSON, server.document(PYCSW / "collection_metadata_main.json")))
    page1 = server.document(PYCSW / "items_page1_limit5.json")
    page2 = server.document(PYCSW / "items_page2_limit5.json", without_next)
    server.serve(
        "/collections/metadata:main/items", lambda seen: (200, GEOJSON, page2 if "offset" in seen.query else page1)
    )
    for name, record_id in (("item_dc_cite.json", DC_ID), ("item_iso_3e9a8c05.json", "3e9a8c05")):
        server.serve(f"/collections/metadata:main/items/{record_id}", (200, GEOJSON, server.document(PYCSW / name)))
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def pygeoapi() -> Iterator[Replay]:
    server = Replay(("http://127.0.0.1:5000",), NOT_FOUND)
    server.serve("/", (200, JSON, server.document(PYGEOAPI / "landing.json")))
    server.serve("/collections", (200, JSON, server.document(PYGEOAPI / "collections.json")))
    canada = server.document(PYGEOAPI / "canada_items_limit3.json", without_next)
    facade = server.document(PYGEOAPI / "cswfacade_items_limit3.json", without_next)
    deep = server.document(PYGEOAPI / "synthetic10k_items_offset5000_limit5.json")
    server.serve("/collections/canada-metadata/items", (200, GEOJSON, canada))
    server.serve("/collections/pycsw-facade/items", (200, GEOJSON, facade))
    server.serve("/collections/synthetic-records/items", (200, GEOJSON, deep))
    server.serve(
        f"/collections/canada-metadata/items/{CANADA_ID}",
        (200, GEOJSON, server.document(PYGEOAPI / "canada_item.json")),
    )
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def records(url: str, http: HttpClient, **options: str) -> OgcApiRecordsRemote:
    return OgcApiRecordsRemote(url, RemoteOptions(dict(options)), http)


def test_pycsw_catalogue_is_walked_page_by_page(pycsw: Replay, http: HttpClient) -> None:
    remote = records(pycsw.base + "/", http, limit="5")
    assert remote.check_availability()
    first = remote.list_resources(None)
    assert (first.total, first.position, first.next_position, first.requested) == (29, 1, 6, 5)
    assert len(first.resources) == 5
    assert first.resources[0].remote_id == f"metadata:main/{DC_ID}"
    assert first.next_cursor is not None
    second = remote.list_resources(first.next_cursor)
    # The last page of its collection claims no page size: it may be short.
    assert (second.total, second.position, second.next_position, second.requested) == (29, 6, 11, None)
    assert second.next_cursor is None
    assert [r.title for r in second.resources][:2] == [
        "Vestibulum massa purus",
        "urn:uuid:88247b56-4cbc-4df9-9860-db3f8042e357",
    ]
    items = [r for r in pycsw.requests if r.path == "/collections/metadata:main/items"]
    assert items[0].query == {"limit": "5", "f": "json"}
    assert items[1].query == {"limit": "5", "offset": "5"}  # the server's next link, as given


def test_a_restarted_process_resumes_from_the_cursor(pycsw: Replay, http: HttpClient) -> None:
    cursor = records(pycsw.base + "/", http, limit="5").list_resources(None).next_cursor
    assert cursor is not None
    resumed = records(pycsw.base + "/", http, limit="5").list_resources(cursor)
    assert resumed.position == 6 and len(resumed.resources) == 5


def test_pycsw_records_are_fetched_and_reparsed(pycsw: Replay, http: HttpClient) -> None:
    remote = records(pycsw.base, http)
    fetched = remote.fetch("metadata:main/3e9a8c05")
    assert fetched.descriptor["title"] == "test Title"
    assert fetched.descriptor["temporal_extent"] == ["2011-04-18", "2011-04-20"]
    assert fetched.modified == "2011-04-18"
    assert fetched.raw == pycsw.document(PYCSW / "item_iso_3e9a8c05.json")
    assert remote.reparse(fetched.raw, "metadata:main/3e9a8c05").content_hash == fetched.content_hash
    dc = remote.fetch(f"metadata:main/{DC_ID}")
    assert dc.descriptor["resource_type"] == "image"
    fetch = [r for r in pycsw.requests if r.path.startswith("/collections/metadata:main/items/")]
    assert all(r.query == {"f": "json"} for r in fetch)


def test_a_record_gone_from_the_remote_is_not_found(pycsw: Replay, http: HttpClient) -> None:
    with pytest.raises(RemoteError) as caught:
        records(pycsw.base, http).fetch("metadata:main/urn:uuid:gone")
    assert caught.value.kind == "not-found"
    assert "HTTP 404, NotFound: item not found" in caught.value.message


def test_a_collection_url_walks_that_collection(pycsw: Replay, http: HttpClient) -> None:
    remote = records(pycsw.base + "/collections/metadata:main", http, limit="5")
    page = remote.list_resources(None)
    assert page.total == 29 and len(page.resources) == 5
    assert "/collections" not in pycsw.paths()


def test_pygeoapi_walks_several_record_collections(pygeoapi: Replay, http: HttpClient) -> None:
    remote = records(pygeoapi.base, http, collections="canada-metadata,pycsw-facade", limit="3")
    first = remote.list_resources(None)
    # Totals of both collections, asked up front with limit=1.
    assert first.total == 10 + 17
    assert [r.remote_id for r in first.resources] == [
        f"canada-metadata/{CANADA_ID}",
        "canada-metadata/64e70d29-57a3-44a8-b55c-d465639d1e2e",
        "canada-metadata/d3028ad0-b0d0-47ff-bcc3-d383881e17cd",
    ]
    assert first.next_cursor is not None
    second = remote.list_resources(first.next_cursor)
    assert second.total == 27 and second.next_cursor is None
    assert second.resources[0].remote_id == "pycsw-facade/3e9a8c05"
    probes = [r.query for r in pygeoapi.requests if r.query.get("limit") == "1"]
    assert probes == [{"limit": "1", "f": "json"}] * 2
    fetched = remote.fetch(f"canada-metadata/{CANADA_ID}")
    assert fetched.descriptor["dates"]["created"] == "2019-03-18T14:30:23Z"


def test_pygeoapi_deep_offset_page(pygeoapi: Replay, http: HttpClient) -> None:
    remote = records(pygeoapi.base, http, collections="synthetic-records", limit="5")
    request = PageRequest(f"{pygeoapi.base}/collections/synthetic-records/items?offset=5000&limit=5")
    page = remote.list_resources(WalkCursor(0, "synthetic-records", request, seen=5000).encode())
    assert (page.total, page.position, page.next_position, page.requested) == (10000, 5001, 5006, 5)
    assert page.next_cursor is not None
    following = WalkCursor.decode(page.next_cursor)
    assert following.request is not None and following.request.offset() == 5005


def test_unknown_collection_option_is_a_bad_option(pygeoapi: Replay, http: HttpClient) -> None:
    with pytest.raises(RemoteError) as caught:
        records(pygeoapi.base, http, collections="lakes").list_resources(None)
    assert caught.value.kind == "bad-option"


def test_a_features_server_is_not_taken_for_a_catalogue(http: HttpClient) -> None:
    server = Replay(("http://127.0.0.1:8081/mapserv/small/ogcapi",), NOT_FOUND)
    server.serve("/", (200, JSON, server.document(MAPSERVER / "landing.json")))
    server.serve("/collections", (200, JSON, server.document(MAPSERVER / "collections.json")))
    server.thread.start()
    try:
        remote = records(server.base, http)
        with pytest.raises(RemoteError) as caught:
            remote.list_resources(None)
        assert caught.value.kind == "parse-error" and "itemType 'record'" in caught.value.message
        with pytest.raises(RemoteError) as caught:
            remote.check_availability()
        assert caught.value.kind == "parse-error" and "itemType 'record'" in caught.value.message
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def test_http_500_on_a_page(pycsw: Replay, http: HttpClient) -> None:
    pycsw.serve("/collections/metadata:main/items", (500, "text/html", b"<h1>Internal Server Error</h1>"))
    with pytest.raises(RemoteError) as caught:
        records(pycsw.base, http).list_resources(None)
    assert caught.value.kind == "http-error"
    assert "HTTP 500, got 30 bytes of text/html" in caught.value.message


def test_error_document_with_http_200(pycsw: Replay, http: HttpClient) -> None:
    error = b'{"code": "InvalidParameterValue", "description": "limit must be at most 50"}'
    pycsw.serve("/collections/metadata:main/items", (200, JSON, error))
    with pytest.raises(RemoteError) as caught:
        records(pycsw.base, http, limit="500").list_resources(None)
    assert caught.value.kind == "exception-report"
    assert "InvalidParameterValue: limit must be at most 50" in caught.value.message


def test_error_document_with_http_400_is_quoted(pycsw: Replay, http: HttpClient) -> None:
    error = b'{"code": "InvalidParameterValue", "description": "bad offset"}'
    pycsw.serve("/collections/metadata:main/items", (400, JSON, error))
    with pytest.raises(RemoteError) as caught:
        records(pycsw.base, http).list_resources(None)
    assert caught.value.kind == "http-error" and "HTTP 400, InvalidParameterValue: bad offset" in caught.value.message


def test_malformed_page(pycsw: Replay, http: HttpClient) -> None:
    body = pycsw.document(PYCSW / "items_page1_limit5.json")
    pycsw.serve("/collections/metadata:main/items", (200, GEOJSON, body[: len(body) // 2]))
    with pytest.raises(RemoteError) as caught:
        records(pycsw.base, http).list_resources(None)
    assert caught.value.kind == "parse-error" and "malformed JSON" in caught.value.message


def test_html_instead_of_json(pycsw: Replay, http: HttpClient) -> None:
    pycsw.serve("/", (200, "text/html", b"<!doctype html><html><body>pycsw</body></html>"))
    remote = records(pycsw.base, http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "parse-error" and "expected JSON, got 46 bytes of text/html" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "parse-error"


def test_refused_connection(http: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote = records(f"http://127.0.0.1:{port}/", http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "unreachable"
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "unreachable"
    with pytest.raises(RemoteError) as fetch:
        remote.fetch("metadata:main/3e9a8c05")
    assert fetch.value.kind == "unreachable"


def test_bad_options() -> None:
    for options in ({"limit": "0"}, {"limit": "many"}):
        with pytest.raises(RemoteError) as caught:
            OgcApiRecordsRemote("http://127.0.0.1:1/", RemoteOptions(options), HttpClient())
        assert caught.value.kind == "bad-option"
    with pytest.raises(RemoteError):
        OgcApiRecordsRemote("file:///etc/passwd", RemoteOptions(), HttpClient())
