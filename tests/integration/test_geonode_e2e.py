"""GeoNode 4.4.5 (recorded API v2 documents on loopback) through the CLI."""

from __future__ import annotations

import pytest

from harvesting.demo.server import LoopbackServer
from harvesting.demo.sites import geonode_captures
from tests.conftest import Cli


@pytest.fixture
def geonode(loopback: LoopbackServer) -> str:
    resources, details = geonode_captures()
    loopback.mount_geonode("/gn", resources, details)
    return loopback.url + "/gn"


def test_geonode_resources_become_records(cli: Cli, geonode: str) -> None:
    resources, _ = geonode_captures()
    cli("harvester", "add", "gn", "--type", "geonode", "--url", geonode, "--option", "page_size=4")
    summary = cli.json("run", "gn")
    refresh, harvest = summary["sessions"]
    assert refresh["total"] == len(resources) == 13
    assert harvest["harvested"] == 13
    records = {r["remote_id"]: r for r in cli.json("records", "--harvester", "gn")}
    assert set(records) == {r["uuid"] for r in resources}
    layer = records["72ec2bc7-c198-475c-bdeb-7554b95ff114"]
    assert layer["title"] == "layer_00999"
    assert layer["abstract"] == "lorem ipsum"
    assert layer["bbox"] == [0.0, 0.0, 22.0, 22.0]
    assert layer["crs"] == "EPSG:4326"
    assert any(link["type"] == "OGC:WMS" for link in layer["links"])
    full = cli.json("record", layer["id"])
    assert full["descriptor"]["temporal_extent"] == ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]


def test_geonode_resource_type_option(cli: Cli, geonode: str) -> None:
    cli("harvester", "add", "maps", "--type", "geonode", "--url", geonode, "--option", "resource_types=map")
    cli("run", "maps")
    records = cli.json("records", "--harvester", "maps")
    resources, _ = geonode_captures()
    assert len(records) == len([r for r in resources if r["resource_type"] == "map"]) == 6


def test_geonode_bad_option_is_refused_at_add(cli: Cli, geonode: str) -> None:
    result = cli(
        "harvester", "add", "x", "--type", "geonode", "--url", geonode, "--option", "page_size=ten", check=False
    )
    assert result.returncode == 1
    assert "page_size" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("harvester", "list") == []
