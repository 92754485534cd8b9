"""The embedded engine: projections and process managers driven from one loop,
with everything that talks to a remote off that loop: listing walks and
harvest planning in a pool of session tasks, fetches in a pool of fetching
threads, outcomes recorded in batches by the loop.

Only one engine drives a store at a time (a lock held for its life, checked
as it goes); any other process just writes commands and watches the read
models.
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
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking

from harvesting.application import HarvestingApplication
from harvesting.domain.errors import HarvestingError
from harvesting.domain.session import HARVEST, REFRESH
from harvesting.projections.projector import Projector
from harvesting.remotes import fetches_locally
from harvesting.remotes.http import HttpClient, http_scope
from harvesting.runners.config import Settings
from harvesting.runners.dispatcher import Dispatcher
from harvesting.runners.failures import is_transient
from harvesting.runners.leadership import Leadership
from harvesting.runners.lister import Lister
from harvesting.runners.process_managers import (
    CompletionDetector,
    Effect,
    SessionEndWatcher,
    SessionLauncher,
    Sweeper,
    WorkFeeder,
    fail_session,
)
from harvesting.runners.raw_store import RawStore
from harvesting.runners.remotes import RemoteRegistry, availability
from harvesting.runners.storage import Database
from harvesting.runners.work import JOB_COLUMNS, Job, Outcome, OutcomeWriter, SessionHarvesters, fetch_one, jobs

log = logging.getLogger(__name__)

FOLLOW_BATCH = 50
RESUME_EVERY_S = 2.0
LEADERSHIP_CHECK_EVERY_S = 1.0
STORE_RETRY_S = 60.0
OUTCOME_BATCHES_PER_STEP = 8
OUTCOME_WAIT_S = 0.05

T = TypeVar("T")


# Jobs per task when no fetch makes a request (a reimport, a WMS layer): a
# task per job cost more in handing it out than the job itself.
LOCAL_JOBS_PER_TASK = 50


@dataclass(frozen=True)
class _Feed:
    harvester_id: UUID
    reimport: bool
    # No request per job: jobs go to the fetchers in runs, not one by one.
    local: bool


@dataclass(frozen=True)
class _Whose:
    originator_id: UUID

    @staticmethod
    def of(originator_id: UUID | str) -> _Whose:
        return _Whose(originator_id if isinstance(originator_id, UUID) else UUID(originator_id))


class LeadershipLost(HarvestingError):
    """Another process may be driving the store now: this one must stop at once."""


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
        self.remotes = remotes or RemoteRegistry(HttpClient(settings=settings.http))
        self.raw_store = RawStore(db)
        self.writer = OutcomeWriter(app, self.raw_store)
        self.harvesters = SessionHarvesters(app)
        self._outcomes: queue.Queue[Outcome] = queue.Queue()
        self._fetch_pool = ThreadPoolExecutor(max_workers=settings.parallel, thread_name_prefix="fetch")
        # Listing walks and harvest plans, one task per session: sessions of
        # different harvesters never wait for each other.
        self._task_pool = ThreadPoolExecutor(max_workers=max(8, settings.parallel), thread_name_prefix="session")
        self._in_flight: dict[UUID, int] = defaultdict(int)
        self._feeds: dict[UUID, _Feed] = {}
        self._fed_until: dict[UUID, str] = {}  # the last remote id handed out per session
        self._waiting_since: float | None = None
        self._wakeup = threading.Event()
        # Jobs handed out per session and not yet written: enough to keep every
        # fetcher busy and the writer in full batches.
        self._window = max(4 * settings.parallel, 5 * settings.batch_size)
        self._tasks: dict[UUID, str] = {}
        self._checks: set[tuple[str, UUID]] = set()
        self._cancelled: set[UUID] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.lister = Lister(app, db, self.remotes, self.should_stop)
        self.dispatcher = Dispatcher(app, db, self.remotes, self.should_stop)
        self.process_managers: list[Any] = [
            SessionLauncher(self.launch),
            SessionEndWatcher(self.session_ended),
            WorkFeeder(self.feed),
            Sweeper(app, db),
            CompletionDetector(app, db),
        ]
        self._started = False
        self._next_resume = 0.0
        self._next_leadership_check = 0.0

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Catches up, then resumes every open session from the store: the event
        store is the truth, the in-process queues only a transport."""
        if self._started:
            return
        self.check_leadership(force=True)
        self._catch_up()
        self._started = True
        self._resume_sessions()

    def close(self) -> None:
        """Stops within seconds: requests in flight are cancelled, work not yet
        recorded is resumed by the next engine."""
        self._stopping.set()
        self.remotes.close()
        self._task_pool.shutdown(wait=True, cancel_futures=True)
        self._fetch_pool.shutdown(wait=True, cancel_futures=True)

    def should_stop(self, session_id: UUID | None = None) -> bool:
        if self._stopping.is_set():
            return True
        with self._lock:
            return session_id is not None and session_id in self._cancelled

    def check_leadership(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_leadership_check:
            return
        self._next_leadership_check = now + LEADERSHIP_CHECK_EVERY_S
        if not self.leadership.still_held():
            self._stopping.set()
            self.remotes.cancel()
            raise LeadershipLost("lost the lock that makes this process the store's driver; stopped driving")

    # --- session tasks ------------------------------------------------------

    def launch(self, session_type: str, session_id: UUID) -> None:
        status = self.db.scalar("SELECT status FROM sessions WHERE id = ?", (str(session_id),))
        if status not in ("on-going", "aborting", "pending"):
            return  # an old session met again while following the log from the start
        with self._lock:
            if self._stopping.is_set() or session_id in self._tasks:
                return
            self._tasks[session_id] = session_type
        self._task_pool.submit(self._run_task, session_type, session_id)

    def _run_task(self, session_type: str, session_id: UUID) -> None:
        try:
            with http_scope(str(session_id)):
                if session_type == REFRESH:
                    self.lister.walk(session_id)
                else:
                    self.dispatcher.plan(session_id)
        except Exception as e:  # a defect ends its session, never the process
            if is_transient(e):
                # The store hiccuped: the session stays open and the next resume round relaunches it.
                log.warning("%s session %s paused by a store error, resuming: %s", session_type, session_id, e)
                return
            log.exception("%s session %s failed", session_type, session_id)
            if not self._stopping.is_set():
                try:
                    self.app.save(*fail_session(self.app, session_id, e))
                except Exception:  # the next resume round tries again
                    log.exception("could not record the failure of session %s", session_id)
        finally:
            with self._lock:
                self._tasks.pop(session_id, None)

    def check_availability(self, harvester_id: UUID) -> None:
        """Off the loop, like every remote call: a hanging remote delays only itself."""
        key = ("availability", harvester_id)
        with self._lock:
            if self._stopping.is_set() or key in self._checks:
                return
            self._checks.add(key)
        self._task_pool.submit(self._run_check, harvester_id, key)

    def _run_check(self, harvester_id: UUID, key: tuple[str, UUID]) -> None:
        try:
            harvester = self.app.harvester_by_id(harvester_id)
            if harvester.removed:
                return
            available, problem = availability(self.remotes, harvester)
            if self._stopping.is_set() or problem.startswith("cancelled"):
                return
            for _ in range(5):
                harvester = self.app.harvester_by_id(harvester_id)
                harvester.record_availability(available, problem or "answers")
                try:
                    self.app.save(harvester)
                    return
                except IntegrityError:
                    continue
        except Exception:  # a check that fails is tried again next time
            log.exception("availability check of harvester %s failed", harvester_id)
        finally:
            with self._lock:
                self._checks.discard(key)

    def session_ended(self, session_id: UUID) -> None:
        """Aborted or ended elsewhere: its work here stops, its requests end now."""
        with self._lock:
            self._feeds.pop(session_id, None)
            self._fed_until.pop(session_id, None)
            if session_id not in self._tasks and not self._in_flight.get(session_id):
                return
            self._cancelled.add(session_id)
        self.remotes.http.cancel(str(session_id))

    def _resume_sessions(self) -> None:
        """Every open session gets its next stage going again: a listing walk or
        plan that was interrupted, fetches cancelled or lost, planned work with
        no outcome and nothing in flight here."""
        rows = self.db.query("SELECT id, type FROM sessions WHERE status IN ('on-going', 'aborting', 'pending')")
        for row in rows:
            session_id = UUID(row["id"])
            with self._lock:
                busy = session_id in self._tasks or session_id in self._feeds or bool(self._in_flight.get(session_id))
            if busy:
                continue
            session = self.app.session(session_id)
            if not session.is_active:
                continue
            if row["type"] == REFRESH and session.listing_complete is None:
                self.launch(REFRESH, session_id)
            elif row["type"] == HARVEST and session.planned is None:
                self.launch(HARVEST, session_id)
            elif row["type"] == HARVEST:
                # Planned work with nothing in flight here: fetches cancelled,
                # lost in a crash, or a feed that ran ahead of its projection.
                self.feed(session_id, from_start=True)

    # --- work ---------------------------------------------------------------

    def feed(self, session_id: UUID, from_start: bool = False) -> None:
        """Starts handing out a planned session's open work, a window at a time:
        the engine never holds more jobs or outcomes than the window, however
        large the catalogue (a job per resource up front cost 100k futures)."""
        rows = self.db.query(
            "SELECT s.harvester_id, s.parameters, s.status, h.type FROM sessions s"
            " JOIN harvesters h ON h.id = s.harvester_id WHERE s.id = ?",
            (str(session_id),),
        )
        if not rows or rows[0]["status"] not in ("on-going", "aborting"):
            return
        reimport = bool(json.loads(rows[0]["parameters"]).get("reimport"))
        local = reimport or fetches_locally(rows[0]["type"])
        with self._lock:
            if self._stopping.is_set() or session_id in self._feeds:
                return
            # A later part of the plan goes on after what was handed out; a
            # resume starts over (its work in flight here is none).
            if from_start:
                self._fed_until.pop(session_id, None)
            self._feeds[session_id] = _Feed(UUID(rows[0]["harvester_id"]), reimport, local)

    def _top_up(self) -> int:
        """Hands each feed's next jobs to the fetchers, in remote id order."""
        handed = 0
        with self._lock:
            feeds = [
                (sid, feed, self._in_flight.get(sid, 0), self._fed_until.get(sid, ""))
                for sid, feed in self._feeds.items()
            ]
        for session_id, feed, in_flight, after in feeds:
            room = self._window - in_flight
            if room < self._window // 4 and in_flight:
                continue
            rows = self.db.rows(
                f"SELECT {JOB_COLUMNS} FROM harvestable_resources r JOIN session_work w"  # noqa: S608
                " ON w.resource_id = r.id AND w.session_id = ? WHERE r.harvester_id = ? AND r.remote_id > ?"
                " AND w.outcome IS NULL ORDER BY r.remote_id LIMIT ?",
                (str(session_id), str(feed.harvester_id), after, room),
            )
            if rows:
                with self._lock:
                    self._fed_until[session_id] = rows[-1]["remote_id"]
                self.enqueue(
                    jobs(rows, session_id, feed.harvester_id, feed.reimport),
                    per_task=LOCAL_JOBS_PER_TASK if feed.local else 1,
                )
                handed += len(rows)
            if len(rows) < room:
                with self._lock:
                    self._feeds.pop(session_id, None)
                    idle = not self._in_flight.get(session_id)
                if idle:
                    self._forget(session_id)
        return handed

    def _forget(self, session_id: UUID) -> None:
        self.harvesters.forget(session_id)
        self.writer.forget(session_id)

    # --- work ---------------------------------------------------------------

    def enqueue(self, jobs: list[Job], per_task: int = 1) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            for job in jobs:
                self._in_flight[job.session_id] += 1
        for start in range(0, len(jobs), per_task):
            self._fetch_pool.submit(self._run_jobs, jobs[start : start + per_task])

    def _run_jobs(self, jobs: list[Job]) -> None:
        for job in jobs:
            if self.should_stop(job.session_id):
                self._outcomes.put(Outcome(job, None, "fetch", "cancelled", "session no longer active"))
                continue
            with http_scope(str(job.session_id)):
                self._outcomes.put(fetch_one(job, self.harvesters, self.remotes, self.raw_store))
        self._wakeup.set()

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._tasks) or bool(self._checks) or bool(self._feeds) or any(self._in_flight.values())

    def step(self) -> int:
        """One round: project, let each process manager act up to the projection's
        position (never ahead of what it reads), then record finished fetches."""
        self.check_leadership()
        done = self._catch_up()
        stop = self.projector.position
        for pm in self.process_managers:
            done += self._follow(pm, stop)
        if time.monotonic() >= self._next_resume:
            self._next_resume = time.monotonic() + RESUME_EVERY_S
            self._resume_sessions()
        done += self._top_up()
        done += self._write_outcomes()
        return done

    def _catch_up(self) -> int:
        """Projects new events. Another process writing the read models'
        position means it took the driver's lock (we stop now, LeadershipLost)
        or a reader settled during a handover (the next round goes on from the
        new position): counted as work, so a waiting loop looks again."""
        try:
            return self.projector.catch_up()
        except IntegrityError:
            self.check_leadership(force=True)
            return 1

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
            self._track(Tracking(pm.name, stop))
            return 0
        whose_only = getattr(pm, "reads_only_originator", False)
        for notification in notifications:
            # A process manager that only asks whose event it is skips decoding
            # it: a progress event names a thousand resources.
            event: Any = (
                _Whose.of(notification.originator_id) if whose_only else self.app.mapper.to_domain_event(notification)
            )
            try:
                effect: Effect = pm.handle(event)
            except Exception as e:  # a bug ends the session, it never sticks it
                log.exception("%s failed on %s", pm.name, notification.topic.rsplit(".", 1)[-1])
                effect = Effect(fail_session(self.app, getattr(event, "originator_id", None), e))
            try:
                self.app.record_with_tracking(Tracking(pm.name, notification.id), *effect.aggregates)
            except IntegrityError:
                # Another writer (an `abort`, a listing) changed an aggregate meanwhile:
                # the position did not move, so the next round handles this event again.
                return 1
            if effect.after_commit is not None:
                effect.after_commit()
        return len(notifications)

    def _track(self, tracking: Tracking) -> None:
        try:
            self.app.record_with_tracking(tracking)
        except IntegrityError:
            self.check_leadership(force=True)

    def _write_outcomes(self) -> int:
        """Writes what the fetchers finished, several batches per round: one
        batch per round left fast fetchers waiting on the loop's other work."""
        waiting = self._outcomes.qsize()
        if not waiting:
            self._waiting_since = None
            return 0
        if waiting < self.settings.batch_size:
            # A few outcomes wait a moment for more: at low parallelism every
            # outcome used to be a transaction of its own.
            now = time.monotonic()
            if self._waiting_since is None:
                self._waiting_since = now
            if now - self._waiting_since < OUTCOME_WAIT_S:
                return 0
        self._waiting_since = None
        written = 0
        for _ in range(OUTCOME_BATCHES_PER_STEP):
            done = self._write_batch()
            if not done:
                break
            written += done
        return written

    def _write_batch(self) -> int:
        batch: list[Outcome] = []
        weight = 0
        # An unchanged outcome writes one id into the batch's progress event
        # and nothing else: it weighs a tenth of one that writes a record.
        while weight < 10 * self.settings.batch_size:
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                break
            batch.append(outcome)
            weight += 1 if outcome.unchanged_per_listing else 10
        if not batch:
            return 0
        by_session: dict[UUID, list[Outcome]] = defaultdict(list)
        for outcome in batch:
            by_session[outcome.job.session_id].append(outcome)
        pending = list(by_session.items())
        while pending:
            session_id, outcomes = pending.pop(0)
            # Cancelled fetches record nothing: if their session is still open,
            # the next resume round fetches them again.
            cancelled = [o for o in outcomes if o.error_kind == "cancelled"]
            real = [o for o in outcomes if o.error_kind != "cancelled"]
            try:
                if real and not self.writer.write(session_id, real):
                    with self._lock:
                        self._cancelled.add(session_id)
                        self._feeds.pop(session_id, None)
            except IntegrityError:
                # A concurrent `abort` saved the session first: retry the batch,
                # the writer reloads and then drops it if the session ended.
                for outcome in real:
                    self._outcomes.put(outcome)
                real = []
            except Exception:
                # Nothing of this batch is lost: back in the queue, written next round.
                for _, rest in [(session_id, outcomes), *pending]:
                    for outcome in rest:
                        self._outcomes.put(outcome)
                raise
            idle = False
            with self._lock:
                self._in_flight[session_id] -= len(real) + len(cancelled)
                if self._in_flight[session_id] <= 0:
                    del self._in_flight[session_id]
                    self._cancelled.discard(session_id)
                    idle = session_id not in self._feeds
            if idle:
                self._forget(session_id)
        return len(batch)

    def run_until(self, finished: Callable[[], bool], idle_sleep: float = 0.02) -> None:
        self.start()
        while True:
            worked = self.retrying(self.step)
            if self.retrying(finished) and not self.busy:
                self.retrying(self.step)  # flush read models of the final events
                return
            if not worked:
                self.idle(idle_sleep)

    def idle(self, timeout: float) -> None:
        """Waits for the next outcome of a fetcher, at most `timeout`: a fixed
        sleep after each round cost a 20 ms pause per window of work."""
        self._wakeup.clear()
        self._wakeup.wait(timeout)

    def retrying(self, work: Callable[[], T]) -> T:
        """Runs `work`, retrying transient store errors with backoff for up to
        STORE_RETRY_S: every step is idempotent (tracking positions), so a
        restarted database or a terminated connection costs a pause, not the run."""
        delay, waited = 0.2, 0.0
        while True:
            try:
                return work()
            except Exception as e:
                if not is_transient(e) or waited >= STORE_RETRY_S or self._stopping.is_set():
                    raise
                # "pipeline aborted" only echoes an earlier error of the same
                # batch of statements: the retry tells the real cause, so this
                # one is not worth an operator's line.
                if "pipeline aborted" not in str(e).lower():
                    log.warning("store error, retrying in %.1f s: %s", delay, " ".join(str(e).split()))
                time.sleep(delay)
                waited += delay
                delay = min(5.0, delay * 2)
