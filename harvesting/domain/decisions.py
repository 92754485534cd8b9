"""Decisions of the process managers, as pure functions: given facts, what to do.

The runners gather the facts (from the event store, projections and remotes)
and carry the decisions out; the rules themselves live here, testable alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from harvesting.domain.session import FINISHED_ALL_FAILED, FINISHED_ALL_OK, FINISHED_SOME_FAILED


@dataclass(frozen=True)
class ListingVerdict:
    complete: bool
    reason: str


def judge_listing(seen: int, pages: int) -> ListingVerdict:
    """An empty listing is never taken as complete: peers that did so wiped
    every record (GeoNetwork #1889)."""
    if seen == 0:
        return ListingVerdict(
            complete=False,
            reason=f"the remote listed no resources in {pages} page(s); refusing to treat an empty "
            "listing as complete, nothing swept",
        )
    return ListingVerdict(complete=True, reason="")


@dataclass(frozen=True)
class SweepDecision:
    allowed: bool
    stale: int
    known: int
    message: str


def decide_sweep(known: int, stale: int, max_stale_share: float) -> SweepDecision:
    """Refuse to remove more than the configured share of known resources."""
    if stale == 0:
        return SweepDecision(True, 0, known, "no stale resources")
    share = stale / known if known else 1.0
    if share > max_stale_share:
        return SweepDecision(
            False,
            stale,
            known,
            f"sweep refused: {stale} of {known} known resources ({share:.1%}) are missing from the "
            f"listing, more than max-stale-share {max_stale_share:.1%}; nothing removed",
        )
    return SweepDecision(True, stale, known, f"{stale} stale resource(s) removed")


def harvest_status(total: int, failed: int) -> str:
    """GeoNode's statuses: all-failed is reported as such, never as ok."""
    if failed == 0:
        return FINISHED_ALL_OK
    if failed >= total:
        return FINISHED_ALL_FAILED
    return FINISHED_SOME_FAILED


def harvest_message(harvested: int, unchanged: int, failed: int, first_failure: str | None) -> str:
    parts = [f"{harvested} harvested", f"{unchanged} unchanged", f"{failed} failed"]
    message = ", ".join(parts)
    if first_failure:
        message += f"; first failure: {first_failure}"
    return message


def refresh_message(seen: int, new: int, changed: int, sweep: SweepDecision) -> str:
    return f"listed {seen} resource(s): {new} new, {changed} changed; {sweep.message}"


def is_due(last_started: datetime | None, every: timedelta | None, now: datetime) -> bool:
    if every is None:
        return False
    return last_started is None or now - last_started >= every


def is_heartbeat_stale(last_update: datetime, timeout: timedelta, now: datetime) -> bool:
    return now - last_update > timeout
