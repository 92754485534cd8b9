"""The process managers' wiring: each follows the event log from its tracking
position and turns events into new events (the rules are in domain/).

Each `handle` returns the aggregates to save together with the tracking
position, and optionally work to start once that is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from harvesting.application import HarvestingApplication
from harvesting.domain import decisions, listing
from harvesting.domain.harvester import Harvester
from harvesting.domain.resource import HarvestableResource, resource_id
from harvesting.domain.session import (
    FINISHED_ALL_FAILED,
    FINISHED_ALL_OK,
    FINISHED_SOME_FAILED,
    HARVEST,
    REFRESH,
    HarvestingSession,
)
from harvesting.remotes.base import ListingPage, RemoteError
from harvesting.runners.remotes import RemoteRegistry
from harvesting.runners.storage import Database
from harvesting.runners.work import Job


@dataclass
class Effect:
    aggregates: list[Aggregate] = field(default_factory=list)
    after_commit: Callable[[], None] | None = None


def _closing(session: HarvestingSession, harvester: Harvester) -> list[Aggregate]:
    harvester.close_session(session.id, session.status)
    return [session, harvester]


class TruncatedListing(Exception):
    """The listing cannot be trusted past this point; the reason says why."""


class Lister:
    """Refresh: walks the remote listing page by page; each page is saved as it
    comes, with the cursor, so a restart resumes mid-listing. Every page is
    judged (domain/listing.py): any anomaly truncates the listing, and a
    truncated listing is never swept."""

    name = "pm:lister"
    topics: ClassVar[list[str]] = [get_topic(HarvestingSession.SessionStarted)]  # type: ignore[attr-defined]

    def __init__(self, app: HarvestingApplication, db: Database, remotes: RemoteRegistry) -> None:
        self.app = app
        self.db = db
        self.remotes = remotes

    def handle(self, event: Any) -> Effect:
        if event.session_type != REFRESH:
            return Effect()
        session = self.app.session(event.originator_id)
        if not session.is_active:
            return Effect()
        harvester = self.app.harvester_by_id(session.harvester_id)
        try:
            remote = self.remotes.for_harvester(harvester)
            reason = self._walk(session, harvester, remote)
        except (RemoteError, TruncatedListing) as e:
            reason = str(e)
        if reason is None:
            verdict = decisions.judge_listing(session.seen, session.pages_listed)
            if verdict.complete:
                session.complete_listing(True, session.seen, "")
                return Effect([session])
            session.complete_listing(False, session.seen, verdict.reason)
            session.finish(FINISHED_ALL_FAILED, self._counts(session), verdict.reason)
            return Effect(_closing(session, harvester))
        session.complete_listing(False, session.seen, reason)
        if session.pages_listed:
            message = f"listing truncated: {reason}; kept what was listed, nothing swept"
            session.finish(FINISHED_SOME_FAILED, self._counts(session), message)
        else:
            session.finish(FINISHED_ALL_FAILED, self._counts(session), f"listing failed: {reason}")
        return Effect(_closing(session, harvester))

    def _so_far(self, session: HarvestingSession) -> listing.ListingSoFar:
        return listing.ListingSoFar(pages=session.pages_listed, seen=session.listed, first_total=session.first_total)

    def _walk(self, session: HarvestingSession, harvester: Harvester, remote: Any) -> str | None:
        drift = float(harvester.policy.get("max_total_drift", listing.DEFAULT_MAX_TOTAL_DRIFT))
        if session.truncation is not None:
            return session.truncation  # judged before a crash: never walk on past it
        if session.pages_listed and session.next_cursor is None:
            # Walked to the end before a crash; only the verdict is missing.
            return listing.judge_end(self._so_far(session), session.first_total, drift)
        seen = self._seen_before(session)
        cursor = session.next_cursor
        while True:
            number = session.pages_listed + 1
            page = self._page(remote, cursor, number)
            facts = listing.PageFacts(
                number=number,
                count=page.count,
                total=page.total,
                position=page.position,
                next_position=page.next_position,
                requested=page.requested,
                has_next=page.next_cursor is not None,
            )
            reason = listing.judge_page(self._so_far(session), facts, drift)
            ids = [resource_id(harvester.id, b.remote_id) for b in page.resources]
            duplicates: list[str] = []
            for brief, rid in zip(page.resources, ids, strict=True):
                if rid in seen:
                    duplicates.append(brief.remote_id)
                seen.add(rid)  # within the page too: listing A twice can hide B
            reason = reason or listing.duplicates_reason(number, duplicates)
            new, changed, touched = self._note(harvester, page)
            session.record_page(
                cursor=cursor,
                next_cursor=page.next_cursor,
                remote_ids=[b.remote_id for b in page.resources],
                total=page.total,
                new=new,
                changed=changed,
                listed=page.count,
                position=page.position,
                next_position=page.next_position,
                anomaly=reason,
            )
            self.app.save(session, *touched)
            if reason is not None:
                return reason
            if page.next_cursor is None:
                return listing.judge_end(self._so_far(session), page.total, drift)
            cursor = page.next_cursor

    def _seen_before(self, session: HarvestingSession) -> set[UUID]:
        if not session.pages_listed:
            return set()
        rows = self.db.query("SELECT resource_id FROM listing_seen WHERE session_id = ?", (str(session.id),))
        return {UUID(r["resource_id"]) for r in rows}

    @staticmethod
    def _page(remote: Any, cursor: str | None, number: int) -> ListingPage:
        """A page that fails to parse is asked for once more, then the listing is
        truncated: never silently skipped (GeoNode takes a failed page for an empty one)."""
        for attempt in (1, 2):
            try:
                page: ListingPage = remote.list_resources(cursor)
                return page
            except RemoteError as e:
                if e.kind != "parse-error":
                    raise
                if attempt == 2:
                    raise TruncatedListing(f"page {number} failed to parse twice: {e}") from None
        raise AssertionError("unreachable")

    def _note(self, harvester: Harvester, page: ListingPage) -> tuple[int, int, list[Aggregate]]:
        touched: list[Aggregate] = []
        new = changed = 0
        for brief in page.resources:
            resource = self.app.resource(resource_id(harvester.id, brief.remote_id))
            if resource is None:
                resource = HarvestableResource(
                    harvester_id=harvester.id,
                    remote_id=brief.remote_id,
                    title=brief.title,
                    resource_type=brief.resource_type,
                    modified=brief.modified,
                    should_be_harvested=harvester.select_new,
                )
                new += 1
                touched.append(resource)
            elif resource.note_listed(brief.title, brief.resource_type, brief.modified):
                changed += 1
                touched.append(resource)
        return new, changed, touched

    @staticmethod
    def _counts(session: HarvestingSession) -> dict[str, int]:
        return {"total": session.seen, "done": session.seen}


class Sweeper:
    """After a complete listing only: stale = known minus seen, computed in the
    database; refuses sweeps above the harvester's max-stale-share."""

    name = "pm:sweeper"
    topics: ClassVar[list[str]] = [get_topic(HarvestingSession.ListingCompleted)]  # type: ignore[attr-defined]

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
            return Effect(_closing(session, harvester))
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
        return Effect([*swept, *_closing(session, harvester)])


class Dispatcher:
    """Harvest: checks the remote answers, plans the selected resources, and
    hands one job per resource to the workers once the plan is committed."""

    name = "pm:dispatcher"
    topics: ClassVar[list[str]] = [get_topic(HarvestingSession.SessionStarted)]  # type: ignore[attr-defined]

    def __init__(
        self,
        app: HarvestingApplication,
        db: Database,
        remotes: RemoteRegistry,
        enqueue: Callable[[list[Job]], None],
    ) -> None:
        self.app = app
        self.db = db
        self.remotes = remotes
        self.enqueue = enqueue

    def handle(self, event: Any) -> Effect:
        if event.session_type != HARVEST:
            return Effect()
        session = self.app.session(event.originator_id)
        if not session.is_active or session.planned is not None:
            return Effect()
        harvester = self.app.harvester_by_id(session.harvester_id)
        if session.parameters.get("reimport"):
            return self._plan(session, harvester, reimport=True)
        try:
            remote = self.remotes.for_harvester(harvester)
            available = remote.check_availability()
            problem = "" if available else f"{harvester.remote_type} remote at {harvester.url} does not answer"
        except RemoteError as e:
            available, problem = False, str(e)
        harvester.record_availability(available, problem or "answers")
        if not available:
            session.finish(FINISHED_ALL_FAILED, {}, f"remote unavailable: {problem}; no record touched")
            return Effect(_closing(session, harvester))
        return self._plan(session, harvester, reimport=False)

    def _plan(self, session: HarvestingSession, harvester: Harvester, reimport: bool) -> Effect:
        if reimport:
            # Everything that has a record, selected or not: a reimport rebuilds the catalogue as it is.
            sql = (
                "SELECT r.id, r.remote_id FROM harvestable_resources r JOIN records c ON c.resource_id = r.id"
                " WHERE r.harvester_id = ? AND r.removed = 0 ORDER BY r.remote_id"
            )
        else:
            sql = (
                "SELECT id, remote_id FROM harvestable_resources WHERE harvester_id = ? AND should_be_harvested = 1"
                " AND removed = 0 ORDER BY remote_id"
            )
        rows = self.db.query(sql, (str(harvester.id),))
        session.plan_work([UUID(r["id"]) for r in rows])
        jobs = [Job(session.id, harvester.id, UUID(r["id"]), r["remote_id"], reimport=reimport) for r in rows]
        return Effect([session, harvester], after_commit=lambda: self.enqueue(jobs))


class CompletionDetector:
    """GeoNode's chord finaliser, without the chord: when every planned resource
    has an outcome, the session finishes and the harvester is free again."""

    name = "pm:completion"
    topics: ClassVar[list[str]] = [
        get_topic(HarvestingSession.WorkPlanned),  # type: ignore[attr-defined]
        get_topic(HarvestingSession.ProgressRecorded),  # type: ignore[attr-defined]
    ]

    def __init__(self, app: HarvestingApplication, db: Database) -> None:
        self.app = app
        self.db = db

    def handle(self, event: Any) -> Effect:
        sid = str(event.originator_id)
        pending = int(
            self.db.scalar("SELECT COUNT(*) FROM session_work WHERE session_id = ? AND outcome IS NULL", (sid,)) or 0
        )
        if pending:
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
        return Effect(_closing(session, harvester))


def fail_session(app: HarvestingApplication, event: Any, error: Exception) -> Effect:
    """A bug while handling a session's event still ends that session, with the
    error as its message (GeoNode's `_handle_harvesting_error`)."""
    session_id = getattr(event, "originator_id", None)
    try:
        session = app.session(session_id) if session_id else None
    except Exception:  # noqa: BLE001 - the event may not belong to a session
        session = None
    if session is None or not session.is_active:
        return Effect()
    harvester = app.harvester_by_id(session.harvester_id)
    session.finish(FINISHED_ALL_FAILED, {}, f"internal error: {type(error).__name__}: {error}")
    return Effect(_closing(session, harvester))
