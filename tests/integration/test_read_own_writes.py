"""Every command reads its own writes while `harvest scheduler` drives the store
from another process: a command waits, bounded, for the driver to project what
it recorded, instead of answering from read models that do not have it yet
(`harvester add` used to say "no harvester named ..." about the harvester it
had just registered)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesting.demo.server import LoopbackServer
from tests.conftest import Cli, read_data
from tests.integration.test_wms_scenarios import MAPPROXY_130


@pytest.fixture
def wms_url(loopback: LoopbackServer) -> str:
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    return loopback.url + "/wms"


@pytest.fixture
def scheduler(cli: Cli) -> Iterator[subprocess.Popen[str]]:
    process = cli.popen("scheduler", "--tick", "1")
    # The scheduler must hold the store before the commands run.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _driven(cli):
        time.sleep(0.2)
    yield process
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def _driven(cli: Cli) -> bool:
    """True when another process holds the store's driver lock: a `--once`
    scheduler refuses to run then."""
    answer = cli("scheduler", "--once", check=False, timeout=30)
    return answer.returncode != 0 and "another process is driving" in answer.stderr


def test_write_commands_read_their_own_writes_while_a_scheduler_drives(
    cli: Cli, wms_url: str, scheduler: subprocess.Popen[str]
) -> None:
    assert _driven(cli), "the scheduler drives the store during the test"

    added = cli.json("harvester", "add", "x2", "--type", "wms", "--url", wms_url)
    assert added["name"] == "x2"
    assert cli.json("harvester", "show", "x2")["name"] == "x2"

    started = cli.json("refresh", "x2")
    assert started["harvester"] == "x2" or started["harvester_id"] == added["id"]
    assert cli.json("session", started["id"])["id"] == started["id"]

    finished = cli.json("refresh", "x2", "--wait")
    assert finished["status"] == "finished-all-ok"
    listed = cli.json("resources", "x2")
    assert len(listed) == 50

    first = listed[0]["remote_id"]
    cli("deselect", "x2", first)
    assert {r["remote_id"]: r for r in cli.json("resources", "x2")}[first]["should_be_harvested"] is False
    cli("select", "x2", first)
    assert {r["remote_id"]: r for r in cli.json("resources", "x2")}[first]["should_be_harvested"] is True

    harvested = cli.json("harvest", "x2", "--wait")
    assert harvested["status"] == "finished-all-ok" and harvested["harvested"] == 50
    assert len(cli.json("records", "--harvester", "x2")) == 50

    cli("harvester", "remove", "x2")
    assert "x2" not in [h["name"] for h in cli.json("harvester", "list")]


def test_a_driver_that_does_not_project_gets_a_clear_line_not_a_wrong_answer(sqlite_cli: Cli, wms_url: str) -> None:
    """A driver that holds the store but projects nothing (stuck): the write is
    recorded, and the command says so in one line once the wait ends; a reading
    command answers from the read models as they are, with a note."""
    sqlite_cli("harvester", "add", "x0", "--type", "wms", "--url", wms_url)
    lock = Path(sqlite_cli.env["HARVEST_DATA_DIR"]) / "engine.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        added = sqlite_cli(
            "harvester", "add", "x3", "--type", "wms", "--url", wms_url, check=False, HARVEST_READ_WAIT="1"
        )
        assert added.returncode == 1
        assert "recorded, but the process driving this store has not projected" in added.stderr
        assert "Traceback" not in added.stderr
        listed = sqlite_cli("harvester", "list", "--json", HARVEST_READ_WAIT="1")
        assert [h["name"] for h in listed.json()] == ["x0"] and "has not projected" in listed.stderr
    finally:
        os.close(fd)
    assert sorted(h["name"] for h in sqlite_cli.json("harvester", "list")) == ["x0", "x3"]
