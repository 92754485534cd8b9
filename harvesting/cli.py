"""`harvest`: the command line. Thin: parse, call the runtime, present."""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import click

from harvesting import presentation as show
from harvesting.domain.errors import HarvestingError, InvalidConfigurationError, NotFoundError
from harvesting.domain.harvester import harvester_id
from harvesting.domain.policy import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_REQUESTS,
    DEFAULT_MAX_RESOURCES,
    MAX_BOUND,
    MAX_INTERVAL_S,
    checked_url,
    share,
)
from harvesting.domain.session import FINISHED_ALL_OK, HARVEST, REFRESH
from harvesting.projections import queries
from harvesting.remotes import REMOTE_TYPES
from harvesting.remotes.base import RemoteError
from harvesting.runners.failures import store_failure
from harvesting.runners.runtime import Runtime
from harvesting.runners.waiting import wait_for_session

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    match = _DURATION.match(value)
    digits = match.group(1).lstrip("0") if match else ""
    if not match or not digits:
        raise click.BadParameter(f"{value!r} is not a duration like 45s, 30m, 1h or 2d", param_hint=option)
    # Ten years is 9 digits of seconds: a longer number is refused before int() sees it.
    seconds = int(digits) * _UNIT_SECONDS[match.group(2)] if len(digits) <= 12 else MAX_INTERVAL_S + 1
    if seconds > MAX_INTERVAL_S:
        raise click.BadParameter(f"{value!r} is longer than ten years", param_hint=option)
    return seconds


class Share(click.ParamType):  # type: ignore[type-arg]
    """A fraction from 0 to 1. Unlike click.FloatRange, refuses `nan`, which
    passes every range check and would switch a guard off."""

    name = "share"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            return share(value, f"--{param.name.replace('_', '-')}" if param and param.name else "value")
        except InvalidConfigurationError as e:
            self.fail(str(e), param, ctx)


def bound_option(name: str, default: int, what: str) -> Callable[[F], F]:
    return click.option(
        f"--{name}",
        type=click.IntRange(1, MAX_BOUND),
        default=default,
        show_default=True,
        help=f"Most {what} one listing may take; hitting it truncates the listing (never swept).",
    )


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")(fn)


def expected_failures(fn: F) -> F:
    """Every expected failure: one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (HarvestingError, RemoteError) as e:
            show.error_line(str(e))
            sys.exit(1)
        except KeyboardInterrupt:
            show.error_line("interrupted; an unfinished session resumes on the next run")
            sys.exit(130)
        except Exception as e:
            reason = store_failure(e, _sqlite_dir())
            if reason is None:
                raise
            show.error_line(reason)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _sqlite_dir() -> Path | None:
    """Where the embedded store lives, to tell a full disk from other I/O errors."""
    if os.environ.get("HARVEST_DATABASE_URL"):
        return None
    return Path(os.environ.get("HARVEST_DATA_DIR") or "harvest-data").resolve()


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM ends a waiting command as Ctrl-C does: in-flight requests are
    cancelled, and the session resumes on the next run."""
    raise KeyboardInterrupt


@contextmanager
def runtime(*, writes: bool = True) -> Iterator[Runtime]:
    """`writes=False` for commands that only read: they never create a store."""
    signal.signal(signal.SIGTERM, _terminate)
    rt = Runtime(create=writes)
    try:
        if rt.missing:
            show.note(f"no harvesting store at {rt.where()} yet (set HARVEST_DATA_DIR or HARVEST_DATABASE_URL)")
        problem = rt.settle(best_effort=not writes)
        yield rt
        if problem:
            show.note(f"the read models could not be brought up to date, shown as they were: {problem}")
    finally:
        rt.close()


@click.group()
def main() -> None:
    """Keep a local catalogue in step with remote geospatial catalogues."""


# --- harvesters -----------------------------------------------------------------


@main.group()
def harvester() -> None:
    """Register, list, show and remove harvesters."""


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        options[key.strip()] = value.strip()
    return options


def _check_url(url: str) -> str:
    try:
        return checked_url(url)
    except InvalidConfigurationError as e:
        raise click.BadParameter(str(e), param_hint="--url") from None


@harvester.command("add")
@click.argument("name")
@click.option("--type", "remote_type", required=True, type=click.Choice(REMOTE_TYPES), help="Remote protocol.")
@click.option("--url", required=True, help="Base URL of the remote.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE", help="Protocol option (repeatable).")
@click.option("--refresh-every", help="Refresh schedule, e.g. 30m.")
@click.option("--harvest-every", help="Harvest schedule, e.g. 1h.")
@click.option("--delete-orphans/--keep-orphans", default=False, help="What happens to records of stale resources.")
@click.option("--select-new/--no-select-new", default=True, help="Harvest newly discovered resources.")
@click.option(
    "--max-stale-share",
    type=Share(),
    default=0.5,
    show_default=True,
    help="Largest share of known resources a refresh may sweep as stale; a larger sweep is refused and explained.",
)
@click.option(
    "--max-total-drift",
    type=Share(),
    default=0.01,
    show_default=True,
    help="Tolerated change of the remote's total during one listing before it counts as truncated.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Another host the remote may send us to (CDN, asset host; '*.example.org' for its subdomains). "
    "By default only the URL's own scheme, host and port are requested.",
)
@bound_option("max-pages", DEFAULT_MAX_PAGES, "pages")
@bound_option("max-resources", DEFAULT_MAX_RESOURCES, "resources")
@bound_option("max-requests", DEFAULT_MAX_REQUESTS, "HTTP requests")
@json_option
@expected_failures
def harvester_add(
    name: str,
    remote_type: str,
    url: str,
    option_pairs: tuple[str, ...],
    refresh_every: str | None,
    harvest_every: str | None,
    delete_orphans: bool,
    select_new: bool,
    max_stale_share: float,
    max_total_drift: float,
    allow_hosts: tuple[str, ...],
    max_pages: int,
    max_resources: int,
    max_requests: int,
    as_json: bool,
) -> None:
    """Register a harvester NAME for a remote."""
    policy = {
        "delete_orphans": delete_orphans,
        "select_new": select_new,
        "max_stale_share": max_stale_share,
        "max_total_drift": max_total_drift,
        "refresh_every_s": parse_duration(refresh_every, "--refresh-every"),
        "harvest_every_s": parse_duration(harvest_every, "--harvest-every"),
        "allowed_hosts": list(allow_hosts),
        "max_pages": max_pages,
        "max_resources": max_resources,
        "max_requests": max_requests,
    }
    options = _options(option_pairs)
    _check_url(url)
    from harvesting.remotes import make_remote
    from harvesting.remotes.http import HttpClient

    # Build the remote once so a bad option is refused now, not at 3 a.m.
    http = HttpClient()
    try:
        make_remote(remote_type, url, options, http, allowed_hosts=allow_hosts)
    except RemoteError as e:
        raise InvalidConfigurationError(str(e)) from None
    finally:
        http.close()
    with runtime() as rt:
        rt.app.add_harvester(name, remote_type, url, options, policy)
        rt.settle()
        document = queries.harvester(rt.db, name)
    if as_json:
        show.emit_json(document)
    else:
        show.info(f"harvester {name!r} added ({remote_type} {url})")


@harvester.command("list")
@json_option
@expected_failures
def harvester_list(as_json: bool) -> None:
    """List harvesters."""
    with runtime(writes=False) as rt:
        rows = queries.harvesters(rt.db)
    show.emit_json(rows) if as_json else show.harvesters_table(rows)


@harvester.command("show")
@click.argument("name")
@json_option
@expected_failures
def harvester_show(name: str, as_json: bool) -> None:
    """Show one harvester."""
    with runtime(writes=False) as rt:
        document = queries.harvester(rt.db, name)
    show.emit_json(document) if as_json else show.details(f"Harvester {name}", document)


@harvester.command("remove")
@click.argument("name")
@json_option
@expected_failures
def harvester_remove(name: str, as_json: bool) -> None:
    """Remove a harvester (its records stay, flagged orphan)."""
    with runtime() as rt:
        rt.app.remove_harvester(name)
    show.emit_json({"removed": name}) if as_json else show.info(f"harvester {name!r} removed")


# --- sessions ---------------------------------------------------------------------


def _progress_printer(label: str) -> tuple[Callable[[dict[str, Any]], None] | None, Callable[[], None]]:
    if not show.is_terminal():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=show.progress_console(),
        transient=True,
    )
    task = progress.add_task(label, total=None)
    progress.start()

    def update(session: dict[str, Any]) -> None:
        total = session["total"] or None
        progress.update(task, total=total, completed=session["done"], description=f"{label} {session['status']}")

    return update, progress.stop


def _start_and_maybe_wait(name: str, session_type: str, wait: bool, as_json: bool) -> None:
    with runtime() as rt:
        session_id, resumed = rt.app.start_session(name, session_type, {})
        if not wait:
            rt.settle()
            document = queries.session(rt.db, str(session_id))
            if as_json:
                show.emit_json(document)
            else:
                verb = "resumed" if resumed else "started"
                show.info(
                    f"{session_type} session {session_id} {verb}; a running `harvest scheduler` processes it, "
                    f"or run `harvest {session_type} {name} --wait`"
                )
            return
        document = _wait(rt, str(session_id), f"{session_type} {name}")
    _report_final(document, as_json)


def _wait(rt: Runtime, session_id: str, label: str) -> dict[str, Any]:
    update, stop = _progress_printer(label)
    try:
        return wait_for_session(rt, session_id, update)
    finally:
        stop()


def _report_final(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        show.emit_json(document)
    else:
        show.sessions_table([document])
    if document["status"] != FINISHED_ALL_OK:
        show.error_line(f"{document['type']} session {document['id']} {document['status']}: {document['message']}")
        sys.exit(1)


@main.command()
@click.argument("name")
@click.option("--wait", is_flag=True, help="Process the session here and wait for its end.")
@json_option
@expected_failures
def refresh(name: str, wait: bool, as_json: bool) -> None:
    """Refresh the list of harvestable resources of NAME."""
    _start_and_maybe_wait(name, REFRESH, wait, as_json)


@main.command()
@click.argument("name")
@click.option("--wait", is_flag=True, help="Process the session here and wait for its end.")
@json_option
@expected_failures
def harvest(name: str, wait: bool, as_json: bool) -> None:
    """Harvest the selected resources of NAME (resumes an interrupted harvest)."""
    _start_and_maybe_wait(name, HARVEST, wait, as_json)


def _session_uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFoundError(f"{value!r} is not a session id") from None


@main.command()
@click.argument("session_id")
@json_option
@expected_failures
def abort(session_id: str, as_json: bool) -> None:
    """Abort a session."""
    with runtime() as rt:
        status = rt.app.abort_session(_session_uuid(session_id))
        rt.settle()
    show.emit_json({"id": session_id, "status": status}) if as_json else show.info(f"session {session_id} {status}")


@main.command()
@click.argument("name")
@json_option
@expected_failures
def run(name: str, as_json: bool) -> None:
    """Refresh then harvest NAME, wait, and summarise (exit 0 only if all ok).

    A session left open by a crash or another command is finished first
    (resumed where it stopped); a resumed refresh counts as this run's refresh."""
    from harvesting.domain.session import FINISHED_ALL_FAILED

    sessions: list[dict[str, Any]] = []
    with runtime() as rt:
        steps = [REFRESH, HARVEST]
        active = rt.app.harvester(name)
        if active.active_session_id is not None:
            resumed_type = active.active_session_type or HARVEST
            label = f"{resumed_type} {name} (resumed)"
            sessions.append(_wait(rt, str(active.active_session_id), label))
            if resumed_type == REFRESH:
                steps = [HARVEST]
        for session_type in steps:
            if sessions and sessions[-1]["type"] == REFRESH and sessions[-1]["status"] == FINISHED_ALL_FAILED:
                break
            session_id, _ = rt.app.start_session(name, session_type, {})
            sessions.append(_wait(rt, str(session_id), f"{session_type} {name}"))
        rt.settle()
        summary: dict[str, Any] = {"harvester": queries.harvester(rt.db, name), "sessions": sessions}
    if as_json:
        show.emit_json(summary)
    else:
        show.sessions_table(sessions)
        h = summary["harvester"]
        show.info(f"{name}: {h['resources']} resources, {h['records']} records, status {h['status']}")
    failed = [s for s in sessions if s["status"] != FINISHED_ALL_OK]
    if failed:
        s = failed[0]
        show.error_line(f"{s['type']} session {s['id']} {s['status']}: {s['message']}")
        sys.exit(1)


@main.command("sessions")
@click.option("--harvester", "harvester_name", help="Only this harvester's sessions.")
@json_option
@expected_failures
def sessions_cmd(harvester_name: str | None, as_json: bool) -> None:
    """List sessions, oldest first."""
    with runtime(writes=False) as rt:
        rows = queries.sessions(rt.db, harvester_name)
    show.emit_json(rows) if as_json else show.sessions_table(rows)


@main.command("session")
@click.argument("session_id")
@json_option
@expected_failures
def session_cmd(session_id: str, as_json: bool) -> None:
    """Show one session with its progress."""
    with runtime(writes=False) as rt:
        document = queries.session(rt.db, str(_session_uuid(session_id)))
    show.emit_json(document) if as_json else show.details(f"Session {session_id}", document)


# --- resources and records ---------------------------------------------------------


@main.command("resources")
@click.argument("name")
@json_option
@expected_failures
def resources_cmd(name: str, as_json: bool) -> None:
    """List the harvestable resources of NAME."""
    with runtime(writes=False) as rt:
        if as_json:
            show.emit_json_list(queries.iter_resources(rt.db, name))
            return
        rows = queries.resources(rt.db, name)
    show.resources_table(rows)


def _selection(name: str, remote_ids: tuple[str, ...], selected: bool, as_json: bool) -> None:
    with runtime() as rt:
        rt.app.set_selection(name, list(remote_ids), selected)
    verb = "selected" if selected else "deselected"
    if as_json:
        show.emit_json({verb: list(remote_ids)})
    else:
        show.info(f"{len(remote_ids)} resource(s) {verb}")


@main.command()
@click.argument("name")
@click.argument("remote_ids", nargs=-1, required=True)
@json_option
@expected_failures
def select(name: str, remote_ids: tuple[str, ...], as_json: bool) -> None:
    """Select resources of NAME for harvesting."""
    _selection(name, remote_ids, True, as_json)


@main.command()
@click.argument("name")
@click.argument("remote_ids", nargs=-1, required=True)
@json_option
@expected_failures
def deselect(name: str, remote_ids: tuple[str, ...], as_json: bool) -> None:
    """Stop harvesting resources of NAME."""
    _selection(name, remote_ids, False, as_json)


@main.command("records")
@click.option("--harvester", "harvester_name", help="Only this harvester's records.")
@json_option
@expected_failures
def records_cmd(harvester_name: str | None, as_json: bool) -> None:
    """List the local catalogue's records."""
    with runtime(writes=False) as rt:
        if as_json:
            show.emit_json_list(queries.iter_records(rt.db, harvester_name))
            return
        rows = queries.records(rt.db, harvester_name)
    show.records_table(rows)


@main.command("record")
@click.argument("record_id")
@click.option("--raw", is_flag=True, help="Print the raw document the record was harvested from.")
@json_option
@expected_failures
def record_cmd(record_id: str, raw: bool, as_json: bool) -> None:
    """Show one record with its full normalised descriptor."""
    from harvesting.runners.raw_store import RawStore

    with runtime(writes=False) as rt:
        document = queries.record(rt.db, record_id)
        body = RawStore(rt.db).get(document["raw_hash"]) if raw and document["raw_hash"] else None
    if raw:
        if body is None:
            raise NotFoundError(f"no raw document stored for record {record_id}")
        sys.stdout.buffer.write(body)
        return
    show.emit_json(document) if as_json else show.details(f"Record {record_id}", document)


@main.command()
@click.argument("name")
@json_option
@expected_failures
def reimport(name: str, as_json: bool) -> None:
    """Rebuild the records of NAME from stored raw documents, without contacting the remote."""
    with runtime() as rt:
        session_id, _ = rt.app.start_session(name, HARVEST, {"reimport": True}, resume=False)
        document = _wait(rt, str(session_id), f"reimport {name}")
    _report_final(document, as_json)


# --- history -----------------------------------------------------------------------


@main.command()
@click.argument("identifier")
@json_option
@expected_failures
def audit(identifier: str, as_json: bool) -> None:
    """The events of a harvester (name or id), session, resource or record, in order."""
    from harvesting.application import event_document

    with runtime(writes=False) as rt:
        aggregate_id = _aggregate_for(rt, identifier)
        events = [event_document(e) for e in rt.app.events.get(aggregate_id)]
    if not events:
        raise NotFoundError(f"nothing known as {identifier!r}")
    show.emit_json(events) if as_json else show.audit_table(events)


def _aggregate_for(rt: Runtime, identifier: str) -> UUID:
    try:
        candidate = UUID(identifier)
    except ValueError:
        return harvester_id(identifier)
    resource = queries.resource_for_record(rt.db, str(candidate))
    return UUID(resource) if resource else candidate


@main.command()
@json_option
@expected_failures
def replay(as_json: bool) -> None:
    """Rebuild every read model from the event log."""
    with runtime() as rt:
        if rt.engine() is None:
            raise HarvestingError("another process is driving this store; stop it before a replay")
        replayed = rt.projector.rebuild()
        counts = {
            table: int(rt.db.scalar(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608
            for table in ("harvesters", "sessions", "harvestable_resources", "records")
        }
    if as_json:
        show.emit_json({"events": replayed, "rows": counts})
    else:
        show.info(f"replayed {replayed} events: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


# --- long-running and demo ------------------------------------------------------------


@main.command()
@click.option("--check-every", default="10m", show_default=True, help="Availability check interval.")
@click.option("--session-timeout", default="1h", show_default=True, help="End sessions idle this long.")
@click.option("--tick", default="1", show_default=True, help="Seconds between schedule checks.")
@click.option("--once", is_flag=True, help="One round of checks, then work until idle and exit (for cron or tests).")
@expected_failures
def scheduler(check_every: str, session_timeout: str, tick: str, once: bool) -> None:
    """Run schedules, availability checks and session processing until stopped.

    While another process drives the store, waits as a standby and takes over
    when it stops. SIGTERM or Ctrl-C stop it within seconds (exit 0)."""
    import logging

    from harvesting.runners.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    check_s = parse_duration(check_every, "--check-every") or 600
    timeout_s = parse_duration(session_timeout, "--session-timeout") or 3600
    tick_s = parse_duration(tick, "--tick") or 1
    rt = Runtime()
    try:
        Scheduler(rt, check_s, timeout_s).run(tick_s, once=once)
    finally:
        rt.close()
    show.info("scheduler stopped")


@main.command()
@expected_failures
def demo() -> None:
    """Serve bundled recorded GeoNode and WMS documents on loopback and harvest them."""
    from harvesting.demo.run import run_demo

    sys.exit(run_demo())


if __name__ == "__main__":
    main()
