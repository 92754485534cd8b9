"""The HarvestingSession aggregate: one refresh or harvest, from start to an end
that always comes.

Per-resource outcomes live on the resources (no contention between workers);
the session gets page-sized and batch-sized events only.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from harvesting.domain.errors import SessionClosedError

REFRESH = "refresh"
HARVEST = "harvest"
SESSION_TYPES = (REFRESH, HARVEST)

PENDING = "pending"
ON_GOING = "on-going"
FINISHED_ALL_OK = "finished-all-ok"
FINISHED_SOME_FAILED = "finished-some-failed"
FINISHED_ALL_FAILED = "finished-all-failed"
ABORTING = "aborting"
ABORTED = "aborted"

# Resource ids per plan event.
PLAN_CHUNK = 1_000

FINAL_STATUSES = (FINISHED_ALL_OK, FINISHED_SOME_FAILED, FINISHED_ALL_FAILED, ABORTED)


class HarvestingSession(Aggregate):
    @event("SessionStarted")
    def __init__(self, harvester_id: UUID, session_type: str, parameters: dict[str, Any]) -> None:
        self.harvester_id = harvester_id
        self.session_type = session_type
        self.parameters = dict(parameters)
        self.status = ON_GOING
        self.pages_listed = 0
        self.seen = 0
        self.listed = 0
        self.first_total: int | None = None
        self.truncation: str | None = None
        self.new = 0
        self.changed = 0
        self.next_cursor: str | None = None
        self.listing_complete: bool | None = None
        self.planned: int | None = None
        self.requests_made = 0
        self.message = ""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in (ON_GOING, ABORTING)

    def _require_active(self) -> None:
        if not self.is_active:
            raise SessionClosedError(f"session {self.id} is {self.status}")

    def record_page(
        self,
        cursor: str | None,
        next_cursor: str | None,
        remote_ids: list[str],
        total: int | None,
        new: int,
        changed: int,
        listed: int | None = None,
        position: int | None = None,
        next_position: int | None = None,
        anomaly: str | None = None,
        requests: int = 0,
    ) -> None:
        """`anomaly` is why this page truncates the listing: recorded with the
        page itself, so a crash before the verdict cannot forget it."""
        self._require_active()
        self._page_listed(
            page=self.pages_listed + 1,
            cursor=cursor,
            next_cursor=next_cursor,
            remote_ids=remote_ids,
            total=total,
            new=new,
            changed=changed,
            listed=len(remote_ids) if listed is None else listed,
            position=position,
            next_position=next_position,
            anomaly=anomaly,
            requests=requests,
        )

    @event("PageListed")
    def _page_listed(
        self,
        page: int,
        cursor: str | None,
        next_cursor: str | None,
        remote_ids: list[str],
        total: int | None,
        new: int,
        changed: int,
        listed: int = 0,
        position: int | None = None,
        next_position: int | None = None,
        anomaly: str | None = None,
        requests: int = 0,
    ) -> None:
        # `requests` counts HTTP requests made for the page, so a resumed
        # listing keeps its bound on requests.
        self.requests_made += requests
        self.pages_listed = page
        if anomaly and self.truncation is None:
            self.truncation = anomaly
        self.next_cursor = next_cursor
        self.listed += listed
        if self.first_total is None:
            self.first_total = total
        self.seen += len(remote_ids)
        self.new += new
        self.changed += changed

    def complete_listing(self, complete: bool, seen: int, reason: str) -> None:
        self._require_active()
        if self.listing_complete is None:
            self._listing_completed(complete=complete, seen=seen, reason=reason)

    @event("ListingCompleted")
    def _listing_completed(self, complete: bool, seen: int, reason: str) -> None:
        self.listing_complete = complete

    def plan_work(self, resource_ids: list[UUID]) -> None:
        """The plan is recorded in events of at most PLAN_CHUNK ids, saved
        together: a harvest of 100,000 resources is no event of megabytes."""
        self._require_active()
        if self.planned is None:
            self._work_planned(total=len(resource_ids), resource_ids=resource_ids[:PLAN_CHUNK])
            for start in range(PLAN_CHUNK, len(resource_ids), PLAN_CHUNK):
                self._more_work_planned(resource_ids=resource_ids[start : start + PLAN_CHUNK])

    @event("WorkPlanned")
    def _work_planned(self, total: int, resource_ids: list[UUID]) -> None:
        self.planned = total

    @event("MoreWorkPlanned")
    def _more_work_planned(self, resource_ids: list[UUID]) -> None:
        pass

    def record_progress(self, harvested: list[UUID], unchanged: list[UUID], failed: list[UUID]) -> None:
        """Batched: one event for many outcomes, ids kept for the audit trail."""
        self._require_active()
        if harvested or unchanged or failed:
            self._progress_recorded(harvested=harvested, unchanged=unchanged, failed=failed)

    @event("ProgressRecorded")
    def _progress_recorded(self, harvested: list[UUID], unchanged: list[UUID], failed: list[UUID]) -> None:
        pass

    def request_abort(self) -> None:
        self._require_active()
        if self.status != ABORTING:
            self._abort_requested()

    @event("AbortRequested")
    def _abort_requested(self) -> None:
        self.status = ABORTING

    def finish(self, status: str, counts: dict[str, int], message: str) -> None:
        if self.is_final:
            return
        if status not in (FINISHED_ALL_OK, FINISHED_SOME_FAILED, FINISHED_ALL_FAILED):
            raise ValueError(f"not a finishing status: {status}")
        self._finished(status=status, counts=counts, message=message)

    @event("SessionFinished")
    def _finished(self, status: str, counts: dict[str, int], message: str) -> None:
        self.status = status
        self.message = message

    def abort(self, message: str) -> None:
        if self.is_final:
            return
        self._aborted(message=message)

    @event("SessionAborted")
    def _aborted(self, message: str) -> None:
        self.status = ABORTED
        self.message = message
