"""Reproduced protocol defects, each checked over real HTTP against loopback
servers serving recorded documents (edited where the defect needs it)."""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.arcgis import ArcGisRemote
from harvesting.remotes.base import Remote, RemoteError, RemoteOptions
from harvesting.remotes.csw import CswRemote
from harvesting.remotes.geonode import GeoNodeRemote
from harvesting.remotes.http import HttpClient, RequestBudget, request_budget
from harvesting.remotes.ogcapi_records import OgcApiRecordsRemote
from harvesting.remotes.stac import StacRemote
from harvesting.remotes.wms import WmsRemote
from tests.servers.replay import Answer, Replay, list_all, without_next

DATA = Path(__file__).resolve().parents[1] / "data"
CSW_PAGE = DATA / "csw" / "captured-pycsw-2.6.2" / "GetRecords_cite_dc_full_page1.xml"
PYCSW3 = DATA / "ogcapi" / "records" / "captured-pycsw-3.0.0b2"
RUSTAC = DATA / "ogcapi" / "stac" / "captured-rustac-0.9.18"
SPEC = DATA / "ogcapi" / "stac" / "stac-spec"
GEONODE = DATA / "geonode" / "captured-geonode-4.4.5"
WMS_CAPS = DATA / "wms" / "captured-mapserver-8.0.0" / "mapserver8_small5_GetCapabilities_130.xml"
CSW_CAPS = DATA / "csw" / "captured-pycsw-2.6.2" / "GetCapabilities_202.xml"
JSON = "application/json"
GEOJSON = "application/geo+json"
XML = "application/xml"
CSW_NS = "http://www.opengis.net/cat/csw/2.0.2"
DC_NS = "http://purl.org/dc/elements/1.1/"


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5)
    yield client
    client.close()


# --------------------------------------------------------------------------
# Item 14: a repeated identifier in one page
# --------------------------------------------------------------------------


def _csw_page_with_one_identifier_four_times() -> tuple[bytes, list[str]]:
    root = etree.fromstring(CSW_PAGE.read_bytes())
    records = list(root.find(f"{{{CSW_NS}}}SearchResults"))
    first = records[0].find(f"{{{DC_NS}}}identifier").text
    for record in records[1:4]:
        record.find(f"{{{DC_NS}}}identifier").text = first
    ids = [record.find(f"{{{DC_NS}}}identifier").text for record in records]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), ids


@pytest.mark.fault("14")
def test_csw_page_repeating_one_identifier_lists_every_record(http: HttpClient) -> None:
    """A pycsw GetRecords page held 4 records with one identifier and the
    refresh failed (parse-error before the listing rules ran): the page now
    lists every record in order, duplicates included, for the Lister to judge."""
    body, ids = _csw_page_with_one_identifier_four_times()
    assert len(ids) == 5 and len(set(ids)) == 2
    with Replay() as server:
        server.serve("/csw", (200, XML, body))
        remote = CswRemote(server.base + "/csw", RemoteOptions({"output_schema": "dc", "page_size": "5"}), http)
        page = remote.list_resources(None)
    assert [r.remote_id for r in page.resources] == ids
    assert (page.total, page.position, page.next_position, page.next_cursor) == (12, 1, 6, "6")


@pytest.mark.fault("14")
def test_ogcapi_records_page_repeating_an_id_lists_every_record(http: HttpClient) -> None:
    """An OGC API Records items page with one record id twice failed the
    refresh (`check_unique` raised): it now lists every feature in order."""
    with Replay(("http://127.0.0.1:8010",)) as server:

        def repeated(data: Any) -> Any:
            data = without_next(data)
            data["features"].append(copy.deepcopy(data["features"][2]))
            return data

        server.serve("/", (200, JSON, server.document(PYCSW3 / "landing.json")))
        server.serve("/collections", (200, JSON, server.document(PYCSW3 / "collections.json")))
        page_body = server.document(PYCSW3 / "items_page1_limit5.json", repeated)
        server.serve("/collections/metadata:main/items", (200, GEOJSON, page_body))
        page = OgcApiRecordsRemote(server.base + "/", RemoteOptions({"limit": "6"}), http).list_resources(None)
    ids = [f"metadata:main/{f['id']}" for f in json.loads(page_body)["features"]]
    assert len(ids) == 6 and ids[5] == ids[2]
    assert [r.remote_id for r in page.resources] == ids


@pytest.mark.fault("14")
def test_stac_items_page_repeating_an_id_lists_every_item(http: HttpClient) -> None:
    """rustac served the stac-spec example items, which share one id, as one
    collection's items page; the refresh failed. Every item is now listed."""
    with Replay(("http://127.0.0.1:7822",)) as server:
        server.serve("/", (200, JSON, server.document(RUSTAC / "landing.json")))
        server.serve("/collections", (200, JSON, server.document(RUSTAC / "collections.json")))
        items = server.document(RUSTAC / "simple-collection_items.json")
        server.serve("/collections/simple-collection/items", (200, GEOJSON, items))
        remote = StacRemote(server.base + "/", RemoteOptions({"collections": "simple-collection"}), http)
        page = remote.list_resources(None)
    expected = [f"simple-collection/{f['id']}" for f in json.loads(items)["features"]]
    assert len(expected) == 3 and len(set(expected)) == 1
    assert [r.remote_id for r in page.resources] == expected


@pytest.mark.fault("14")
def test_stac_collection_listed_twice_is_walked_once(http: HttpClient) -> None:
    """A /collections document naming one collection twice failed the
    refresh ("listed twice"); the same collection at the same items URL is
    now walked once, and the refresh goes on."""
    with Replay(("http://127.0.0.1:7822",)) as server:

        def twice(data: Any) -> Any:
            data["collections"].append(copy.deepcopy(data["collections"][2]))
            return data

        server.serve("/", (200, JSON, server.document(RUSTAC / "landing.json")))
        server.serve("/collections", (200, JSON, server.document(RUSTAC / "collections.json", twice)))
        items = server.document(RUSTAC / "synthetic_items_limit2.json", without_next)
        server.serve("/collections/synthetic/items", (200, GEOJSON, items))
        remote = StacRemote(server.base + "/", RemoteOptions({"collections": "synthetic"}), http)
        page = remote.list_resources(None)
        assert [r.remote_id for r in page.resources] == ["synthetic/item-00000", "synthetic/item-00001"]
        assert page.next_cursor is None
        assert server.count("/collections/synthetic/items") == 1


# --------------------------------------------------------------------------
# A loopback server answering every path from one function
# --------------------------------------------------------------------------


class Everywhere(Replay):
    """A loopback server answering every request from `answer(method, path,
    query)`, the path as sent; tests that need the server's URL in their
    answers set `answer` once it is known."""

    def __init__(self, answer: Callable[[str, str, dict[str, str]], Answer]) -> None:
        super().__init__(fallback=lambda seen: self.answer(seen.method, seen.raw_path, seen.query))
        self.answer = answer


# What each protocol is configured with, on a server at `base`, and an id to fetch.
def _remotes(base: str, http: HttpClient) -> dict[str, tuple[Remote, str]]:
    return {
        "wms": (WmsRemote(base + "/wms", RemoteOptions(), http), "layer_00000"),
        "csw": (CswRemote(base + "/csw", RemoteOptions(), http), "urn:uuid:1"),
        "geonode": (GeoNodeRemote(base + "/", RemoteOptions(), http), "72ec2bc7-c198-475c-bdeb-7554b95ff114"),
        "arcgis": (ArcGisRemote(base + "/arcgis/rest/services", RemoteOptions(), http), "S/MapServer/0"),
        "ogcapi-records": (OgcApiRecordsRemote(base + "/", RemoteOptions(), http), "main/r1"),
        "stac": (StacRemote(base + "/catalog.json", RemoteOptions(), http), "c/i1"),
    }


PROTOCOLS = ("wms", "csw", "geonode", "arcgis", "ogcapi-records", "stac")


def _every_failure(remote: Remote, remote_id: str) -> list[RemoteError]:
    """The errors of availability, listing, fetch and reparse; each must be a RemoteError."""
    errors: list[RemoteError] = []
    calls: list[Callable[[], object]] = [
        remote.check_availability,
        lambda: remote.list_resources(None),
        lambda: remote.fetch(remote_id),
    ]
    for call in calls:
        with pytest.raises(RemoteError) as caught:
            call()
        errors.append(caught.value)
    return errors


# --------------------------------------------------------------------------
# Item 5: deeply nested JSON
# --------------------------------------------------------------------------

DEEP = b"[" * 100_000


def _geonode_listing(base: str) -> bytes:
    page = json.loads((GEONODE / "resources_page1_size5.json").read_bytes())
    page["links"]["next"] = None
    return json.dumps(page).encode()


def _json_routes(base: str, deep_at: str) -> Callable[[str, str, dict[str, str]], Answer]:
    """Valid documents of each JSON protocol, except `deep_at` (a path prefix)
    answering 100,000 nested arrays."""
    arcgis_dir = {"currentVersion": 10.81, "folders": [], "services": [{"name": "S", "type": "MapServer"}]}
    landing = {
        "links": [
            {"rel": "data", "href": f"{base}/collections", "type": JSON},
            {"rel": "conformance", "href": f"{base}/conformance", "type": JSON},
        ],
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core"],
    }
    collections = {
        "collections": [{"id": "main", "itemType": "record", "links": []}],
        "links": [],
    }
    items = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "r1", "properties": {"title": "one"}, "geometry": None, "links": []}],
        "links": [],
    }
    documents: dict[str, Any] = {
        "/api/v2/": {"resources": f"{base}/api/v2/resources"},
        "/api/v2/resources": json.loads(_geonode_listing(base)),
        "/api/v2/datasets/1028": json.loads((GEONODE / "dataset_detail_1028.json").read_bytes()),
        "/arcgis/rest/services": arcgis_dir,
        "/arcgis/rest/services/S/MapServer": {"layers": [{"id": 0, "name": "zero"}]},
        "/arcgis/rest/services/S/MapServer/0": {"id": 0, "name": "zero"},
        "/": landing,
        "/collections": collections,
        "/collections/main/items": items,
        "/collections/main/items/r1": items["features"][0],
    }

    def answer(method: str, path: str, query: dict[str, str]) -> Answer:
        if path.startswith(deep_at):
            return 200, JSON, DEEP
        if path in documents:
            return 200, JSON, json.dumps(documents[path]).encode()
        return 404, JSON, b'{"code": "NotFound", "description": "not found"}'

    return answer


JSON_PATHS = {
    # protocol: (URL path configured, the path answering deep JSON for availability, listing, detail)
    "geonode": ("/", ("/api/v2/", "/api/v2/resources", "/api/v2/datasets/1028")),
    "arcgis": (
        "/arcgis/rest/services",
        ("/arcgis/rest/services", "/arcgis/rest/services/S/MapServer", "/arcgis/rest/services/S/MapServer/0"),
    ),
    "ogcapi-records": ("/", ("/", "/collections/main/items", "/collections/main/items/r1")),
    "stac": ("/", ("/", "/collections/main/items", "/collections/main/items/r1")),
}
JSON_IDS = {
    "geonode": "72ec2bc7-c198-475c-bdeb-7554b95ff114",
    "arcgis": "S/MapServer/0",
    "ogcapi-records": "main/r1",
    "stac": "main/r1",
}


def _json_remote(protocol: str, base: str, http: HttpClient) -> Remote:
    url = base + JSON_PATHS[protocol][0]
    if protocol == "geonode":
        return GeoNodeRemote(url, RemoteOptions(), http)
    if protocol == "arcgis":
        return ArcGisRemote(url, RemoteOptions(), http)
    if protocol == "ogcapi-records":
        return OgcApiRecordsRemote(url, RemoteOptions(), http)
    return StacRemote(url, RemoteOptions(), http)


@pytest.mark.fault("5")
@pytest.mark.parametrize("protocol", sorted(JSON_PATHS))
@pytest.mark.parametrize("stage", ["availability", "listing", "detail"])
def test_deeply_nested_json_is_a_parse_error(protocol: str, stage: str, http: HttpClient) -> None:
    """100,000 nested arrays make `json.loads` raise RecursionError, which
    escaped some remotes (GeoNode) as a traceback: every JSON protocol's
    availability check, listing and detail answer it with a RemoteError."""
    availability, listing, detail = JSON_PATHS[protocol][1]
    deep_at = {"availability": availability, "listing": listing, "detail": detail}[stage]
    with Everywhere(_json_routes("", deep_at)) as server:
        server.answer = _json_routes(server.base, deep_at)
        remote = _json_remote(protocol, server.base, http)
        with pytest.raises(RemoteError) as caught:
            if stage == "availability":
                remote.check_availability()
            elif stage == "listing":
                remote.list_resources(None)
            else:
                remote.list_resources(None)
                remote.fetch(JSON_IDS[protocol])
        assert caught.value.kind == "parse-error"
        with pytest.raises(RemoteError) as caught:
            remote.reparse(DEEP, JSON_IDS[protocol])
        assert caught.value.kind == "parse-error"


@pytest.mark.fault("5")
@pytest.mark.parametrize("protocol", sorted(JSON_PATHS))
def test_deep_json_error_bodies_are_remote_errors(protocol: str, http: HttpClient) -> None:
    """An error status whose body is 100,000 nested arrays: GeoNode read the
    listing's error body with a bare `json.loads`, and RecursionError escaped."""
    with Everywhere(lambda method, path, query: (404, JSON, DEEP)) as server:
        remote = _json_remote(protocol, server.base, http)
        for call in (remote.check_availability, lambda: remote.list_resources(None)):
            with pytest.raises(RemoteError):
                call()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.fault("5")
def test_json_just_shallow_enough_to_decode_never_raises_recursion_later() -> None:
    """A document `json.loads` just manages (a little under the recursion
    limit) made later walks (json.dumps of the anchored document, of extra
    fields, the content hash) raise RecursionError: every depth around the
    limit now gives a descriptor or a RemoteError, never a RecursionError."""
    http = HttpClient()
    try:
        limit = sys.getrecursionlimit()
        item = json.loads((SPEC / "collectionless-item.json").read_bytes())
        record = json.loads((PYCSW3 / "item_dc_cite.json").read_bytes())
        detail = json.loads((GEONODE / "dataset_detail_1028.json").read_bytes())
        stac = StacRemote("http://127.0.0.1:9/catalog.json", RemoteOptions(), http)
        records = OgcApiRecordsRemote("http://127.0.0.1:9/", RemoteOptions(), http)
        geonode = GeoNodeRemote("http://127.0.0.1:9/", RemoteOptions(), http)
        arcgis = ArcGisRemote("http://127.0.0.1:9/arcgis/rest/services/S/MapServer/0", RemoteOptions(), http)
        for depth in range(limit - 150, limit + 10):
            cases: list[tuple[Callable[[bytes, str], object], bytes, str]] = [
                (
                    stac.reparse,
                    json.dumps({**item, "properties": {**item["properties"], "x": 0}})
                    .replace('"x": 0', f'"x": {_nested(depth)}')
                    .encode(),
                    item["id"],
                ),
                (
                    records.reparse,
                    json.dumps({**record, "time": {"interval": ["2020-01-01", ".."], "x": 0}})
                    .replace('"x": 0', f'"x": {_nested(depth)}')
                    .encode(),
                    f"main/{record['id']}",
                ),
                (
                    geonode.reparse,
                    json.dumps({**detail, "x": 0}).replace('"x": 0', f'"x": {_nested(depth)}').encode(),
                    detail["dataset"]["uuid"],
                ),
                (arcgis.reparse, f'{{"id": 0, "name": "a", "x": {_nested(depth)}}}'.encode(), "MapServer/0"),
            ]
            for reparse, raw, remote_id in cases:
                with contextlib.suppress(RemoteError):
                    reparse(raw, remote_id)
    finally:
        http.close()


# --------------------------------------------------------------------------
# Remote bodies never quoted in messages
# --------------------------------------------------------------------------

SECRET = "s3cr3t-Xq7"
SECRET_BODIES: dict[str, Answer] = {
    "html-500": (500, "text/html", f"<html><head><title>{SECRET}</title></head><body>{SECRET}</body></html>".encode()),
    "html-200": (200, "text/html", f"<html><head><title>{SECRET}</title></head><body>{SECRET}</body></html>".encode()),
    "broken-html-200": (200, "text/html", f"<html><body><{SECRET}>{SECRET}<br></body></html>".encode()),
    "broken-json-200": (200, JSON, f'{{"token": "{SECRET}", '.encode()),
    "json-500": (500, JSON, f'{{"trace": "{SECRET}"}}'.encode()),
}


@pytest.mark.fault("messages")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("answer", sorted(SECRET_BODIES))
def test_error_messages_never_quote_the_body(protocol: str, answer: str, http: HttpClient) -> None:
    """Error messages quoted the first bytes of a remote's body (a login page,
    a stack trace with a token): whatever a remote answers, with HTTP 500 or
    200, its availability check, listing, fetch and reparse errors describe
    the body (size, content type) and never contain text from it."""
    status, content_type, body = SECRET_BODIES[answer]
    with Everywhere(lambda method, path, query: (status, content_type, body)) as server:
        remote, remote_id = _remotes(server.base, http)[protocol]
        errors = _every_failure(remote, remote_id)
        with pytest.raises(RemoteError) as caught:
            remote.reparse(body, remote_id)
        errors.append(caught.value)
    for error in errors:
        assert SECRET not in str(error), str(error)
    if status == 200 and content_type == "text/html" and protocol not in ("wms", "csw"):
        assert f"expected JSON, got {len(body)} bytes of text/html" in errors[0].message


@pytest.mark.fault("messages")
def test_structured_error_fields_are_shown_cleaned_and_cut(http: HttpClient) -> None:
    """Errors a protocol defines (ArcGIS `error`, GeoNode `errors`, OGC API
    problem `detail`) may be shown, but they were quoted whole, control
    characters included: now at most 160 characters, without them."""
    field = "\x1b[31m\u202e" + "E" * 1000
    documents = {
        "/arcgis/rest/services": (200, {"error": {"code": 499, "message": field, "details": [field]}}),
        "/api/v2/resources": (400, {"errors": [field, field]}),
        "/collections/main/items": (400, {"type": "about:blank", "status": 400, "title": "Bad", "detail": field}),
    }
    landing = {"links": [{"rel": "data", "href": "/collections"}]}
    collections = {"collections": [{"id": "main", "itemType": "record"}], "links": []}

    def answer(method: str, path: str, query: dict[str, str]) -> Answer:
        if path in documents:
            status, document = documents[path]
            return status, JSON, json.dumps(document).encode()
        if path == "/":
            return 200, JSON, json.dumps(landing).encode()
        return 200, JSON, json.dumps(collections).encode()

    with Everywhere(answer) as server:
        remotes: list[Remote] = [
            ArcGisRemote(server.base + "/arcgis/rest/services", RemoteOptions(), http),
            GeoNodeRemote(server.base + "/", RemoteOptions(), http),
            OgcApiRecordsRemote(server.base + "/", RemoteOptions(), http),
        ]
        for remote in remotes:
            with pytest.raises(RemoteError) as caught:
                remote.list_resources(None)
            message = caught.value.message
            assert "E" * 100 in message, message
            assert "E" * 160 not in message
            assert "\x1b" not in message and "\u202e" not in message


# --------------------------------------------------------------------------
# Availability checks say why
# --------------------------------------------------------------------------


@pytest.mark.fault("availability")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_availability_raises_why_when_unreachable_or_failing(protocol: str, http: HttpClient) -> None:
    """check_availability() answered a bare False, swallowing the reason, so a
    harvester showed "unavailable" with nothing to act on: it now raises the
    RemoteError (unreachable, http-error) instead of returning False."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote, _ = _remotes(f"http://127.0.0.1:{port}", http)[protocol]
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "unreachable"
    with Everywhere(lambda method, path, query: (500, "text/plain", b"down for maintenance")) as server:
        remote, _ = _remotes(server.base, http)[protocol]
        with pytest.raises(RemoteError) as caught:
            remote.check_availability()
    assert caught.value.kind == "http-error" and "500" in caught.value.message


WRONG_PROTOCOL: dict[str, tuple[Answer, str]] = {
    "wms": ((200, XML, CSW_CAPS.read_bytes()), "answered with a CSW capabilities document, not a WMS"),
    "csw": ((200, XML, WMS_CAPS.read_bytes()), "answered with a WMS capabilities document, not a CSW"),
    "geonode": (
        (200, JSON, json.dumps({"currentVersion": 10.81, "folders": [], "services": []}).encode()),
        "answered with an ArcGIS REST document that has no 'resources' key",
    ),
    "arcgis": (
        (200, JSON, (GEONODE / "api_v2_root.json").read_bytes()),
        "not an ArcGIS services directory",
    ),
    "ogcapi-records": (
        (200, JSON, (GEONODE / "api_v2_root.json").read_bytes()),
        "without links, not an OGC API landing page",
    ),
    "stac": (
        (200, JSON, (GEONODE / "api_v2_root.json").read_bytes()),
        "not a STAC catalog, collection or API landing page",
    ),
}


@pytest.mark.fault("availability")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_availability_says_what_answered_instead(protocol: str, http: HttpClient) -> None:
    """A remote answering as something else (a CSW URL serving WMS
    capabilities, a GeoNode URL serving an ArcGIS directory) was just "not
    available": the parse-error now says what answered instead."""
    answer, expected = WRONG_PROTOCOL[protocol]
    with Everywhere(lambda method, path, query: answer) as server:
        remote, _ = _remotes(server.base, http)[protocol]
        with pytest.raises(RemoteError) as caught:
            remote.check_availability()
    assert caught.value.kind == "parse-error"
    assert expected in caught.value.message


# --------------------------------------------------------------------------
# Item 3: walks that loop or fan out
# --------------------------------------------------------------------------


def _stac_catalog(cid: str, links: list[dict[str, str]]) -> bytes:
    document = {"type": "Catalog", "stac_version": "1.0.0", "id": cid, "description": cid, "links": links}
    return json.dumps(document).encode()


def _stac_item(item_id: str) -> bytes:
    item = json.loads((SPEC / "collectionless-item.json").read_bytes())
    item["id"] = item_id
    item["links"] = []
    return json.dumps(item).encode()


class LoopingCatalogue:
    """A static catalogue whose catalog A links child B, and B links back to A
    under other spellings of its URL (a fragment, dot segments, an upper-case
    scheme and host, an empty query). Each time A or B is read it links a new
    item: re-reading them never ends on its own."""

    def __init__(self) -> None:
        self.turns: Counter[str] = Counter()

    def answer(self, base: str) -> Callable[[str, str, dict[str, str]], Answer]:
        host = base.removeprefix("http://")

        def answer(method: str, path: str, query: dict[str, str]) -> Answer:
            if path in ("/cat/catalog.json", "/cat/b/catalog.json"):
                name = "a" if path == "/cat/catalog.json" else "b"
                self.turns[name] += 1
                item = {"rel": "item", "href": f"items/{name}-{self.turns[name]}.json"}
                if name == "a":
                    links = [{"rel": "child", "href": "./b/catalog.json"}, item]
                else:
                    back = [
                        "../catalog.json#top",
                        f"HTTP://{host.upper()}/cat/./b/../catalog.json",
                        "../catalog.json?",
                        "./catalog.json#self",
                    ]
                    links = [*({"rel": "child", "href": href} for href in back), item]
                    item["href"] = "../" + item["href"]
                return 200, JSON, _stac_catalog(name, links)
            if path.startswith("/cat/items/"):
                return 200, GEOJSON, _stac_item(path.rsplit("/", 1)[-1].removesuffix(".json"))
            return 404, JSON, b'{"code": "NotFound", "description": "no"}'

        return answer


@pytest.mark.fault("3")
def test_static_stac_loop_is_walked_once(http: HttpClient) -> None:
    """A static catalogue whose child links loop A -> B -> A, A spelled
    differently each time and giving new item ids at each turn, was walked
    again at each turn: URLs are compared normalised, the walk ends, and each
    URL is requested at most once."""
    looping = LoopingCatalogue()
    with Everywhere(lambda method, path, query: (404, JSON, b"{}")) as server:
        server.answer = looping.answer(server.base)
        remote = StacRemote(server.base + "/cat/catalog.json", RemoteOptions({"limit": "1"}), http)
        ids, cursor = list_all(remote, 20)
        assert cursor is None
        assert ids == ["a-1", "b-1"]
        assert max(server.counts().values()) == 1, server.counts()


@pytest.mark.fault("3")
def test_static_stac_loop_stays_walked_once_across_resumes(http: HttpClient) -> None:
    """The walk's visited set lives in the cursor, which is what a listing
    resumes from after a crash: a fresh remote for every page (a restart
    between each) still ends the loop, lists each item once, and opens B once."""
    looping = LoopingCatalogue()
    with Everywhere(lambda method, path, query: (404, JSON, b"{}")) as server:
        server.answer = looping.answer(server.base)
        ids: list[str] = []
        cursor: str | None = None
        sizes: list[int] = []
        for _ in range(20):
            remote = StacRemote(server.base + "/cat/catalog.json", RemoteOptions({"limit": "1"}), http)
            page = remote.list_resources(cursor)
            ids += [r.remote_id for r in page.resources]
            cursor = page.next_cursor
            if cursor is None:
                break
            sizes.append(len(cursor))
        assert cursor is None
        assert len(ids) == len(set(ids)) and ids[0] == "a-1" and any(i.startswith("b-") for i in ids)
        assert looping.turns["b"] == 1
        assert all(size < 1000 for size in sizes)


class FanningDirectory:
    """An ArcGIS services directory whose folders list themselves (as their
    full path, with a trailing slash, with a dot segment) and, when `fan` is
    set, two new sub-folders each: ever more folders."""

    def __init__(self, fan: bool) -> None:
        self.fan = fan

    def answer(self, method: str, path: str, query: dict[str, str]) -> Answer:
        root = "/arcgis/rest/services"
        if path == f"{root}/Top/MapServer":
            return 200, JSON, json.dumps({"layers": [{"id": 0, "name": "zero"}]}).encode()
        if path == root:
            document = {"folders": ["A"], "services": [{"name": "Top", "type": "MapServer"}]}
            return 200, JSON, json.dumps(document).encode()
        if path.startswith(root + "/"):
            folder = path[len(root) + 1 :]
            folders = [folder, f"{folder}/", f"{folder}/.", f"/{folder}"]
            if self.fan:
                folders += [f"{folder}/x", f"{folder}/y"]
            return 200, JSON, json.dumps({"folders": folders, "services": []}).encode()
        return 404, JSON, b'{"error": {"code": 404, "message": "not found"}}'


@pytest.mark.fault("3")
def test_arcgis_folders_listing_themselves_are_walked_once(http: HttpClient) -> None:
    """A folder listing itself (as its full path, `A/`, `A/.`, `/A`) was
    taken for a new sub-folder `A/A`, `A/A/A`… down to the depth bound: the
    walk compares normalised folder paths, ends, and asks each URL once."""
    directory = FanningDirectory(fan=False)
    with Everywhere(directory.answer) as server:
        remote = ArcGisRemote(server.base + "/arcgis/rest/services", RemoteOptions(), http)
        page = remote.list_resources(None)
        assert [r.remote_id for r in page.resources] == ["Top/MapServer/0"]
        assert page.next_cursor is None
        paths = [r.path for r in server.requests]
    assert sorted(paths) == sorted(
        ["/arcgis/rest/services", "/arcgis/rest/services/A", "/arcgis/rest/services/Top/MapServer"]
    )


@pytest.mark.fault("3")
def test_arcgis_fanning_folders_end_the_listing_at_a_bound(http: HttpClient) -> None:
    """Folders linking to ever more folders were walked breadth 2^depth and the
    walk then stopped silently at the depth bound, a listing that looked
    complete: it ends with a `listing-bound` error, each URL asked once."""
    directory = FanningDirectory(fan=True)
    with Everywhere(directory.answer) as server:
        remote = ArcGisRemote(server.base + "/arcgis/rest/services", RemoteOptions(), http)
        with pytest.raises(RemoteError) as caught:
            remote.list_resources(None)
        assert caught.value.kind == "listing-bound"
        assert max(server.counts().values()) == 1
        assert len(server.requests) <= 1 + 2**9


@pytest.mark.fault("3")
def test_ogcapi_records_conformance_errors_that_stop_a_listing_are_not_swallowed(http: HttpClient) -> None:
    """Reading the conformance document (to tell whether untyped collections
    hold records) swallowed every RemoteError: a refused URL or a spent
    request bound quietly made the collections "not records". Kinds that stop
    a listing (refused-url, listing-bound, cancelled, deadline) go through."""
    landing = {
        "links": [
            {"rel": "data", "href": "/collections"},
            {"rel": "conformance", "href": "http://192.0.2.1/conformance"},
        ]
    }
    collections = {"collections": [{"id": "main", "links": []}], "links": []}

    def answer(method: str, path: str, query: dict[str, str]) -> Answer:
        return 200, JSON, json.dumps(landing if path == "/" else collections).encode()

    with Everywhere(answer) as server:
        scoped = http.restricted_to(server.base + "/")
        with pytest.raises(RemoteError) as caught:
            OgcApiRecordsRemote(server.base + "/", RemoteOptions(), scoped).check_availability()
        assert caught.value.kind == "refused-url"
        landing["links"][1]["href"] = "/conformance"
        with request_budget(RequestBudget(limit=2)), pytest.raises(RemoteError) as caught:
            OgcApiRecordsRemote(server.base + "/", RemoteOptions(), http).list_resources(None)
        assert caught.value.kind == "listing-bound"


@pytest.mark.fault("3")
def test_skipping_broken_stac_links_never_skips_a_refused_url_or_a_bound(http: HttpClient) -> None:
    """`broken_links=skip` passes over links that lead nowhere, but must not
    pass over a link to a host the harvester may not ask (refused-url) or a
    spent per-listing bound (listing-bound): either would make a listing that
    was cut short look complete."""
    with Everywhere(lambda method, path, query: (404, JSON, b"{}")) as server:
        links = [
            {"rel": "child", "href": "http://192.0.2.1/elsewhere/catalog.json"},
            {"rel": "item", "href": "./items/one.json"},
        ]
        catalog = _stac_catalog("root", links)

        def answer(method: str, path: str, query: dict[str, str]) -> Answer:
            if path == "/cat/catalog.json":
                return 200, JSON, catalog
            return 200, GEOJSON, _stac_item("one")

        server.answer = answer
        scoped = http.restricted_to(server.base + "/cat/catalog.json")
        remote = StacRemote(server.base + "/cat/catalog.json", RemoteOptions({"broken_links": "skip"}), scoped)
        with pytest.raises(RemoteError) as caught:
            remote.list_resources(None)
        assert caught.value.kind == "refused-url"
        links.pop(0)
        catalog = _stac_catalog("root", links)
        remote = StacRemote(server.base + "/cat/catalog.json", RemoteOptions({"broken_links": "skip"}), http)
        with request_budget(RequestBudget(limit=1)), pytest.raises(RemoteError) as caught:
            remote.list_resources(None)
        assert caught.value.kind == "listing-bound"
