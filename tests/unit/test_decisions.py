"""Decisions of the process managers: pure functions, given facts, what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harvesting.domain.decisions import (
    ListingVerdict,
    SweepDecision,
    decide_sweep,
    harvest_message,
    harvest_status,
    is_due,
    is_heartbeat_stale,
    judge_listing,
    refresh_message,
)
from harvesting.domain.session import FINISHED_ALL_FAILED, FINISHED_ALL_OK, FINISHED_SOME_FAILED

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# --- judge_listing ------------------------------------------------------------------------------------------------


def test_an_empty_listing_is_never_complete() -> None:
    verdict = judge_listing(seen=0, pages=3)

    assert verdict.complete is False
    assert verdict.reason == (
        "the remote listed no resources in 3 page(s); refusing to treat an empty listing as complete, nothing swept"
    )


def test_an_empty_listing_of_no_pages_is_not_complete_either() -> None:
    verdict = judge_listing(seen=0, pages=0)

    assert verdict.complete is False
    assert "0 page(s)" in verdict.reason


def test_a_non_empty_listing_is_complete() -> None:
    assert judge_listing(seen=1, pages=1) == ListingVerdict(complete=True, reason="")
    assert judge_listing(seen=250, pages=3) == ListingVerdict(complete=True, reason="")


# --- decide_sweep -------------------------------------------------------------------------------------------------


def test_no_stale_resources_is_always_allowed() -> None:
    assert decide_sweep(known=10, stale=0, max_stale_share=0.0) == SweepDecision(True, 0, 10, "no stale resources")
    assert decide_sweep(known=0, stale=0, max_stale_share=0.5) == SweepDecision(True, 0, 0, "no stale resources")


def test_sweep_below_the_share_is_allowed() -> None:
    decision = decide_sweep(known=10, stale=2, max_stale_share=0.5)

    assert decision == SweepDecision(True, 2, 10, "2 stale resource(s) removed")


def test_sweep_exactly_at_the_share_is_allowed() -> None:
    decision = decide_sweep(known=10, stale=5, max_stale_share=0.5)

    assert decision.allowed is True
    assert decision.stale == 5
    assert decision.known == 10
    assert decision.message == "5 stale resource(s) removed"


@pytest.mark.parametrize(("known", "stale", "share"), [(10, 3, 0.3), (4, 1, 0.25), (3, 3, 1.0), (100, 20, 0.2)])
def test_sweep_at_the_share_is_allowed_for_other_shares(known: int, stale: int, share: float) -> None:
    assert decide_sweep(known=known, stale=stale, max_stale_share=share).allowed is True


def test_sweep_above_the_share_is_refused() -> None:
    decision = decide_sweep(known=10, stale=6, max_stale_share=0.5)

    assert decision == SweepDecision(
        False,
        6,
        10,
        "sweep refused: 6 of 10 known resources (60.0%) are missing from the listing, "
        "more than max-stale-share 50.0%; nothing removed",
    )


def test_sweep_just_above_the_share_is_refused() -> None:
    decision = decide_sweep(known=1000, stale=501, max_stale_share=0.5)

    assert decision.allowed is False
    assert decision.message.startswith("sweep refused: 501 of 1000 known resources")
    assert decision.message.endswith("nothing removed")


def test_sweep_with_no_known_resources_counts_as_everything_stale() -> None:
    refused = decide_sweep(known=0, stale=3, max_stale_share=0.5)

    assert refused.allowed is False
    assert refused.stale == 3
    assert refused.known == 0
    assert refused.message == (
        "sweep refused: 3 of 0 known resources (100.0%) are missing from the listing, "
        "more than max-stale-share 50.0%; nothing removed"
    )

    assert decide_sweep(known=0, stale=3, max_stale_share=1.0) == SweepDecision(
        True, 3, 0, "3 stale resource(s) removed"
    )


def test_a_zero_share_refuses_any_stale_resource() -> None:
    decision = decide_sweep(known=100, stale=1, max_stale_share=0.0)

    assert decision.allowed is False
    assert "1 of 100 known resources (1.0%)" in decision.message
    assert "max-stale-share 0.0%" in decision.message


def test_refresh_message_includes_the_sweep_message() -> None:
    sweep = decide_sweep(known=10, stale=2, max_stale_share=0.5)

    assert refresh_message(seen=8, new=1, changed=3, sweep=sweep) == (
        "listed 8 resource(s): 1 new, 3 changed; 2 stale resource(s) removed"
    )


# --- harvest_status / harvest_message -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "failed", "status"),
    [
        (10, 0, FINISHED_ALL_OK),
        (0, 0, FINISHED_ALL_OK),
        (10, 1, FINISHED_SOME_FAILED),
        (10, 9, FINISHED_SOME_FAILED),
        (10, 10, FINISHED_ALL_FAILED),
        (1, 1, FINISHED_ALL_FAILED),
        (2, 3, FINISHED_ALL_FAILED),
    ],
)
def test_harvest_status(total: int, failed: int, status: str) -> None:
    assert harvest_status(total, failed) == status


def test_harvest_status_values() -> None:
    assert FINISHED_ALL_OK == "finished-all-ok"
    assert FINISHED_SOME_FAILED == "finished-some-failed"
    assert FINISHED_ALL_FAILED == "finished-all-failed"


def test_harvest_message_without_failure() -> None:
    assert harvest_message(3, 2, 0, None) == "3 harvested, 2 unchanged, 0 failed"


def test_harvest_message_with_first_failure() -> None:
    assert harvest_message(3, 2, 1, "layer:7: HTTP 500") == (
        "3 harvested, 2 unchanged, 1 failed; first failure: layer:7: HTTP 500"
    )


def test_harvest_message_ignores_an_empty_first_failure() -> None:
    assert harvest_message(0, 0, 1, "") == "0 harvested, 0 unchanged, 1 failed"


# --- is_due -------------------------------------------------------------------------------------------------------


def test_is_due_without_a_schedule_is_never_due() -> None:
    assert is_due(None, None, NOW) is False
    assert is_due(NOW - timedelta(days=365), None, NOW) is False


def test_is_due_when_never_started() -> None:
    assert is_due(None, timedelta(hours=1), NOW) is True


def test_is_due_exactly_when_the_interval_has_passed() -> None:
    every = timedelta(hours=1)

    assert is_due(NOW - every, every, NOW) is True
    assert is_due(NOW - every - timedelta(seconds=1), every, NOW) is True
    assert is_due(NOW - every + timedelta(seconds=1), every, NOW) is False
    assert is_due(NOW, every, NOW) is False


# --- is_heartbeat_stale -------------------------------------------------------------------------------------------


def test_heartbeat_exactly_at_the_timeout_is_not_stale() -> None:
    timeout = timedelta(minutes=5)

    assert is_heartbeat_stale(NOW - timeout, timeout, NOW) is False


def test_heartbeat_past_the_timeout_is_stale() -> None:
    timeout = timedelta(minutes=5)

    assert is_heartbeat_stale(NOW - timeout - timedelta(microseconds=1), timeout, NOW) is True
    assert is_heartbeat_stale(NOW - timedelta(hours=1), timeout, NOW) is True


def test_recent_heartbeat_is_not_stale() -> None:
    timeout = timedelta(minutes=5)

    assert is_heartbeat_stale(NOW, timeout, NOW) is False
    assert is_heartbeat_stale(NOW - timedelta(minutes=1), timeout, NOW) is False
