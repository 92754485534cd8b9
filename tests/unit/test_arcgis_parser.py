"""ArcGIS REST parsing on recorded documents: ArcGIS Server 10.81 (MapStore2's
MapServer root and group layer), ArcGIS Server 10.3 / 10.22 Feature Layers
(pyesridump) and Koop 10.4.19 (captured). Expected values were read by hand
from the documents."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from harvesting.remotes.arcgis import (
    ArcGisRemote,
    NativeExtent,
    ServiceRef,
    Target,
    bbox_from_extent,
    crs_of,
    iso_from_epoch_ms,
    parse_directory,
    parse_extent,
    parse_remote_id,
    parse_service_layers,
    parse_target,
    read_json,
    service_resources,
    web_mercator_to_lonlat,
)
from harvesting.remotes.base import RemoteError, RemoteOptions, content_hash, empty_descriptor
from harvesting.remotes.http import HttpClient
from harvesting.remotes.values import load_json

DATA = Path(__file__).resolve().parents[1] / "data" / "arcgis"
KOOP = "captured-koop-10.4.19"
SERVICE_URL = "https://gis.example.org/arcgis/rest/services/Projects/Status/MapServer"
DIRECTORY_URL = "https://gis.example.org/arcgis/rest/services"


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def doc(name: str) -> Any:
    return json.loads(raw(name))


def remote(url: str = SERVICE_URL, **options: str) -> ArcGisRemote:
    # reparse does no I/O; the client is never used.
    return ArcGisRemote(url, RemoteOptions(dict(options)), HttpClient())


def mercator_lonlat(x: float, y: float) -> tuple[float, float]:
    """The inverse spherical Mercator written the other way (atan of sinh),
    to check the module's 2·atan(exp) version against."""
    r = 6378137.0
    return math.degrees(x / r), math.degrees(math.atan(math.sinh(y / r)))


# --- configured URLs -------------------------------------------------------


def test_directory_url() -> None:
    target = parse_target("https://gis.example.org/arcgis/rest/services/")
    assert target == Target("directory", "https://gis.example.org/arcgis/rest/services", ())
    assert target.entry_url == "https://gis.example.org/arcgis/rest/services"


def test_folder_url_walks_from_the_folder_but_ids_stay_relative_to_the_root() -> None:
    target = parse_target("https://gis.example.org/arcgis/rest/services/My%20Folder?f=pjson")
    assert target.kind == "directory"
    assert target.base == "https://gis.example.org/arcgis/rest/services"
    assert target.folder == "My Folder"
    assert target.entry_url == "https://gis.example.org/arcgis/rest/services/My%20Folder"


def test_service_url_keeps_token_and_drops_f() -> None:
    target = parse_target(SERVICE_URL + "?token=abc&f=pjson")
    assert target.kind == "service"
    assert target.base == "https://gis.example.org/arcgis/rest/services/Projects/Status"
    assert target.query == (("token", "abc"),)
    assert target.service_name == "Projects/Status"
    assert target.service_type == "MapServer"
    assert target.entry_url == SERVICE_URL


def test_layer_url() -> None:
    target = parse_target("http://127.0.0.1:8083/file-geojson/rest/services/lakes/featureserver/0")
    assert (target.kind, target.service_type, target.layer_id, target.service_name) == (
        "layer",
        "FeatureServer",
        0,
        "lakes",
    )
    assert target.entry_url == "http://127.0.0.1:8083/file-geojson/rest/services/lakes/FeatureServer/0"


def test_url_without_rest_services() -> None:
    assert parse_target("https://proxy.example.org/maps/Parcels/MapServer").service_name == "Parcels"
    assert parse_target("https://proxy.example.org/catalogue").kind == "directory"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://gis.example.org/arcgis/rest/services", "http(s)"),
        ("https://gis.example.org/arcgis/rest/services/Utilities/Geometry/GeometryServer", "GeometryServer"),
        ("https://gis.example.org/arcgis/rest/services/Elevation/ImageServer/0", "must end at a service"),
        ("https://gis.example.org/arcgis/rest/services/Lakes/FeatureServer/0/query", "must end at a service"),
        ("https://gis.example.org/arcgis/rest/services/Lakes/MapServer/export", "must end at a service"),
    ],
)
def test_unusable_urls_are_bad_options(url: str, words: str) -> None:
    with pytest.raises(RemoteError) as e:
        parse_target(url + "?token=s3cret")
    assert e.value.kind == "bad-option"
    assert words in e.value.message
    assert "s3cret" not in e.value.message


# --- remote ids ------------------------------------------------------------


def test_remote_ids_of_a_directory() -> None:
    target = parse_target(DIRECTORY_URL)
    rid = parse_remote_id("Projects/Status/MapServer/3", target)
    assert (rid.service_name, rid.service_type, rid.layer_id) == ("Projects/Status", "MapServer", 3)
    rid = parse_remote_id("Elevation/ImageServer", target)
    assert (rid.service_name, rid.service_type, rid.layer_id) == ("Elevation", "ImageServer", None)


def test_remote_ids_of_a_single_service_and_layer() -> None:
    rid = parse_remote_id("MapServer/3", parse_target(SERVICE_URL))
    assert (rid.service_name, rid.service_type, rid.layer_id) == ("", "MapServer", 3)
    assert parse_remote_id("FeatureServer/0", parse_target(DIRECTORY_URL + "/lakes/FeatureServer/0")).layer_id == 0


@pytest.mark.parametrize(
    ("url", "remote_id"),
    [
        (DIRECTORY_URL, "MapServer/3"),  # a directory id needs the service name
        (DIRECTORY_URL, "Projects/../Status/MapServer/3"),
        (DIRECTORY_URL, "Projects/Status/MapServer/3?x=1"),
        (DIRECTORY_URL, "Projects//Status/MapServer/3"),
        (DIRECTORY_URL, "Projects/Status/MapServer"),  # a MapServer layer needs its number
        (DIRECTORY_URL, "Elevation/ImageServer/0"),  # an ImageServer has none
        (DIRECTORY_URL, "Projects/Status/GPServer/1"),
        (DIRECTORY_URL, "Projects/Status/MapServer/03"),
        (SERVICE_URL, "Projects/Status/MapServer/3"),  # single-service ids have no name
        (SERVICE_URL, "FeatureServer/3"),
        (DIRECTORY_URL + "/lakes/FeatureServer/0", "FeatureServer/1"),
    ],
)
def test_foreign_remote_ids_are_not_found(url: str, remote_id: str) -> None:
    with pytest.raises(RemoteError) as e:
        parse_remote_id(remote_id, parse_target(url))
    assert e.value.kind == "not-found"


# --- services directory ----------------------------------------------------


def test_parse_directory_root_and_folder() -> None:
    # Synthetic (no recorded ArcGIS Server directory exists): the documented shape.
    root = {
        "currentVersion": 10.81,
        "folders": ["Projects", "Utilities"],
        "services": [{"name": "Elevation", "type": "ImageServer"}],
    }
    folders, services = parse_directory(root, "", "root")
    assert folders == ["Projects", "Utilities"]
    assert services == [ServiceRef("Elevation", "ImageServer")]
    folder = {
        "folders": [],
        "services": [{"name": "Projects/Status", "type": "MapServer"}, {"name": "Bare", "type": "FeatureServer"}],
    }
    assert parse_directory(folder, "Projects", "folder")[1] == [
        ServiceRef("Projects/Status", "MapServer"),
        ServiceRef("Projects/Bare", "FeatureServer"),  # a bare name inside a folder is relative to it
    ]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"currentVersion": 11.2},
        {"services": {"name": "x"}},
        {"services": [{"type": "MapServer"}]},
        {"folders": [1, 2]},
    ],
)
def test_bad_directories_are_parse_errors(data: Any) -> None:
    with pytest.raises(RemoteError) as e:
        parse_directory(data, "", "GET http://x/rest/services")
    assert e.value.kind == "parse-error"


@pytest.mark.fault("3")
def test_folders_naming_themselves_or_their_parents_are_not_sub_folders() -> None:
    """A folder document listing its own folder (`A`, `A/`, `/A`, `A/.`) or
    its parent was read as a new sub-folder `A/A`, and the walk went on
    folder after folder: those entries are loops, the rest listed once."""
    data = {"folders": ["A", "A/", "/A", "A/.", "", "B", "A/B", "./B/", "A/C/../D"], "services": []}
    assert parse_directory(data, "A", "folder")[0] == ["A/B", "A/D"]
    assert parse_directory({"folders": ["A", "A/B", "B"], "services": []}, "A/B", "f")[0] == ["A/B/B"]


def test_koop_rest_info_is_not_a_directory() -> None:
    with pytest.raises(RemoteError, match="not an ArcGIS services directory") as e:
        parse_directory(doc(f"{KOOP}/rest_info.json"), "", "GET koop")
    assert e.value.kind == "parse-error"


# --- service roots ---------------------------------------------------------


def test_mapserver_root_10_81_lists_groups_and_sublayers() -> None:
    entries = parse_service_layers(doc("mapstore2/arcgis-test-data.json"), "root")
    assert len(entries) == 24
    assert [e.id for e in entries[:7]] == [1, 11, 12, 13, 14, 15, 2]
    groups = [e.name for e in entries if e.id < 10]
    assert groups == ["Active Projects", "On-hold Projects", "Completed Projects", "Closed Projects"]
    assert [e.name for e in entries[1:6]] == ["Post-Prelim", "Outreach", "Preliminary", "Data Development", "Discovery"]
    assert {e.resource_type for e in entries} == {"layer"}


def test_service_resources_ids_of_a_directory_and_of_a_single_service() -> None:
    data = doc("mapstore2/arcgis-test-data.json")
    listed = service_resources(parse_target(DIRECTORY_URL), "Projects/Status/MapServer", "MapServer", data, "root")
    assert listed[0].remote_id == "Projects/Status/MapServer/1"
    assert listed[0].title == "Active Projects"
    assert listed[-1].remote_id == "Projects/Status/MapServer/45"
    single = service_resources(parse_target(SERVICE_URL), "MapServer", "MapServer", data, "root")
    assert [r.remote_id for r in single][:3] == ["MapServer/1", "MapServer/11", "MapServer/12"]
    assert all(r.modified is None for r in single)


def test_koop_featureserver_root() -> None:
    entries = parse_service_layers(doc(f"{KOOP}/lakes_FeatureServer.json"), "root")
    assert [(e.id, e.name, e.resource_type) for e in entries] == [(0, "lakes.geojson", "layer")]


def test_tables_are_resources_too() -> None:
    data = {"layers": [{"id": 0, "name": "Parcels"}], "tables": [{"id": 1, "name": "Owners"}]}
    assert [(e.id, e.resource_type) for e in parse_service_layers(data, "root")] == [(0, "layer"), (1, "table")]


@pytest.mark.fault("14")
def test_a_layer_id_repeated_within_a_service_is_listed_as_is() -> None:
    """A service root listing one layer id twice failed the refresh; every
    entry is now listed in order, for the lister to judge the repeat."""
    data = doc("mapstore2/arcgis-test-data.json")
    data["layers"].append(copy.deepcopy(data["layers"][1]))
    ids = [e.id for e in parse_service_layers(data, "root")]
    assert ids == [layer["id"] for layer in data["layers"]] + [t["id"] for t in data.get("tables") or []]
    assert ids.count(11) == 2


@pytest.mark.parametrize(
    "data",
    [
        {"layers": {"id": 0}},
        {"layers": [{"name": "no id"}]},
        {"layers": [{"id": True, "name": "bool id"}]},
        {"layers": [{"id": -1, "name": "negative"}]},
        {"currentVersion": 11.2},
        "layers",
    ],
)
def test_bad_service_roots_are_parse_errors(data: Any) -> None:
    with pytest.raises(RemoteError) as e:
        parse_service_layers(data, "root")
    assert e.value.kind == "parse-error"


# --- layer descriptors -----------------------------------------------------


def test_group_layer_10_81_in_web_mercator() -> None:
    fetched = remote().reparse(raw("mapstore2/arcgis-layer-test-data.json"), "MapServer/1")
    d = fetched.descriptor
    assert set(d) == set(empty_descriptor("x"))
    assert d["identifier"] == "MapServer/1"
    assert d["title"] == "Active Projects"
    assert d["abstract"] == ""
    assert d["resource_type"] == "layer"
    assert d["crs"] == "EPSG:3857"
    west, south = mercator_lonlat(-19851965.9761, -1643352.0163999982)
    east, north = mercator_lonlat(16269834.825400002, 10537038.417599998)
    assert d["bbox"] == pytest.approx([west, south, east, north], abs=1e-7)
    assert d["bbox"] == pytest.approx([-178.333245, -14.601806, 146.154413, 68.301026], abs=1e-6)
    assert d["license"] is None  # copyrightText is ""
    assert d["links"][0] == {
        "type": "ESRI:ArcGIS:MapServer",
        "url": SERVICE_URL + "/1",
        "name": "Active Projects",
    }
    export = d["links"][1]
    assert export["type"] == "image"
    assert export["url"] == (
        SERVICE_URL + "/export?bbox=-19851965.9761,-1643352.0163999982,16269834.825400002,10537038.417599998"
        "&bboxSR=102100&layers=show:1&size=512,173&format=png&transparent=true&f=image"
    )
    extra = d["extra"]
    assert extra["service_name"] == "Projects/Status"
    assert extra["service_type"] == "MapServer"
    assert extra["layer_type"] == "Group Layer"
    assert extra["geometry_type"] is None
    assert extra["fields"] == []
    assert extra["sub_layers"] == [11, 12, 13, 14, 15]
    assert extra["parent_layer"] is None
    assert (extra["wkid"], extra["latest_wkid"]) == (102100, 3857)
    assert extra["extent"]["xmin"] == -19851965.9761
    assert extra["current_version"] == 10.81
    assert extra["capabilities"] == "Map,Query"
    assert fetched.modified is None
    assert d["dates"] == {}


def test_koop_feature_layer() -> None:
    koop = "http://127.0.0.1:8083/file-geojson/rest/services/lakes/FeatureServer"
    d = remote(koop).reparse(raw(f"{KOOP}/lakes_FeatureServer_0.json"), "FeatureServer/0").descriptor
    assert d["title"] == "lakes.geojson"
    assert d["abstract"] == "GeoJSON from lakes.geojson"
    assert d["license"] == (
        "Copyright information varies by provider. For more information please contact the source of this data."
    )
    assert d["bbox"] == [-124.95363440005697, -16.536406345284952, 109.92980716353523, 66.96929759385118]
    assert d["crs"] == "EPSG:4326"
    # FeatureServer: the REST link only, no export operation.
    assert d["links"] == [{"type": "ESRI:ArcGIS:FeatureServer", "url": koop + "/0", "name": "lakes.geojson"}]
    extra = d["extra"]
    assert [f["name"] for f in extra["fields"]] == [
        "OBJECTID",
        "id",
        "scalerank",
        "name",
        "name_alt",
        "admin",
        "featureclass",
    ]
    assert extra["fields"][0] == {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}
    assert extra["geometry_type"] == "esriGeometryPolygon"
    assert extra["max_record_count"] == 2000
    assert extra["current_version"] == 11.2
    assert extra["service_name"] == "lakes"
    assert d["temporal_extent"] is None  # Koop sends "timeInfo": {}


def test_feature_layer_10_3_facilities() -> None:
    d = remote().reparse(raw("pyesridump/us-esri-test-metadata.json"), "MapServer/0").descriptor
    assert d["title"] == "Facilities"
    assert d["bbox"] == [-180.0, -90.0, 178.033951095, 88.957793022]
    assert d["extra"]["current_version"] == 10.3
    assert d["extra"]["max_record_count"] == 1000
    assert d["extra"]["capabilities"] == "Query,Create,Update,Delete,Uploads,Editing"
    assert [f["name"] for f in d["extra"]["fields"]] == [
        "objectid",
        "facility",
        "description",
        "quality",
        "observed",
        "globalid",
    ]
    assert d["extra"]["fields"][1]["alias"] == "Facility"


def test_feature_layer_10_22_polk_addresses() -> None:
    d = remote().reparse(raw("pyesridump/us-fl-polk-metadata.json"), "MapServer/0").descriptor
    assert d["title"] == "Addresses (visible at 1:2500)"
    assert d["bbox"] == [-82.10125958482321, 27.64294786029242, -81.12773092284728, 28.359597901613128]
    assert len(d["extra"]["fields"]) == 58
    assert d["extra"]["fields"][1] == {"name": "Shape", "type": "esriFieldTypeGeometry", "alias": "Shape"}
    assert d["extra"]["geometry_type"] == "esriGeometryPoint"
    assert d["extra"]["current_version"] == 10.22
    assert d["extra"]["parent_layer"] is None
    assert d["extra"]["sub_layers"] == []


def test_layer_in_a_state_plane_crs_keeps_its_native_extent() -> None:
    d = remote().reparse(raw("pyesridump/us-il-cook-metadata.json"), "MapServer/11").descriptor
    assert d["title"] == "Point of Interest"
    assert d["bbox"] is None
    assert d["crs"] == "EPSG:3435"
    assert d["extra"]["wkid"] == 3435
    assert d["extra"]["latest_wkid"] is None
    assert d["extra"]["extent"] == {
        "xmin": 1003477.096,
        "ymin": 1749983.277,
        "xmax": 1324820.8775,
        "ymax": 2004197.31125,
    }
    assert d["extra"]["max_record_count"] is None
    assert d["extra"]["current_version"] is None
    assert len(d["extra"]["fields"]) == 32
    assert "bboxSR=3435" in d["links"][1]["url"]


def test_directory_ids_give_directory_urls() -> None:
    d = remote(DIRECTORY_URL).reparse(raw("mapstore2/arcgis-layer-test-data.json"), "Projects/Status/MapServer/1")
    assert d.descriptor["links"][0]["url"] == DIRECTORY_URL + "/Projects/Status/MapServer/1"
    assert d.descriptor["extra"]["service_name"] == "Projects/Status"


def test_links_never_carry_the_configured_token() -> None:
    d = remote(SERVICE_URL + "?token=s3cret").reparse(raw("mapstore2/arcgis-layer-test-data.json"), "MapServer/1")
    assert "s3cret" not in json.dumps(d.descriptor)


def test_edit_date_and_time_extent() -> None:
    data = doc(f"{KOOP}/lakes_FeatureServer_0.json")
    data["editingInfo"] = {"lastEditDate": 1700000000123}
    data["timeInfo"] = {"timeExtent": [946684800000, None]}
    fetched = remote().reparse(json.dumps(data).encode(), "MapServer/0")
    assert fetched.modified == "2023-11-14T22:13:20.123Z"
    assert fetched.descriptor["dates"] == {"modified": "2023-11-14T22:13:20.123Z"}
    assert fetched.descriptor["temporal_extent"] == ["2000-01-01T00:00:00Z", None]


def test_image_server_descriptor() -> None:
    # Synthetic ImageServer root (none was recorded), in the documented shape.
    image = {
        "currentVersion": 10.81,
        "name": "Elevation",
        "description": "",
        "serviceDescription": "Synthetic elevation model",
        "copyrightText": "",
        "licenseInfo": "CC-BY-4.0",
        "extent": {
            "xmin": -1113194.9079327357,
            "ymin": 0,
            "xmax": 1113194.9079327357,
            "ymax": 1118889.9748579594,
            "spatialReference": {"wkid": 102100, "latestWkid": 3857},
        },
        "pixelType": "F32",
        "bandCount": 1,
        "documentInfo": {"Keywords": "elevation, dem,elevation, ", "Author": "Survey Office"},
    }
    url = DIRECTORY_URL + "/Elevation/ImageServer"
    d = remote(url).reparse(json.dumps(image).encode(), "ImageServer").descriptor
    assert d["title"] == "Elevation"
    assert d["abstract"] == "Synthetic elevation model"
    assert d["license"] == "CC-BY-4.0"
    assert d["keywords"] == ["elevation", "dem"]
    assert d["contacts"] == [{"role": "author", "name": "Survey Office"}]
    assert d["resource_type"] == "raster"
    assert d["bbox"] == pytest.approx([-10.0, 0.0, 10.0, 10.0], abs=1e-8)
    assert d["links"][0] == {"type": "ESRI:ArcGIS:ImageServer", "url": url, "name": "Elevation"}
    assert d["links"][1]["url"].startswith(url + "/exportImage?bbox=")
    assert "layers=" not in d["links"][1]["url"]
    assert d["extra"]["layer_id"] is None


def test_reparse_is_deterministic() -> None:
    body = raw("pyesridump/us-fl-polk-metadata.json")
    first, second = remote().reparse(body, "MapServer/0"), remote().reparse(body, "MapServer/0")
    assert first.descriptor == second.descriptor
    assert first.content_hash == second.content_hash == content_hash(first.descriptor)
    assert first.raw == body


def test_document_of_another_layer_is_refused() -> None:
    with pytest.raises(RemoteError, match="asked for layer 0, the document is layer 11") as e:
        remote().reparse(raw("pyesridump/us-il-cook-metadata.json"), "MapServer/0")
    assert e.value.kind == "parse-error"


def test_service_root_instead_of_a_layer_is_refused() -> None:
    with pytest.raises(RemoteError, match="got a service root") as e:
        remote().reparse(raw("mapstore2/arcgis-test-data.json"), "MapServer/1")
    assert e.value.kind == "parse-error"


def test_reparse_refuses_ids_of_another_remote() -> None:
    with pytest.raises(RemoteError) as e:
        remote().reparse(raw("mapstore2/arcgis-layer-test-data.json"), "Projects/Status/MapServer/1")
    assert e.value.kind == "not-found"


# --- extents, dates --------------------------------------------------------


def test_web_mercator_inverse() -> None:
    assert web_mercator_to_lonlat(0, 0) == (0.0, 0.0)
    lon, lat = web_mercator_to_lonlat(20037508.342789244, 20037508.342789244)
    assert lon == pytest.approx(180.0)
    assert lat == pytest.approx(85.0511287798066)
    lon, lat = web_mercator_to_lonlat(-1e300, 1e300)  # hostile numbers must not overflow
    assert [lon, lat] == pytest.approx([-180.0, 90.0])


@pytest.mark.parametrize(
    ("extent", "bbox"),
    [
        (NativeExtent(-10, -5, 10, 5, 4326, 4326), [-10, -5, 10, 5]),
        (NativeExtent(-10, -5, 10, 5, None, 4326), [-10, -5, 10, 5]),
        (NativeExtent(1003477.0, 1749983.0, 1324820.0, 2004197.0, 4326, None), None),  # projected, mislabelled
        (NativeExtent(-10, 5, 10, -5, 4326, None), None),  # south above north
        (NativeExtent(0, 0, 1, 1, 2056, 2056), None),
        (NativeExtent(0, 0, 1, 1, None, None), None),
        (None, None),
    ],
)
def test_bbox_from_extent(extent: NativeExtent | None, bbox: list[float] | None) -> None:
    assert bbox_from_extent(extent) == bbox


def test_extent_with_nan_or_missing_values() -> None:
    sr = {"wkid": 4326}
    assert parse_extent({"xmin": "NaN", "ymin": 0, "xmax": 1, "ymax": 1, "spatialReference": sr}) is None
    assert parse_extent({"xmin": 0, "ymin": 0, "xmax": 1, "spatialReference": sr}) is None
    assert parse_extent("extent") is None
    # The document's spatial reference stands in for a missing one.
    extent = parse_extent({"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, {"wkid": 102100, "latestWkid": 3857})
    assert extent is not None
    assert (extent.wkid, extent.latest_wkid) == (102100, 3857)


def test_crs_names() -> None:
    assert crs_of(NativeExtent(0, 0, 1, 1, 102100, 3857)) == "EPSG:3857"
    assert crs_of(NativeExtent(0, 0, 1, 1, 102100, None)) == "EPSG:3857"
    assert crs_of(NativeExtent(0, 0, 1, 1, 102003, None)) == "ESRI:102003"
    assert crs_of(NativeExtent(0, 0, 1, 1, 2263, 2263)) == "EPSG:2263"
    assert crs_of(NativeExtent(0, 0, 1, 1, None, None)) is None


def test_epoch_milliseconds() -> None:
    assert iso_from_epoch_ms(0) == "1970-01-01T00:00:00Z"
    assert iso_from_epoch_ms(1700000000123) == "2023-11-14T22:13:20.123Z"
    assert iso_from_epoch_ms(1e300) is None
    assert iso_from_epoch_ms(True) is None
    assert iso_from_epoch_ms("1700000000000") is None
    assert iso_from_epoch_ms(None) is None


# --- errors and hostile bodies ---------------------------------------------


def test_koop_error_served_with_200_is_an_exception_report() -> None:
    with pytest.raises(RemoteError) as e:
        read_json(raw(f"{KOOP}/lakes_MapServer_invalid_url_error.json"), "GET koop/lakes/MapServer")
    assert e.value.kind == "exception-report"
    # details repeat the message: said once
    assert e.value.message == "GET koop/lakes/MapServer: ArcGIS error 400: Invalid URL"


def test_error_details_and_not_found_code() -> None:
    body = b'{"error":{"code":498,"message":"Invalid token.","details":["Token expired"]}}'
    with pytest.raises(RemoteError, match=r"ArcGIS error 498: Invalid token\. \(Token expired\)") as e:
        read_json(body, "GET x")
    assert e.value.kind == "exception-report"
    with pytest.raises(RemoteError) as e:
        read_json(b'{"error":{"code":404,"message":"Service not found","details":[]}}', "GET x")
    assert e.value.kind == "not-found"
    with pytest.raises(RemoteError) as e:
        read_json(b'{"error":"Access denied"}', "GET x")
    assert e.value.kind == "exception-report"


@pytest.mark.parametrize(
    "body",
    [
        raw(f"{KOOP}/lakes_FeatureServer_0.json")[:1000],
        b"<html><body>ArcGIS Services Directory</body></html>",
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 200000,
        b'{"id": 1e999999999}',
    ],
    ids=["truncated", "html", "empty", "bad-bytes", "deep-nesting", "huge-number"],
)
def test_malformed_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(RemoteError) as e:
        remote().reparse(body, "MapServer/1")
    assert e.value.kind == "parse-error"
    assert "\n" not in e.value.message


def test_json_that_is_not_an_object_is_a_parse_error() -> None:
    with pytest.raises(RemoteError, match="not an object") as e:
        remote().reparse(b"[1, 2]", "MapServer/1")
    assert e.value.kind == "parse-error"
    assert load_json(b"{}", "x") == {}


# --- options ---------------------------------------------------------------


def test_options() -> None:
    r = remote(DIRECTORY_URL, service_types="mapserver, ImageServer", services="Projects/Status", layer_filter=" Out ")
    assert r.service_types == ("MapServer", "ImageServer")
    assert r.services == frozenset({"projects/status"})
    assert r.layer_filter == "Out"


@pytest.mark.parametrize(
    ("url", "options", "words"),
    [
        (DIRECTORY_URL, {"service_types": "MapServer,WMSServer"}, "unknown WMSServer"),
        (SERVICE_URL, {"services": "Projects/Status"}, "only applies to a services directory"),
        (SERVICE_URL, {"service_types": "FeatureServer"}, "leaves out"),
    ],
)
def test_bad_options(url: str, options: dict[str, str], words: str) -> None:
    with pytest.raises(RemoteError, match=words) as e:
        remote(url, **options)
    assert e.value.kind == "bad-option"


def test_a_cursor_on_a_single_service_is_a_bad_option() -> None:
    with pytest.raises(RemoteError) as e:
        remote().list_resources("1")
    assert e.value.kind == "bad-option"


# --- every recorded document ------------------------------------------------

# file -> (remote id to read it as, None when it parses, else the error kind)
EXPECTED: dict[str, tuple[str, str | None]] = {
    f"{KOOP}/lakes_FeatureServer.json": ("MapServer/0", "parse-error"),  # a service root
    f"{KOOP}/lakes_FeatureServer_0.json": ("MapServer/0", None),
    f"{KOOP}/lakes_FeatureServer_layers.json": ("MapServer/0", "parse-error"),
    f"{KOOP}/lakes_MapServer_invalid_url_error.json": ("MapServer/0", "exception-report"),
    f"{KOOP}/lakes_query_countOnly.json": ("MapServer/0", "parse-error"),
    f"{KOOP}/lakes_query_idsOnly.json": ("MapServer/0", "parse-error"),
    f"{KOOP}/lakes_query_page_count2.json": ("MapServer/0", "parse-error"),
    f"{KOOP}/points10k_query_offset5000_count3.json": ("MapServer/0", "parse-error"),
    f"{KOOP}/rest_info.json": ("MapServer/0", "parse-error"),
    "mapstore2/arcgis-layer-test-data.json": ("MapServer/1", None),
    "mapstore2/arcgis-test-data.json": ("MapServer/1", "parse-error"),  # a service root
    "pyesridump/us-esri-test-metadata.json": ("MapServer/0", None),
    "pyesridump/us-fl-polk-count-only.json": ("MapServer/0", "parse-error"),
    "pyesridump/us-fl-polk-metadata.json": ("MapServer/0", None),
    "pyesridump/us-il-cook-metadata.json": ("MapServer/11", None),
}


def test_the_expectations_cover_every_copied_document() -> None:
    copied = {str(p.relative_to(DATA)) for p in DATA.rglob("*.json")}
    assert copied == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_recorded_document_parses_or_fails_clearly(name: str) -> None:
    remote_id, kind = EXPECTED[name]
    if kind is None:
        fetched = remote().reparse(raw(name), remote_id)
        assert fetched.descriptor["identifier"] == remote_id
        assert fetched.descriptor["title"]
        return
    with pytest.raises(RemoteError) as e:
        remote().reparse(raw(name), remote_id)
    assert e.value.kind == kind
    assert e.value.message.startswith(f"stored document of {remote_id}: ")
    assert len(e.value.message) < 600


def test_service_roots_in_the_recordings_list_their_layers() -> None:
    # The two recorded service roots read as roots (and the Koop /layers document too).
    assert len(parse_service_layers(doc("mapstore2/arcgis-test-data.json"), "x")) == 24
    assert len(parse_service_layers(doc(f"{KOOP}/lakes_FeatureServer.json"), "x")) == 1
    assert len(parse_service_layers(doc(f"{KOOP}/lakes_FeatureServer_layers.json"), "x")) == 1
