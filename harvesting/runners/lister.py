"""Refresh: walks a remote listing page by page, off the engine's loop, so a
slow remote delays only its own session.

Each page is saved as it comes, with its cursor, so a restart resumes
mid-listing. Every page is judged (domain/listing.py): any anomaly, a loop
back to an earlier page, or a bound on pages, resources or requests
truncates the listing, and a truncated listing is never swept.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from harvesting.application import HarvestingApplication
from harvesting.domain import decisions, listing, policy
from harvesting.domain.errors import SessionClosedError
from harvesting.domain.harvester import Harvester
from harvesting.domain.resource import HarvestableResource, resource_id
from harvesting.domain.session import FINISHED_ALL_FAILED, FINISHED_SOME_FAILED, HarvestingSession
from harvesting.remotes.base import BriefResource, ListingPage, RemoteError
from harvesting.remotes.http import RequestBudget, request_budget
from harvesting.runners.process_managers import Stopped, closing
from harvesting.runners.remotes import RemoteRegistry
from harvesting.runners.storage import Database

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 5
_LOOKUP_CHUNK = 500
# Kinds that say the walk itself must stop (not that the remote misbehaved).
_STOPPING_KINDS = ("cancelled",)


class TruncatedListing(Exception):
    """The listing cannot be trusted past this point; the reason says why."""


def _page_key(remote: Any, cursor: str | None) -> str:
    """A short fingerprint of the page a cursor asks for. Remotes whose
    cursors carry running counts say what the page itself is (`page_key`);
    otherwise the cursor is the page."""
    key_of = getattr(remote, "page_key", None)
    key = key_of(cursor) if key_of is not None and cursor is not None else (cursor or "")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _as_listed(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["title"], row["resource_type"], row["modified"]


class Lister:
    def __init__(
        self,
        app: HarvestingApplication,
        db: Database,
        remotes: RemoteRegistry,
        should_stop: Callable[[UUID], bool],
    ) -> None:
        self.app = app
        self.db = db
        self.remotes = remotes
        self.should_stop = should_stop
        self._exact: set[UUID] = set()

    def walk(self, session_id: UUID) -> None:
        """Runs to the end of the listing (or to a stop), then records the verdict.

        Another writer (an abort, the scheduler ending a stale session) may
        save the session meanwhile: reload and decide again."""
        for _ in range(SAVE_ATTEMPTS):
            session = self.app.session(session_id)
            if not session.is_active or session.listing_complete is not None:
                return
            harvester = self.app.harvester_by_id(session.harvester_id)
            try:
                self.app.save(*self._walk_and_judge(session, harvester))
                return
            except Stopped:
                return  # the session stays open; the next engine start resumes the walk
            except IntegrityError:
                # The read model lagged behind a resource's events: walk on
                # from the saved cursor with every resource loaded.
                self._exact.add(session_id)
                continue
            except SessionClosedError:
                continue
        log.warning("refresh session %s kept changing under the lister; it resumes on the next round", session_id)

    def _walk_and_judge(self, session: HarvestingSession, harvester: Harvester) -> list[Aggregate]:
        try:
            remote = self.remotes.for_harvester(harvester)
            reason = self._walk(session, harvester, remote)
        except TruncatedListing as e:
            reason = str(e)
        except RemoteError as e:
            if e.kind in _STOPPING_KINDS or self.should_stop(session.id):
                raise Stopped(str(e)) from None
            reason = str(e)
        if reason is None:
            verdict = decisions.judge_listing(session.seen, session.pages_listed)
            if verdict.complete:
                session.complete_listing(True, session.seen, "")
                return [session]
            session.complete_listing(False, session.seen, verdict.reason)
            session.finish(FINISHED_ALL_FAILED, self._counts(session), verdict.reason)
            return closing(session, harvester)
        session.complete_listing(False, session.seen, reason)
        if session.pages_listed:
            message = f"listing truncated: {reason}; kept what was listed, nothing swept"
            session.finish(FINISHED_SOME_FAILED, self._counts(session), message)
        else:
            session.finish(FINISHED_ALL_FAILED, self._counts(session), f"listing failed: {reason}")
        return closing(session, harvester)

    def _so_far(self, session: HarvestingSession) -> listing.ListingSoFar:
        return listing.ListingSoFar(pages=session.pages_listed, seen=session.listed, first_total=session.first_total)

    def _walk(self, session: HarvestingSession, harvester: Harvester, remote: Any) -> str | None:
        drift = harvester.max_total_drift
        if session.truncation is not None:
            return session.truncation  # judged before a crash: never walk on past it
        if session.pages_listed and session.next_cursor is None:
            # Walked to the end before a crash; only the verdict is missing.
            return listing.judge_end(self._so_far(session), session.first_total, drift)
        bounds = {key: policy.bound_of(harvester.policy, key) for key in ("max_pages", "max_resources", "max_requests")}
        seen, cursors = self._walked_before(session, remote)
        cursor = session.next_cursor
        while True:
            if self.should_stop(session.id):
                raise Stopped("stopping")
            number = session.pages_listed + 1
            if session.pages_listed >= bounds["max_pages"]:
                return listing.bound_reason("max_pages", bounds["max_pages"], f"{session.pages_listed:,} pages listed")
            if session.seen >= bounds["max_resources"]:
                return listing.bound_reason(
                    "max_resources", bounds["max_resources"], f"{session.seen:,} resources listed"
                )
            made = getattr(session, "requests_made", 0)
            budget = RequestBudget(limit=max(0, bounds["max_requests"] - made))
            cursors.add(_page_key(remote, cursor))
            try:
                with request_budget(budget):
                    page = self._page(remote, cursor, number)
            except RemoteError as e:
                if e.kind != "listing-bound" or budget.used < budget.limit:
                    raise
                made += budget.used
                return listing.bound_reason("max_requests", bounds["max_requests"], f"{made:,} requests made")
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
            kept, duplicates = self._first_of_each(harvester, page.resources, seen)
            reason = reason or listing.duplicates_reason(number, duplicates)
            if reason is None and page.next_cursor is not None and _page_key(remote, page.next_cursor) in cursors:
                reason = listing.cursor_loop_reason(number)
            new, changed, touched = self._note(session.id, harvester, kept)
            session.record_page(
                cursor=cursor,
                next_cursor=page.next_cursor,
                remote_ids=[b.remote_id for b in kept],
                total=page.total,
                new=new,
                changed=changed,
                listed=page.count,
                position=page.position,
                next_position=page.next_position,
                anomaly=reason,
                requests=budget.used,
            )
            self.app.save(session, *touched)
            if reason is not None:
                return reason
            if page.next_cursor is None:
                return listing.judge_end(self._so_far(session), page.total, drift)
            cursor = page.next_cursor

    @staticmethod
    def _first_of_each(
        harvester: Harvester, briefs: list[BriefResource], seen: set[UUID]
    ) -> tuple[list[BriefResource], list[str]]:
        """Keeps the first listing of each identifier; the repeats are named in
        the truncation reason (listing A twice can hide B)."""
        kept: list[BriefResource] = []
        duplicates: list[str] = []
        for brief in briefs:
            rid = resource_id(harvester.id, brief.remote_id)
            if rid in seen:
                duplicates.append(brief.remote_id)
                continue
            seen.add(rid)
            kept.append(brief)
        return kept, duplicates

    def _walked_before(self, session: HarvestingSession, remote: Any) -> tuple[set[UUID], set[str]]:
        """After a resume: the resources and page cursors of this listing so far."""
        if not session.pages_listed:
            return set(), set()
        rows = self.db.query("SELECT resource_id FROM listing_seen WHERE session_id = ?", (str(session.id),))
        events = self.app.events.get(session.id)
        cursors = {_page_key(remote, getattr(e, "cursor", None)) for e in events if type(e).__name__ == "PageListed"}
        return {UUID(r["resource_id"]) for r in rows}, cursors

    @staticmethod
    def _page(remote: Any, cursor: str | None, number: int) -> ListingPage:
        """A page that fails to parse is asked for once more, then the listing is
        truncated: never silently skipped (GeoNode takes a failed page for an empty one)."""
        for attempt in (1, 2):
            try:
                page: ListingPage = remote.list_resources(cursor)
                return page
            except RecursionError:
                raise TruncatedListing(f"page {number}: document nested too deeply to read") from None
            except RemoteError as e:
                if e.kind != "parse-error":
                    raise
                if attempt == 2:
                    raise TruncatedListing(f"page {number} failed to parse twice: {e}") from None
        raise AssertionError("unreachable")

    def _note(
        self, session_id: UUID, harvester: Harvester, briefs: list[BriefResource]
    ) -> tuple[int, int, list[Aggregate]]:
        """New resources are created and changed ones loaded; the read model
        (projected past this session's start, and written for these resources
        only by this session) spares loading the unchanged ones. Should it lag
        all the same, saving the page conflicts and the walk resumes with every
        resource loaded."""
        touched: list[Aggregate] = []
        new = changed = 0
        exact = session_id in self._exact
        known = {} if exact else self._known(harvester, briefs)
        for brief in briefs:
            rid = resource_id(harvester.id, brief.remote_id)
            row = known.get(str(rid))
            listed = (brief.title, brief.resource_type, brief.modified)
            if row is not None and not (row["stale"] or row["removed"]) and _as_listed(row) == listed:
                continue
            resource = self.app.resource(rid) if exact or row is not None else None
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

    def _known(self, harvester: Harvester, briefs: list[BriefResource]) -> dict[str, dict[str, Any]]:
        ids = [str(resource_id(harvester.id, b.remote_id)) for b in briefs]
        known: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in self.db.query(
                "SELECT id, title, resource_type, modified, stale, removed FROM harvestable_resources"  # noqa: S608
                f" WHERE id IN ({marks})",
                chunk,
            ):
                known[row["id"]] = row
        return known

    @staticmethod
    def _counts(session: HarvestingSession) -> dict[str, int]:
        return {"total": session.seen, "done": session.seen}
