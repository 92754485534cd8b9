"""GeoNode API v2 parsing on documents recorded from a real GeoNode 4.4.5."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.base import RemoteError, RemoteOptions
from harvesting.remotes.geonode import (
    GeoNodeRemote,
    ResourceLocation,
    api_root,
    check_listing_status,
    detail_entry,
    detail_path,
    normalise_contacts,
    normalise_resource,
    parse_listing,
    parse_listing_entries,
    read_listing,
)
from harvesting.remotes.http import HttpClient
from harvesting.remotes.values import load_json

DATA = Path(__file__).resolve().parents[1] / "data" / "geonode" / "captured-geonode-4.4.5"


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def doc(name: str) -> Any:
    return json.loads(raw(name))


PERSON = {
    "pk": 8,
    "username": "foo",
    "first_name": "bar",
    "last_name": "baz",
    "email": "foo@example.org",
}


# --- listing ---------------------------------------------------------------


def test_first_page_of_the_listing() -> None:
    page = parse_listing(doc("resources_page1_size5.json"), 1)
    assert page.total == 1028
    assert page.next_cursor == "2"
    assert len(page.resources) == 5
    first = page.resources[0]
    assert first.remote_id == "72ec2bc7-c198-475c-bdeb-7554b95ff114"
    assert first.title == "layer_00999"
    assert first.resource_type == "dataset"
    assert first.modified == "2026-11-28T01:00:26.434849Z"
    assert [r.title for r in page.resources] == [f"layer_0099{i}" for i in (9, 8, 7, 6, 5)]


def test_last_page_of_the_listing_has_no_next_cursor() -> None:
    page = parse_listing(doc("resources_page206_size5_last.json"), 206)
    assert page.next_cursor is None
    assert page.total == 1028
    assert [(r.remote_id, r.title, r.resource_type) for r in page.resources] == [
        ("c8399fcb-6d88-47dc-a1ea-29547e945e83", "lorem1 ipsum1", "map"),
        ("5d7d57cc-c77d-4c25-a9e0-8b5ae3982540", "ipsum lorem", "map"),
        ("ebb00ca2-7584-49de-9058-cfa28099a313", "GeoNode Default Map", "map"),
    ]


def test_listing_remembers_where_details_live() -> None:
    _, locations = read_listing(doc("resources_page1_size5.json"), 1)
    assert locations["72ec2bc7-c198-475c-bdeb-7554b95ff114"] == ResourceLocation(pk="1028", resource_type="dataset")
    assert detail_path(locations["72ec2bc7-c198-475c-bdeb-7554b95ff114"]) == "datasets/1028"
    assert detail_path(ResourceLocation("3", "map")) == "maps/3"
    assert detail_path(ResourceLocation("19", "document")) == "documents/19"
    assert detail_path(ResourceLocation("7", "geostory")) == "resources/7"


def test_client_side_type_filter_may_empty_a_page_without_ending_the_listing() -> None:
    page = parse_listing(doc("resources_page1_size5.json"), 1, resource_types=("map",))
    assert page.resources == []
    assert page.next_cursor == "2"


def test_client_side_title_filter_is_case_insensitive() -> None:
    page = parse_listing(doc("resources_page206_size5_last.json"), 206, title_filter="IPSUM")
    assert [r.title for r in page.resources] == ["lorem1 ipsum1", "ipsum lorem"]
    page = parse_listing(
        doc("resources_filter_type_map.json"), 1, resource_types=("map", "document"), title_filter="TitleDupe"
    )
    assert [r.title for r in page.resources] == ["something titledupe else", "titledupe something else"]


def test_entry_without_uuid_is_an_error_naming_its_pk() -> None:
    data = doc("resources_page1_size5.json")
    del data["resources"][2]["uuid"]
    with pytest.raises(RemoteError) as e:
        parse_listing(data, 1)
    assert e.value.kind == "parse-error"
    assert "pk=1026" in e.value.message


@pytest.mark.parametrize("data", [{"detail": "x"}, {"resources": "nope"}, [], "text"])
def test_listing_without_resources_list_is_a_parse_error(data: Any) -> None:
    with pytest.raises(RemoteError) as e:
        parse_listing(data, 1)
    assert e.value.kind == "parse-error"


def test_a_server_ignoring_the_page_parameter_is_caught() -> None:
    with pytest.raises(RemoteError) as e:
        parse_listing(doc("resources_page1_size5.json"), 3)
    assert e.value.kind == "parse-error"
    assert "page 3" in e.value.message


def test_the_other_listing_endpoints_parse_as_entries_too() -> None:
    data = doc("datasets_page1_size3.json")
    entries = parse_listing_entries({"resources": data["datasets"]})
    assert [e.pk for e in entries] == ["1028", "1027", "1026"]


# --- error documents -------------------------------------------------------


def test_invalid_page_404_past_page_one_means_the_listing_changed() -> None:
    with pytest.raises(RemoteError) as e:
        check_listing_status(404, raw("resources_page_out_of_range_404.json"), 999, "http://h/api/v2/resources")
    assert e.value.kind == "http-error"
    assert "page 999 no longer exists" in e.value.message
    assert "listing" in e.value.message


def test_other_error_statuses_are_http_errors_with_the_remote_reason() -> None:
    with pytest.raises(RemoteError) as e:
        check_listing_status(404, raw("dataset_not_found_404.json"), 1, "http://h/api/v2/resources")
    assert e.value.kind == "http-error"
    assert "Not found." in e.value.message
    check_listing_status(200, b"{}", 1, "http://h")


def test_non_json_body_is_a_parse_error() -> None:
    with pytest.raises(RemoteError) as e:
        load_json(b"<html><body>Server Error</body></html>", "GET http://h/api/v2/resources")
    assert e.value.kind == "parse-error"
    assert e.value.message == "GET http://h/api/v2/resources: expected JSON, got 38 bytes of markup"
    with pytest.raises(RemoteError) as e:
        load_json(raw("catalogue_csw_GetRecords.xml"), "GET http://h/catalogue/csw")
    assert e.value.kind == "parse-error"


def test_detail_document_without_the_resource_object_is_a_parse_error() -> None:
    with pytest.raises(RemoteError) as e:
        detail_entry(doc("dataset_not_found_404.json"), "dataset")
    assert e.value.kind == "parse-error"


# --- details ---------------------------------------------------------------


def test_dataset_detail_is_normalised() -> None:
    entry = detail_entry(doc("dataset_detail_1028.json"), "dataset")
    d = normalise_resource(entry)
    assert d["identifier"] == "72ec2bc7-c198-475c-bdeb-7554b95ff114"
    assert d["title"] == "layer_00999"
    assert d["abstract"] == "lorem ipsum"
    assert d["bbox"] == [0.0, 0.0, 22.0, 22.0]
    assert d["crs"] == "EPSG:4326"
    assert d["temporal_extent"] == ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]
    assert d["resource_type"] == "dataset"
    assert d["language"] == "eng"
    assert d["license"] is None
    assert {
        "type": "OGC:WMS",
        "url": "http://127.0.0.1:8081/mapserv?",
        "name": "layer_00999",
        "mime": "text/html",
    } in d["links"]
    assert {"type": "download", "url": "http://127.0.0.1:8084/datasets/geonode:layer_00999/dataset_download"} in d[
        "links"
    ]
    assert {"type": "html", "url": "http://127.0.0.1:8084/catalogue/#/dataset/1028"} in d["links"]
    assert d["contacts"] == [{"role": "owner", "name": "admin", "email": None}]
    assert d["dates"] == {
        "publication": "2020-01-01T00:00:00Z",
        "created": "2026-11-28T01:00:26.434844Z",
        "last_updated": "2026-11-28T01:00:26.434849Z",
    }
    assert d["extra"]["pk"] == "1028"
    assert d["extra"]["alternate"] == "geonode:layer_00999"
    assert d["extra"]["subtype"] == "vector"
    assert d["extra"]["state"] == "PROCESSED"
    assert d["extra"]["srid"] == "EPSG:4326"
    # Counters change without the metadata changing: they must stay out.
    assert "popular_count" not in d["extra"] and "perms" not in d["extra"]


def test_dataset_with_keywords_category_and_temporal_range() -> None:
    d = normalise_resource(detail_entry(doc("dataset_detail_testdata_28.json"), "dataset"))
    assert d["title"] == "common morx"
    assert d["keywords"] == ["populartag"]
    assert d["bbox"] == [0.0, 0.0, 50.0, 50.0]
    assert d["temporal_extent"] == ["2025-08-05T00:59:05.006262Z", "2026-08-05T00:59:05.006262Z"]
    assert d["extra"]["category"] == "biota"
    assert d["contacts"] == [{"role": "owner", "name": "bar baz", "email": None}]
    assert d["links"] == [
        {"type": "download", "url": "http://127.0.0.1:8084/datasets/geonode:fleem/dataset_download"},
        {"type": "html", "url": "http://127.0.0.1:8084/catalogue/#/dataset/28"},
    ]


def test_generic_resource_detail_gives_the_same_core_fields() -> None:
    d = normalise_resource(detail_entry(doc("resource_detail_1028.json"), "geostory"))
    assert d["identifier"] == "72ec2bc7-c198-475c-bdeb-7554b95ff114"
    assert d["bbox"] == [0.0, 0.0, 22.0, 22.0]
    assert d["links"][0]["type"] == "OGC:WMS"


def test_document_detail_is_normalised() -> None:
    entry = doc("documents_page1_size2.json")["documents"][0]
    d = normalise_resource(detail_entry({"document": entry}, "document"))
    assert d["identifier"] == "2c3a49f1-6672-4da8-9299-733db3fd8dcf"
    assert d["title"] == "something titledupe else"
    assert d["resource_type"] == "document"
    assert d["abstract"] == "bar common"
    assert d["bbox"] == [0.0, 0.0, 50.0, 50.0]
    assert d["temporal_extent"] is None
    assert {"type": "image", "url": "http://127.0.0.1:8084/api/v2/assets/9/link", "name": "img"} in d["links"]
    assert {"type": "download", "url": "http://127.0.0.1:8084/documents/19/download"} in d["links"]
    assert d["extra"]["extension"] == "gif"
    assert d["extra"]["mime_type"] == "image/gif"


def test_map_detail_is_normalised() -> None:
    entry = doc("maps_page1_size2.json")["maps"][0]
    d = normalise_resource(detail_entry({"map": entry}, "map"))
    assert d["identifier"] == "653c1319-7e32-4455-aaa5-c89d34b717d9"
    assert d["resource_type"] == "map"
    assert d["keywords"] == ["populartag"]
    assert d["extra"]["category"] == "elevation"
    assert d["links"] == [{"type": "html", "url": "http://127.0.0.1:8084/catalogue/#/map/9"}]


def test_bbox_falls_back_on_the_lon_lat_polygon() -> None:
    entry = detail_entry(doc("dataset_detail_testdata_28.json"), "dataset")
    del entry["extent"]
    assert normalise_resource(entry)["bbox"] == [0.0, 0.0, 50.0, 50.0]
    entry["extent"] = {"coords": [1e6, 2e6, 3e6, 4e6], "srid": "EPSG:3857"}
    assert normalise_resource(entry)["bbox"] == [0.0, 0.0, 50.0, 50.0]


def test_detail_without_uuid_is_a_parse_error() -> None:
    entry = detail_entry(doc("dataset_detail_1028.json"), "dataset")
    del entry["uuid"]
    with pytest.raises(RemoteError) as e:
        normalise_resource(entry)
    assert e.value.kind == "parse-error"
    assert "pk=1028" in e.value.message


# --- contacts: GeoNode 4.4.5 lists and older single objects ---------------


def test_contacts_given_as_lists_of_people() -> None:
    entry = detail_entry(doc("dataset_detail_1028.json"), "dataset")
    entry["poc"] = [PERSON, {"username": "solo", "first_name": "", "last_name": "", "email": ""}]
    entry["metadata_author"] = [PERSON]
    contacts = normalise_contacts(entry)
    assert contacts == [
        {"role": "poc", "name": "bar baz", "email": "foo@example.org"},
        {"role": "poc", "name": "solo", "email": None},
        {"role": "metadata_author", "name": "bar baz", "email": "foo@example.org"},
        {"role": "owner", "name": "admin", "email": None},
    ]


def test_contacts_given_as_single_objects() -> None:
    entry = detail_entry(doc("dataset_detail_1028.json"), "dataset")
    entry["poc"] = [PERSON]
    entry["custodian"] = [copy.deepcopy(entry["owner"])]
    as_lists = normalise_contacts(entry)
    # The pre-4.4 shape: each role holds one person object, not a list.
    single = copy.deepcopy(entry)
    for role in ("poc", "custodian"):
        single[role] = single[role][0]
    for role in ("metadata_author", "publisher", "distributor"):
        single[role] = None
    assert normalise_contacts(single) == as_lists
    assert {"role": "custodian", "name": "admin", "email": None} in as_lists
    assert normalise_resource(single)["contacts"] == as_lists


# --- URLs and options -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://h:8000",
        "http://h:8000/",
        "http://h:8000/api/v2",
        "http://h:8000/api/v2/",
        " http://h:8000/api/ ",
    ],
)
def test_api_root_tolerates_the_usual_spellings(url: str) -> None:
    assert api_root(url) == "http://h:8000/api/v2"


def test_unknown_resource_type_option_is_refused() -> None:
    http = HttpClient()
    try:
        with pytest.raises(RemoteError) as e:
            GeoNodeRemote("http://h", RemoteOptions({"resource_types": "datasets"}), http)
        assert e.value.kind == "bad-option"
        with pytest.raises(RemoteError) as e:
            GeoNodeRemote("http://h", RemoteOptions({"page_size": "0"}), http)
        assert e.value.kind == "bad-option"
    finally:
        http.close()
