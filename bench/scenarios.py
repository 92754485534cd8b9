"""The bench's scenarios. Each runs ours and its baseline side by side and
returns figures; `scale` shrinks every size (1/100 in the smoke run)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.documents import CswSite, SlowGeoNode, geonode_entries, wms_capabilities
from bench.measure import BenchError, Result, alternate, baseline, harvest, last_json, run
from harvesting.demo.server import GeoNodeSite, LoopbackServer

POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Big enough for the 101,000-layer document (about 120 MB).
LARGE_RESPONSES = {"HARVEST_MAX_RESPONSE_BYTES": str(512 * 1024 * 1024)}


@dataclass
class Bench:
    scale: float
    rounds: int
    results: list[Result]

    def size(self, full: int) -> int:
        return max(10, round(full * self.scale))

    def add(self, result: Result) -> None:
        self.results.append(result)
        print(result.line(), flush=True)


@contextmanager
def data_dir(extra: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    where = tempfile.mkdtemp(prefix="bench-")
    env = {**os.environ, "HARVEST_DATA_DIR": where, **(extra or {})}
    env.pop("HARVEST_DATABASE_URL", None)
    try:
        yield env
    finally:
        shutil.rmtree(where, ignore_errors=True)


@contextmanager
def postgres_database(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A fresh database per run, dropped afterwards."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True)
    except psycopg.Error as e:
        raise BenchError(f"PostgreSQL at {POSTGRES_ADMIN} does not answer: {e}") from None
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            url = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
            yield {**env, "HARVEST_DATABASE_URL": url}
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def served(mounts: dict[str, Any]) -> LoopbackServer:
    server = LoopbackServer()
    for prefix, site in mounts.items():
        server.mount(prefix, site, subtree=True)
    server.start()
    return server


# --- 1, 4, 6, 7: WMS ----------------------------------------------------------------------------


def _wms_ours(url: str, env: dict[str, str]) -> tuple[float, float, float, int]:
    """First harvest and unchanged re-harvest on a new store: (first s, again s,
    peak MiB of the refresh or the first harvest, records)."""
    harvest(env, "harvester", "add", "w", "--type", "wms", "--url", url)
    refreshed = harvest(env, "refresh", "w", "--wait", "--json")
    first = harvest(env, "harvest", "w", "--wait", "--json")
    again = harvest(env, "harvest", "w", "--wait", "--json")
    made, unchanged = json.loads(first.output), json.loads(again.output)
    if unchanged["unchanged"] != made["harvested"] or made["failed"]:
        raise BenchError(f"WMS harvest went wrong: first {made}, again {unchanged}")
    return first.seconds, again.seconds, max(first.peak_mib, refreshed.peak_mib), made["harvested"]


def wms(bench: Bench, postgres: bool = False) -> None:
    sizes = [bench.size(10_100)] if postgres else [bench.size(10_100), bench.size(101_000)]
    label = "PostgreSQL" if postgres else "SQLite"
    peaks: dict[int, float] = {}
    for layers in sizes:
        body = wms_capabilities(layers)
        server = LoopbackServer()
        server.mount_wms("/wms", {"1.3.0": body})
        server.start()
        url = server.url + "/wms"
        rounds = bench.rounds if layers <= 20_000 else 1
        figures: dict[str, list[float]] = {"first": [], "again": [], "peak": [], "etl": [], "etl_peak": []}
        records = 0
        try:
            for _ in range(rounds):
                with data_dir(LARGE_RESPONSES) as env, _store(env, postgres) as store_env:
                    first_s, again_s, peak_mib, records = _wms_ours(url, store_env)
                    figures["first"].append(first_s)
                    figures["again"].append(again_s)
                    figures["peak"].append(peak_mib)
                    if layers == max(sizes) and not postgres:
                        queries(bench, store_env, records)
                with data_dir() as env, _store(env, postgres) as store_env:
                    target = store_env.get("HARVEST_DATABASE_URL") or str(Path(env["HARVEST_DATA_DIR"]) / "etl.sqlite3")
                    etl_run = baseline(store_env, "wms-etl", url, target)
                    figures["etl"].append(etl_run.seconds)
                    figures["etl_peak"].append(etl_run.peak_mib)
        finally:
            server.stop()
        first, again, peak, etl, etl_peak = (_median(figures[k]) for k in ("first", "again", "peak", "etl", "etl_peak"))
        name = f"wms-{layers}" + ("-postgres" if postgres else "")
        size = f"{records:,} layers ({label})"
        bench.add(Result(name, f"first harvest, {size}", first, "s", etl, "minimal ETL", first / etl))
        bench.add(Result(name, "records/s, first harvest", records / first, "rec/s", records / etl, "ETL", etl / first))
        bench.add(Result(name, "unchanged re-harvest", again, "s", first, "first harvest", again / first))
        bench.add(Result(name, "peak RSS, refresh or harvest", peak, "MiB", etl_peak, "ETL", peak / etl_peak))
        peaks[layers] = peak
    if len(peaks) == 2:
        small, large = sorted(peaks)
        bench.add(
            Result(
                "memory",
                f"peak RSS at {large:,} against {small:,} layers",
                peaks[large],
                "MiB",
                peaks[small],
                f"at {small:,}",
                peaks[large] / peaks[small],
            )
        )


@contextmanager
def _store(env: dict[str, str], postgres: bool) -> Iterator[dict[str, str]]:
    if not postgres:
        yield env
        return
    with postgres_database(env) as pg_env:
        yield pg_env


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def wms_postgres(bench: Bench) -> None:
    wms(bench, postgres=True)


# --- 6: queries on the large store --------------------------------------------------------------


def queries(bench: Bench, env: dict[str, str], records: int) -> None:
    store = str(Path(env["HARVEST_DATA_DIR"]) / "harvesting.sqlite3")
    listing = harvest(env, "records", "--json", keep_output=False)
    dump = baseline(env, "dump-records", store)
    name = f"queries-{records}"
    bench.add(Result(name, "records --json", listing.seconds, "s", dump.seconds, "sqlite3 dump", None))
    bench.add(Result(name, "records --json peak RSS", listing.peak_mib, "MiB", dump.peak_mib, "sqlite3 dump", None))
    for args in (("sessions",), ("harvester", "list")):
        answer = harvest(env, *args, "--json", keep_output=False)
        bench.add(Result(name, " ".join(args), answer.seconds, "s", None, "", None))


# --- 2: GeoNode ---------------------------------------------------------------------------------


def geonode(bench: Bench) -> None:
    count, latency, parallel = bench.size(2_000), 0.02, 32
    site = GeoNodeSite(geonode_entries(count), {})
    server = served({"/gn": SlowGeoNode(site, latency)})
    settings = {"HARVEST_PARALLEL": str(parallel), "HARVEST_PER_HOST_LIMIT": str(parallel)}
    records = 0

    def ours() -> float:
        nonlocal records
        with data_dir(settings) as env:
            harvest(env, "harvester", "add", "g", "--type", "geonode", "--url", server.url + "/gn")
            harvest(env, "refresh", "g", "--wait")
            done = harvest(env, "harvest", "g", "--wait", "--json")
            records = json.loads(done.output)["harvested"]
            return done.seconds

    def theirs() -> float:
        fetched = baseline(os.environ, "geonode-fetch", server.url + "/gn/api/v2", "10000", str(count), str(parallel))
        return fetched.seconds

    try:
        mine, base = alternate(bench.rounds, ours, theirs)
    finally:
        server.stop()
    name = f"geonode-{count}"
    what = f"harvest, {count:,} resources at {latency * 1000:.0f} ms, {parallel} in flight"
    bench.add(Result(name, what, mine, "s", base, "raw httpx fetch", mine / base))
    bench.add(Result(name, "records/s", records / mine, "rec/s", count / base, "raw fetch", base / mine))


# --- 3: CSW -------------------------------------------------------------------------------------


def csw(bench: Bench) -> None:
    count = bench.size(10_000)
    server = served({"/csw": CswSite(count, max_records=100)})
    url = server.url + "/csw"
    records = 0

    def ours() -> float:
        nonlocal records
        with data_dir({"HARVEST_PARALLEL": "16", "HARVEST_PER_HOST_LIMIT": "16"}) as env:
            harvest(env, "harvester", "add", "c", "--type", "csw", "--url", url, "--option", "page_size=100")
            listed = harvest(env, "refresh", "c", "--wait")
            done = harvest(env, "harvest", "c", "--wait", "--json")
            records = json.loads(done.output)["harvested"]
            return listed.seconds + done.seconds

    def theirs() -> float:
        return baseline(os.environ, "csw-pages", url, "100").seconds

    try:
        mine, base = alternate(bench.rounds, ours, theirs)
    finally:
        server.stop()
    name = f"csw-{count}"
    bench.add(Result(name, f"refresh + harvest, {count:,} ISO records", mine, "s", base, "lxml paging", mine / base))
    bench.add(Result(name, "records/s", records / mine, "rec/s", count / base, "lxml paging", base / mine))


# --- 5: replay ----------------------------------------------------------------------------------


def replay(bench: Bench) -> None:
    events = bench.size(1_000_000)
    with data_dir() as env:
        made = run([sys.executable, "-m", "bench.generate", str(events)], env)
        written = int(last_json(made.output)["events"])
        store = str(Path(env["HARVEST_DATA_DIR"]) / "harvesting.sqlite3")
        ours = harvest(env, "replay", "--json")
        read = baseline(env, "read-log", store)
    name = f"replay-{written}"
    bench.add(
        Result(
            name,
            f"replay of {written:,} events",
            written / ours.seconds,
            "events/s",
            written / read.seconds,
            "reading the log",
            ours.seconds / read.seconds,
        )
    )
    bench.add(Result(name, "replay peak RSS", ours.peak_mib, "MiB", read.peak_mib, "reading the log", None))


# --- 8: scale-out -------------------------------------------------------------------------------


def scale_out(bench: Bench) -> None:
    print("  scale-out: not measured yet, there is no distributed runtime (workers come with issue 8)")


SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "wms": wms,
    "geonode": geonode,
    "csw": csw,
    "replay": replay,
    "postgres": wms_postgres,
    "scale-out": scale_out,
}
