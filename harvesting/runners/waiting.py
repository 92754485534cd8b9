"""Waiting for a session to end: drive it here when this process holds the
engine, or watch the read models while another process drives it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from harvesting.domain.errors import NotFoundError
from harvesting.domain.session import FINAL_STATUSES
from harvesting.projections import queries
from harvesting.runners.engine import LeadershipLost
from harvesting.runners.runtime import Runtime

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5


def wait_for_session(
    rt: Runtime, session_id: str, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    def finished() -> bool:
        """One read of the session a round: reports progress and tells whether it ended."""
        try:
            session = queries.session(rt.db, session_id)
        except NotFoundError:
            return False  # started, but not yet in the read model of the driving process
        if on_progress is not None:
            on_progress(session)
        return str(session["status"]) in FINAL_STATUSES

    while True:
        # Whoever drives the store may stop before our session ends: keep
        # trying to take over rather than watch a session nobody processes.
        engine = rt.engine()
        if engine is not None:
            try:
                engine.run_until(finished)
                break
            except LeadershipLost as e:
                # Another process may be driving now: stop at once, then watch it.
                log.warning("%s", e)
                rt.drop_engine()
                continue
        if finished():
            break
        time.sleep(WATCH_INTERVAL_S)
    return queries.session(rt.db, session_id)
