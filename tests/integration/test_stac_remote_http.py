"""StacRemote over real HTTP against a loopback server replaying documents
recorded from rustac 0.9.18 and pycsw 3.0.0b2 (STAC API), and the stac-spec
examples laid out as a static catalogue."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.stac import StacRemote
from tests.servers.replay import Replay, list_all, without_next

DATA = Path(__file__).resolve().parents[1] / "data" / "ogcapi" / "stac"
RUSTAC = DATA / "captured-rustac-0.9.18"
PYCSW = DATA / "captured-pycsw-3.0.0b2"
SPEC = DATA / "stac-spec"
JSON = "application/json"
GEOJSON = "application/geo+json"
CS2 = "20201211_223832_CS2"
LONELY = "CS3-20160503_132131_08"


def features_of(path: Path, server: Replay) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(server.text(path))["features"]
    return features


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5)
    yield client
    client.close()


def stac(url: str, http: HttpClient, **options: str) -> StacRemote:
    return StacRemote(url, RemoteOptions(dict(options)), http)


# --------------------------------------------------------------------------
# rustac STAC API
# --------------------------------------------------------------------------


@pytest.fixture
def rustac() -> Iterator[Replay]:
    """rustac's API. The `synthetic` collection's second GET page (skip=2) is
    the recorded POST search page with its next link removed."""
    with Replay(("http://127.0.0.1:7822",)) as server:
        server.serve("/", (200, JSON, server.document(RUSTAC / "landing.json")))
        server.serve("/conformance", (200, JSON, server.document(RUSTAC / "conformance.json")))
        server.serve("/collections", (200, JSON, server.document(RUSTAC / "collections.json")))
        page1 = server.document(RUSTAC / "synthetic_items_limit2.json")
        page2 = server.document(RUSTAC / "POST_search_limit2_bbox.json", without_next)
        server.serve(
            "/collections/synthetic/items", lambda seen: (200, GEOJSON, page2 if "skip" in seen.query else page1)
        )
        for item in features_of(RUSTAC / "synthetic_items_limit2.json", server):
            server.serve(f"/collections/synthetic/items/{item['id']}", (200, GEOJSON, json.dumps(item).encode()))
        for entry in json.loads(server.text(RUSTAC / "collections.json"))["collections"]:
            server.serve(f"/collections/{entry['id']}", (200, JSON, json.dumps(entry).encode()))
        yield server


def test_rustac_collection_is_walked_by_next_links(rustac: Replay, http: HttpClient) -> None:
    remote = stac(rustac.base + "/", http, collections="synthetic", limit="2")
    assert remote.check_availability()
    first = remote.list_resources(None)
    assert [r.remote_id for r in first.resources] == ["synthetic/item-00000", "synthetic/item-00001"]
    assert (first.total, first.position, first.next_position, first.requested) == (None, 1, 3, 2)
    assert first.next_cursor is not None
    second = remote.list_resources(first.next_cursor)
    assert [r.remote_id for r in second.resources] == ["synthetic/item-00007", "synthetic/item-00089"]
    assert (second.position, second.next_position, second.next_cursor) == (3, 5, None)
    assert second.resources[0].modified is None  # only `datetime`: no modification stamp
    queries = [r.query for r in rustac.requests if r.path == "/collections/synthetic/items"]
    assert queries == [{"limit": "2"}, {"limit": "2", "skip": "2"}]


def test_rustac_items_and_collections_are_fetched(rustac: Replay, http: HttpClient) -> None:
    remote = stac(rustac.base + "/", http, collections="synthetic")
    item = remote.fetch("synthetic/item-00001")
    assert item.descriptor["title"] == "Item 1"
    assert item.descriptor["links"][0]["url"] == "http://127.0.0.1:8081/data/1.tif"
    assert remote.reparse(item.raw, "synthetic/item-00001").content_hash == item.content_hash
    collection = remote.fetch("collection:synthetic")
    assert collection.descriptor["license"] == "CC0-1.0"
    assert collection.descriptor["temporal_extent"] == ["2015-01-01T00:00:00Z", None]
    with pytest.raises(RemoteError) as gone:
        remote.fetch("synthetic/item-99999")
    assert gone.value.kind == "not-found" and "NotFound: not found" in gone.value.message


def test_rustac_collections_level(rustac: Replay, http: HttpClient) -> None:
    page = stac(rustac.base + "/", http, level="collections").list_resources(None)
    assert [r.remote_id for r in page.resources] == [
        "collection:extensions-collection",
        "collection:simple-collection",
        "collection:synthetic",
    ]
    assert page.next_cursor is None
    assert rustac.count("/collections/synthetic/items") == 0


def test_rustac_simple_collection_repeats_an_item_id(rustac: Replay, http: HttpClient) -> None:
    rustac.serve(
        "/collections/simple-collection/items", (200, GEOJSON, rustac.document(RUSTAC / "simple-collection_items.json"))
    )
    page = stac(rustac.base + "/", http, collections="simple-collection").list_resources(None)
    # Every item as listed; the lister keeps the first and names the repeats.
    assert [r.remote_id for r in page.resources] == [f"simple-collection/{CS2}"] * 3


def test_get_failure_falls_back_to_post_search(rustac: Replay, http: HttpClient) -> None:
    """rustac answers 500 to collection-filtered GET searches (PEERS quirk 7);
    a server doing so on the items endpoint is asked by POST /search instead,
    and its next links (method POST with a body) are followed."""
    rustac.serve("/collections/synthetic/items", (500, "text/plain", b"Internal Server Error"))
    final = rustac.document(RUSTAC / "synthetic_items_limit2.json", without_next)
    first = rustac.document(RUSTAC / "POST_search_limit2_bbox.json")
    rustac.serve("/search", lambda seen: (200, GEOJSON, final if "skip" in json.loads(seen.body) else first), "POST")
    remote = stac(rustac.base + "/", http, collections="synthetic", limit="2")
    page1 = remote.list_resources(None)
    assert [r.remote_id for r in page1.resources] == ["synthetic/item-00007", "synthetic/item-00089"]
    assert (page1.position, page1.next_position) == (1, 3)
    assert page1.next_cursor is not None
    page2 = remote.list_resources(page1.next_cursor)
    assert [r.remote_id for r in page2.resources] == ["synthetic/item-00000", "synthetic/item-00001"]
    assert (page2.position, page2.next_position, page2.next_cursor) == (3, 5, None)
    bodies = [json.loads(r.body) for r in rustac.requests if r.method == "POST"]
    assert bodies == [
        {"limit": 2, "collections": ["synthetic"]},
        {"limit": 2, "bbox": [0.0, 0.0, 20.0, 20.0], "skip": 2, "collections": ["synthetic"]},
    ]


def test_post_search_failing_too_reports_both(rustac: Replay, http: HttpClient) -> None:
    rustac.serve("/collections/synthetic/items", (500, "text/plain", b"Internal Server Error"))
    rustac.serve("/search", (500, JSON, b'{"code": "InternalServerError", "description": "backend down"}'), "POST")
    with pytest.raises(RemoteError) as caught:
        stac(rustac.base + "/", http, collections="synthetic").list_resources(None)
    assert caught.value.kind == "http-error"
    assert "POST" in caught.value.message and "backend down" in caught.value.message
    # The plain-text body of the GET's 500 is described, not quoted.
    assert "HTTP 500, got 21 bytes of text/plain" in caught.value.message
    assert "Internal Server Error" not in caught.value.message


def test_an_api_collection_url_walks_that_collection(rustac: Replay, http: HttpClient) -> None:
    remote = stac(rustac.base + "/collections/synthetic", http, limit="2")
    page = remote.list_resources(None)
    assert [r.remote_id for r in page.resources] == ["synthetic/item-00000", "synthetic/item-00001"]
    assert rustac.count("/collections") == 0
    assert [
        r.remote_id
        for r in stac(rustac.base + "/collections/synthetic", http, level="collections").list_resources(None).resources
    ] == ["collection:synthetic"]


def test_http_500_listing_collections(rustac: Replay, http: HttpClient) -> None:
    rustac.serve("/collections", (500, "text/plain", b"Internal Server Error"))
    with pytest.raises(RemoteError) as caught:
        stac(rustac.base + "/", http).list_resources(None)
    assert caught.value.kind == "http-error" and "HTTP 500, got 21 bytes of text/plain" in caught.value.message


def test_error_document_with_http_200(rustac: Replay, http: HttpClient) -> None:
    error = b'{"code": "BadRequest", "description": "limit out of range"}'
    rustac.serve("/collections/synthetic/items", (200, JSON, error))
    with pytest.raises(RemoteError) as caught:
        stac(rustac.base + "/", http, collections="synthetic").list_resources(None)
    assert caught.value.kind == "exception-report" and "BadRequest: limit out of range" in caught.value.message


def test_malformed_page(rustac: Replay, http: HttpClient) -> None:
    body = rustac.document(RUSTAC / "synthetic_items_limit2.json")
    rustac.serve("/collections/synthetic/items", (200, GEOJSON, body[:-40]))
    with pytest.raises(RemoteError) as caught:
        stac(rustac.base + "/", http, collections="synthetic").list_resources(None)
    assert caught.value.kind == "parse-error"


def test_refused_connection(http: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote = stac(f"http://127.0.0.1:{port}/catalog.json", http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "unreachable"
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "unreachable"


# --------------------------------------------------------------------------
# pycsw 3 STAC API: no collections listed, items by search
# --------------------------------------------------------------------------


def test_pycsw_items_are_walked_through_search(http: HttpClient) -> None:
    with Replay(("http://127.0.0.1:8010",)) as server:
        server.serve("/stac/", (200, JSON, server.document(PYCSW / "stac_root.json")))
        server.serve("/stac/collections", (200, JSON, server.document(PYCSW / "stac_collections.json")))
        server.serve("/stac/search", (200, GEOJSON, server.document(PYCSW / "stac_search_limit3.json")))
        # The page after: empty and without a next link, as past the end.
        last = server.document(PYCSW / "stac_search_limit3.json", lambda d: {**without_next(d), "features": []})
        server.serve("/stac/collections/metadata:main/items", (200, GEOJSON, last))
        item = features_of(PYCSW / "stac_search_limit3.json", server)[0]
        server.serve(f"/stac/collections/metadata:main/items/{item['id']}", (200, GEOJSON, json.dumps(item).encode()))

        remote = stac(server.base + "/stac/", http, limit="3")
        first = remote.list_resources(None)
        assert (first.total, first.position, first.next_position, first.requested) == (29, 1, 4, 3)
        assert first.resources[0].remote_id == f"metadata:main/{item['id']}"
        assert first.next_cursor is not None
        second = remote.list_resources(first.next_cursor)
        assert (second.resources, second.next_cursor, second.position) == ([], None, 4)
        assert [r.query for r in server.requests if r.path == "/stac/search"] == [{"limit": "3"}]
        fetched = remote.fetch(f"metadata:main/{item['id']}")
        assert fetched.descriptor["title"] == "Lorem ipsum"
        assert fetched.descriptor["temporal_extent"] is None  # "datetime": "date"


# --------------------------------------------------------------------------
# Static catalogue: the stac-spec examples
# --------------------------------------------------------------------------


@pytest.fixture
def static() -> Iterator[Replay]:
    """catalog.json's relative links laid out under /static:
    extensions-collection/collection.json (its proj-example item was not
    recorded: 404), collection-only/collection.json (the recorded
    simple-collection, with its three items beside it), and
    collection-only/collection-with-schemas.json (not recorded: 404)."""
    with Replay() as server:
        layout = {
            "/static/catalog.json": "catalog.json",
            "/static/collectionless-item.json": "collectionless-item.json",
            "/static/extensions-collection/collection.json": "extensions-collection.json",
            "/static/collection-only/collection.json": "collection.json",
            "/static/collection-only/simple-item.json": "simple-item.json",
            "/static/collection-only/core-item.json": "core-item.json",
            "/static/collection-only/extended-item.json": "extended-item.json",
        }
        for path, name in layout.items():
            server.serve(path, (200, JSON, (SPEC / name).read_bytes()))
        yield server


def test_static_catalogue_with_broken_links_fails_by_default(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/catalog.json", http)
    assert remote.check_availability()
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "not-found"
    assert "/static/extensions-collection/proj-example/proj-example.json: HTTP 404" in caught.value.message


def test_skipping_broken_links_never_skips_a_server_error(static: Replay, http: HttpClient) -> None:
    static.serve("/static/collection-only/core-item.json", (503, "text/plain", b"Service Unavailable"))
    with pytest.raises(RemoteError) as caught:
        stac(static.base + "/static/catalog.json", http, broken_links="skip", limit="1000").list_resources(None)
    assert caught.value.kind == "http-error" and "HTTP 503" in caught.value.message


def test_a_stretch_of_broken_links_gives_a_short_page_not_an_endless_one(http: HttpClient) -> None:
    with Replay() as server:
        links = [{"rel": "item", "href": f"./missing-{i}.json"} for i in range(40)]
        links.append({"rel": "item", "href": "./collectionless-item.json"})
        server.serve(
            "/s/catalog.json", (200, JSON, server.document(SPEC / "catalog.json", lambda d: {**d, "links": links}))
        )
        server.serve("/s/collectionless-item.json", (200, JSON, (SPEC / "collectionless-item.json").read_bytes()))
        remote = stac(server.base + "/s/catalog.json", http, broken_links="skip", limit="1")
        first = remote.list_resources(None)
        assert first.resources == [] and first.next_cursor is not None
        ids = []
        cursor: str | None = first.next_cursor
        while cursor is not None:
            page = remote.list_resources(cursor)
            ids += [r.remote_id for r in page.resources]
            cursor = page.next_cursor
        assert ids == [LONELY]


def test_static_catalogue_walked_page_by_page(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/catalog.json", http, broken_links="skip", limit="1")
    pages = []
    cursor: str | None = None
    while True:
        page = remote.list_resources(cursor)
        pages.append([r.remote_id for r in page.resources])
        assert page.requested is None and page.total is None and page.position is None
        cursor = page.next_cursor
        if cursor is None:
            break
    # Breadth first: the catalog's own item, then the collections' items.
    # The three stac-spec items share one id; across pages that is for the
    # lister to judge.
    assert pages == [
        [LONELY],
        [f"simple-collection/{CS2}"],
        [f"simple-collection/{CS2}"],
        [f"simple-collection/{CS2}"],
        [],
    ]
    assert static.count("/static/catalog.json") == 1
    assert static.count("/static/collection-only/collection-with-schemas.json") == 1


@pytest.mark.fault("14")
def test_static_items_sharing_an_id_in_one_page_are_all_listed(static: Replay, http: HttpClient) -> None:
    """The stac-spec items sharing one id, read into one static page, failed
    the refresh; the page now lists each of them in walk order."""
    page = stac(static.base + "/static/catalog.json", http, broken_links="skip", limit="10").list_resources(None)
    assert [r.remote_id for r in page.resources] == [LONELY] + [f"simple-collection/{CS2}"] * 3


def test_static_collections_level_reads_no_items(static: Replay, http: HttpClient) -> None:
    page = stac(static.base + "/static/catalog.json", http, broken_links="skip", level="collections").list_resources(
        None
    )
    assert [r.remote_id for r in page.resources] == ["collection:extensions-collection", "collection:simple-collection"]
    assert page.next_cursor is None
    assert not any(r.path.endswith("item.json") for r in static.requests)


def test_static_items_are_fetched_by_their_href(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/catalog.json", http, broken_links="skip", limit="1")
    first = remote.list_resources(None)
    assert first.resources[0].remote_id == LONELY
    fetched = remote.fetch(LONELY)
    assert fetched.descriptor["title"] == "Full Item"
    assert fetched.raw == (SPEC / "collectionless-item.json").read_bytes()
    assert fetched.modified == "2017-01-01T00:30:55Z"
    assert static.count("/static/collectionless-item.json") == 2


def test_a_restarted_process_walks_again_to_find_a_static_item(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/catalog.json", http, broken_links="skip")
    collection = remote.fetch("collection:simple-collection")
    assert collection.descriptor["title"] == "Simple Example Collection"
    # Not listed by this process: found by walking the catalogue once.
    with pytest.raises(RemoteError) as caught:
        remote.fetch("collection:nowhere")
    assert caught.value.kind == "not-found"
    walks = static.count("/static/collection-only/collection-with-schemas.json")
    assert walks == 1  # the second miss did not walk the catalogue again


def test_a_restarted_process_finds_items_after_one_walk(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/catalog.json", http, broken_links="skip", level="collections")
    fetched = remote.fetch("collection:extensions-collection")
    assert fetched.descriptor["keywords"] == ["examples", "sar", "projection"]
    items = stac(static.base + "/static/catalog.json", http, broken_links="skip")
    core = items.fetch(f"simple-collection/{CS2}")
    assert core.descriptor["extra"]["collection"] == "simple-collection"


def test_static_catalogue_that_links_back_to_itself_is_walked_once(http: HttpClient) -> None:
    with Replay() as server:

        def looping(data: Any) -> Any:
            data["links"] = [
                {"rel": "child", "href": "./catalog.json"},
                {"rel": "child", "href": "./sub/collection.json"},
                {"rel": "item", "href": "./collectionless-item.json"},
            ]
            return data

        def back_up(data: Any) -> Any:
            data["links"] = [
                {"rel": "child", "href": "../catalog.json"},
                {"rel": "item", "href": "../collectionless-item.json"},
            ]
            return data

        server.serve("/loop/catalog.json", (200, JSON, server.document(SPEC / "catalog.json", looping)))
        server.serve("/loop/sub/collection.json", (200, JSON, server.document(SPEC / "collection.json", back_up)))
        server.serve("/loop/collectionless-item.json", (200, JSON, (SPEC / "collectionless-item.json").read_bytes()))
        remote = stac(server.base + "/loop/catalog.json", http, limit="1")
        ids, cursor = list_all(remote, 10)
        assert cursor is None
        # The item is linked from the catalog and from the collection, whose id
        # a collection-less item takes; the catalogs are read once each.
        assert ids == [LONELY, f"simple-collection/{LONELY}"]
        assert server.count("/loop/catalog.json") == 1
        assert server.count("/loop/sub/collection.json") == 1


def test_a_child_that_is_not_stac(http: HttpClient) -> None:
    with Replay() as server:
        catalog = server.document(
            SPEC / "catalog.json", lambda d: {**d, "links": [{"rel": "child", "href": "./about.html"}]}
        )
        server.serve("/s/catalog.json", (200, JSON, catalog))
        server.serve("/s/about.html", (200, "text/html", b"<!doctype html><html><body>About</body></html>"))
        with pytest.raises(RemoteError) as caught:
            stac(server.base + "/s/catalog.json", http).list_resources(None)
        assert caught.value.kind == "parse-error" and "about.html" in caught.value.message
        skipped = stac(server.base + "/s/catalog.json", http, broken_links="skip").list_resources(None)
        assert skipped.resources == [] and skipped.next_cursor is None


def test_file_links_are_broken_links(http: HttpClient) -> None:
    """rustac's collections keep file:/// item links of the machine that built them."""
    with Replay() as server:
        entry = json.loads((RUSTAC / "collections.json").read_bytes())["collections"][1]
        entry["links"] = [link for link in entry["links"] if link["rel"] == "item"]
        server.serve("/s/collection.json", (200, JSON, json.dumps(entry).encode()))
        with pytest.raises(RemoteError) as caught:
            stac(server.base + "/s/collection.json", http).list_resources(None)
        assert caught.value.kind == "parse-error"
        assert "file:///tmp/research/rustac/examples/simple-item.json" in caught.value.message
        skipped = stac(server.base + "/s/collection.json", http, broken_links="skip").list_resources(None)
        assert skipped.resources == [] and skipped.next_cursor is None
        assert [r.path for r in server.requests] == ["/s/collection.json"] * 2


def test_a_stac_item_is_not_a_catalogue(static: Replay, http: HttpClient) -> None:
    remote = stac(static.base + "/static/collectionless-item.json", http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "parse-error" and "STAC Feature" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "parse-error" and "STAC Feature" in caught.value.message
