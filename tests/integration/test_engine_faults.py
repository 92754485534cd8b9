"""Faults of issue 6 that the engine itself must survive, through the real
`harvest` CLI against loopback servers: listings without end (item 3), one
harvester stalling the others (4), remote data and operator input that used to
crash the scheduler (5), `run` after a crash and the refresh/harvest rules (8),
a lost PostgreSQL advisory lock (11), and an abort during a long listing (12).

Every remote here is a loopback server; every check reads what the CLI prints
or what the event store holds. The only timing asserted is "ended within a
generous subprocess timeout"; waits for progress poll with bounds far below
the stall a broken engine would show.
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
import pytest

from harvesting.demo.server import LoopbackServer, Request, Response
from harvesting.runners.leadership import ADVISORY_KEY
from tests.conftest import POSTGRES_ADMIN_URL, Cli, read_data
from tests.integration.test_crash_resume import BIG, harvested_per_resource
from tests.integration.test_wms_scenarios import MAPPROXY_130, named_layers
from tests.servers.hostile import Exchange, HostileServer

T = TypeVar("T")

TEMPLATE = json.loads(read_data("geonode/captured-geonode-4.4.5/resources_page1_size5.json"))["resources"][0]
FINAL = ("finished-all-ok", "finished-some-failed", "finished-all-failed", "aborted")


# --------------------------------------------------------------------------
# A GeoNode API v2 site whose paging, speed and end can be set per test
# --------------------------------------------------------------------------


def geonode_entry(key: str, pk: int) -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(TEMPLATE)
    entry.update(
        pk=str(pk),
        uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"engine-faults/{key}")),
        title=f"dataset {key}",
        resource_type="dataset",
        last_updated="2026-01-01T00:00:00Z",
    )
    return entry


class PagedGeoNode:
    """`count` datasets in pages of the page size asked for (GeoNode's own
    paging: `page`, `page_size`, `links.next`, `total`).

    `endless`: every page is full of datasets never listed before, `next` is
    always given and there is no total, as a remote whose paging never ends.
    `page_delay_s` / `detail_delay_s`: how long each listing page / detail takes.
    """

    def __init__(self, count: int, *, page_delay_s: float = 0.0, detail_delay_s: float = 0.0) -> None:
        self.entries = [geonode_entry(f"d{i}", 1000 + i) for i in range(count)]
        self.by_pk = {e["pk"]: e for e in self.entries}
        self.endless = False
        self.page_delay_s = page_delay_s
        self.detail_delay_s = detail_delay_s
        self.listing_requests = 0
        self.detail_requests = 0
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        query = dict(request.query)
        if path == "/api/v2":
            return _json({"resources": request.base_url + "/api/v2/resources"})
        if path.startswith("/api/v2/datasets/"):
            with self._lock:
                self.detail_requests += 1
            found = self.by_pk.get(path.rsplit("/", 1)[-1])
            if found is None:
                return _json({"detail": "Not found."}, 404)
            return _json({"dataset": found}, delay_s=self.detail_delay_s)
        if path != "/api/v2/resources":
            return _json({"detail": "Not found."}, 404)
        if "filter{uuid}" in query:  # where a resumed harvest finds a resource it did not list
            hits = [e for e in self.entries if e["uuid"] == query["filter{uuid}"]]
            return _json({"links": {"next": None}, "total": len(hits), "page": 1, "resources": hits})
        with self._lock:
            self.listing_requests += 1
        page = int(query.get("page", "1"))
        size = int(query.get("page_size", "10"))
        base = f"{request.base_url}/api/v2/resources"
        document: dict[str, Any] = {"page": page, "page_size": size}
        if self.endless:
            chunk = [geonode_entry(f"endless-{page}-{i}", 100_000 + page * size + i) for i in range(size)]
            document.update(links={"next": f"{base}?page={page + 1}&page_size={size}", "previous": None})
        else:
            chunk = self.entries[(page - 1) * size : page * size]
            has_next = page * size < len(self.entries)
            document.update(
                links={"next": f"{base}?page={page + 1}&page_size={size}" if has_next else None, "previous": None},
                total=len(self.entries),
            )
        document["resources"] = chunk
        return _json(document, delay_s=self.page_delay_s)


def _json(document: Any, status: int = 200, delay_s: float = 0.0) -> Response:
    return Response(status, json.dumps(document).encode(), "application/json", delay_s=delay_s)


def mount_geonode(loopback: LoopbackServer, prefix: str, site: PagedGeoNode) -> str:
    loopback.mount(prefix, site, subtree=True)
    return loopback.url + prefix


def add_geonode(cli: Cli, name: str, url: str, *extra: str, page_size: int = 10) -> None:
    cli("harvester", "add", name, "--type", "geonode", "--url", url, "--option", f"page_size={page_size}", *extra)


def add_wms(cli: Cli, name: str, url: str, *extra: str) -> None:
    cli("harvester", "add", name, "--type", "wms", "--url", url, *extra)


# --------------------------------------------------------------------------
# Helpers for background processes
# --------------------------------------------------------------------------


def poll(probe: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.2) -> T:
    """The first truthy answer of `probe`, asked again until `timeout_s` passed."""
    end = time.monotonic() + timeout_s
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; whatever is still running at its end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def start(background: list[subprocess.Popen[str]], cli: Cli, *args: str, **env: str) -> subprocess.Popen[str]:
    process = cli.popen(*args, **env)
    background.append(process)
    return process


def finish(process: subprocess.Popen[str], timeout_s: float) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate(timeout=30)
        raise AssertionError(f"still running after {timeout_s:.0f} s; stderr:\n{err[-3000:]}") from None


def last_session(cli: Cli, name: str, session_type: str | None = None) -> dict[str, Any] | None:
    sessions = [s for s in cli.json("sessions", "--harvester", name) if session_type in (None, s["type"])]
    return sessions[-1] if sessions else None


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# Item 3: listings without bounds
# --------------------------------------------------------------------------


@pytest.mark.fault("3")
@pytest.mark.parametrize(
    ("option", "value", "listing_requests", "reason"),
    [
        ("--max-pages", "5", 5, "listing bound max_pages=5 reached"),
        ("--max-resources", "45", 5, "listing bound max_resources=45 reached"),
        ("--max-requests", "6", 6, "listing bound max_requests=6 reached"),
    ],
)
def test_endless_geonode_paging_stops_at_the_listing_bound_and_sweeps_nothing(
    cli: Cli, loopback: LoopbackServer, option: str, value: str, listing_requests: int, reason: str
) -> None:
    """Endless GeoNode paging stops at --max-pages/-resources/-requests, truncated naming the bound; nothing swept.

    Every page is full of new ids, `next` is always given and there is no
    total. Each bound is above what the 4 pages of 35 datasets need, so the
    first run completes. The 35 records of an earlier complete refresh and harvest are all still
    there, although the endless listing never showed them and the harvester
    would delete orphans with no stale-share guard."""
    site = PagedGeoNode(35)
    url = mount_geonode(loopback, "/gn", site)
    add_geonode(cli, "gn", url, "--delete-orphans", "--max-stale-share", "1.0", option, value)
    first = cli.json("run", "gn")
    assert [s["status"] for s in first["sessions"]] == ["finished-all-ok", "finished-all-ok"]
    records = cli.json("records", "--harvester", "gn")
    assert len(records) == 35

    site.endless = True
    before = site.listing_requests
    result = cli("refresh", "gn", "--wait", "--json", check=False, timeout=120)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    session = result.json()
    assert (session["status"], session["listing"], session["stale"]) == ("finished-some-failed", "truncated", 0)
    assert site.listing_requests - before == listing_requests
    assert reason in session["message"], session["message"]
    assert "nothing swept" in session["message"]
    assert not any(r["stale"] for r in cli.json("resources", "gn"))
    assert cli.json("records", "--harvester", "gn") == records


class LoopingStac:
    """A STAC API with one collection whose item pages link A -> B -> A -> ...,
    each answer full of item ids never served before."""

    LIMIT = 10

    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.turn = 0
        self._lock = threading.Lock()
        server.route("/stac", self.landing)
        server.route("/stac/collections", self.collections)
        server.route("/stac/collections/loop/items", self.items)

    @property
    def items_url(self) -> str:
        return f"{self.server.url}/stac/collections/loop/items"

    def landing(self, ex: Exchange) -> None:
        ex.json(
            {
                "type": "Catalog",
                "id": "looping",
                "stac_version": "1.0.0",
                "description": "paging that loops",
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/collections"],
                "links": [{"rel": "data", "href": f"{ex.base}/stac/collections", "type": "application/json"}],
            }
        )

    def collections(self, ex: Exchange) -> None:
        collection = {
            "type": "Collection",
            "id": "loop",
            "stac_version": "1.0.0",
            "description": "items paging in a loop",
            "license": "CC0-1.0",
            "extent": {"spatial": {"bbox": [[-10, -10, 10, 10]]}, "temporal": {"interval": [[None, None]]}},
            "links": [{"rel": "items", "href": self.items_url, "type": "application/geo+json"}],
        }
        if ex.path.rstrip("/") == "/stac/collections/loop":
            ex.json(collection)
        else:
            ex.json({"collections": [collection], "links": []})

    def items(self, ex: Exchange) -> None:
        with self._lock:
            self.turn += 1
            turn = self.turn
        on_b = ex.query.get("page") == "b"
        # A's next is B; B's next is A again, exactly as A was first asked for.
        following = f"{self.items_url}?limit={self.LIMIT}" + ("" if on_b else "&page=b")
        features: list[dict[str, Any]] = [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": f"turn{turn:03d}-{i}",
                "collection": "loop",
                "geometry": None,
                "properties": {"title": f"item {turn}/{i}", "datetime": "2026-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
            for i in range(self.LIMIT)
        ]
        links = [{"rel": "next", "href": following, "type": "application/geo+json"}]
        ex.send(
            200,
            json.dumps({"type": "FeatureCollection", "features": features, "links": links}).encode(),
            "application/geo+json",
        )

    def page_requests(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for seen in self.server.requests_to("/stac/collections/loop/items"):
            key = seen.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(seen.query.items()))
            counts[key] = counts.get(key, 0) + 1
        return counts


@pytest.mark.fault("3")
def test_stac_next_links_looping_a_b_a_truncate_the_listing(cli: Cli, hostile: HostileServer) -> None:
    """STAC `next` links looping A -> B -> A (new ids each turn): truncated as a loop, no page URL asked 3 times.

    (--max-pages 40 only keeps a broken engine from walking 10,000 pages; the
    reason must be the loop, not that bound.)"""
    stac = LoopingStac(hostile)
    cli("harvester", "add", "loop", "--type", "stac", "--url", hostile.url + "/stac", "--option", "limit=10",
        "--max-pages", "40")  # fmt: skip

    result = cli("refresh", "loop", "--wait", "--json", check=False, timeout=120)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    session = result.json()
    assert (session["status"], session["listing"], session["stale"]) == ("finished-some-failed", "truncated", 0)
    assert "leads back to a page already listed" in session["message"], session["message"]
    requests = stac.page_requests()
    assert requests and max(requests.values()) <= 2, requests


@pytest.mark.fault("3")
def test_a_slow_listing_shows_pages_and_resources_while_it_runs(
    cli: Cli, loopback: LoopbackServer, background: list[subprocess.Popen[str]]
) -> None:
    """Slow listing (10 pages, ~1 s each): `sessions` shows pages >= 1 and total > 0 while it runs, not 0/0.

    Polled from another process while `harvest refresh --wait` walks the listing."""
    site = PagedGeoNode(100, page_delay_s=1.0)
    add_geonode(cli, "slow", mount_geonode(loopback, "/gn", site))
    driver = start(background, cli, "refresh", "slow", "--wait", "--json")

    def mid_listing() -> dict[str, Any] | None:
        session = last_session(cli, "slow")
        if session is None or driver.poll() is not None:
            return None
        if session["status"] == "on-going" and session.get("pages", 0) >= 1 and session["total"] > 0:
            return session
        return None

    try:
        seen = poll(mid_listing, 60, "a session showing listed pages while the refresh runs")
    finally:
        out, err = finish(driver, 60)
    assert driver.returncode == 0, err
    assert 1 <= seen["pages"] < 10 and 0 < seen["total"] < 100 and seen["done"] == seen["total"], seen
    final = json.loads(out)
    assert (final["status"], final["pages"], final["total"], final["listing"]) == (
        "finished-all-ok",
        10,
        100,
        "complete",
    )


# --------------------------------------------------------------------------
# Item 4: one harvester stops all the others
# --------------------------------------------------------------------------


def drip_everything(hostile: HostileServer, prefix: str) -> None:
    """A GeoNode-looking remote whose every answer drips: the availability
    document one byte every 2 s, listing headers one byte every 2 s."""
    body = json.dumps({"resources": f"{hostile.url}{prefix}/api/v2/resources"}).encode()
    hostile.route(f"{prefix}/api/v2/", lambda ex: ex.drip(body, every_s=2.0))
    hostile.route(f"{prefix}/api/v2/resources", lambda ex: ex.drip_headers(every_s=2.0))


@pytest.mark.fault("4")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_dripping_remote_does_not_hold_up_another_harvester_and_the_scheduler_stops_on_a_signal(
    cli: Cli,
    loopback: LoopbackServer,
    hostile: HostileServer,
    background: list[subprocess.Popen[str]],
    stop_signal: signal.Signals,
) -> None:
    """A dripping remote never holds up another harvester's sessions; SIGTERM / Ctrl-C stop the scheduler, exit 0.

    The slowloris remote drips availability and listing one byte every 2 s
    (read timeout 60 s, deadline 120 s). The healthy WMS (`--refresh-every 1s`) completes 3 refreshes while the
    dripping harvester's refresh is still on-going; then the signal ends the
    scheduler within a generous bound, with "scheduler stopped" and no traceback."""
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    add_wms(cli, "healthy", loopback.url + "/wms", "--refresh-every", "1s")
    drip_everything(hostile, "/sick")
    add_geonode(cli, "sick", hostile.url + "/sick", "--refresh-every", "1s")

    scheduler = start(
        background, cli, "scheduler", "--tick", "1", HARVEST_HTTP_TIMEOUT="60", HARVEST_HTTP_DEADLINE="120"
    )

    def healthy_refreshes() -> list[dict[str, Any]] | None:
        assert scheduler.poll() is None, "the scheduler exited early"
        done = [s for s in cli.json("sessions", "--harvester", "healthy") if s["status"] == "finished-all-ok"]
        return done if len(done) >= 3 else None

    # The dripping requests run for 120 s: a healthy harvester held up by them
    # could not get 3 refreshes done in 45 s.
    poll(healthy_refreshes, 45, "3 finished refreshes of the healthy harvester", interval_s=0.5)
    sick = cli.json("sessions", "--harvester", "sick")
    assert [(s["type"], s["status"]) for s in sick] == [("refresh", "on-going")]
    assert hostile.requests_to("/sick/api/v2/resources"), "the sick listing was never asked for"

    scheduler.send_signal(stop_signal)
    out, err = finish(scheduler, 20)
    assert scheduler.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "scheduler stopped" in out + err


@pytest.mark.fault("4")
def test_scheduler_once_returns_when_the_fetches_of_its_tick_are_done(cli: Cli, loopback: LoopbackServer) -> None:
    """`scheduler --once` with harvests due whose fetches take time returns, exit 0, every session finished.

    Three GeoNode harvesters of 20 datasets at 0.2 s per detail; before the fix
    `--once` never stepped while fetches ran, so it never returned."""
    sites: dict[str, PagedGeoNode] = {}
    for name in ("one", "two", "three"):
        sites[name] = PagedGeoNode(20, detail_delay_s=0.2)
        add_geonode(cli, name, mount_geonode(loopback, f"/{name}", sites[name]), "--harvest-every", "1s")
        cli("refresh", name, "--wait")

    result = cli("scheduler", "--once", check=False, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for name, site in sites.items():
        sessions = cli.json("sessions", "--harvester", name)
        assert [(s["type"], s["status"]) for s in sessions] == [
            ("refresh", "finished-all-ok"),
            ("harvest", "finished-all-ok"),
        ], name
        assert sessions[-1]["harvested"] == 20
        assert site.detail_requests == 20
        assert len(cli.json("records", "--harvester", name)) == 20


# --------------------------------------------------------------------------
# Item 5: crashes on remote data and operator input
# --------------------------------------------------------------------------

LONG_HOST = "a" * 300


def deep_json(hostile: HostileServer, prefix: str) -> list[str]:
    """The availability answer and the listing: JSON arrays nested 100,000 deep."""
    nested = b"[" * 100_000
    hostile.route(f"{prefix}/api/v2/", lambda ex: ex.send(200, nested))
    return []


def redirect_to_long_host(hostile: HostileServer, prefix: str, allowed: bool) -> list[str]:
    """Every answer a redirect to the same path on a 300-character host name."""
    hostile.route(prefix, lambda ex: ex.redirect(f"http://{LONG_HOST}:{hostile.port}{ex.path}"))
    # Allowed: the request to that host is really attempted, not refused up front.
    return ["--allow-host", f"{LONG_HOST}:{hostile.port}"] if allowed else []


@pytest.mark.fault("5")
@pytest.mark.parametrize("remote", ["deep-json", "long-host-refused", "long-host-allowed"])
def test_the_scheduler_survives_hostile_remote_data(
    cli: Cli, loopback: LoopbackServer, hostile: HostileServer, remote: str
) -> None:
    """JSON nested 100,000 deep or a redirect to a 300-char host: `scheduler --once` survives, others served.

    Run twice (a crash came back on every restart): exit 0, no traceback, the
    healthy harvester refreshed both times. The hostile harvester's refresh
    and harvest each end failed with a one-line reason."""
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    add_wms(cli, "healthy", loopback.url + "/wms", "--refresh-every", "1s")
    if remote == "deep-json":
        extra = deep_json(hostile, "/bad")
    else:
        extra = redirect_to_long_host(hostile, "/bad", allowed=remote == "long-host-allowed")
    add_geonode(cli, "bad", hostile.url + "/bad", "--refresh-every", "1s", "--harvest-every", "1s", *extra)

    for _ in range(2):  # "and again on every restart"
        result = cli("scheduler", "--once", check=False, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "scheduler stopped" in result.stdout + result.stderr
        time.sleep(1.1)  # both harvesters are due again at the next start

    assert hostile.requests_to("/bad"), "the hostile remote was never asked"
    if remote == "deep-json":
        assert hostile.requests_to("/bad/api/v2/resources"), "the nested listing was never asked for"
    healthy = cli.json("sessions", "--harvester", "healthy")
    assert len(healthy) == 2 and all(s["status"] == "finished-all-ok" for s in healthy), healthy
    assert cli.json("harvester", "show", "healthy")["available"] is True
    bad = cli.json("sessions", "--harvester", "bad")
    assert [s["type"] for s in bad] == ["refresh", "harvest"], bad
    for session in bad:
        assert session["status"] == "finished-all-failed", session
        assert session["message"] and "\n" not in session["message"], session
    assert cli.json("harvester", "show", "bad")["available"] is False
    assert cli.json("records") == []


@pytest.mark.fault("5")
@pytest.mark.parametrize("option", ["--harvest-every", "--refresh-every"])
@pytest.mark.parametrize("value", ["1000000000000000d", "4000d"])
def test_an_absurd_schedule_is_refused_at_add(sqlite_cli: Cli, option: str, value: str) -> None:
    """`--harvest-every 1000000000000000d` (or any interval over ten years) is refused at `add`, one error line.

    Nothing is recorded; it used to be stored, then crash the scheduler with
    OverflowError at every start."""
    result = sqlite_cli("harvester", "add", "x", "--type", "wms", "--url", "http://127.0.0.1:9/wms", option, value,
                        check=False)  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in error_lines(result.stderr) if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert option in errors[0] and value in errors[0] and "longer than ten years" in errors[0], errors[0]
    assert sqlite_cli.json("harvester", "list") == []


# --------------------------------------------------------------------------
# Item 8: `run` after a crash; refresh and harvest while the other is open
# --------------------------------------------------------------------------


@pytest.mark.fault("8")
@pytest.mark.chaos
def test_run_after_a_sigkill_mid_harvest_finishes_the_interrupted_session(cli: Cli, loopback: LoopbackServer) -> None:
    """After SIGKILL mid-harvest, `harvest run` finishes the same session; one ResourceHarvested per layer.

    1,011-layer WMS, killed after 2 batches of 50 outcomes; `run` exits 0, its
    first session is the interrupted one (same id, finished-all-ok), then a
    refresh and a harvest that finds everything unchanged."""
    document = read_data(BIG)
    n = len(named_layers(document))
    loopback.mount_wms("/big", {"1.3.0": document})
    add_wms(cli, "big", loopback.url + "/big")

    killed = cli("run", "big", check=False, HARVEST_BATCH_SIZE="50", HARVEST_CRASH_AFTER_BATCHES="2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    interrupted = last_session(cli, "big")
    assert interrupted is not None
    assert (interrupted["type"], interrupted["status"]) == ("harvest", "on-going")
    assert 0 < interrupted["done"] < n

    result = cli("run", "big", "--json", check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    resumed, refresh, harvest = result.json()["sessions"]
    assert resumed["id"] == interrupted["id"]
    assert (resumed["type"], resumed["status"], resumed["total"], resumed["harvested"], resumed["failed"]) == (
        "harvest",
        "finished-all-ok",
        n,
        n,
        0,
    )
    assert (refresh["type"], refresh["status"]) == ("refresh", "finished-all-ok")
    assert (harvest["type"], harvest["status"], harvest["unchanged"], harvest["harvested"]) == (
        "harvest",
        "finished-all-ok",
        n,
        0,
    )
    per_resource = harvested_per_resource(cli)
    assert len(per_resource) == n
    assert set(per_resource.values()) == {1}
    assert len(cli.json("records", "--harvester", "big")) == n
    assert cli.json("harvester", "show", "big")["status"] == "ready"


@pytest.mark.fault("8")
@pytest.mark.parametrize(("open_type", "refused_type"), [("harvest", "refresh"), ("refresh", "harvest")])
def test_refresh_while_a_harvest_is_open_and_the_reverse_are_refused_naming_it(
    cli: Cli, loopback: LoopbackServer, open_type: str, refused_type: str
) -> None:
    """Refresh while a harvest is open (and the reverse): exit 1, one line naming it and `harvest run NAME`.

    Then `harvest run NAME` resumes that open session first and goes on."""
    loopback.mount_wms("/wms", {"1.3.0": read_data(MAPPROXY_130)})
    add_wms(cli, "p", loopback.url + "/wms")
    cli("refresh", "p", "--wait")
    opened = cli.json(open_type, "p")  # no --wait, no scheduler: it stays open
    assert opened["status"] in ("on-going", "pending")

    refused = cli(refused_type, "p", check=False)

    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    lines = error_lines(refused.stderr)
    assert len(lines) == 1, refused.stderr
    assert opened["id"] in lines[0] and open_type in lines[0], lines[0]
    assert "harvest run p" in lines[0], lines[0]
    assert cli.json("session", opened["id"])["status"] == opened["status"]

    summary = cli.json("run", "p")
    assert summary["sessions"][0]["id"] == opened["id"]
    assert all(s["status"] == "finished-all-ok" for s in summary["sessions"]), summary["sessions"]


# --------------------------------------------------------------------------
# Item 11: a lost advisory lock (PostgreSQL)
# --------------------------------------------------------------------------


def driver_lock_pids(database_url: str) -> list[int]:
    """Backends of this test's database holding the engine's advisory lock."""
    name = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = %s)"
            " AND ((classid::bigint << 32) | objid::bigint) = %s",
            (name, ADVISORY_KEY),
        ).fetchall()
    return [int(r[0]) for r in rows]


def terminate(pid: int) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.mark.fault("11")
@pytest.mark.chaos
def test_a_driver_whose_advisory_lock_connection_is_terminated_stops_driving(
    sqlite_cli: Cli, postgres_database: str, loopback: LoopbackServer, background: list[subprocess.Popen[str]]
) -> None:
    """PostgreSQL: a driver whose lock connection is terminated stops driving; one ResourceHarvested each.

    The advisory-lock backend of a `harvest harvest --wait` is terminated
    mid-harvest and a second `harvest harvest --wait` starts: both exit 0
    without a traceback, the first says it lost the lock, and the session
    finishes finished-all-ok."""
    cli = Cli({**sqlite_cli.env, "HARVEST_DATABASE_URL": postgres_database}, "postgresql")
    n = 240
    site = PagedGeoNode(n, detail_delay_s=0.1)
    add_geonode(cli, "gn", mount_geonode(loopback, "/gn", site), page_size=50)
    cli("refresh", "gn", "--wait")

    first = start(background, cli, "harvest", "gn", "--wait", "--json", HARVEST_BATCH_SIZE="10")

    def harvesting() -> dict[str, Any] | None:
        assert first.poll() is None, "the first driver ended before its lock was taken away"
        session = last_session(cli, "gn", "harvest")
        return session if session is not None and 10 <= session["done"] < n // 2 else None

    session = poll(harvesting, 60, "the harvest to be under way")
    pids = poll(lambda: driver_lock_pids(postgres_database), 10, "the driver's advisory lock")
    assert len(pids) == 1, pids
    terminate(pids[0])
    second = start(background, cli, "harvest", "gn", "--wait", "--json", HARVEST_BATCH_SIZE="10")

    first_out, first_err = finish(first, 120)
    second_out, second_err = finish(second, 120)

    assert first.returncode == 0, first_err[-3000:]
    assert second.returncode == 0, second_err[-3000:]
    assert "Traceback" not in first_err + second_err, (first_err + second_err)[-3000:]
    assert "lost the lock" in first_err, first_err[-3000:]
    for out in (first_out, second_out):
        ended = json.loads(out)
        assert (ended["id"], ended["status"], ended["total"], ended["failed"]) == (
            session["id"],
            "finished-all-ok",
            n,
            0,
        )
    per_resource = harvested_per_resource(cli)
    assert len(per_resource) == n
    assert set(per_resource.values()) == {1}
    assert len(cli.json("records", "--harvester", "gn")) == n


# --------------------------------------------------------------------------
# Item 12: an abort during a long listing
# --------------------------------------------------------------------------


@pytest.mark.fault("12")
def test_abort_during_a_long_listing_ends_the_waiting_command_with_one_line(
    cli: Cli, loopback: LoopbackServer, background: list[subprocess.Popen[str]]
) -> None:
    """Abort during a long listing: the waiting `refresh --wait` exits 1 with one line, no traceback; aborted.

    20 pages at ~0.5 s each; `harvest abort` comes from another process."""
    site = PagedGeoNode(200, page_delay_s=0.5)
    add_geonode(cli, "gn", mount_geonode(loopback, "/gn", site))
    driver = start(background, cli, "refresh", "gn", "--wait")

    def listing() -> dict[str, Any] | None:
        assert driver.poll() is None, "the refresh ended before it could be aborted"
        session = last_session(cli, "gn")
        return session if session is not None and site.listing_requests >= 2 else None

    session = poll(listing, 60, "the listing to be under way")
    aborted = cli.json("abort", session["id"])
    assert aborted["status"] == "aborted"

    _out, err = finish(driver, 30)

    assert driver.returncode == 1, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    lines = error_lines(err)
    assert len(lines) == 1, err[-3000:]
    assert session["id"] in lines[0] and "aborted" in lines[0], lines[0]
    assert cli.json("session", session["id"])["status"] == "aborted"
    assert site.listing_requests < 20
    assert cli.json("harvester", "show", "gn")["status"] == "ready"
