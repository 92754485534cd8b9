"""Harvesting real servers through the `harvest` CLI, as a user would.

Each server is started once per session (conftest.py) with data the project
ships; each test registers a harvester in a fresh store, runs it, and checks
the exact record count and a few field values read by hand from the loaded
data (titles, and bounding boxes, always west, south, east, north in lon/lat).
"""

from __future__ import annotations

from typing import Any

import pytest

from interop.servers import Server
from tests.conftest import Cli

FINISHED_OK = "finished-all-ok"


def harvest(cli: Cli, name: str, remote_type: str, url: str, *options: str) -> dict[str, dict[str, Any]]:
    """Register, run (refresh then harvest) and return the records by remote id."""
    args = ["harvester", "add", name, "--type", remote_type, "--url", url]
    for option in options:
        args += ["--option", option]
    cli(*args)
    summary = cli.json("run", name)
    statuses = [(s["type"], s["status"], s["message"]) for s in summary["sessions"]]
    assert [status for _, status, _ in statuses] == [FINISHED_OK, FINISHED_OK], statuses
    records = cli.json("records", "--harvester", name)
    by_id = {record["remote_id"]: record for record in records}
    assert len(by_id) == len(records), "two records with one remote id"
    assert summary["harvester"]["records"] == len(records)
    return by_id


def assert_bbox(record: dict[str, Any], expected: list[float]) -> None:
    assert record["bbox"] == pytest.approx(expected, abs=1e-6), record["remote_id"]


# --------------------------------------------------------------------------- WMS


@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
def test_mapserver_wms(sqlite_cli: Cli, mapserver_wms: Server, version: str) -> None:
    records = harvest(sqlite_cli, "mapserver", "wms", mapserver_wms.url, f"version={version}")

    assert sorted(records) == [f"layer_{i:05d}" for i in range(12)]
    assert records["layer_00003"]["title"] == "Test layer 3 (layer)"
    # 1.3.0 gives EPSG:4326 boxes latitude first: the record must not.
    assert_bbox(records["layer_00003"], [-60.0, 78.0, -58.0, 80.0])
    assert_bbox(records["layer_00007"], [88.0, -30.0, 90.0, -28.0])
    assert "synthetic" in records["layer_00003"]["keywords"]


@pytest.mark.parametrize("version", ["1.1.1", "1.3.0"])
def test_mapproxy_wms(sqlite_cli: Cli, mapproxy: Server, version: str) -> None:
    records = harvest(sqlite_cli, "mapproxy", "wms", mapproxy.endpoints["wms"], f"version={version}")

    # Ten named layers under two unnamed groups (which are not resources).
    assert sorted(records) == [f"mp_{i:02d}" for i in range(10)]
    assert records["mp_03"]["title"] == "MapProxy layer 03"
    assert records["mp_03"]["abstract"] == "MapServer layer_00003 cascaded by MapProxy"
    assert_bbox(records["mp_03"], [-60.0, 78.0, -58.0, 80.0])
    assert_bbox(records["mp_07"], [88.0, -30.0, 90.0, -28.0])


# --------------------------------------------------------------------------- CSW

CITE_IDS = sorted(
    f"urn:uuid:{uuid}"
    for uuid in (
        "19887a8a-f6b0-4a63-ae56-7fba0e17801f",
        "1ef30a8b-876d-4828-9246-c37ab4510bbd",
        "66ae76b7-54ba-489b-a582-0f0633d96493",
        "6a3de50b-fa66-4b58-a0e6-ca146fdd18d4",
        "784e2afd-a9fd-44a6-9a92-a3848371c8ec",
        "829babb0-b2f1-49e1-8cd5-7b489fe71a1e",
        "88247b56-4cbc-4df9-9860-db3f8042e357",
        "94bc9c83-97f6-4b40-9eb8-a8e8787a5c63",
        "9a669547-b69b-469f-a11f-2d875366bbdc",
        "a06af396-3105-442d-8b40-22b57a90d2f2",
        "ab42a8c4-95e8-4630-bf79-33e59241605a",
        "e9330592-0932-474b-be34-c3a3bb67c7db",
    )
)


def assert_cite_records(records: dict[str, dict[str, Any]]) -> None:
    assert sorted(records) == CITE_IDS
    mauris = records["urn:uuid:94bc9c83-97f6-4b40-9eb8-a8e8787a5c63"]
    assert mauris["title"] == "Mauris sed neque"
    # The record says crs urn:x-ogc:def:crs:EPSG:6.11:4326, LowerCorner "47.595 -4.097" (lat lon).
    assert_bbox(mauris, [-4.097, 47.595, 0.889, 51.217])
    nunc = records["urn:uuid:9a669547-b69b-469f-a11f-2d875366bbdc"]
    assert nunc["title"] == "Ñunç elementum"
    assert_bbox(nunc, [-6.171, 44.792, -2.228, 51.126])
    assert records["urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"]["title"] == "Lorem ipsum"
    assert records["urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"]["bbox"] is None


def test_pycsw2_csw_dublin_core(sqlite_cli: Cli, pycsw2: Server) -> None:
    # pycsw caps pages at maxrecords=10: 12 records take two pages whatever is asked.
    records = harvest(sqlite_cli, "cite", "csw", pycsw2.endpoints["cite"], "output_schema=dc")
    assert_cite_records(records)


def test_pycsw2_csw_dublin_core_post(sqlite_cli: Cli, pycsw2: Server) -> None:
    records = harvest(
        sqlite_cli, "cite", "csw", pycsw2.endpoints["cite"], "output_schema=dc", "method=post", "page_size=5"
    )
    assert_cite_records(records)


def test_pycsw2_csw_gzip_with_wrong_content_length(sqlite_cli: Cli, pycsw2: Server) -> None:
    # pycsw 2.6's wsgi.py gzips the body but keeps the uncompressed Content-Length.
    records = harvest(sqlite_cli, "cite", "csw", pycsw2.endpoints["cite-gzip"], "output_schema=dc")
    assert_cite_records(records)


def test_pycsw2_csw_iso(sqlite_cli: Cli, pycsw2: Server) -> None:
    records = harvest(sqlite_cli, "apiso", "csw", pycsw2.endpoints["apiso"], "output_schema=iso")

    assert len(records) == 18
    pacioos = records["NS06agg"]
    assert pacioos["title"] == "PacIOOS Nearshore Sensor 06: Pohnpei, Micronesia"
    assert_bbox(pacioos, [158.22402954101562, 6.955227375030518, 158.22402954101562, 6.955227375030518])
    ortho = records["de53e931-778a-4792-94ad-9fe507aca483"]
    assert ortho["title"] == "Ortho"
    assert_bbox(ortho, [21.478784, 39.76001, 21.527317, 39.790341])
    assert records["3e9a8c05"]["title"] == "test Title"
    assert_bbox(records["3e9a8c05"], [19.37, 34.80, 29.61, 41.75])


# --------------------------------------------------------------------------- OGC API - Records


def test_pycsw3_ogcapi_records(sqlite_cli: Cli, pycsw3: Server) -> None:
    records = harvest(sqlite_cli, "pycsw3", "ogcapi-records", pycsw3.endpoints["records-collection"], "limit=10")

    # 12 CITE + 18 apiso + 1 STAC collection + 14 STAC items, all in metadata:main.
    assert len(records) == 45
    assert all(remote_id.startswith("metadata:main/") for remote_id in records)
    mauris = records["metadata:main/urn:uuid:94bc9c83-97f6-4b40-9eb8-a8e8787a5c63"]
    assert mauris["title"] == "Mauris sed neque"
    # pycsw 3 stores geometries with two decimals.
    assert_bbox(mauris, [-4.1, 47.59, 0.89, 51.22])
    wellington = records["metadata:main/interop-scene-12"]
    assert wellington["title"] == "Scene 12 over Wellington"
    assert_bbox(wellington, [174.7, -41.36, 174.86, -41.2])
    assert records["metadata:main/NS06agg"]["title"] == "PacIOOS Nearshore Sensor 06: Pohnpei, Micronesia"


def test_pycsw3_ogcapi_records_landing_page_walks_every_record_collection(sqlite_cli: Cli, pycsw3: Server) -> None:
    # From the landing page: metadata:main (45) then interop-scenes (14). Each collection's last
    # page is short while the walk goes on: that must not read as a truncated listing.
    records = harvest(sqlite_cli, "pycsw3-all", "ogcapi-records", pycsw3.url + "/", "limit=10")
    assert len(records) == 59
    assert sum(1 for remote_id in records if remote_id.startswith("interop-scenes/")) == 14


def test_pycsw3_ogcapi_records_virtual_collection(sqlite_cli: Cli, pycsw3: Server) -> None:
    # pycsw 3 makes a collection of the records whose parent identifier is a loaded record.
    url = f"{pycsw3.url}/collections/interop-scenes"
    records = harvest(sqlite_cli, "pycsw3-scenes", "ogcapi-records", url)

    assert sorted(records) == [f"interop-scenes/interop-scene-{i:02d}" for i in range(1, 15)]
    assert records["interop-scenes/interop-scene-01"]["title"] == "Scene 01 over Lisbon"
    assert_bbox(records["interop-scenes/interop-scene-01"], [-9.25, 38.69, -9.09, 38.80])


# --------------------------------------------------------------------------- STAC


def assert_stac_scenes(records: dict[str, dict[str, Any]]) -> None:
    assert sorted(records) == [f"interop-scenes/interop-scene-{i:02d}" for i in range(1, 15)]
    lisbon = records["interop-scenes/interop-scene-01"]
    assert lisbon["title"] == "Scene 01 over Lisbon"
    assert_bbox(lisbon, [-9.25, 38.69, -9.09, 38.80])
    wellington = records["interop-scenes/interop-scene-12"]
    assert wellington["title"] == "Scene 12 over Wellington"
    assert_bbox(wellington, [174.7, -41.36, 174.86, -41.2])
    assert "wellington" in wellington["keywords"]


def test_pycsw3_stac_api(sqlite_cli: Cli, pycsw3: Server) -> None:
    records = harvest(sqlite_cli, "pycsw3-stac", "stac", pycsw3.endpoints["stac"], "limit=5")
    assert_stac_scenes(records)


def test_rustac_stac_api(sqlite_cli: Cli, rustac: Server) -> None:
    records = harvest(sqlite_cli, "rustac", "stac", rustac.endpoints["stac"], "limit=5")
    assert_stac_scenes(records)


def test_rustac_stac_collections(sqlite_cli: Cli, rustac: Server) -> None:
    records = harvest(sqlite_cli, "rustac-collections", "stac", rustac.endpoints["stac"], "level=collections")

    assert sorted(records) == ["collection:interop-scenes"]
    scenes = records["collection:interop-scenes"]
    assert scenes["title"] == "Interop scenes"
    assert_bbox(scenes, [-157.95, -41.36, 174.86, 64.17])


# --------------------------------------------------------------------------- ArcGIS REST


@pytest.mark.parametrize(
    ("service", "title", "bbox"),
    [
        ("parks", "Parks", [-9.159, 38.7139, 13.3501, 52.5145]),
        ("rivers", "Rivers", [-9.4, 38.69, 18.9, 48.85]),
    ],
)
def test_koop_feature_server(sqlite_cli: Cli, koop: Server, service: str, title: str, bbox: list[float]) -> None:
    records = harvest(sqlite_cli, service, "arcgis", koop.endpoints[service])

    # Koop's file provider: one layer per GeoJSON file.
    assert sorted(records) == ["FeatureServer/0"]
    layer = records["FeatureServer/0"]
    assert layer["title"] == title
    assert_bbox(layer, bbox)


# --------------------------------------------------------------------------- every protocol


def test_records_of_every_protocol_have_the_same_keys(
    sqlite_cli: Cli, mapserver_wms: Server, pycsw2: Server, pycsw3: Server, rustac: Server, koop: Server
) -> None:
    """One store, one harvester per protocol: the records (listing and full
    document, normalised descriptor included) have one shape whatever the protocol."""
    harvesters = {
        "wms": ("wms", mapserver_wms.url, ["version=1.3.0"]),
        "csw-dc": ("csw", pycsw2.endpoints["cite"], ["output_schema=dc"]),
        "csw-iso": ("csw", pycsw2.endpoints["apiso"], ["output_schema=iso"]),
        "ogcapi-records": ("ogcapi-records", f"{pycsw3.url}/collections/interop-scenes", []),
        "stac": ("stac", rustac.endpoints["stac"], []),
        "arcgis": ("arcgis", koop.endpoints["parks"], []),
    }
    listings: dict[str, dict[str, Any]] = {}
    documents: dict[str, dict[str, Any]] = {}
    for name, (remote_type, url, options) in harvesters.items():
        records = harvest(sqlite_cli, name, remote_type, url, *options)
        first = records[sorted(records)[0]]
        listings[name] = first
        documents[name] = sqlite_cli.json("record", first["id"])

    def shapes(by_name: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
        return {name: sorted(document) for name, document in by_name.items()}

    reference = "wms"
    assert shapes(listings) == {name: sorted(listings[reference]) for name in listings}
    assert shapes(documents) == {name: sorted(documents[reference]) for name in documents}
    descriptors = {name: document["descriptor"] for name, document in documents.items()}
    assert shapes(descriptors) == {name: sorted(descriptors[reference]) for name in descriptors}
    for name, descriptor in descriptors.items():
        bbox = descriptor["bbox"]
        assert bbox is None or (len(bbox) == 4 and bbox[0] <= bbox[2] and bbox[1] <= bbox[3]), (name, bbox)
        assert all({"type", "url"} <= set(link) for link in descriptor["links"]), (name, descriptor["links"])
        assert isinstance(descriptor["keywords"], list), name
        assert isinstance(descriptor["dates"], dict), name
        assert isinstance(descriptor["extra"], dict), name
