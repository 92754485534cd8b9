"""Remotes that try to steer, stall or overload the harvester (issue 6, items
1 and 2 and politeness), through the real `harvest` CLI against loopback
servers built from recorded GeoNode, STAC and OGC API - Records documents
(tests/servers/hostile_b_catalogues.py).

The "internal" host is a second loopback server on another port. It serves
the same catalogue, so following its links would "work"; it records every
request, so each test checks that it received none.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Cli, Result
from tests.servers.hostile import Exchange, HostileServer
from tests.servers.hostile_b_catalogues import (
    Catalogue,
    GeoNode,
    Records,
    StacApi,
    StaticStac,
    geojson,
    json_answer,
    set_next,
    without_next,
)

SECRET = "hunter2-7f2a9c-internal-db-password"
HTML_500 = (
    f"<!doctype html><html><head><title>{SECRET}</title></head>"
    f"<body><h1>Internal Server Error</h1><pre>Traceback: connect('{SECRET}')</pre></body></html>"
).encode()
GARBLED_200 = f'{{"{SECRET}": [{SECRET}, '.encode()
CONTACT = "harvest-ops@example.org"
STAC_IDS = {f"synthetic/{i}" for i in StacApi.IDS}


@pytest.fixture
def internal() -> Iterator[HostileServer]:
    """Another host the remote would like us to request (here: another port)."""
    with HostileServer() as server:
        yield server


def add(cli: Cli, name: str, remote_type: str, url: str, *args: str) -> None:
    cli("harvester", "add", name, "--type", remote_type, "--url", url, *args)


def run(cli: Cli, name: str, timeout: float = 120, **env: str) -> tuple[Result, list[dict[str, Any]]]:
    result = cli("run", name, "--json", check=False, timeout=timeout, **env)
    assert result.stdout.strip(), result.stderr
    sessions: list[dict[str, Any]] = result.json()["sessions"]
    return result, sessions


def remote_ids(cli: Cli, name: str) -> set[str]:
    return {r["remote_id"] for r in cli.json("records", "--harvester", name)}


def seen(server: HostileServer) -> list[tuple[str, str]]:
    return [(s.method, s.path) for s in server.seen]


def copied(document: Any) -> Any:
    return json.loads(json.dumps(document))


# --------------------------------------------------------------------------
# Item 1: links, next pages and redirects to other hosts
# --------------------------------------------------------------------------


@dataclass
class Lure:
    """A catalogue on `origin` leading to `internal`: how to add its
    harvester, the URL that must be refused, the resources harvested when it
    is refused (only what the origin itself listed) and when it is allowed."""

    remote_type: str
    url: str
    options: list[str]
    refused_url: str
    kept_ids: set[str]
    all_ids: set[str]


def stac_next_link(origin: HostileServer, internal: HostileServer) -> Lure:
    site = StacApi(origin)
    StacApi(internal)
    target = f"{internal.url}{StacApi.ITEMS}?limit=2&skip=2"
    set_next(site.page1, target, method="GET")
    kept = {"synthetic/item-00000", "synthetic/item-00001"}
    return Lure("stac", origin.url + "/", ["collections=synthetic", "limit=2"], target, kept, STAC_IDS)


def records_next_link(origin: HostileServer, internal: HostileServer) -> Lure:
    site = Records(origin)
    Records(internal)
    target = f"{internal.url}{Records.ITEMS}?limit=5&offset=5"
    set_next(site.page1, target)
    kept = {f"metadata:main/{f['id']}" for f in site.page1["features"]}
    every = {f"metadata:main/{i}" for i in site.records}
    return Lure("ogcapi-records", origin.url + "/", ["limit=5"], target, kept, every)


def stac_data_link(origin: HostileServer, internal: HostileServer) -> Lure:
    site = StacApi(origin)
    StacApi(internal)
    target = f"{internal.url}/collections"
    for link in site.landing["links"]:
        if link["rel"] == "data":
            link["href"] = target
    return Lure("stac", origin.url + "/", ["collections=synthetic", "limit=2"], target, set(), STAC_IDS)


def _internal_static(internal: HostileServer, path: str) -> None:
    """The internal host's catalogue, whose item is another one than the origin's."""
    elsewhere = StaticStac(internal)
    elsewhere.serve(path, json_answer({**elsewhere.item, "id": "internal-item"}))
    elsewhere.catalog["links"][2]["href"] = "." + path.removeprefix("/static")


def _static_link(origin: HostileServer, internal: HostileServer, rel: str, target: str) -> Lure:
    StaticStac(origin, [{"rel": rel, "href": target, "type": "application/json"}])
    _internal_static(internal, "/static/internal-item.json")
    both = {StaticStac.ITEM_ID, "internal-item"}
    return Lure("stac", origin.url + "/static/catalog.json", ["limit=1"], target, {StaticStac.ITEM_ID}, both)


def static_child_link(origin: HostileServer, internal: HostileServer) -> Lure:
    return _static_link(origin, internal, "child", f"{internal.url}/static/catalog.json")


def static_item_link(origin: HostileServer, internal: HostileServer) -> Lure:
    return _static_link(origin, internal, "item", f"{internal.url}/static/internal-item.json")


def geonode_listing_redirect(origin: HostileServer, internal: HostileServer) -> Lure:
    site = GeoNode(origin, count=4, page_size=2)
    GeoNode(internal, count=4, page_size=2)
    target = f"{internal.url}/api/v2/resources?page=2&page_size=2"
    site.serve("/api/v2/resources", lambda ex: ex.redirect(target) if ex.query.get("page") == "2" else site.listing(ex))
    every = {e["uuid"] for e in site.entries}
    return Lure("geonode", origin.url, ["page_size=2"], target, {e["uuid"] for e in site.entries[:2]}, every)


def stac_post_next_link(origin: HostileServer, internal: HostileServer) -> Lure:
    site, elsewhere = StacApi(origin), StacApi(internal)
    # rustac fails collection-filtered GET searches: the items come by POST /search.
    site.serve(StacApi.ITEMS, lambda ex: ex.text("Internal Server Error", 500))
    target = f"{internal.url}/search"
    body = {"limit": 2, "skip": 2, "collections": ["synthetic"], "token": "page-2"}
    site.serve("/search", geojson(set_next(copied(site.page2), target, method="POST", body=body)))
    elsewhere.serve("/search", geojson(without_next(copied(elsewhere.page1))))
    kept = {"synthetic/item-00007", "synthetic/item-00089"}
    return Lure("stac", origin.url + "/", ["collections=synthetic", "limit=2"], target, kept, STAC_IDS)


LURES: dict[str, Callable[[HostileServer, HostileServer], Lure]] = {
    "stac-next-link": stac_next_link,
    "records-next-link": records_next_link,
    "stac-data-link": stac_data_link,
    "static-child-link": static_child_link,
    "static-item-link": static_item_link,
    "geonode-listing-redirect": geonode_listing_redirect,
    "stac-post-next-link": stac_post_next_link,
}


def harvest_lure(cli: Cli, lure: Lure, *extra: str) -> tuple[Result, list[dict[str, Any]]]:
    options = [arg for option in lure.options for arg in ("--option", option)]
    add(cli, "lured", lure.remote_type, lure.url, *options, *extra)
    return run(cli, "lured")


def check_refused(cli: Cli, origin: HostileServer, internal: HostileServer, lure_of: Callable[..., Lure]) -> None:
    """The listing stops at the lure, naming the refused URL; nothing reaches
    the internal host; only what the origin listed is harvested."""
    lure = lure_of(origin, internal)
    result, sessions = harvest_lure(cli, lure)
    assert seen(internal) == []
    assert result.returncode == 1
    refresh = sessions[0]
    assert refresh["type"] == "refresh" and refresh["listing"] == "truncated", refresh
    assert f"refused {lure.refused_url}" in refresh["message"], refresh["message"]
    assert f"refused {lure.refused_url}" in result.stderr
    if lure.kept_ids:
        assert refresh["status"] == "finished-some-failed"
        assert refresh["message"].startswith("listing truncated: ")
        assert sessions[1]["status"] == "finished-all-ok"
    else:
        assert refresh["status"] == "finished-all-failed"
        assert refresh["message"].startswith("listing failed: ")
        assert len(sessions) == 1
    assert remote_ids(cli, "lured") == lure.kept_ids


@pytest.mark.fault("1")
def test_stac_next_link_to_another_port_is_refused(cli: Cli, hostile: HostileServer, internal: HostileServer) -> None:
    """SSRF: a STAC API `next` link to another port is refused; listing truncated naming the URL.

    The other port receives no request and only the origin's first page is
    harvested."""
    check_refused(cli, hostile, internal, stac_next_link)


@pytest.mark.fault("1")
def test_records_next_link_to_another_port_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: an OGC API - Records `next` link to another port is refused; listing truncated naming the URL.

    The other port receives no request and only the origin's first page is
    harvested."""
    check_refused(sqlite_cli, hostile, internal, records_next_link)


@pytest.mark.fault("1")
def test_stac_data_link_to_another_port_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: a STAC API `data` link (the collections) to another port fails the listing, naming the URL.

    Nothing is requested from the other port and nothing is harvested."""
    check_refused(sqlite_cli, hostile, internal, stac_data_link)


@pytest.mark.fault("1")
def test_static_child_link_to_another_port_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: a static STAC `child` link to another port is not walked; listing truncated naming the URL.

    The other host's catalogue and items are never requested nor stored."""
    check_refused(sqlite_cli, hostile, internal, static_child_link)


@pytest.mark.fault("1")
def test_static_item_link_to_another_port_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: a static STAC `item` link to another port is not read; listing truncated naming the URL.

    The item served by the other host is never stored as a record."""
    check_refused(sqlite_cli, hostile, internal, static_item_link)


@pytest.mark.fault("1")
def test_listing_redirect_to_another_port_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: a GeoNode listing page redirecting to another port is refused; listing truncated naming the URL.

    The other port receives no request; the first page is harvested."""
    check_refused(sqlite_cli, hostile, internal, geonode_listing_redirect)


@pytest.mark.fault("1")
def test_post_next_link_to_another_host_sends_no_body(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: a STAC POST `next` link (method POST with a body) to another host is refused; listing truncated.

    The other host receives no request, so no body; what the origin's POST
    /search listed is harvested."""
    check_refused(sqlite_cli, hostile, internal, stac_post_next_link)


@pytest.mark.fault("1")
def test_an_item_served_by_another_host_is_never_stored(
    cli: Cli, hostile: HostileServer, internal: HostileServer
) -> None:
    """SSRF: an item redirected to an internal host is never fetched there nor stored; that resource fails.

    Its message names the refused URL and the --allow-host that would admit
    it; the other items of the same harvest are stored as usual."""
    site, elsewhere = StacApi(hostile), StacApi(internal)
    target = elsewhere.base + elsewhere.item_path("item-00001")
    site.serve(site.item_path("item-00001"), lambda ex: ex.redirect(target, 307))
    add(cli, "lured", "stac", hostile.url + "/", "--option", "collections=synthetic", "--option", "limit=2")
    result, sessions = run(cli, "lured")
    assert seen(internal) == []
    assert result.returncode == 1
    assert [s["status"] for s in sessions] == ["finished-all-ok", "finished-some-failed"]
    harvest = sessions[1]
    assert (harvest["harvested"], harvest["failed"]) == (3, 1)
    assert f"refused {target}" in harvest["message"]
    assert remote_ids(cli, "lured") == STAC_IDS - {"synthetic/item-00001"}
    failed = [r for r in cli.json("resources", "lured") if r["last_outcome"] != "harvested"]
    assert [r["remote_id"] for r in failed] == ["synthetic/item-00001"]
    assert f"refused {target}" in failed[0]["last_message"]
    assert "--allow-host" in failed[0]["last_message"]


@pytest.mark.fault("1")
@pytest.mark.parametrize("lure", list(LURES))
def test_allow_host_lets_the_same_links_through(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer, lure: str
) -> None:
    """SSRF: `--allow-host 127.0.0.1:<port>` lets the same links and redirects through; all is harvested.

    Next links (GET and POST), data links, static child and item links and
    listing redirects to the allowed port are followed (CDNs and link-outs
    are real)."""
    bait = LURES[lure](hostile, internal)
    result, sessions = harvest_lure(sqlite_cli, bait, "--allow-host", f"127.0.0.1:{internal.port}")
    assert result.returncode == 0, result.stderr
    assert [s["status"] for s in sessions] == ["finished-all-ok", "finished-all-ok"]
    assert sessions[0]["listing"] == "complete"
    assert remote_ids(sqlite_cli, "lured") == bait.all_ids
    assert seen(internal) != []


@pytest.mark.fault("1")
@pytest.mark.parametrize("scheme", ["file", "ftp", "gopher"])
def test_redirect_to_another_scheme_is_refused(
    sqlite_cli: Cli, hostile: HostileServer, internal: HostileServer, scheme: str
) -> None:
    """SSRF: a redirect to another scheme (`file:///etc/passwd`, `ftp://`, `gopher://`) is refused, naming it.

    The listing fails, nothing is read from the target and nothing reaches
    the other port."""
    target = {
        "file": "file:///etc/passwd",
        "ftp": f"ftp://127.0.0.1:{internal.port}/pub/secrets.json",
        "gopher": f"gopher://127.0.0.1:{internal.port}/_GET%20/internal",
    }[scheme]
    site = GeoNode(hostile)
    site.serve("/api/v2/resources", lambda ex: ex.redirect(target))
    add(sqlite_cli, "lured", "geonode", hostile.url)
    result, sessions = run(sqlite_cli, "lured")
    assert result.returncode == 1
    assert len(sessions) == 1
    assert sessions[0]["status"] == "finished-all-failed"
    assert sessions[0]["message"].startswith("listing failed: ")
    assert target in sessions[0]["message"]
    assert "root:" not in result.stdout + result.stderr  # /etc/passwd
    assert seen(internal) == []
    assert remote_ids(sqlite_cli, "lured") == set()


# -- remote bodies in our messages ---------------------------------------------


@dataclass
class Secretive:
    """A catalogue whose listing or one resource's detail can be made to answer
    with a body holding SECRET."""

    remote_type: str
    url: str
    options: list[str]
    site: Catalogue
    listing_path: str
    detail_paths: list[str]


def secretive(kind: str, server: HostileServer) -> Secretive:
    if kind == "geonode":
        gn = GeoNode(server, count=3)
        return Secretive("geonode", server.url, [], gn, "/api/v2/resources", [gn.detail_path(0), gn.detail_path(1)])
    if kind == "stac":
        st = StacApi(server)
        paths = [st.item_path("item-00000"), st.item_path("item-00001")]
        return Secretive("stac", server.url + "/", ["collections=synthetic"], st, StacApi.ITEMS, paths)
    rec = Records(server)
    without_next(rec.page1)
    rec.page1["numberMatched"] = 5
    ids = [f["id"] for f in rec.page1["features"][:2]]
    return Secretive("ogcapi-records", server.url + "/", [], rec, Records.ITEMS, [rec.record_path(i) for i in ids])


def html_500(ex: Exchange) -> None:
    ex.send(500, HTML_500, "text/html; charset=utf-8")


def garbled_200(ex: Exchange) -> None:
    ex.send(200, GARBLED_200, "application/json")


@pytest.mark.fault("1")
@pytest.mark.parametrize("kind", ["geonode", "stac", "ogcapi-records"])
def test_remote_error_bodies_are_never_quoted(cli: Cli, hostile: HostileServer, kind: str) -> None:
    """Remote bodies quoted: a secret in an HTML 500 or unparseable 200 body never reaches any message.

    On a listing page or a resource's detail, for GeoNode, STAC and OGC API -
    Records: not in session messages, `sessions --json`, `resources --json`,
    `audit` or the CLI's output. The messages still say what went wrong (the
    URL and the HTTP status, or that the body is not what was expected)."""
    remote = secretive(kind, hostile)
    add(cli, "secretive", remote.remote_type, remote.url, *[a for o in remote.options for a in ("--option", o)])
    outputs: list[str] = []

    def keep(result: Result) -> Result:
        outputs.extend([result.stdout, result.stderr])
        return result

    # One resource answers an HTML 500 page, another a 200 that is not JSON.
    remote.site.serve(remote.detail_paths[0], html_500)
    remote.site.serve(remote.detail_paths[1], garbled_200)
    first = keep(cli("run", "secretive", "--json", check=False))
    harvest = first.json()["sessions"][1]
    assert harvest["status"] == "finished-some-failed" and harvest["failed"] == 2, harvest
    # Then the listing itself answers each of them.
    for answer in (html_500, garbled_200):
        remote.site.serve(remote.listing_path, answer)
        refresh = keep(cli("refresh", "secretive", "--wait", "--json", check=False))
        assert refresh.returncode == 1
        assert refresh.json()["listing"] == "truncated"

    sessions = cli.json("sessions", "--harvester", "secretive")
    resources = cli.json("resources", "secretive")
    messages = [s["message"] for s in sessions] + [r["last_message"] for r in resources]
    assert any("HTTP 500" in m for m in messages), messages
    outputs += [json.dumps(sessions), json.dumps(resources)]
    outputs += [keep(cli("sessions")).stdout, keep(cli("resources", "secretive")).stdout]
    outputs.append(keep(cli("audit", "secretive")).stdout)
    failed = [r["id"] for r in resources if r["last_outcome"] != "harvested"]
    for identifier in ["secretive", *(s["id"] for s in sessions), *failed]:
        outputs.append(keep(cli("audit", identifier, "--json")).stdout)
    leaked = [m for m in messages if SECRET in m or "Traceback: connect" in m]
    assert leaked == []
    leaks = [text for text in outputs if SECRET in text or "Traceback: connect" in text]
    assert leaks == []


# --------------------------------------------------------------------------
# Item 2: total deadline, and abort ending requests in flight
# --------------------------------------------------------------------------


def drip_body(ex: Exchange) -> None:
    ex.drip(b'{"links": {"next": null}, "resources": []}' + b" " * 10_000, every_s=1.0)


def drip_headers(ex: Exchange) -> None:
    ex.drip_headers(every_s=1.0)


@pytest.mark.fault("2")
@pytest.mark.parametrize("drip", ["body", "headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(sqlite_cli: Cli, hostile: HostileServer, drip: str) -> None:
    """No total deadline: a server dripping its body or headers ends `harvest run` at the request deadline.

    One byte a second never trips HARVEST_HTTP_TIMEOUT=2; with
    HARVEST_HTTP_DEADLINE=4 the listing fails with "no complete answer in 4 s"
    instead of running for hours."""
    site = GeoNode(hostile)
    site.serve("/api/v2/resources", drip_body if drip == "body" else drip_headers)
    add(sqlite_cli, "dripping", "geonode", hostile.url)
    result, sessions = run(sqlite_cli, "dripping", timeout=60, HARVEST_HTTP_TIMEOUT="2", HARVEST_HTTP_DEADLINE="4")
    assert result.returncode == 1
    assert sessions[0]["status"] == "finished-all-failed"
    assert "no complete answer in 4 s" in sessions[0]["message"]
    assert "no complete answer in 4 s" in result.stderr
    assert remote_ids(sqlite_cli, "dripping") == set()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


@pytest.mark.fault("2")
def test_abort_ends_requests_in_flight(cli: Cli, hostile: HostileServer) -> None:
    """No cancellation: `harvest abort` ends a `harvest --wait` stuck on a dripping server within seconds.

    The abort comes from another process while both fetches are in flight
    with a 10-minute request deadline; the waiting process exits and the
    session ends `aborted` with no record stored."""
    site = GeoNode(hostile, count=2)
    for i in range(2):
        site.serve(site.detail_path(i), drip_body)
    add(cli, "dripping", "geonode", hostile.url)
    cli("refresh", "dripping", "--wait")
    waiting = cli.popen(
        "harvest", "dripping", "--wait", "--json", HARVEST_HTTP_TIMEOUT="30", HARVEST_HTTP_DEADLINE="600"
    )
    try:
        wait_until(lambda: len(hostile.requests_to("/api/v2/datasets/")) == 2, 60, "both fetches to start")
        open_sessions = [s for s in cli.json("sessions", "--harvester", "dripping") if s["type"] == "harvest"]
        assert [s["status"] for s in open_sessions] == ["on-going"]
        cli("abort", open_sessions[0]["id"])
        out, err = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 1, err
    assert json.loads(out)["status"] == "aborted"
    assert cli.json("session", open_sessions[0]["id"])["status"] == "aborted"
    assert remote_ids(cli, "dripping") == set()


# --------------------------------------------------------------------------
# Politeness
# --------------------------------------------------------------------------


def slow_detail(entry: dict[str, Any]) -> Callable[[Exchange], None]:
    def answer(ex: Exchange) -> None:
        ex.server.stopping.wait(0.3)
        ex.json({"dataset": entry})

    return answer


@pytest.mark.fault("politeness")
def test_per_host_limit_holds_across_harvesters(sqlite_cli: Cli, hostile: HostileServer) -> None:
    """No per-host limit: two harvesters of one host, HARVEST_PARALLEL=16, never have over 4 requests open.

    Both harvest sessions are open and one `harvest first --wait` process
    drives them together (the process that waits drives every open session);
    the host sees exactly 4 requests at once at most, and everything is
    harvested."""
    site = GeoNode(hostile, count=24, page_size=50)
    for i, entry in enumerate(site.entries):
        site.serve(site.detail_path(i), slow_detail(entry))
    for name in ("first", "second"):
        add(sqlite_cli, name, "geonode", hostile.url)
        sqlite_cli("refresh", name, "--wait")
    sqlite_cli("harvest", "second")  # opened, left for the driving process
    hostile.max_active = 0
    sqlite_cli("harvest", "first", "--wait", timeout=120, HARVEST_PARALLEL="16")
    if [s["status"] for s in sqlite_cli.json("sessions", "--harvester", "second")][-1] == "on-going":
        sqlite_cli("harvest", "second", "--wait", timeout=120, HARVEST_PARALLEL="16")  # resumes it
    harvests = [s for s in sqlite_cli.json("sessions") if s["type"] == "harvest"]
    assert [(s["status"], s["harvested"]) for s in harvests] == [("finished-all-ok", 24)] * 2
    assert len(hostile.requests_to("/api/v2/datasets/")) == 48
    assert hostile.max_active == 4


def flaky(first: Callable[[Exchange], None], then: Callable[[Exchange], None]) -> Callable[[Exchange], None]:
    """Answers `first` to the first request, `then` to every later one."""
    calls: list[int] = []
    lock = threading.Lock()

    def answer(ex: Exchange) -> None:
        with lock:
            calls.append(1)
            n = len(calls)
        (first if n == 1 else then)(ex)

    return answer


def status(code: int, retry_after: str | None = None) -> Callable[[Exchange], None]:
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    body = f"<html><body><h1>{code}</h1></body></html>".encode()
    return lambda ex: ex.send(code, body, "text/html", headers)


@dataclass
class OneOfMany:
    """A catalogue and the detail path of one of its resources."""

    remote_type: str
    url: str
    options: list[str]
    site: Catalogue
    path: str
    remote_id: str
    count: int


def one_of_many(kind: str, server: HostileServer) -> OneOfMany:
    if kind == "geonode":
        gn = GeoNode(server, count=3)
        return OneOfMany("geonode", server.url, [], gn, gn.detail_path(1), gn.entries[1]["uuid"], 3)
    st = StacApi(server)
    opts = ["collections=synthetic", "limit=2"]
    return OneOfMany("stac", server.url + "/", opts, st, st.item_path("item-00001"), "synthetic/item-00001", 4)


def add_one_of_many(cli: Cli, remote: OneOfMany) -> None:
    add(cli, "polite", remote.remote_type, remote.url, *[a for o in remote.options for a in ("--option", o)])


@pytest.mark.fault("politeness")
@pytest.mark.parametrize("kind", ["geonode", "stac"])
def test_429_with_retry_after_is_retried_after_that_delay(sqlite_cli: Cli, hostile: HostileServer, kind: str) -> None:
    """No Retry-After: a 429 with `Retry-After: 1`, then 200, harvests the resource; the retry comes >= ~1 s later."""
    remote = one_of_many(kind, hostile)
    detail = remote.site.routes[remote.path]
    remote.site.serve(remote.path, flaky(status(429, "1"), detail))
    add_one_of_many(sqlite_cli, remote)
    result, sessions = run(sqlite_cli, "polite")
    assert result.returncode == 0, result.stderr
    assert [s["status"] for s in sessions] == ["finished-all-ok"] * 2
    assert remote.remote_id in remote_ids(sqlite_cli, "polite")
    asked = hostile.requests_to(remote.path)
    assert len(asked) == 2
    assert asked[1].at - asked[0].at >= 0.9


@pytest.mark.fault("politeness")
@pytest.mark.parametrize("kind", ["geonode", "stac"])
def test_503_is_retried_a_bounded_number_of_times(sqlite_cli: Cli, hostile: HostileServer, kind: str) -> None:
    """No retries: a resource answering 503 every time is asked 3 times (1 + 2 retries), then fails.

    Its failure names HTTP 503; the other resources are harvested."""
    remote = one_of_many(kind, hostile)
    remote.site.serve(remote.path, status(503))
    add_one_of_many(sqlite_cli, remote)
    result, sessions = run(sqlite_cli, "polite")
    assert result.returncode == 1
    harvest = sessions[1]
    assert (harvest["status"], harvest["harvested"], harvest["failed"]) == ("finished-some-failed", remote.count - 1, 1)
    assert "HTTP 503" in harvest["message"]
    assert len(hostile.requests_to(remote.path)) == 3
    assert remote.remote_id not in remote_ids(sqlite_cli, "polite")


@pytest.mark.fault("politeness")
@pytest.mark.parametrize("kind", ["geonode", "stac"])
def test_a_retry_after_of_an_hour_fails_at_once(sqlite_cli: Cli, hostile: HostileServer, kind: str) -> None:
    """No Retry-After: a 429 with `Retry-After: 3600` fails that resource at once, saying so.

    One request only, and the message says it asked for more than the 120 s
    we wait."""
    remote = one_of_many(kind, hostile)
    remote.site.serve(remote.path, status(429, "3600"))
    add_one_of_many(sqlite_cli, remote)
    result, sessions = run(sqlite_cli, "polite")
    assert result.returncode == 1
    harvest = sessions[1]
    assert (harvest["status"], harvest["failed"]) == ("finished-some-failed", 1)
    assert "retry after 3600 s" in harvest["message"], harvest["message"]
    assert "120 s" in harvest["message"]
    assert len(hostile.requests_to(remote.path)) == 1


@pytest.mark.fault("politeness")
def test_user_agent_names_the_project_and_contact(sqlite_cli: Cli, hostile: HostileServer) -> None:
    """No User-Agent: every request names the project (`harvesting/<version>`) and HARVEST_CONTACT."""
    StacApi(hostile)
    add(sqlite_cli, "polite", "stac", hostile.url + "/", "--option", "collections=synthetic", "--option", "limit=2")
    result, _ = run(sqlite_cli, "polite", HARVEST_CONTACT=CONTACT)
    assert result.returncode == 0, result.stderr
    agents = {s.headers.get("user-agent", "") for s in hostile.seen}
    assert len(hostile.seen) >= 6
    assert all("harvesting/" in agent and CONTACT in agent for agent in agents), agents
