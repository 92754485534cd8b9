"""GeoNode 4.4.5 (recorded API v2 documents on loopback) through the CLI."""

from __future__ import annotations

import pytest

from harvesting.demo.server import GeoNodeSite, LoopbackServer
from harvesting.demo.sites import geonode_captures
from tests.conftest import Cli


@pytest.fixture
def geonode(loopback: LoopbackServer) -> str:
    resources, details = geonode_captures()
    loopback.mount_geonode("/gn", resources, details)
    return loopback.url + "/gn"


@pytest.fixture
def site(loopback: LoopbackServer, geonode: str) -> GeoNodeSite:
    found = loopback.site("/gn")
    assert isinstance(found, GeoNodeSite)
    return found


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


def test_unchanged_geonode_is_not_fetched_again_and_a_change_is(cli: Cli, geonode: str, site: GeoNodeSite) -> None:
    cli("harvester", "add", "gn", "--type", "geonode", "--url", geonode)
    cli("run", "gn")
    assert site.requests == 13
    records = {r["remote_id"]: r for r in cli.json("records")}

    second = cli.json("run", "gn")["sessions"][1]
    assert (second["unchanged"], second["harvested"]) == (13, 0)
    assert site.requests == 13  # the listing's last_updated spared every detail request

    uuid = "3ac59528-35a0-49c0-8d7b-5d0ac0f0d551"
    site.update(uuid, {"title": "layer_00998 revised", "last_updated": "2026-11-29T00:00:00Z"})
    third = cli.json("run", "gn")["sessions"]
    assert third[0]["changed"] == 1
    assert (third[1]["unchanged"], third[1]["harvested"]) == (12, 1)
    assert site.requests == 14
    after = {r["remote_id"]: r for r in cli.json("records")}
    assert after[uuid]["title"] == "layer_00998 revised"
    assert {k: v for k, v in after.items() if k != uuid} == {k: v for k, v in records.items() if k != uuid}


@pytest.mark.parametrize(
    ("fault", "expected", "env"),
    [
        ("http-500", "HTTP 500", {}),
        ("malformed", "parse-error", {}),
        ("empty-listing", "empty listing", {}),
        ("slow", "no answer in time", {"HARVEST_HTTP_TIMEOUT": "1"}),
    ],
)
def test_broken_geonode_fails_cleanly_and_keeps_records(
    sqlite_cli: Cli, geonode: str, site: GeoNodeSite, fault: str, expected: str, env: dict[str, str]
) -> None:
    cli = sqlite_cli
    cli("harvester", "add", "gn", "--type", "geonode", "--url", geonode, "--delete-orphans")
    cli("run", "gn")
    records = cli.json("records")
    site.set_fault(fault)
    result = cli("run", "gn", check=False, **env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert cli.json("records") == records
    assert cli.json("harvester", "show", "gn")["status"] == "ready"


def test_a_harvest_in_another_process_reads_the_listing_once_not_a_lookup_per_resource(
    sqlite_cli: Cli, loopback: LoopbackServer
) -> None:
    from bench.documents import geonode_entries

    loopback.mount_geonode("/many", geonode_entries(60), {})
    site = loopback.site("/many")
    assert isinstance(site, GeoNodeSite)
    url = loopback.url + "/many"
    sqlite_cli("harvester", "add", "gn", "--type", "geonode", "--url", url, "--option", "page_size=20")
    sqlite_cli("refresh", "gn", "--wait")
    before = site.listing_requests
    harvest = sqlite_cli.json("harvest", "gn", "--wait")
    assert harvest["harvested"] == 60
    # This process never listed: a few lookups by uuid, then the 3 listing
    # pages once (one lookup per resource made 60 listing requests).
    assert site.listing_requests - before < 40
