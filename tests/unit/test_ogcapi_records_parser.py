"""OGC API - Records parsing on documents recorded from pycsw 3.0.0b2 and
pygeoapi 0.21 (TinyDB catalogue and CSW facade), plus the shared helpers of
`harvesting.remotes.ogcapi`."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.base import BriefResource, RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.ogcapi import (
    DATA_RELS,
    ItemsPage,
    PageRequest,
    WalkCursor,
    bbox_from_geometry,
    bbox_from_list,
    decode_json,
    find_link,
    locate_target,
    next_request,
    parse_links,
    read_collections,
    read_items_page,
    walk_step,
    with_query,
)
from harvesting.remotes.ogcapi_records import (
    OgcApiRecordsRemote,
    RecordCollection,
    brief_record,
    declares_records,
    first_request,
    is_collection_document,
    record_descriptor,
    record_resource,
    record_time,
    select_collections,
    split_remote_id,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ogcapi"
PYCSW = DATA / "records" / "captured-pycsw-3.0.0b2"
PYGEOAPI = DATA / "records" / "captured-pygeoapi-0.21.0"
MAPSERVER = DATA / "features" / "captured-mapserver-8.0.0"
LAKES = DATA / "features" / "captured-pygeoapi-0.21.0"
PYCSW_ITEMS = "http://127.0.0.1:8010/collections/metadata:main/items"


def doc(path: Path) -> Any:
    return json.loads(path.read_bytes())


def entries(path: Path, url: str) -> list[tuple[dict[str, Any], str]]:
    return [(entry, url) for entry in read_collections(doc(path), str(path))]


def page_of(path: Path, request: PageRequest) -> ItemsPage:
    return read_items_page(doc(path), request.href, request, path.name)


# --- discovery --------------------------------------------------------------


def test_pycsw_landing_page_leads_to_collections_and_conformance() -> None:
    landing = doc(PYCSW / "landing.json")
    assert not is_collection_document(landing)
    links = parse_links(landing, "http://127.0.0.1:8010/")
    data = find_link(links, DATA_RELS)
    assert data is not None and data.href == "http://127.0.0.1:8010/collections?f=json"
    conformance = find_link(links, ("conformance",))
    assert conformance is not None and conformance.href == "http://127.0.0.1:8010/conformance?f=json"
    assert declares_records(doc(PYCSW / "conformance.json"))


def test_pygeoapi_landing_page_prefers_the_json_data_link() -> None:
    landing = doc(PYGEOAPI / "landing.json")
    assert not is_collection_document(landing)
    data = find_link(parse_links(landing, "http://127.0.0.1:5000"), DATA_RELS)
    assert data is not None and data.href == "http://127.0.0.1:5000/collections"
    assert declares_records(doc(PYGEOAPI / "conformance.json"))


def test_pycsw_has_one_record_collection() -> None:
    chosen = select_collections(
        entries(PYCSW / "collections.json", "http://127.0.0.1:8010/collections?f=json"),
        [],
        "http://127.0.0.1:8010/collections?f=json",
        False,
        "pycsw",
    )
    assert chosen == [
        RecordCollection("metadata:main", "pycsw 3 (geonode-pycsw) loopback test catalogue (cite)", PYCSW_ITEMS)
    ]


def test_pygeoapi_record_collections_leave_the_feature_collection_out() -> None:
    url = "http://127.0.0.1:5000/collections"
    chosen = select_collections(entries(PYGEOAPI / "collections.json", url), [], url, False, "pygeoapi")
    assert [c.id for c in chosen] == ["canada-metadata", "synthetic-records", "pycsw-facade"]
    # pygeoapi's items links carry ?f=json; the query is dropped and set per request.
    assert chosen[0].items_url == "http://127.0.0.1:5000/collections/canada-metadata/items"
    restricted = select_collections(entries(PYGEOAPI / "collections.json", url), ["pycsw-facade"], url, False, "x")
    assert [c.id for c in restricted] == ["pycsw-facade"]


def test_collections_option_names_unknown_or_feature_collections() -> None:
    url = "http://127.0.0.1:5000/collections"
    with pytest.raises(RemoteError) as unknown:
        select_collections(entries(PYGEOAPI / "collections.json", url), ["nope"], url, False, "pygeoapi")
    assert unknown.value.kind == "bad-option"
    assert "no collection 'nope'" in unknown.value.message and "canada-metadata" in unknown.value.message
    with pytest.raises(RemoteError) as features:
        select_collections(entries(PYGEOAPI / "collections.json", url), ["lakes"], url, False, "pygeoapi")
    assert features.value.kind == "bad-option"
    assert "'lakes' holds feature items, not records" in features.value.message


def test_a_features_server_is_not_a_records_catalogue() -> None:
    url = "http://127.0.0.1:8081/mapserv/small/ogcapi/collections?f=json"
    assert not is_collection_document(doc(MAPSERVER / "landing.json"))
    with pytest.raises(RemoteError) as caught:
        select_collections(entries(MAPSERVER / "collections.json", url), [], url, False, "mapserver")
    assert caught.value.kind == "parse-error"
    assert "no collection with itemType 'record'" in caught.value.message


def test_collection_urls_are_recognised_as_such() -> None:
    main = doc(PYCSW / "collection_metadata_main.json")
    assert is_collection_document(main)
    chosen = select_collections([(main, "http://127.0.0.1:8010/collections/metadata:main")], [], None, True, "x")
    assert chosen[0].items_url == PYCSW_ITEMS
    lakes = doc(LAKES / "lakes_collection.json")
    assert is_collection_document(lakes)
    with pytest.raises(RemoteError, match="no collection with itemType 'record'"):
        select_collections([(lakes, "http://127.0.0.1:5000/collections/lakes")], [], None, True, "x")


def test_collections_without_item_type_count_as_records_only_when_the_server_declares_records() -> None:
    bare = [({"id": "main", "links": []}, "http://h/collections")]
    assert [c.id for c in select_collections(bare, [], "http://h/collections", True, "x")] == ["main"]
    with pytest.raises(RemoteError):
        select_collections(bare, [], "http://h/collections", False, "x")
    assert (
        select_collections(bare, [], "http://h/collections", True, "x")[0].items_url
        == "http://h/collections/main/items"
    )


# --- listing pages ------------------------------------------------------------


def test_pycsw_first_page() -> None:
    request = first_request(RecordCollection("metadata:main", "", PYCSW_ITEMS), 5)
    assert request.href == PYCSW_ITEMS + "?limit=5&f=json"
    page = page_of(PYCSW / "items_page1_limit5.json", request)
    assert page.matched == 29
    assert page.next == PageRequest(PYCSW_ITEMS + "?limit=5&offset=5")
    briefs = [brief_record(f, "metadata:main", "p1") for f in page.features]
    assert [b.remote_id for b in briefs] == [
        "metadata:main/urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f",
        "metadata:main/urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd",
        "metadata:main/urn:uuid:66ae76b7-54ba-489b-a582-0f0633d96493",
        "metadata:main/urn:uuid:6a3de50b-fa66-4b58-a0e6-ca146fdd18d4",
        "metadata:main/urn:uuid:784e2afd-a9fd-44a6-9a92-a3848371c8ec",
    ]
    assert briefs[0] == BriefResource(
        "metadata:main/urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f", "Lorem ipsum", "image", "2026-11-28T00:51:29Z"
    )
    # This record has no title: its id stands in.
    assert briefs[1].title == "urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd"
    assert briefs[1].resource_type == "service"
    step = walk_step(["metadata:main"], WalkCursor(0, "metadata:main"), request, page, briefs)
    assert (step.position, step.next_position) == (1, 6)
    assert step.next_cursor is not None
    following = WalkCursor.decode(step.next_cursor)
    assert following.request == page.next and following.seen == 5 and following.base == 0


def test_pycsw_second_page_positions_come_from_the_offset() -> None:
    request = PageRequest(PYCSW_ITEMS + "?limit=5&offset=5")
    page = page_of(PYCSW / "items_page2_limit5.json", request)
    assert page.matched == 29 and len(page.features) == 5
    assert page.next == PageRequest(PYCSW_ITEMS + "?limit=5&offset=10")
    assert request.limit() == 5
    briefs = [brief_record(f, "metadata:main", "p2") for f in page.features]
    assert briefs[3].title == "Ñunç elementum"
    step = walk_step(["metadata:main"], WalkCursor(0, "metadata:main", request, seen=5), request, page, briefs)
    assert (step.position, step.next_position) == (6, 11)


def test_pycsw_10k_catalogue_deep_page() -> None:
    request = PageRequest("http://127.0.0.1:8012/collections/metadata:main/items?limit=10&offset=5000")
    page = page_of(PYCSW / "items_10k_offset5000_limit10.json", request)
    assert page.matched == 10000 and len(page.features) == 10
    briefs = [brief_record(f, "metadata:main", "deep") for f in page.features]
    assert briefs[0].title == "Synthetic dataset 5000 (population)"
    assert briefs[0].modified == "2015-09-17"
    step = walk_step(["metadata:main"], WalkCursor(0, "metadata:main", request), request, page, briefs)
    assert (step.position, step.next_position) == (5001, 5011)


def test_pycsw_full_text_query_page() -> None:
    request = PageRequest("http://127.0.0.1:8010/collections/metadata:main/items?q=ortho&limit=3")
    page = page_of(PYCSW / "items_q_ortho.json", request)
    assert page.matched == 10 and len(page.features) == 3
    assert page.next is not None and page.next.offset() == 3


def test_pygeoapi_pages() -> None:
    canada_request = PageRequest("http://127.0.0.1:5000/collections/canada-metadata/items?limit=3&f=json")
    canada = page_of(PYGEOAPI / "canada_items_limit3.json", canada_request)
    assert canada.matched == 10 and len(canada.features) == 3
    assert canada.next == PageRequest("http://127.0.0.1:5000/collections/canada-metadata/items?offset=3&limit=3")
    brief = brief_record(canada.features[0], "canada-metadata", "canada")
    assert brief.remote_id == "canada-metadata/e5a71860-827c-453f-990e-0e0ba0ee67bb"
    assert brief.modified == "2025-06-16T12:27:34Z"
    assert brief.resource_type == "RI_622"

    # pygeoapi's self link of an offset page forgets the offset; positions come
    # from the URL asked for, not from the page's own links.
    deep_request = PageRequest("http://127.0.0.1:5000/collections/synthetic-records/items?offset=5000&limit=5")
    deep = page_of(PYGEOAPI / "synthetic10k_items_offset5000_limit5.json", deep_request)
    assert deep.matched == 10000
    briefs = [brief_record(f, "synthetic-records", "deep") for f in deep.features]
    assert briefs[0].title == "Synthetic record 5000"
    step = walk_step(
        ["synthetic-records"], WalkCursor(0, "synthetic-records", deep_request), deep_request, deep, briefs
    )
    assert (step.position, step.next_position) == (5001, 5006)

    facade = page_of(
        PYGEOAPI / "cswfacade_items_limit3.json",
        PageRequest("http://127.0.0.1:5000/collections/pycsw-facade/items?limit=3&f=json"),
    )
    assert facade.matched == 17
    assert [brief_record(f, "pycsw-facade", "f").title for f in facade.features] == [
        "test Title",
        "Aerial Photos",
        "Aerial Photos",
    ]


def test_walk_runs_positions_on_across_collections() -> None:
    targets = ["a", "b"]
    request = PageRequest("http://h/collections/a/items?limit=5&offset=5")
    features = [{"type": "Feature", "id": str(i)} for i in range(3)]
    last_of_a = ItemsPage(features, 8, None)
    step = walk_step(targets, WalkCursor(0, "a", request, 0, 5, 20), request, last_of_a, [])
    assert (step.position, step.next_position) == (6, 9)
    assert step.next_cursor is not None
    following = WalkCursor.decode(step.next_cursor)
    assert (following.index, following.target, following.request, following.base, following.total) == (
        1,
        "b",
        None,
        8,
        20,
    )
    first_of_b = PageRequest("http://h/collections/b/items?limit=5")
    page = ItemsPage(features, 12, PageRequest("http://h/collections/b/items?limit=5&offset=5"))
    step_b = walk_step(targets, following, first_of_b, page, [])
    assert (step_b.position, step_b.next_position) == (9, 14)
    final = walk_step(targets, following, first_of_b, ItemsPage(features, 3, None), [])
    assert final.next_cursor is None and (final.position, final.next_position) == (None, None)


def test_cursor_round_trip_and_bad_cursors() -> None:
    cursor = WalkCursor(1, "b", PageRequest("http://h/x?offset=5", "POST", {"skip": 5}), 10, 5, 30)
    assert WalkCursor.decode(cursor.encode()) == cursor
    for bad in ("", "{", "[]", '{"c": 1}', '{"c": "a", "i": -1, "base": 0, "seen": 0}'):
        with pytest.raises(RemoteError) as caught:
            WalkCursor.decode(bad)
        assert caught.value.kind == "bad-option"


def test_a_collection_gone_between_pages_is_reported() -> None:
    assert locate_target(["a", "b"], WalkCursor(1, "b"), "x") == 1
    assert locate_target(["new", "a", "b"], WalkCursor(1, "b"), "x") == 2
    with pytest.raises(RemoteError) as caught:
        locate_target(["a"], WalkCursor(1, "b"), "x")
    assert caught.value.kind == "not-found" and "'b'" in caught.value.message


def test_duplicate_identifiers_within_a_page_are_all_read() -> None:
    """An items page with one record id twice was a parse-error; the page's
    features are all read, in order, duplicates included."""
    data = doc(PYCSW / "items_page1_limit5.json")
    data["features"].append(copy.deepcopy(data["features"][2]))
    request = PageRequest(PYCSW_ITEMS + "?limit=6")
    page = read_items_page(data, request.href, request, "dup")
    briefs = [brief_record(f, "metadata:main", "dup") for f in page.features]
    assert [b.remote_id for b in briefs] == [f"metadata:main/{f['id']}" for f in data["features"]]
    assert briefs[5].remote_id == "metadata:main/urn:uuid:66ae76b7-54ba-489b-a582-0f0633d96493" == briefs[2].remote_id


def test_pages_that_would_loop_are_refused() -> None:
    data = doc(PYCSW / "items_page2_limit5.json")
    request = PageRequest(PYCSW_ITEMS + "?limit=5&offset=10")
    with pytest.raises(RemoteError, match="same page"):
        read_items_page(data, request.href, request, "loop")
    data["features"] = []
    with pytest.raises(RemoteError, match="empty page"):
        read_items_page(data, PYCSW_ITEMS, PageRequest(PYCSW_ITEMS), "empty")


def test_items_page_shapes_that_are_not_pages() -> None:
    shapes: list[Any] = [{"type": "FeatureCollection"}, [], {"features": [1]}, doc(PYCSW / "landing.json")]
    for data in shapes:
        with pytest.raises(RemoteError) as caught:
            read_items_page(data, "http://h", PageRequest("http://h"), "odd")
        assert caught.value.kind == "parse-error"


# --- records --------------------------------------------------------------------


def test_pycsw_iso_record() -> None:
    body = (PYCSW / "item_iso_3e9a8c05.json").read_bytes()
    fetched = record_resource(body, json.loads(body), "metadata:main/3e9a8c05", PYCSW_ITEMS + "/3e9a8c05", "iso")
    d = fetched.descriptor
    assert d["identifier"] == "metadata:main/3e9a8c05"
    assert d["title"] == "test Title"
    assert d["abstract"] == "test Abstract"
    assert d["keywords"] == ["Geographic viewer (humanGeographicViewer)", "administration"]
    assert d["bbox"] == [19.37, 34.8, 29.61, 41.75]
    assert d["crs"] == "CRS:84"
    assert d["temporal_extent"] == ["2011-04-18", "2011-04-20"]
    assert d["resource_type"] == "service"
    assert d["links"] == [{"type": "link", "url": "http://aiolos.survey.ntua.gr/geoserver/wms"}]
    assert d["contacts"] == [{"role": "owner", "name": "NTUA", "organisation": "NTUA", "email": "tzotsos@gmail.com"}]
    assert d["language"] == "eng"
    assert d["license"] is None
    assert d["dates"] == {"created": "2011-04-19", "updated": "2011-04-18"}
    assert d["extra"]["theme_schemes"] == ["GEMET Themes, version 2.3"]
    assert d["extra"]["collection"] == "metadata:main"
    assert fetched.modified == "2011-04-18"
    assert fetched.raw == body


def test_pycsw_dublin_core_record_with_placeholder_time() -> None:
    body = (PYCSW / "item_dc_cite.json").read_bytes()
    remote_id = "metadata:main/urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"
    d = record_resource(body, json.loads(body), remote_id, "http://h", "dc").descriptor
    assert d["title"] == "Lorem ipsum"
    assert d["resource_type"] == "image"
    assert d["extra"]["type"] == "http://purl.org/dc/dcmitype/Image"
    assert d["extra"]["formats"] == ["image/svg+xml"]
    assert d["keywords"] == ["Tourism--Greece"]
    # pycsw 3 writes "time": {"null": "date"} when a record has no date.
    assert d["temporal_extent"] is None
    assert d["bbox"] is None and d["crs"] is None
    assert d["links"] == []


def test_pygeoapi_canada_record() -> None:
    body = (PYGEOAPI / "canada_item.json").read_bytes()
    remote_id = "canada-metadata/e5a71860-827c-453f-990e-0e0ba0ee67bb"
    fetched = record_resource(body, json.loads(body), remote_id, "http://127.0.0.1:5000/x", "canada")
    d = fetched.descriptor
    assert d["title"].startswith("Critical Habitat for Species at Risk, British Columbia - Rigid Apple Moss")
    assert d["abstract"].startswith("This dataset displays the geographic areas")
    assert "\n\nEach species" in d["abstract"]
    assert d["bbox"] == [-123.5598014746498, 48.34032817287519, -123.54651537908845, 48.35009884067038]
    assert d["temporal_extent"] is None  # "interval": [null, null]
    assert d["dates"] == {"created": "2019-03-18T14:30:23Z", "updated": "2025-06-16T12:27:34Z"}
    assert d["contacts"] == [] and d["keywords"] == []
    assert [(link["type"], link.get("rel")) for link in d["links"]] == [
        ("link", "item"),
        ("link", "item"),
        ("link", "item"),
        ("OGC:WMS", "item"),
        ("metadata", "alternate"),
        ("html", "alternate"),
    ]
    # The record lists its ArcGIS and WMS links twice each; they are kept once.
    assert len({link["url"] for link in d["links"]}) == 6
    assert d["extra"]["external_ids"] == [{"scheme": "default", "value": "e5a71860-827c-453f-990e-0e0ba0ee67bb"}]
    assert fetched.modified == "2025-06-16T12:27:34Z"


def test_pygeoapi_synthetic_and_facade_records() -> None:
    deep = doc(PYGEOAPI / "synthetic10k_items_offset5000_limit5.json")["features"][0]
    d = record_descriptor(deep, "synthetic-records/dc971390-c8f2-07d2-a0f1-11b7eedd2ecd", "", "deep")
    assert d["temporal_extent"] == ["2015-01-01T00:00:00Z", None]
    assert d["language"] == "en"  # {"code": "en"}
    assert d["links"] == [
        {
            "type": "OGC:WMS",
            "url": "http://127.0.0.1:8081/mapserv?SERVICE=WMS&REQUEST=GetCapabilities",
            "name": "layer_05000",
            "mime": "application/xml",
            "rel": "service",
        }
    ]
    facade = doc(PYGEOAPI / "cswfacade_items_limit3.json")["features"][1]
    f = record_descriptor(facade, "pycsw-facade/366f6257-19eb-4f20-ba78-0698ac4aae77", "", "facade")
    assert f["temporal_extent"] == ["2009-10-09", "2009-10-09"]  # "time": "2009-10-09"
    assert f["license"] == "otherRestrictions"  # rights: ["otherRestrictions"]
    assert f["bbox"] == [20.0, 38.0, 24.0, 40.0]
    # The GetRecordById link is the record's metadata, not a CSW service; the
    # facade's title "None" is no name.
    assert f["links"] == [
        {
            "type": "metadata",
            "url": "http://127.0.0.1:8001/csw?service=CSW&version=2.0.2&request=GetRecordById"
            "&id=366f6257-19eb-4f20-ba78-0698ac4aae77",
            "name": "This document as XML",
            "mime": "application/xml",
            "rel": "alternate",
        },
        {"type": "link", "url": "http://www.ypaat.gr"},
    ]


def test_pycsw_synthetic_record_protocol_link() -> None:
    feature = doc(PYCSW / "items_10k_offset5000_limit10.json")["features"][0]
    d = record_descriptor(feature, "metadata:main/7fb5e0d3-7db5-6c26-1ed9-ad3911878944", "", "synthetic")
    assert d["links"] == [
        {
            "type": "OGC:WMS",
            "url": "http://127.0.0.1:8081/mapserv?SERVICE=WMS&REQUEST=GetCapabilities",
            "name": "layer_05000",
        }
    ]
    assert d["keywords"] == ["population", "synthetic", "environment"]
    assert d["temporal_extent"] == ["2015-09-17", "2015-09-17"]
    assert d["bbox"] == [72.33, -3.69, 79.05, 1.66]


def test_reparse_gives_the_same_descriptor_as_fetch() -> None:
    remote = OgcApiRecordsRemote("http://127.0.0.1:1/", RemoteOptions(), HttpClient())
    for path, remote_id in (
        (PYCSW / "item_iso_3e9a8c05.json", "metadata:main/3e9a8c05"),
        (PYGEOAPI / "canada_item.json", "canada-metadata/e5a71860-827c-453f-990e-0e0ba0ee67bb"),
    ):
        body = path.read_bytes()
        fetched = record_resource(body, json.loads(body), remote_id, "http://127.0.0.1:1/items/x", "fetch")
        again = remote.reparse(fetched.raw, remote_id)
        assert again.descriptor == fetched.descriptor
        assert again.content_hash == fetched.content_hash
        assert again.modified == fetched.modified


def test_relative_hrefs_resolve_the_same_on_reparse() -> None:
    record = {
        "type": "Feature",
        "id": "r1",
        "geometry": None,
        "properties": {"title": "R"},
        "links": [{"rel": "enclosure", "href": "data/r1.zip", "type": "application/zip"}],
    }
    body = json.dumps(record).encode()
    fetched = record_resource(body, record, "c/r1", "http://h/collections/c/items/r1", "fetch")
    assert fetched.descriptor["links"] == [
        {
            "type": "download",
            "url": "http://h/collections/c/items/data/r1.zip",
            "mime": "application/zip",
            "rel": "enclosure",
        }
    ]
    remote = OgcApiRecordsRemote("http://h/", RemoteOptions(), HttpClient())
    assert remote.reparse(fetched.raw, "c/r1").descriptor == fetched.descriptor


def test_a_record_answering_for_another_id_is_refused() -> None:
    body = (PYCSW / "item_dc_cite.json").read_bytes()
    with pytest.raises(RemoteError) as caught:
        record_resource(body, json.loads(body), "metadata:main/other", "http://h", "dc")
    assert caught.value.kind == "parse-error" and "'other'" in caught.value.message


def test_remote_ids_split_on_the_first_slash() -> None:
    assert split_remote_id("metadata:main/urn:uuid:1/2") == ("metadata:main", "urn:uuid:1/2")
    for bad in ("nocollection", "/x", "x/"):
        with pytest.raises(RemoteError) as caught:
            split_remote_id(bad)
        assert caught.value.kind == "not-found"


def test_record_time_shapes() -> None:
    assert record_time({"interval": ["2020-01-01", ".."]}) == ["2020-01-01", None]
    assert record_time({"timestamp": "2020-01-01T10:00:00Z"}) == ["2020-01-01T10:00:00Z", "2020-01-01T10:00:00Z"]
    assert record_time({"null": "date"}) is None
    assert record_time("not a date") is None
    assert record_time(None) is None


# --- shared helpers -------------------------------------------------------------


def test_decode_json_failures_are_specific() -> None:
    with pytest.raises(RemoteError) as bad:
        decode_json(b'{"type": "FeatureCollection", "feat', "GET http://h/items")
    assert bad.value.kind == "parse-error" and "malformed JSON" in bad.value.message
    with pytest.raises(RemoteError) as deep:
        decode_json(b"[" * 100_000 + b"]" * 100_000, "GET http://h/items")
    assert deep.value.kind == "parse-error"
    with pytest.raises(RemoteError) as html:
        decode_json(b"<!doctype html><html></html>", "GET http://h/")
    # Described, never quoted.
    assert html.value.kind == "parse-error" and "<!doctype html>" not in html.value.message
    assert html.value.message == "GET http://h/: expected JSON, got 28 bytes of markup"
    error = b'{"code": "InvalidParameterValue", "description": "Invalid limit"}'
    with pytest.raises(RemoteError) as report:
        decode_json(error, "GET http://h/items")
    assert report.value.kind == "exception-report"
    assert "InvalidParameterValue: Invalid limit" in report.value.message
    problem = b'{"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "bad bbox"}'
    with pytest.raises(RemoteError, match="400: Bad Request: bad bbox"):
        decode_json(problem, "GET http://h/items")
    with pytest.raises(RemoteError, match="exploded"):
        decode_json(b'{"error": {"code": 500, "message": "exploded"}}', "GET http://h/items")


def test_with_query_keeps_what_the_url_already_says() -> None:
    assert with_query("http://h/items?f=json&map=/x.map", {"limit": "5"}) == "http://h/items?f=json&map=/x.map&limit=5"
    assert with_query("http://h/items?limit=9", {"limit": "5", "f": "json"}) == "http://h/items?limit=5&f=json"


def test_next_links_with_post_bodies_merge_when_asked() -> None:
    previous = PageRequest("http://h/search", "POST", {"collections": ["c"], "limit": 2})
    replace_body = {"links": [{"rel": "next", "href": "/search", "method": "POST", "body": {"token": "t"}}]}
    assert next_request(replace_body, "http://h/search", previous) == PageRequest(
        "http://h/search", "POST", {"token": "t"}
    )
    merge = {"links": [{"rel": "next", "href": "/search", "method": "POST", "body": {"token": "t"}, "merge": True}]}
    assert next_request(merge, "http://h/search", previous) == PageRequest(
        "http://h/search", "POST", {"collections": ["c"], "limit": 2, "token": "t"}
    )
    with pytest.raises(RemoteError, match="method DELETE"):
        next_request({"links": [{"rel": "next", "href": "/x", "method": "DELETE"}]}, "http://h/", previous)


def test_boxes_are_lon_lat_or_nothing() -> None:
    assert bbox_from_list([1, 2, 3, 4]) == [1.0, 2.0, 3.0, 4.0]
    assert bbox_from_list([1, 2, 0, 3, 4, 10]) == [1.0, 2.0, 3.0, 4.0]
    assert bbox_from_list([170, -10, -170, 10]) == [170.0, -10.0, -170.0, 10.0]  # across the antimeridian
    assert bbox_from_list([500000, 4000000, 600000, 4100000]) is None  # projected
    assert bbox_from_list([1, 2, "x", 4]) is None
    assert bbox_from_geometry({"type": "Point", "coordinates": [5, 6]}) == [5.0, 6.0, 5.0, 6.0]
    assert bbox_from_geometry({"type": "Polygon", "coordinates": "junk"}) is None


def test_collections_documents_are_checked() -> None:
    with pytest.raises(RemoteError, match="no 'collections' list"):
        read_collections(doc(PYCSW / "landing.json"), "landing")
    with pytest.raises(RemoteError, match=r"collections\[0\] has no id"):
        read_collections({"collections": [{"title": "x"}]}, "odd")


# --- every recorded document -----------------------------------------------------


RECORD_DOCUMENTS = sorted((DATA / "records").rglob("*.json")) + sorted((DATA / "features").rglob("*.json"))


@pytest.mark.parametrize("path", RECORD_DOCUMENTS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_recorded_document_parses_or_fails_clearly(path: Path) -> None:
    """Whatever a document is, the parser it could be handed to reads it or
    raises a specific RemoteError; no other exception escapes."""
    data = decode_json(path.read_bytes(), path.name)
    outcomes: list[str] = []
    parsers: dict[str, Callable[[], object]] = {
        "collection": lambda: is_collection_document(data),
        "collections": lambda: select_collections(
            [(e, "http://h/c") for e in read_collections(data, "x")], [], "", True, "x"
        ),
        "items": lambda: [
            brief_record(f, "c", "x")
            for f in read_items_page(data, "http://h/i", PageRequest("http://h/i"), "x").features
        ],
        "record": lambda: record_descriptor(data, f"c/{data.get('id') if isinstance(data, dict) else ''}", "", "x"),
        "conformance": lambda: declares_records(data),
    }
    for name, parse in parsers.items():
        try:
            parse()
            outcomes.append(name)
        except RemoteError as error:
            assert error.kind in ("parse-error", "exception-report", "bad-option", "not-found")
            assert error.message
    assert outcomes  # at least the shape tests answered


def test_the_documents_read_as_expected() -> None:
    """Which recorded documents are which, by the parser that reads them."""

    def reads(path: Path) -> set[str]:
        data = doc(path)
        kinds = set()
        try:
            read_items_page(data, "http://h/i", PageRequest("http://h/i"), "x")
            kinds.add("items")
        except RemoteError:
            pass
        try:
            read_collections(data, "x")
            kinds.add("collections")
        except RemoteError:
            pass
        if isinstance(data, dict) and data.get("type") == "Feature":
            kinds.add("record")
        return kinds

    assert reads(PYCSW / "items_page1_limit5.json") == {"items"}
    assert reads(PYGEOAPI / "collections.json") == {"collections"}
    assert reads(PYGEOAPI / "canada_item.json") == {"record"}
    assert reads(MAPSERVER / "collection_items.json") == {"items"}
    assert reads(PYCSW / "queryables.json") == set()


def test_every_copied_document_is_in_the_manifest_with_its_size() -> None:
    """tests/data/ogcapi holds exactly the manifest's files, byte for byte in size."""
    listed: dict[str, int] = {}
    section = ""
    for line in (DATA / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("### `"):
            section = line.split("`")[1]
        elif line.startswith("| `"):
            cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
            name = cells[0] if cells[0].startswith("ogcapi/") else section + cells[0]
            listed[name.removeprefix("ogcapi/")] = int(cells[1])
    copied = {
        str(p.relative_to(DATA)): p.stat().st_size for p in DATA.rglob("*") if p.is_file() and p.name != "MANIFEST.md"
    }
    assert copied == listed


def test_a_stac_collection_served_among_records_reads_as_a_record() -> None:
    # pycsw 3 lists a parent STAC Collection in its records collection as the bare STAC document.
    from harvesting.remotes.ogcapi_records import record_descriptor

    collection = json.loads((DATA / "stac/stac-spec/collection.json").read_bytes())
    d = record_descriptor(collection, "metadata:main/simple-collection", "http://h/", "test")
    assert d["identifier"] == "metadata:main/simple-collection"
    assert d["title"] == "Simple Example Collection"
    assert d["resource_type"] == "collection"
    assert d["bbox"] == pytest.approx([172.91173669923782, 1.3438851951615003, 172.95469614953714, 1.3690476620161975])
    assert d["extra"]["record_collection"] == "metadata:main"
