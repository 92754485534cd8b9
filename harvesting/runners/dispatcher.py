"""Harvest: checks the remote answers, plans the selected resources, and hands
one job per resource to the workers once the plan is committed. Runs off the
engine's loop: an availability check that hangs delays only its own session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from harvesting.application import HarvestingApplication
from harvesting.domain.errors import SessionClosedError
from harvesting.domain.harvester import Harvester
from harvesting.domain.session import FINISHED_ALL_FAILED, HarvestingSession
from harvesting.runners.process_managers import Stopped, closing
from harvesting.runners.remotes import RemoteRegistry, availability
from harvesting.runners.storage import Database
from harvesting.runners.work import JOB_COLUMNS, Job, jobs

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 5


class Dispatcher:
    def __init__(
        self,
        app: HarvestingApplication,
        db: Database,
        remotes: RemoteRegistry,
        enqueue: Callable[[list[Job]], None],
        should_stop: Callable[[UUID], bool],
    ) -> None:
        self.app = app
        self.db = db
        self.remotes = remotes
        self.enqueue = enqueue
        self.should_stop = should_stop

    def plan(self, session_id: UUID) -> None:
        for _ in range(SAVE_ATTEMPTS):
            session = self.app.session(session_id)
            if not session.is_active or session.planned is not None:
                return
            harvester = self.app.harvester_by_id(session.harvester_id)
            try:
                self._plan_once(session, harvester)
                return
            except Stopped:
                return
            except (IntegrityError, SessionClosedError):
                continue
        log.warning("harvest session %s kept changing under the dispatcher; it resumes on the next round", session_id)

    def _plan_once(self, session: HarvestingSession, harvester: Harvester) -> None:
        reimport = bool(session.parameters.get("reimport"))
        if not reimport:
            available, problem = availability(self.remotes, harvester)
            if self.should_stop(session.id):
                raise Stopped("stopping")
            harvester.record_availability(available, problem or "answers")
            if not available:
                session.finish(FINISHED_ALL_FAILED, {}, f"remote unavailable: {problem}; no record touched")
                self.app.save(*closing(session, harvester))
                return
        jobs = self._jobs(session, harvester, reimport)
        session.plan_work([job.resource_id for job in jobs])
        self.app.save(session, harvester)
        self.enqueue(jobs)

    def _jobs(self, session: HarvestingSession, harvester: Harvester, reimport: bool) -> list[Job]:
        if reimport:
            # Everything that has a record, selected or not: a reimport rebuilds the catalogue as it is.
            sql = (
                f"SELECT {JOB_COLUMNS} FROM harvestable_resources r JOIN records c ON c.resource_id = r.id"  # noqa: S608
                " WHERE r.harvester_id = ? AND r.removed = 0 ORDER BY r.remote_id"
            )
        else:
            sql = (
                f"SELECT {JOB_COLUMNS} FROM harvestable_resources r WHERE r.harvester_id = ?"  # noqa: S608
                " AND r.should_be_harvested = 1 AND r.removed = 0 ORDER BY r.remote_id"
            )
        return jobs(self.db.query(sql, (str(harvester.id),)), session.id, harvester.id, reimport)
