"""A real MapServer 8 WMS (CGI on loopback) harvested through the CLI."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import Cli
from tests.integration.test_wms_scenarios import named_layers
from tests.servers.mapserver import start_mapserver


def test_real_mapserver_harvest_and_sweep(sqlite_cli: Cli, tmp_path: Path) -> None:
    cli = sqlite_cli
    with start_mapserver(tmp_path / "ms", layers=6) as mapserver:
        caps = httpx.get(mapserver.url, params={"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"})
        expected = named_layers(caps.content)
        for version in ("1.1.1", "1.3.0"):
            name = "ms" + version.replace(".", "")
            cli(
                "harvester",
                "add",
                name,
                "--type",
                "wms",
                "--url",
                mapserver.url,
                "--option",
                f"version={version}",
                "--delete-orphans",
            )
            summary = cli.json("run", name)
            assert summary["sessions"][1]["status"] == "finished-all-ok"
            records = cli.json("records", "--harvester", name)
            assert sorted(r["remote_id"] for r in records) == sorted(expected)
            getmap = [link for r in records for link in r["links"] if link["type"] == "OGC:WMS"]
            assert len(getmap) == len(expected)

        gone = mapserver.layer_names[0]
        mapserver.remove_layers([gone])
        refreshed = cli.json("refresh", "ms130", "--wait")
        assert refreshed["stale"] == 1
        assert gone not in {r["remote_id"] for r in cli.json("records", "--harvester", "ms130")}
