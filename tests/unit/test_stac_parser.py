"""STAC parsing on documents recorded from rustac 0.9.18 and pycsw 3.0.0b2
(STAC API), and on the stac-spec examples (static catalogue)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.base import BriefResource, RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient
from harvesting.remotes.ogcapi import PageRequest, WalkCursor, decode_json, read_items_page, walk_step
from harvesting.remotes.stac import (
    StacRemote,
    StaticCursor,
    Target,
    asset_links,
    brief_collection,
    brief_item,
    collection_descriptor,
    is_api_collection,
    is_api_root,
    item_descriptor,
    read_collections_page,
    read_container,
    select_targets,
    stac_resource,
    stac_type,
    url_digest,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ogcapi" / "stac"
RUSTAC = DATA / "captured-rustac-0.9.18"
PYCSW = DATA / "captured-pycsw-3.0.0b2"
SPEC = DATA / "stac-spec"
CS2 = "20201211_223832_CS2"


def doc(path: Path) -> Any:
    return json.loads(path.read_bytes())


def remote(**options: str) -> StacRemote:
    return StacRemote("http://127.0.0.1:1/catalog.json", RemoteOptions(dict(options)), HttpClient())


# --- what a document is ---------------------------------------------------------


def test_document_types() -> None:
    assert stac_type(doc(RUSTAC / "landing.json")) == "Catalog"
    assert stac_type(doc(PYCSW / "stac_root.json")) == "Catalog"
    assert stac_type(doc(SPEC / "catalog.json")) == "Catalog"
    assert stac_type(doc(SPEC / "collection.json")) == "Collection"
    assert stac_type(doc(SPEC / "core-item.json")) == "Feature"
    assert stac_type(doc(RUSTAC / "synthetic_items_limit2.json")) == "FeatureCollection"
    assert stac_type(doc(RUSTAC / "conformance.json")) is None
    # STAC 0.x catalogs had no "type".
    assert stac_type({"stac_version": "0.9.0", "id": "old", "description": "d", "links": []}) == "Catalog"
    assert stac_type({"stac_version": "0.9.0", "id": "old", "extent": {}, "links": []}) == "Collection"


def test_apis_and_static_catalogues_are_told_apart() -> None:
    assert is_api_root(doc(RUSTAC / "landing.json"), "http://127.0.0.1:7822/")
    assert is_api_root(doc(PYCSW / "stac_root.json"), "http://127.0.0.1:8010/stac/")
    assert not is_api_root(doc(SPEC / "catalog.json"), "http://h/catalog.json")
    assert not is_api_root(doc(SPEC / "collection.json"), "http://h/collection.json")
    api_collection = doc(RUSTAC / "collections.json")["collections"][2]
    assert is_api_collection(api_collection, "http://127.0.0.1:7822/collections")
    assert not is_api_collection(doc(SPEC / "collection.json"), "http://h/collection.json")


# --- API listing ------------------------------------------------------------------


def test_rustac_collections_become_targets() -> None:
    data = doc(RUSTAC / "collections.json")
    url = "http://127.0.0.1:7822/collections"
    entries = [(entry, url) for entry in data["collections"]]
    targets = select_targets(entries, [], url, "rustac")
    assert targets == [
        Target("extensions-collection", "http://127.0.0.1:7822/collections/extensions-collection/items"),
        Target("simple-collection", "http://127.0.0.1:7822/collections/simple-collection/items"),
        Target("synthetic", "http://127.0.0.1:7822/collections/synthetic/items"),
    ]
    assert select_targets(entries, ["synthetic"], url, "rustac") == [targets[2]]
    with pytest.raises(RemoteError) as caught:
        select_targets(entries, ["landsat"], url, "rustac")
    assert caught.value.kind == "bad-option" and "simple-collection" in caught.value.message


def test_rustac_collections_page_as_collection_resources() -> None:
    request = PageRequest("http://127.0.0.1:7822/collections")
    page = read_collections_page(doc(RUSTAC / "collections.json"), request.href, request, "rustac")
    assert page.next is None and page.matched is None
    briefs = [brief_collection(entry, "rustac") for entry in page.features]
    assert briefs == [
        BriefResource("collection:extensions-collection", "Collection of Extension Items", "collection", None),
        BriefResource("collection:simple-collection", "simple-collection", "collection", None),
        BriefResource("collection:synthetic", "synthetic", "collection", None),
    ]


def test_rustac_items_page_pages_by_skip() -> None:
    request = PageRequest("http://127.0.0.1:7822/collections/synthetic/items?limit=2")
    page = read_items_page(doc(RUSTAC / "synthetic_items_limit2.json"), request.href, request, "rustac")
    assert page.matched is None  # rustac does not count
    assert page.next == PageRequest("http://127.0.0.1:7822/collections/synthetic/items?limit=2&skip=2")
    briefs = [brief_item(item, "synthetic", "rustac") for item in page.features]
    # Items with only a capture `datetime` have no modification stamp: always fetched.
    assert briefs == [
        BriefResource("synthetic/item-00000", "Item 0", "item", None),
        BriefResource("synthetic/item-00001", "Item 1", "item", None),
    ]
    step = walk_step(["synthetic"], WalkCursor(0, "synthetic"), request, page, briefs)
    assert (step.position, step.next_position) == (1, 3)


def test_rustac_post_search_next_link_carries_method_and_body() -> None:
    request = PageRequest("http://127.0.0.1:7822/search", "POST", {"collections": ["synthetic"], "limit": 2})
    page = read_items_page(doc(RUSTAC / "POST_search_limit2_bbox.json"), request.href, request, "search")
    assert page.next == PageRequest(
        "http://127.0.0.1:7822/search",
        "POST",
        {"limit": 2, "bbox": [0.0, 0.0, 20.0, 20.0], "skip": 2, "collections": ["synthetic"]},
    )
    assert page.next.offset() == 2 and page.next.limit() == 2
    assert [brief_item(i, "synthetic", "s").remote_id for i in page.features] == [
        "synthetic/item-00007",
        "synthetic/item-00089",
    ]


def test_rustac_simple_collection_page_repeats_one_item_id() -> None:
    """rustac served the three stac-spec example items, which share one id,
    as three items of one collection: all three are read, for the lister to
    judge the repeated identity."""
    request = PageRequest("http://127.0.0.1:7822/collections/simple-collection/items")
    page = read_items_page(doc(RUSTAC / "simple-collection_items.json"), request.href, request, "simple")
    briefs = [brief_item(item, "simple-collection", "simple") for item in page.features]
    assert [b.remote_id for b in briefs] == [f"simple-collection/{CS2}"] * 3


def test_pycsw_stac_lists_no_collections_but_searches() -> None:
    request = PageRequest("http://127.0.0.1:8010/stac/collections")
    empty = read_collections_page(doc(PYCSW / "stac_collections.json"), request.href, request, "pycsw")
    assert empty.features == [] and empty.matched == 0 and empty.next is None
    search = PageRequest("http://127.0.0.1:8010/stac/search?limit=3")
    page = read_items_page(doc(PYCSW / "stac_search_limit3.json"), search.href, search, "pycsw")
    assert page.matched == 29
    assert page.next == PageRequest("http://127.0.0.1:8010/stac/collections/metadata:main/items?limit=3&offset=3")
    briefs = [brief_item(item, item["collection"], "pycsw") for item in page.features]
    assert briefs[0] == BriefResource(
        "metadata:main/urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f", "Lorem ipsum", "item", "2026-11-28T00:51:29Z"
    )
    assert briefs[1].title == "urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd"
    step = walk_step([""], WalkCursor(0, ""), search, page, briefs)
    assert (step.position, step.next_position) == (1, 4)


# --- items and collections ------------------------------------------------------------


def test_core_item() -> None:
    body = (SPEC / "core-item.json").read_bytes()
    fetched = stac_resource(body, json.loads(body), f"simple-collection/{CS2}", "http://h/s/core-item.json", "core")
    d = fetched.descriptor
    assert d["title"] == "Core Item"
    assert d["abstract"] == "A sample STAC Item that includes examples of all common metadata"
    assert d["bbox"] == [172.91173669923782, 1.3438851951615003, 172.95469614953714, 1.3690476620161975]
    assert d["temporal_extent"] == ["2020-12-11T22:38:32.125Z", "2020-12-11T22:38:32.327Z"]  # datetime null
    assert d["dates"] == {"created": "2020-12-12T01:48:13.725Z", "updated": "2020-12-12T01:48:13.725Z"}
    assert d["resource_type"] == "item"
    assert [(link["type"], link.get("name")) for link in d["links"]] == [
        ("html", "HTML version of this STAC Item"),
        ("download", "analytic"),
        ("thumbnail", "thumbnail"),
        ("download", "visual"),
        ("download", "udm"),
        ("metadata", "json-metadata"),
        ("download", "ephemeris"),
    ]
    analytic = d["links"][1]
    assert analytic == {
        "type": "download",
        "url": "https://storage.googleapis.com/open-cogs/stac-examples/20201211_223832_CS2_analytic.tif",
        "name": "analytic",
        "title": "4-Band Analytic",
        "mime": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["data"],
    }
    assert d["extra"]["collection"] == "simple-collection"
    assert d["extra"]["properties"] == {
        "platform": "cool_sat1",
        "instruments": ["cool_sensor_v1"],
        "constellation": "ion",
        "mission": "collection 5624",
        "gsd": 0.512,
    }
    assert fetched.modified == "2020-12-12T01:48:13.725Z"
    # Only navigation links are relative: the stored document is the served one.
    assert fetched.raw == body


def test_simple_extended_and_collectionless_items() -> None:
    simple = item_descriptor(doc(SPEC / "simple-item.json"), f"simple-collection/{CS2}", "", "simple")
    assert simple["title"] == CS2  # no title: the id
    assert simple["temporal_extent"] == ["2020-12-11T22:38:32.125000Z", "2020-12-11T22:38:32.125000Z"]
    assert [link["name"] for link in simple["links"]] == ["visual", "thumbnail"]
    extended = item_descriptor(doc(SPEC / "extended-item.json"), f"simple-collection/{CS2}", "", "extended")
    assert extended["keywords"] == ["extended", "example", "item"]
    assert "proj:code" in extended["extra"]["properties"]
    assert len(extended["extra"]["stac_extensions"]) == 5
    lonely = item_descriptor(doc(SPEC / "collectionless-item.json"), "CS3-20160503_132131_08", "", "lonely")
    assert lonely["license"] == "other"
    assert lonely["contacts"] == [
        {
            "role": "producer",
            "name": "Remote Data, Inc",
            "organisation": "Remote Data, Inc",
            "url": "http://remotedata.it",
        },
        {
            "role": "processor",
            "name": "Remote Data, Inc",
            "organisation": "Remote Data, Inc",
            "url": "http://remotedata.it",
        },
    ]
    assert {"type": "license", "url": "http://remotedata.io/license.html"}.items() <= lonely["links"][1].items()
    assert "collection" not in lonely["extra"]


def test_rustac_and_pycsw_items() -> None:
    item = doc(RUSTAC / "synthetic_items_limit2.json")["features"][0]
    d = item_descriptor(item, "synthetic/item-00000", "", "rustac")
    assert d["bbox"] == [35.557559313601644, 31.26804838910941, 36.557559313601644, 32.26804838910941]
    assert d["temporal_extent"] == ["2015-01-10T00:00:00Z", "2015-01-10T00:00:00Z"]
    assert d["links"] == [
        {
            "type": "download",
            "url": "http://127.0.0.1:8081/data/0.tif",
            "name": "data",
            "mime": "image/tiff; application=geotiff",
        }
    ]
    pycsw_item = doc(PYCSW / "stac_search_limit3.json")["features"][0]
    p = item_descriptor(pycsw_item, "metadata:main/urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f", "", "pycsw")
    # pycsw 3 writes "datetime": "date" when a record has no date.
    assert p["temporal_extent"] is None
    assert p["title"] == "Lorem ipsum" and p["keywords"] == ["Tourism--Greece"]
    assert p["extra"]["properties"]["formats"] == [{"name": "image/svg+xml"}]


def test_collections() -> None:
    simple = collection_descriptor(doc(SPEC / "collection.json"), "collection:simple-collection", "", "c")
    assert simple["title"] == "Simple Example Collection"
    assert simple["keywords"] == ["simple", "example", "collection"]
    assert simple["license"] == "CC-BY-4.0"
    assert simple["bbox"] == [172.91173669923782, 1.3438851951615003, 172.95469614953714, 1.3690476620161975]
    assert simple["temporal_extent"] == ["2020-12-11T22:38:32.125Z", "2020-12-14T18:02:31.437Z"]
    assert [c["role"] for c in simple["contacts"]] == ["producer", "processor"]
    assert simple["links"] == []  # root, items and self only
    assert simple["extra"]["summaries"]["platform"] == ["cool_sat1", "cool_sat2"]
    extensions = collection_descriptor(
        doc(SPEC / "extensions-collection.json"), "collection:extensions-collection", "", "e"
    )
    assert extensions["links"] == [
        {
            "type": "license",
            "url": "https://remotedata.io/license.html",
            "name": "Remote Data License Terms",
            "rel": "license",
        }
    ]
    assert extensions["bbox"] == [-180.0, -56.0, 180.0, 83.0]
    synthetic = doc(RUSTAC / "collections.json")["collections"][2]
    s = collection_descriptor(synthetic, "collection:synthetic", "http://127.0.0.1:7822/collections", "s")
    assert s["temporal_extent"] == ["2015-01-01T00:00:00Z", None]
    assert s["license"] == "CC0-1.0"
    with pytest.raises(RemoteError, match="is collection 'synthetic'"):
        collection_descriptor(synthetic, "collection:other", "", "s")
    with pytest.raises(RemoteError, match="not a STAC Collection"):
        collection_descriptor(doc(SPEC / "catalog.json"), "collection:examples", "", "cat")


def test_items_answering_for_another_id_or_not_items_are_refused() -> None:
    with pytest.raises(RemoteError) as other:
        item_descriptor(doc(SPEC / "core-item.json"), "simple-collection/other", "", "x")
    assert other.value.kind == "parse-error"
    with pytest.raises(RemoteError, match="not a STAC Item"):
        item_descriptor(doc(SPEC / "collection.json"), "simple-collection/x", "", "x")


def test_static_item_with_relative_assets_is_anchored_for_reparse() -> None:
    item = doc(SPEC / "simple-item.json")
    item["assets"]["visual"]["href"] = "./cs2-visual.tif"
    body = json.dumps(item).encode()
    url = "http://h/static/collection-only/simple-item.json"
    fetched = stac_resource(body, item, f"simple-collection/{CS2}", url, "relative")
    assert fetched.descriptor["links"][0]["url"] == "http://h/static/collection-only/cs2-visual.tif"
    assert fetched.raw != body
    assert json.loads(fetched.raw)["links"][-1] == {"rel": "self", "href": url, "type": "application/json"}
    again = remote().reparse(fetched.raw, f"simple-collection/{CS2}")
    assert again.descriptor == fetched.descriptor and again.content_hash == fetched.content_hash


def test_reparse_equals_fetch_for_recorded_items_and_collections() -> None:
    cases = [
        (SPEC / "core-item.json", f"simple-collection/{CS2}"),
        (SPEC / "collectionless-item.json", "CS3-20160503_132131_08"),
        (SPEC / "collection.json", "collection:simple-collection"),
    ]
    for path, remote_id in cases:
        body = path.read_bytes()
        fetched = stac_resource(body, json.loads(body), remote_id, f"http://h/static/{path.name}", "fetch")
        again = remote().reparse(fetched.raw, remote_id)
        assert (again.descriptor, again.content_hash, again.modified) == (
            fetched.descriptor,
            fetched.content_hash,
            fetched.modified,
        )


def test_asset_links_keep_cloud_urls_and_drop_local_files() -> None:
    assets = {
        "a": {"href": "s3://bucket/a.tif", "roles": ["data"]},
        "b": {"href": "file:///tmp/b.tif"},
        "c": {"href": "thumb.png", "roles": ["overview"]},
        "d": "junk",
    }
    assert asset_links(assets, "http://h/items/x.json") == [
        {"type": "download", "url": "s3://bucket/a.tif", "name": "a", "roles": ["data"]},
        {"type": "thumbnail", "url": "http://h/items/thumb.png", "name": "c", "roles": ["overview"]},
    ]


# --- static catalogues ------------------------------------------------------------------


def test_catalog_links_resolve_against_the_document_url() -> None:
    catalog = read_container(doc(SPEC / "catalog.json"), "http://h/static/catalog.json", "catalog")
    assert catalog.id == "examples" and not catalog.is_collection
    assert catalog.children == [
        "http://h/static/extensions-collection/collection.json",
        "http://h/static/collection-only/collection.json",
        "http://h/static/collection-only/collection-with-schemas.json",
    ]
    assert catalog.items == ["http://h/static/collectionless-item.json"]
    collection = read_container(doc(SPEC / "collection.json"), "http://h/static/collection-only/collection.json", "c")
    assert collection.is_collection and collection.id == "simple-collection"
    assert collection.items == [
        "http://h/static/collection-only/simple-item.json",
        "http://h/static/collection-only/core-item.json",
        "http://h/static/collection-only/extended-item.json",
    ]
    with pytest.raises(RemoteError, match=r"not a STAC catalog or collection \(Feature\)"):
        read_container(doc(SPEC / "core-item.json"), "http://h/core-item.json", "item")


def test_static_cursor_round_trip_and_bad_cursors() -> None:
    seen = frozenset(url_digest(u) for u in ("http://h/catalog.json", "http://h/a.json", "http://h/b.json"))
    cursor = StaticCursor(["http://h/b.json"], "http://h/a.json", 3, seen)
    assert StaticCursor.decode(cursor.encode()) == cursor
    # A cursor written before the digests (the opened containers' URLs) still resumes.
    legacy = '{"pending": ["http://h/b.json"], "current": "http://h/a.json", "index": 3, '
    legacy += '"visited": ["http://h/catalog.json", "http://H:80/./a.json#x"]}'
    assert StaticCursor.decode(legacy) == cursor
    for bad in (
        "",
        "[]",
        '{"pending": "x"}',
        '{"pending": [], "visited": [], "index": "1", "current": null}',
        '{"pending": [], "seen": "not base64!", "index": 0, "current": null}',
        '{"pending": [], "seen": "AAAA", "index": 0, "current": null}',
    ):
        with pytest.raises(RemoteError) as caught:
            StaticCursor.decode(bad)
        assert caught.value.kind == "bad-option"


def test_options_are_checked() -> None:
    for options in ({"level": "assets"}, {"broken_links": "ignore"}, {"limit": "0"}, {"limit": "ten"}):
        with pytest.raises(RemoteError) as caught:
            StacRemote("http://h/catalog.json", RemoteOptions(options), HttpClient())
        assert caught.value.kind == "bad-option"
    with pytest.raises(RemoteError, match="not an http"):
        StacRemote("ftp://h/catalog.json", RemoteOptions(), HttpClient())


# --- every recorded document ----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.json")), ids=lambda p: str(p.relative_to(DATA)))
def test_every_recorded_document_parses_or_fails_clearly(path: Path) -> None:
    data = decode_json(path.read_bytes(), path.name)
    kind = stac_type(data)
    if kind == "Feature":
        identifier = data["id"]
        item_descriptor(data, f"c/{identifier}", "", path.name)
    elif kind == "FeatureCollection":
        request = PageRequest("http://h/items")
        page = read_items_page(data, request.href, request, path.name)
        briefs = [brief_item(item, "c", path.name) for item in page.features]
        assert len(briefs) == len(page.features)
    elif kind == "Collection":
        collection_descriptor(data, f"collection:{data['id']}", "", path.name)
        read_container(data, "http://h/c.json", path.name)
    elif kind == "Catalog":
        read_container(data, "http://h/c.json", path.name)
    elif isinstance(data, dict) and "collections" in data:
        page = read_collections_page(data, "http://h/c", PageRequest("http://h/c"), path.name)
        [brief_collection(entry, path.name) for entry in page.features]
    else:
        assert path.name == "conformance.json"
        with pytest.raises(RemoteError) as caught:
            read_container(data, "http://h/conformance", path.name)
        assert "not STAC" in caught.value.message
