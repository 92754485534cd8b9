"""The issue's scenarios end to end: the `harvest` CLI against recorded WMS
documents served on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from lxml import etree

from harvesting.demo.server import LoopbackServer
from tests.conftest import Cli, read_data

MAPPROXY_130 = "wms/captured-mapproxy-7.0.0/mapproxy7_50layers_GetCapabilities_130.xml"
MAPPROXY_111 = "wms/captured-mapproxy-7.0.0/mapproxy7_50layers_GetCapabilities_111.xml"


def named_layers(document: bytes) -> list[str]:
    """Counted independently of our parser: every Layer with a Name child."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    return [str(n) for n in root.xpath("//*[local-name()='Layer']/*[local-name()='Name']/text()")]


@pytest.fixture
def mapproxy(loopback: LoopbackServer) -> tuple[LoopbackServer, str]:
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130), "1.1.1": read_data(MAPPROXY_111)})
    return loopback, loopback.url + "/wms"


def add(cli: Cli, name: str, url: str, *extra: str) -> None:
    cli("harvester", "add", name, "--type", "wms", "--url", url, *extra)


def harvested_events(cli: Cli, identifier: str) -> list[dict[str, object]]:
    return [e for e in cli.json("audit", identifier) if e["event"] == "ResourceHarvested"]


def test_n_layers_give_n_records_and_a_second_run_changes_nothing(
    cli: Cli, mapproxy: tuple[LoopbackServer, str]
) -> None:
    _server, url = mapproxy
    n = len(named_layers(read_data(MAPPROXY_130)))
    assert n == 50
    add(cli, "proxy", url)

    first = cli.json("run", "proxy")
    refresh, harvest = first["sessions"]
    assert (refresh["type"], refresh["status"], refresh["total"], refresh["new"]) == (
        "refresh",
        "finished-all-ok",
        n,
        n,
    )
    assert (harvest["status"], harvest["total"], harvest["harvested"], harvest["failed"]) == (
        "finished-all-ok",
        n,
        n,
        0,
    )
    assert first["harvester"]["records"] == n
    records = cli.json("records", "--harvester", "proxy")
    assert sorted(r["remote_id"] for r in records) == sorted(named_layers(read_data(MAPPROXY_130)))
    assert all(r["orphan"] is False and r["bbox"] and len(r["bbox"]) == 4 for r in records)

    second = cli.json("run", "proxy")
    assert second["sessions"][1]["unchanged"] == n
    assert second["sessions"][1]["harvested"] == 0
    assert second["sessions"][1]["status"] == "finished-all-ok"
    # The audit trail says the same: one ResourceHarvested per record, ever.
    for record in records[:3]:
        assert len(harvested_events(cli, record["id"])) == 1
    progress = [e for e in cli.json("audit", second["sessions"][1]["id"]) if e["event"] == "ProgressRecorded"]
    assert sum(len(e["payload"]["unchanged"]) for e in progress) == n
    assert all(e["payload"]["harvested"] == [] for e in progress)
    assert cli.json("records", "--harvester", "proxy") == records


@pytest.mark.parametrize("policy", ["--delete-orphans", "--keep-orphans"])
def test_removed_layers_become_stale_and_only_their_records_go(
    cli: Cli, mapproxy: tuple[LoopbackServer, str], policy: str
) -> None:
    server, url = mapproxy
    add(cli, "proxy", url, policy)
    cli("run", "proxy")
    before = {r["remote_id"]: r for r in cli.json("records", "--harvester", "proxy")}
    gone = sorted(before)[:3]
    server.site("/wms").remove_layers(gone)  # type: ignore[attr-defined]

    refresh = cli.json("refresh", "proxy", "--wait")
    assert refresh["status"] == "finished-all-ok"
    assert refresh["stale"] == 3
    resources = {r["remote_id"]: r for r in cli.json("resources", "proxy")}
    assert sorted(k for k, r in resources.items() if r["stale"]) == gone
    after = {r["remote_id"]: r for r in cli.json("records", "--harvester", "proxy")}
    if policy == "--delete-orphans":
        assert sorted(set(before) - set(after)) == gone
    else:
        assert set(after) == set(before)
        assert sorted(k for k, r in after.items() if r["orphan"]) == gone
    for remote_id in set(before) - set(gone):
        assert after[remote_id] == before[remote_id]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("empty-listing", "empty listing"),
        ("http-500", "HTTP 500"),
        ("exception-200", "exception-report"),
        ("malformed", "malformed XML"),
        ("refused", "unreachable"),
    ],
)
def test_a_broken_remote_fails_the_session_and_loses_nothing(
    cli: Cli, mapproxy: tuple[LoopbackServer, str], fault: str, expected: str
) -> None:
    server, url = mapproxy
    add(cli, "proxy", url, "--delete-orphans")
    cli("run", "proxy")
    records = cli.json("records", "--harvester", "proxy")
    assert len(records) == 50

    if fault == "refused":
        server.stop()
    else:
        server.site("/wms").set_fault(fault)  # type: ignore[attr-defined]
    result = cli("run", "proxy", check=False)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    last = cli.json("sessions", "--harvester", "proxy")[-1]
    assert last["type"] == "refresh"
    assert last["status"] == "finished-all-failed"
    assert expected in last["message"]
    harvester = cli.json("harvester", "show", "proxy")
    assert harvester["status"] == "ready"
    assert harvester["active_session"] is None
    assert cli.json("records", "--harvester", "proxy") == records
    assert not any(r["stale"] for r in cli.json("resources", "proxy"))


def test_a_harvest_against_an_unreachable_remote_touches_no_record(
    cli: Cli, mapproxy: tuple[LoopbackServer, str]
) -> None:
    server, url = mapproxy
    add(cli, "proxy", url)
    cli("run", "proxy")
    records = cli.json("records")
    server.stop()
    result = cli("harvest", "proxy", "--wait", check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "remote unavailable" in result.stderr
    assert cli.json("harvester", "show", "proxy")["available"] is False
    assert cli.json("records") == records


def test_a_sweep_above_max_stale_share_is_refused_and_explained(cli: Cli, mapproxy: tuple[LoopbackServer, str]) -> None:
    server, url = mapproxy
    add(cli, "proxy", url, "--delete-orphans", "--max-stale-share", "0.3")
    cli("run", "proxy")
    records = cli.json("records")
    names = named_layers(read_data(MAPPROXY_130))
    server.site("/wms").remove_layers(names[:20])  # type: ignore[attr-defined]  # 40% > 30%

    result = cli("refresh", "proxy", "--wait", "--json", check=False)
    assert result.returncode == 1
    session = result.json()
    assert session["status"] == "finished-some-failed"
    assert "sweep refused: 20 of 50 known resources (40.0%)" in session["message"]
    assert "max-stale-share 30.0%" in session["message"]
    assert cli.json("records") == records
    assert not any(r["stale"] for r in cli.json("resources", "proxy"))


def test_replay_rebuilds_identical_read_models(cli: Cli, mapproxy: tuple[LoopbackServer, str]) -> None:
    server, url = mapproxy
    add(cli, "proxy", url, "--keep-orphans")
    cli("run", "proxy")
    server.site("/wms").remove_layers(named_layers(read_data(MAPPROXY_130))[:2])  # type: ignore[attr-defined]
    cli("run", "proxy")
    cli("deselect", "proxy", named_layers(read_data(MAPPROXY_130))[5])

    def snapshot() -> dict[str, object]:
        return {
            "harvesters": cli.json("harvester", "list"),
            "sessions": cli.json("sessions"),
            "resources": cli.json("resources", "proxy"),
            "records": cli.json("records"),
            "record": cli.json("record", cli.json("records")[0]["id"]),
        }

    before = snapshot()
    replayed = cli.json("replay")
    assert replayed["events"] > 100
    assert replayed["rows"]["records"] == 50
    assert snapshot() == before


def test_one_session_at_a_time_and_abort(cli: Cli, mapproxy: tuple[LoopbackServer, str]) -> None:
    _server, url = mapproxy
    add(cli, "proxy", url)
    cli("refresh", "proxy", "--wait")
    started = cli.json("harvest", "proxy")  # no --wait: queued for a scheduler
    assert started["status"] == "on-going"
    busy = cli("refresh", "proxy", check=False)
    assert busy.returncode == 1
    assert f"already has an active harvest session {started['id']}" in busy.stderr
    again = cli.json("harvest", "proxy")
    assert again["id"] == started["id"]  # the same session, never a second one
    aborted = cli.json("abort", started["id"])
    assert aborted["status"] == "aborted"
    assert cli.json("harvester", "show", "proxy")["status"] == "ready"
    assert cli.json("session", started["id"])["status"] == "aborted"


@pytest.mark.parametrize(
    ("document", "version"),
    [
        ("wms/owslib/wms_mesonet-caps.xml", "1.1.1"),
        ("wms/owslib/wms_mesonet-caps-130.xml", "1.3.0"),
        ("wms/owslib/wms_nationalatlas_getcapabilities_111.xml", "1.1.1"),
        ("wms/owslib/wms_nationalatlas_getcapabilities_130.xml", "1.3.0"),
        ("wms/owslib/wms_dov_getcapabilities_130.xml", "1.3.0"),
        ("wms/owslib/wms_geoserver-cap.xml", "1.1.1"),
        ("wms/owslib/wms_Telascience.xml", "1.1.1"),
        ("wms/captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml", "1.1.1"),
    ],
)
def test_recorded_wms_documents_harvest_one_record_per_named_layer(
    sqlite_cli: Cli, loopback: LoopbackServer, document: str, version: str
) -> None:
    body = read_data(document)
    loopback.mount_wms("/w", {version: body})
    add(sqlite_cli, "w", loopback.url + "/w", "--option", f"version={version}")
    summary = sqlite_cli.json("run", "w")
    assert summary["sessions"][1]["status"] == "finished-all-ok"
    records = sqlite_cli.json("records")
    assert sorted(r["remote_id"] for r in records) == sorted(set(named_layers(body)))
    for r in records:
        if r["bbox"]:
            west, south, east, north = r["bbox"]
            assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90, (r["remote_id"], r["bbox"])


def test_a_huge_response_is_refused(sqlite_cli: Cli, mapproxy: tuple[LoopbackServer, str]) -> None:
    _server, url = mapproxy
    add(sqlite_cli, "proxy", url)
    result = sqlite_cli("run", "proxy", check=False, HARVEST_MAX_RESPONSE_BYTES="10000")
    assert result.returncode == 1
    assert "too-large" in result.stderr and "larger than 10000 bytes" in result.stderr
    assert sqlite_cli.json("records") == []
