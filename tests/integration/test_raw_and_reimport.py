"""Raw documents in the content-addressed store; `harvest reimport` rebuilds
records from them with the remote switched off."""

from __future__ import annotations

import subprocess

from harvesting.demo.server import LoopbackServer
from harvesting.demo.sites import geonode_captures
from tests.conftest import HARVEST, ROOT, Cli, read_data
from tests.integration.test_wms_scenarios import MAPPROXY_130


def raw_of(cli: Cli, record_id: str) -> bytes:
    done = subprocess.run([*HARVEST, "record", record_id, "--raw"], env=cli.env, capture_output=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_wms_raw_document_and_reimport_without_the_remote(cli: Cli, loopback: LoopbackServer) -> None:
    document = read_data(MAPPROXY_130)
    loopback.mount_wms("/wms", {"1.3.0": document})
    cli("harvester", "add", "p", "--type", "wms", "--url", loopback.url + "/wms")
    cli("run", "p")
    records = cli.json("records")
    assert len(records) == 50
    assert raw_of(cli, records[0]["id"]) == document
    assert len({cli.json("record", r["id"])["raw_hash"] for r in records[:5]}) == 1  # stored once

    loopback.stop()
    session = cli.json("reimport", "p")
    assert (session["status"], session["total"], session["unchanged"], session["failed"]) == (
        "finished-all-ok",
        50,
        50,
        0,
    )
    assert cli.json("records") == records


def test_geonode_reimport_without_the_remote(cli: Cli, loopback: LoopbackServer) -> None:
    resources, details = geonode_captures()
    site = loopback.mount_geonode("/gn", resources, details)
    cli("harvester", "add", "gn", "--type", "geonode", "--url", loopback.url + "/gn")
    cli("run", "gn")
    records = cli.json("records")
    layer = next(r for r in records if r["remote_id"] == "72ec2bc7-c198-475c-bdeb-7554b95ff114")
    assert b'"uuid": "72ec2bc7-c198-475c-bdeb-7554b95ff114"' in raw_of(cli, layer["id"]).replace(b'":"', b'": "')
    requests = site.requests
    loopback.stop()
    session = cli.json("reimport", "gn")
    assert (session["status"], session["unchanged"]) == ("finished-all-ok", 13)
    assert site.requests == requests
    assert cli.json("records") == records


def test_raw_of_an_unknown_record_is_a_clear_error(sqlite_cli: Cli) -> None:
    result = sqlite_cli("record", "nope", "--raw", check=False)
    assert result.returncode == 1
    assert "no record nope" in result.stderr
