"""The process managers' wiring: each follows the event log from its tracking
position and turns events into new events (the rules are in domain/).

Each `handle` returns the aggregates to save together with the tracking
position, and optionally work to start once that is committed. Work that
talks to a remote (listing, availability, planning) is only launched here and
runs off the loop (lister.py, dispatcher.py), so no remote can stall the
others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from harvesting.application import HarvestingApplication
from harvesting.domain import decisions
from harvesting.domain.harvester import Harvester
from harvesting.domain.session import (
    FINISHED_ALL_FAILED,
    FINISHED_ALL_OK,
    FINISHED_SOME_FAILED,
    HARVEST,
    REFRESH,
    HarvestingSession,
)
from harvesting.runners.storage import Database
from harvesting.text import printable


@dataclass
class Effect:
    aggregates: list[Aggregate] = field(default_factory=list)
    after_commit: Callable[[], None] | None = None


class Stopped(Exception):
    """The process is stopping or the session ended: leave the session for a resume."""


def closing(session: HarvestingSession, harvester: Harvester) -> list[Aggregate]:
    harvester.close_session(session.id, session.status)
    return [session, harvester]


def _topic(event_class: Any) -> str:
    return get_topic(event_class)


class SessionLauncher:
    """On `SessionStarted`, launches the session's first stage off the loop:
    the listing walk of a refresh, the availability check and plan of a harvest."""

    name = "pm:launcher"
    topics: ClassVar[list[str]] = [_topic(HarvestingSession.SessionStarted)]  # type: ignore[attr-defined]

    def __init__(self, launch: Callable[[str, UUID], None]) -> None:
        self.launch = launch

    def handle(self, event: Any) -> Effect:
        if event.session_type not in (REFRESH, HARVEST):
            return Effect()
        session_id, session_type = event.originator_id, event.session_type
        return Effect(after_commit=lambda: self.launch(session_type, session_id))


class SessionEndWatcher:
    """When a session ends (abort from any process, or the scheduler ending a
    stale one), its requests still in flight here are cancelled at once."""

    name = "pm:session-end"
    topics: ClassVar[list[str]] = [
        _topic(HarvestingSession.AbortRequested),  # type: ignore[attr-defined]
        _topic(HarvestingSession.SessionAborted),  # type: ignore[attr-defined]
        _topic(HarvestingSession.SessionFinished),  # type: ignore[attr-defined]
    ]

    def __init__(self, ended: Callable[[UUID], None]) -> None:
        self.ended = ended

    def handle(self, event: Any) -> Effect:
        session_id = event.originator_id
        return Effect(after_commit=lambda: self.ended(session_id))


class WorkFeeder:
    """Once a harvest's plan is projected, its work is handed to the fetchers
    (a window at a time, by the engine); each further part of the plan goes
    on from where the feed got to."""

    name = "pm:feeder"
    # A plan's part names a thousand resources; the feed reads them from the projection.
    reads_only_originator = True
    topics: ClassVar[list[str]] = [
        _topic(HarvestingSession.WorkPlanned),  # type: ignore[attr-defined]
        _topic(HarvestingSession.MoreWorkPlanned),  # type: ignore[attr-defined]
    ]

    def __init__(self, feed: Callable[[UUID], None]) -> None:
        self.feed = feed

    def handle(self, event: Any) -> Effect:
        session_id = event.originator_id
        return Effect(after_commit=lambda: self.feed(session_id))


class Sweeper:
    """After a complete listing only: stale = known minus seen, computed in the
    database; refuses sweeps above the harvester's max-stale-share."""

    name = "pm:sweeper"
    topics: ClassVar[list[str]] = [_topic(HarvestingSession.ListingCompleted)]  # type: ignore[attr-defined]

    def __init__(self, app: HarvestingApplication, db: Database) -> None:
        self.app = app
        self.db = db

    def handle(self, event: Any) -> Effect:
        if not event.complete:
            return Effect()
        session = self.app.session(event.originator_id)
        if not session.is_active:
            return Effect()
        harvester = self.app.harvester_by_id(session.harvester_id)
        hid, sid = str(harvester.id), str(session.id)
        known = int(
            self.db.scalar("SELECT COUNT(*) FROM harvestable_resources WHERE harvester_id = ? AND removed = 0", (hid,))
        )
        stale_ids = [
            UUID(row["id"])
            for row in self.db.query(
                "SELECT r.id FROM harvestable_resources r WHERE r.harvester_id = ? AND r.removed = 0"
                " AND NOT EXISTS (SELECT 1 FROM listing_seen s WHERE s.session_id = ? AND s.resource_id = r.id)"
                " ORDER BY r.remote_id",
                (hid, sid),
            )
        ]
        sweep = decisions.decide_sweep(known, len(stale_ids), harvester.max_stale_share)
        counts = {"total": session.seen, "done": session.seen, "stale": len(stale_ids) if sweep.allowed else 0}
        message = decisions.refresh_message(session.seen, session.new, session.changed, sweep)
        if not sweep.allowed:
            session.finish(FINISHED_SOME_FAILED, counts, message)
            return Effect(closing(session, harvester))
        swept: list[Aggregate] = []
        for stale_id in stale_ids:
            resource = self.app.resource(stale_id)
            if resource is None:
                continue
            resource.sweep(session.id, harvester.delete_orphans)
            swept.append(resource)
        # One transaction with the tracking position: a crash mid-sweep leaves
        # nothing half done to be re-judged on a smaller base.
        session.finish(FINISHED_ALL_OK, counts, message)
        return Effect([*swept, *closing(session, harvester)])


class CompletionDetector:
    """GeoNode's chord finaliser, without the chord: when every planned resource
    has an outcome, the session finishes and the harvester is free again."""

    name = "pm:completion"
    # Only which session moved matters; the counts are read from the projection.
    reads_only_originator = True
    topics: ClassVar[list[str]] = [
        _topic(HarvestingSession.WorkPlanned),  # type: ignore[attr-defined]
        _topic(HarvestingSession.ProgressRecorded),  # type: ignore[attr-defined]
    ]

    def __init__(self, app: HarvestingApplication, db: Database) -> None:
        self.app = app
        self.db = db

    def handle(self, event: Any) -> Effect:
        sid = str(event.originator_id)
        # Each outcome is counted once into `done` (the projection ignores a
        # re-delivered one), so this is the count of planned work still open,
        # without scanning the session's work list on every batch.
        open_work = self.db.query("SELECT total - done AS pending FROM sessions WHERE id = ?", (sid,))
        if open_work and int(open_work[0]["pending"]) > 0:
            return Effect()
        session = self.app.session(event.originator_id)
        if not session.is_active:
            return Effect()
        harvester = self.app.harvester_by_id(session.harvester_id)
        row = self.db.query("SELECT total, done, harvested, unchanged, failed FROM sessions WHERE id = ?", (sid,))[0]
        first_failure = self.db.scalar(
            "SELECT remote_id || ': ' || last_message FROM harvestable_resources WHERE last_session = ?"
            " AND last_outcome = 'failed' ORDER BY remote_id LIMIT 1",
            (sid,),
        )
        counts = {k: int(v) for k, v in row.items()}
        status = decisions.harvest_status(counts["total"], counts["failed"])
        message = decisions.harvest_message(counts["harvested"], counts["unchanged"], counts["failed"], first_failure)
        session.finish(status, counts, message)
        return Effect(closing(session, harvester))


def fail_session(app: HarvestingApplication, session_id: UUID | None, error: BaseException) -> list[Aggregate]:
    """A defect while working on a session still ends that session, with the
    error as its one-line message (GeoNode's `_handle_harvesting_error`)."""
    try:
        session = app.session(session_id) if session_id else None
    except Exception:  # noqa: BLE001 - the event may not belong to a session
        session = None
    if session is None or not session.is_active:
        return []
    harvester = app.harvester_by_id(session.harvester_id)
    session.finish(FINISHED_ALL_FAILED, {}, f"internal error: {type(error).__name__}: {printable(str(error), 200)}")
    return closing(session, harvester)
