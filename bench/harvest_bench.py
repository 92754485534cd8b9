"""`make bench`: harvest throughput and peak memory, ours against a baseline run
side by side.

The baseline is the same code configured the way peers work: one fetch at a
time and one transaction per record (HARVEST_PARALLEL=1, HARVEST_BATCH_SIZE=1).
Every number comes from running the real `harvest` CLI against loopback remotes
serving recorded documents; nothing here is asserted, only printed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from harvesting.demo.server import GeoNodeSite, LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BASELINE = {"HARVEST_PARALLEL": "1", "HARVEST_BATCH_SIZE": "1"}
OURS: dict[str, str] = {}
GEONODE_RESOURCES = int(os.environ.get("BENCH_GEONODE_RESOURCES", "400"))
GEONODE_LATENCY_S = float(os.environ.get("BENCH_GEONODE_LATENCY_S", "0.02"))

# Runs a command and prints its peak resident memory (KiB) as the last line.
_MEASURE = (
    "import resource, subprocess, sys;"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr);"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


class SlowGeoNode:
    """A GeoNode whose detail requests take a realistic round trip."""

    def __init__(self, site: GeoNodeSite, latency_s: float) -> None:
        self.site = site
        self.latency_s = latency_s

    def handle(self, request: Request) -> Response:
        response = self.site.handle(request)
        if "/resources" in request.path:
            return response
        return dataclasses.replace(response, delay_s=self.latency_s)


def geonode_entries(count: int) -> list[dict[str, Any]]:
    template = json.loads((DATA / "geonode/captured-geonode-4.4.5/resources_page1_size5.json").read_bytes())
    entries = []
    for i in range(count):
        entry = copy.deepcopy(template["resources"][0])
        entry.update(
            pk=str(10_000 + i), uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{i}")), title=f"bench dataset {i}"
        )
        entries.append(entry)
    return entries


def harvest(env: dict[str, str], *args: str) -> tuple[float, int, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "harvesting.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"harvest {' '.join(args)} failed: {done.stderr.strip()}")
    *body, peak = done.stdout.rstrip().split("\n")
    return elapsed, int(peak), json.loads("\n".join(body))


def run_scenario(name: str, remote_type: str, url: str, settings: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "HARVEST_DATA_DIR": data_dir, **settings}
        env.pop("HARVEST_DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "harvesting.cli", "harvester", "add", name, "--type", remote_type, "--url", url],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        harvest(env, "refresh", name, "--wait")
        first_s, first_kib, first = harvest(env, "harvest", name, "--wait")
        again_s, _, again = harvest(env, "harvest", name, "--wait")
    return {
        "records": first["harvested"],
        "first_s": first_s,
        "again_s": again_s,
        "unchanged": again["unchanged"],
        "peak_mib": first_kib / 1024,
    }


def main() -> int:
    server = LoopbackServer()
    big_wms = DATA / "wms/captured-mapserver-8.0.0/mapserver8_1000layers_GetCapabilities_130.xml"
    server.mount_wms("/wms", {"1.3.0": big_wms.read_bytes()})
    site = GeoNodeSite(geonode_entries(GEONODE_RESOURCES), {})
    server.mount("/gn", SlowGeoNode(site, GEONODE_LATENCY_S), subtree=True)
    server.start()
    scenarios = [
        ("WMS 1,011 layers", "wms", server.url + "/wms"),
        (
            f"GeoNode {GEONODE_RESOURCES} resources, {GEONODE_LATENCY_S * 1000:.0f} ms/detail",
            "geonode",
            server.url + "/gn",
        ),
    ]
    print("harvest benchmark: baseline = 1 fetch at a time, 1 transaction per record; ours = defaults (SQLite)")
    header = f"{'scenario':<40} {'records':>7} {'baseline s':>10} {'ours s':>8} {'speed-up':>8} {'ours rec/s':>10}"
    header += f" {'re-harvest s':>12} {'peak MiB base/ours':>18}"
    print(header)
    try:
        for label, remote_type, url in scenarios:
            base = run_scenario("b", remote_type, url, BASELINE)
            ours = run_scenario("o", remote_type, url, OURS)
            print(
                f"{label:<40} {ours['records']:>7} {base['first_s']:>10.2f} {ours['first_s']:>8.2f}"
                f" {base['first_s'] / ours['first_s']:>7.1f}x {ours['records'] / ours['first_s']:>10.0f}"
                f" {ours['again_s']:>12.2f} {base['peak_mib']:>8.0f}/{ours['peak_mib']:<9.0f}"
            )
    finally:
        server.stop()
    print("times include the CLI's start-up (~0.5 s); re-harvest = the same remote again, all unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
