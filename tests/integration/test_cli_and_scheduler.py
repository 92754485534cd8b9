"""The scheduler loop, and bad input at the command line: clear errors, nothing lost."""

from __future__ import annotations

import pytest

from harvesting.demo.server import LoopbackServer
from tests.conftest import Cli, read_data
from tests.integration.test_wms_scenarios import MAPPROXY_130


@pytest.fixture
def wms_url(loopback: LoopbackServer) -> str:
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    return loopback.url + "/wms"


def test_scheduler_starts_due_refresh_then_harvest(cli: Cli, wms_url: str) -> None:
    cli("harvester", "add", "p", "--type", "wms", "--url", wms_url, "--refresh-every", "1s", "--harvest-every", "1s")
    cli("scheduler", "--once")
    sessions = cli.json("sessions", "--harvester", "p")
    assert [(s["type"], s["status"]) for s in sessions] == [("refresh", "finished-all-ok")]
    assert cli.json("harvester", "show", "p")["available"] is True
    cli("scheduler", "--once")
    sessions = cli.json("sessions", "--harvester", "p")
    assert [(s["type"], s["status"]) for s in sessions] == [
        ("refresh", "finished-all-ok"),
        ("harvest", "finished-all-ok"),
    ]
    assert sessions[1]["harvested"] == 50


def test_scheduler_processes_a_session_started_without_wait(sqlite_cli: Cli, wms_url: str) -> None:
    cli = sqlite_cli
    cli("harvester", "add", "p", "--type", "wms", "--url", wms_url)
    started = cli.json("refresh", "p")
    assert started["status"] == "on-going"
    cli("scheduler", "--once")
    assert cli.json("session", started["id"])["status"] == "finished-all-ok"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["harvester", "add", "x", "--type", "ftp", "--url", "http://h"], "Invalid value for '--type'"),
        (["harvester", "add", "x", "--type", "wms", "--url", "not a url"], "is not an http(s) URL"),
        (["harvester", "add", "x", "--type", "wms", "--url", "http://h", "--refresh-every", "soon"], "not a duration"),
        (["harvester", "add", "x", "--type", "wms", "--url", "http://h", "--max-stale-share", "2"], "stale-share"),
        (["harvester", "add", "x", "--type", "wms", "--url", "http://h", "--option", "version"], "is not KEY=VALUE"),
        (["harvester", "add", "x", "--type", "wms", "--url", "http://h", "--option", "version=9"], "version"),
        (["harvester", "show", "nobody"], "no harvester named 'nobody'"),
        (["session", "not-a-uuid"], "is not a session id"),
        (["abort", "2b0f0c64-0000-4000-8000-000000000000"], "no session"),
        (["record", "nothing"], "no record nothing"),
        (["audit", "nothing"], "nothing known as 'nothing'"),
        (["select", "nobody", "a"], "no harvester named 'nobody'"),
    ],
)
def test_bad_arguments_get_a_clear_error(sqlite_cli: Cli, args: list[str], message: str) -> None:
    result = sqlite_cli(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_configuration_gets_one_line(sqlite_cli: Cli) -> None:
    for env, message in (
        ({"HARVEST_DATABASE_URL": "mysql://x/y"}, "must look like postgresql://"),
        ({"HARVEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/no_such_db_here"}, "does not exist"),
        ({"HARVEST_PARALLEL": "many"}, "HARVEST_PARALLEL"),
        ({"HARVEST_BATCH_SIZE": "0"}, "HARVEST_BATCH_SIZE"),
    ):
        result = sqlite_cli("harvester", "list", check=False, **env)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1
        assert message in result.stderr


def test_duplicate_name_refused_and_readding_a_removed_harvester_restores_its_records(
    sqlite_cli: Cli, wms_url: str
) -> None:
    cli = sqlite_cli
    cli("harvester", "add", "p", "--type", "wms", "--url", wms_url)
    dup = cli("harvester", "add", "p", "--type", "wms", "--url", wms_url, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    cli("run", "p")
    records = cli.json("records")
    cli("harvester", "remove", "p")
    assert cli.json("harvester", "list") == []
    assert all(r["orphan"] for r in cli.json("records"))
    cli("harvester", "add", "p", "--type", "wms", "--url", wms_url)
    again = cli.json("run", "p")
    assert again["sessions"][1]["unchanged"] == 50  # same identities: no duplicates
    assert cli.json("records") == records


def test_abort_from_another_process_while_a_harvest_is_driven(cli: Cli, loopback: LoopbackServer) -> None:
    site = loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    cli("harvester", "add", "p", "--type", "wms", "--url", loopback.url + "/wms")
    cli("refresh", "p", "--wait")
    site.set_fault("slow")  # each capabilities request now takes 5 s
    driver = cli.popen("harvest", "p", "--wait", "--json")
    try:
        session_id = ""
        for _ in range(100):
            sessions = cli.json("sessions", "--harvester", "p")
            if sessions[-1]["type"] == "harvest":
                session_id = sessions[-1]["id"]
                break
        assert session_id, "the harvest session never appeared"
        assert cli.json("abort", session_id)["status"] == "aborted"
        out, err = driver.communicate(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == 1, err
    assert "Traceback" not in err, err[-3000:]
    assert '"status": "aborted"' in out, err
    assert cli.json("harvester", "show", "p")["status"] == "ready"
    assert cli.json("records") == []
