"""The embedded engine: projections, process managers, a pool of fetching
threads and the batching outcome writer, driven from one loop in one process.

Only one engine drives a store at a time (a lock held for its life); any other
process just writes commands and watches the read models.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking

from harvesting.application import HarvestingApplication
from harvesting.projections.projector import Projector
from harvesting.remotes.http import HttpClient
from harvesting.runners.config import Settings
from harvesting.runners.leadership import Leadership
from harvesting.runners.process_managers import (
    CompletionDetector,
    Dispatcher,
    Effect,
    Lister,
    Sweeper,
    fail_session,
)
from harvesting.runners.raw_store import RawStore
from harvesting.runners.remotes import RemoteRegistry
from harvesting.runners.storage import Database
from harvesting.runners.work import Job, Outcome, OutcomeWriter, SessionHarvesters, fetch_one

log = logging.getLogger(__name__)

FOLLOW_BATCH = 50


class Engine:
    def __init__(
        self,
        app: HarvestingApplication,
        db: Database,
        projector: Projector,
        settings: Settings,
        leadership: Leadership,
        remotes: RemoteRegistry | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.projector = projector
        self.settings = settings
        self.leadership = leadership
        self.remotes = remotes or RemoteRegistry(
            HttpClient(timeout_s=settings.http_timeout_s, max_bytes=settings.max_response_bytes)
        )
        self.raw_store = RawStore(db)
        self.writer = OutcomeWriter(app, self.raw_store)
        self.harvesters = SessionHarvesters(app)
        self._outcomes: queue.Queue[Outcome] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=settings.parallel, thread_name_prefix="fetch")
        self._in_flight: dict[UUID, int] = defaultdict(int)
        self._cancelled: set[UUID] = set()
        self._lock = threading.Lock()
        self.process_managers = [
            Lister(app, db, self.remotes),
            Dispatcher(app, db, self.remotes, self.enqueue),
            Sweeper(app, db),
            CompletionDetector(app, db),
        ]
        self._started = False

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Catches up and re-enqueues planned work with no outcome yet: the event
        store is the truth, the in-process queue only a transport."""
        if self._started:
            return
        self.projector.catch_up()
        self._started = True
        rows = self.db.query(
            "SELECT w.session_id, s.harvester_id, w.resource_id, r.remote_id, s.parameters FROM session_work w"
            " JOIN sessions s ON s.id = w.session_id JOIN harvestable_resources r ON r.id = w.resource_id"
            " WHERE w.outcome IS NULL AND s.status IN ('on-going', 'aborting') ORDER BY w.session_id, r.remote_id"
        )
        jobs = [
            Job(
                UUID(r["session_id"]),
                UUID(r["harvester_id"]),
                UUID(r["resource_id"]),
                r["remote_id"],
                reimport=bool(json.loads(r["parameters"]).get("reimport")),
            )
            for r in rows
        ]
        if jobs:
            log.info("resuming %d planned resource(s) without outcome", len(jobs))
            self.enqueue(jobs)

    def close(self) -> None:
        with self._lock:
            self._cancelled.update(self._in_flight)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.remotes.close()

    # --- work ---------------------------------------------------------------

    def enqueue(self, jobs: list[Job]) -> None:
        with self._lock:
            for job in jobs:
                self._in_flight[job.session_id] += 1
        for job in jobs:
            self._pool.submit(self._run_job, job)

    def _run_job(self, job: Job) -> None:
        if job.session_id in self._cancelled:
            self._outcomes.put(Outcome(job, None, "fetch", "cancelled", "session no longer active"))
            return
        self._outcomes.put(fetch_one(job, self.harvesters, self.app, self.remotes, self.raw_store))

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(self._in_flight.values())

    def step(self) -> int:
        """One round: project, let each process manager act up to the projection's
        position (never ahead of what it reads), then record finished fetches."""
        done = self.projector.catch_up()
        stop = self.projector.position
        for pm in self.process_managers:
            done += self._follow(pm, stop)
        done += self._write_outcomes()
        return done

    def _follow(self, pm: Any, stop: int) -> int:
        start = self.db.position(pm.name)
        if start >= stop:
            return 0
        notifications = self.app.recorder.select_notifications(
            start=start, limit=FOLLOW_BATCH, stop=stop, topics=pm.topics, inclusive_of_start=False
        )
        if not notifications:
            # Nothing of interest up to `stop`: move past it, so the next round
            # does not scan the same stretch of log again.
            self.app.record_with_tracking(Tracking(pm.name, stop))
            return 0
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            try:
                effect: Effect = pm.handle(event)
            except Exception as e:  # a bug ends the session, it never sticks it
                log.exception("%s failed on %s", pm.name, type(event).__name__)
                effect = fail_session(self.app, event, e)
            try:
                self.app.record_with_tracking(Tracking(pm.name, notification.id), *effect.aggregates)
            except IntegrityError:
                # Another writer (an `abort`) changed an aggregate meanwhile: the
                # position did not move, so the next round handles this event again.
                return 1
            if effect.after_commit is not None:
                effect.after_commit()
        return len(notifications)

    def _write_outcomes(self) -> int:
        batch: list[Outcome] = []
        while len(batch) < self.settings.batch_size:
            try:
                batch.append(self._outcomes.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return 0
        by_session: dict[UUID, list[Outcome]] = defaultdict(list)
        for outcome in batch:
            by_session[outcome.job.session_id].append(outcome)
        for session_id, outcomes in by_session.items():
            cancelled = [o for o in outcomes if o.error_kind == "cancelled"]
            real = [o for o in outcomes if o.error_kind != "cancelled"]
            try:
                if real and not self.writer.write(session_id, real):
                    self._cancelled.add(session_id)
            except IntegrityError:
                # A concurrent `abort` saved the session first: retry the batch,
                # the writer reloads and then drops it if the session ended.
                for outcome in real:
                    self._outcomes.put(outcome)
                real = []
            with self._lock:
                self._in_flight[session_id] -= len(real) + len(cancelled)
                if self._in_flight[session_id] <= 0:
                    del self._in_flight[session_id]
                    self.harvesters.forget(session_id)
        return len(batch)

    def run_until(self, finished: Callable[[], bool], idle_sleep: float = 0.02) -> None:
        self.start()
        while True:
            worked = self.step()
            if finished() and not self.busy:
                self.step()  # flush read models of the final events
                return
            if not worked:
                time.sleep(idle_sleep)
