"""SIGKILL in the middle of a 1,000-layer harvest, then `harvest harvest --wait`
again: the same session resumes, completes, and every layer is harvested
exactly once. Checked against the event store itself, not only read models."""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from pathlib import Path

import psycopg

from harvesting.demo.server import LoopbackServer
from tests.conftest import Cli, read_data
from tests.integration.test_wms_scenarios import named_layers

BIG = "wms/captured-mapserver-8.0.0/mapserver8_1000layers_GetCapabilities_130.xml"


def harvested_per_resource(cli: Cli) -> Counter[str]:
    topic = "%.ResourceHarvested"
    if cli.backend == "sqlite":
        path = Path(cli.env["HARVEST_DATA_DIR"]) / "harvesting.sqlite3"
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT originator_id FROM stored_events WHERE topic LIKE ?", (topic,)).fetchall()
    else:
        with psycopg.connect(cli.env["HARVEST_DATABASE_URL"]) as conn:
            rows = conn.execute(
                "SELECT originator_id::text FROM harvesting_events WHERE topic LIKE %s", (topic,)
            ).fetchall()
    return Counter(str(r[0]) for r in rows)


def test_killed_harvest_resumes_the_same_session_and_loses_nothing(cli: Cli, loopback: LoopbackServer) -> None:
    document = read_data(BIG)
    n = len(named_layers(document))
    assert n == 1011  # 1,000 layers, 10 named groups and the named root
    loopback.mount_wms("/big", {"1.3.0": document})
    cli("harvester", "add", "big", "--type", "wms", "--url", loopback.url + "/big")
    cli("refresh", "big", "--wait")

    killed = cli("harvest", "big", "--wait", check=False, HARVEST_BATCH_SIZE="50", HARVEST_CRASH_AFTER_BATCHES="4")
    assert killed.returncode == -signal.SIGKILL
    interrupted = cli.json("sessions", "--harvester", "big")[-1]
    assert interrupted["status"] == "on-going"
    assert 0 < interrupted["done"] < n
    assert cli.json("harvester", "show", "big")["status"] == "harvesting-resources"

    resumed = cli.json("harvest", "big", "--wait")
    assert resumed["id"] == interrupted["id"]
    assert (resumed["status"], resumed["total"], resumed["harvested"], resumed["failed"]) == (
        "finished-all-ok",
        n,
        n,
        0,
    )
    sessions = cli.json("sessions", "--harvester", "big")
    assert [s["type"] for s in sessions] == ["refresh", "harvest"]
    per_resource = harvested_per_resource(cli)
    assert len(per_resource) == n
    assert set(per_resource.values()) == {1}
    assert len(cli.json("records", "--harvester", "big")) == n
    assert cli.json("harvester", "show", "big")["status"] == "ready"
