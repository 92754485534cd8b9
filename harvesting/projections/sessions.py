"""The `sessions` read model, with the per-session work and listing tables that
the completion detector and stale sweeper query."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from harvesting.domain.resource import FAILED, HARVESTED, UNCHANGED, resource_id
from harvesting.domain.session import ABORTED, ABORTING, ON_GOING, REFRESH
from harvesting.projections.handlers import Handlers, stamp
from harvesting.runners.storage import Cursor

handlers = Handlers()

_CHUNK = 400


def _chunks(ids: Sequence[Any]) -> list[list[str]]:
    values = [str(i) for i in ids]
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _touch(c: Cursor, e: Any, sets: str = "", params: tuple[Any, ...] = ()) -> None:
    extra = f", {sets}" if sets else ""
    c.execute(f"UPDATE sessions SET updated = ?{extra} WHERE id = ?", (stamp(e), *params, str(e.originator_id)))  # noqa: S608


@handlers.on("SessionStarted")
def started(c: Cursor, e: Any) -> None:
    c.execute(
        "INSERT INTO sessions (id, harvester_id, type, status, total, done, harvested, unchanged, failed,"
        " new, changed, stale, pages, listing, started, updated, ended, message, parameters)"
        " VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, ?, ?, NULL, '', ?)",
        (
            str(e.originator_id),
            str(e.harvester_id),
            e.session_type,
            ON_GOING,
            stamp(e),
            stamp(e),
            json.dumps(e.parameters, sort_keys=True),
        ),
    )
    if e.session_type == REFRESH:
        # Only the newest listing of a harvester is ever swept against: older
        # "seen" rows would only bloat the table (ckanext-harvest #567).
        c.execute(
            "DELETE FROM listing_seen WHERE session_id IN (SELECT id FROM sessions WHERE harvester_id = ? AND id <> ?)",
            (str(e.harvester_id), str(e.originator_id)),
        )


@handlers.on("PageListed")
def page_listed(c: Cursor, e: Any) -> None:
    harvester = UUID(c.scalar("SELECT harvester_id FROM sessions WHERE id = ?", (str(e.originator_id),)))
    seen = len(e.remote_ids)
    c.executemany(
        "INSERT INTO listing_seen (session_id, resource_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(str(e.originator_id), str(resource_id(harvester, rid))) for rid in e.remote_ids],
    )
    _touch(
        c,
        e,
        "total = total + ?, done = done + ?, new = new + ?, changed = changed + ?, pages = ?",
        (seen, seen, e.new, e.changed, e.page),
    )


@handlers.on("ListingCompleted")
def listing_completed(c: Cursor, e: Any) -> None:
    _touch(c, e, "listing = ?, message = ?", ("complete" if e.complete else "truncated", e.reason))


@handlers.on("WorkPlanned")
def work_planned(c: Cursor, e: Any) -> None:
    more_work_planned(c, e)
    _touch(c, e, "total = ?", (e.total,))


@handlers.on("MoreWorkPlanned")
def more_work_planned(c: Cursor, e: Any) -> None:
    c.executemany(
        "INSERT INTO session_work (session_id, resource_id, outcome) VALUES (?, ?, NULL) ON CONFLICT DO NOTHING",
        [(str(e.originator_id), str(rid)) for rid in e.resource_ids],
    )


@handlers.on("ProgressRecorded")
def progress_recorded(c: Cursor, e: Any) -> None:
    session = str(e.originator_id)
    counted = {HARVESTED: 0, UNCHANGED: 0, FAILED: 0}
    for outcome, ids in ((HARVESTED, e.harvested), (UNCHANGED, e.unchanged), (FAILED, e.failed)):
        for chunk in _chunks(ids):
            marks = ", ".join("?" * len(chunk))
            # Counting only rows still open makes a re-delivered outcome count once.
            before = c.scalar(
                f"SELECT COUNT(*) FROM session_work WHERE session_id = ? AND outcome IS NULL"  # noqa: S608
                f" AND resource_id IN ({marks})",
                (session, *chunk),
            )
            c.execute(
                f"UPDATE session_work SET outcome = ? WHERE session_id = ? AND outcome IS NULL"  # noqa: S608
                f" AND resource_id IN ({marks})",
                (outcome, session, *chunk),
            )
            counted[outcome] += int(before or 0)
    for chunk in _chunks(e.unchanged):
        marks = ", ".join("?" * len(chunk))
        c.execute(
            f"UPDATE harvestable_resources SET last_outcome = ?, last_message = '', last_session = ?,"  # noqa: S608
            f" last_at = ? WHERE id IN ({marks}) AND (last_session IS NULL OR last_session <> ?)",
            (UNCHANGED, session, stamp(e), *chunk, session),
        )
    total_counted = sum(counted.values())
    _touch(
        c,
        e,
        "done = done + ?, harvested = harvested + ?, unchanged = unchanged + ?, failed = failed + ?",
        (total_counted, counted[HARVESTED], counted[UNCHANGED], counted[FAILED]),
    )


@handlers.on("AbortRequested")
def abort_requested(c: Cursor, e: Any) -> None:
    _touch(c, e, "status = ?", (ABORTING,))


@handlers.on("SessionFinished")
def finished(c: Cursor, e: Any) -> None:
    sets = "status = ?, ended = ?, message = ?"
    params: list[Any] = [e.status, stamp(e), e.message]
    for key in ("total", "done", "harvested", "unchanged", "failed", "stale"):
        if key in e.counts:
            sets += f", {key} = ?"
            params.append(int(e.counts[key]))
    _touch(c, e, sets, tuple(params))
    _prune(c, str(e.originator_id))


@handlers.on("SessionAborted")
def aborted(c: Cursor, e: Any) -> None:
    _touch(c, e, "status = ?, ended = ?, message = ?", (ABORTED, stamp(e), e.message))
    _prune(c, str(e.originator_id))


def _prune(c: Cursor, session_id: str) -> None:
    """A closed session's work list has served its purpose; its history stays in
    the events (ckanext-harvest's history tables grew to many GB)."""
    c.execute("DELETE FROM session_work WHERE session_id = ?", (session_id,))
