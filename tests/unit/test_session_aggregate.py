"""The HarvestingSession aggregate: given events, when a command, then exactly these events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest

from harvesting.domain.errors import SessionClosedError
from harvesting.domain.session import (
    ABORTED,
    ABORTING,
    FINISHED_ALL_FAILED,
    FINISHED_ALL_OK,
    FINISHED_SOME_FAILED,
    ON_GOING,
    PENDING,
    HarvestingSession,
)

HARVESTER_ID = UUID("00000000-0000-0000-0000-0000000000aa")


def names(events: Sequence[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def make(session_type: str = "refresh", parameters: dict[str, Any] | None = None) -> HarvestingSession:
    return HarvestingSession(
        harvester_id=HARVESTER_ID, session_type=session_type, parameters=parameters or {"full": True}
    )


def start(session_type: str = "refresh") -> HarvestingSession:
    """Given: a started session whose start event was already collected."""
    session = make(session_type)
    session.collect_events()
    return session


# --- start --------------------------------------------------------------------------------------------------------


def test_start_emits_session_started_with_payload() -> None:
    session = make("harvest", {"resource_ids": ["a"]})

    events = session.collect_events()

    assert names(events) == ["SessionStarted"]
    assert events[0].originator_id == session.id
    assert events[0].harvester_id == HARVESTER_ID
    assert events[0].session_type == "harvest"
    assert events[0].parameters == {"resource_ids": ["a"]}


def test_start_defaults() -> None:
    session = start()

    assert session.status == ON_GOING
    assert session.is_active is True
    assert session.is_final is False
    assert session.pages_listed == 0
    assert (session.seen, session.new, session.changed) == (0, 0, 0)
    assert session.next_cursor is None
    assert session.listing_complete is None
    assert session.planned is None
    assert session.message == ""


# --- listing ------------------------------------------------------------------------------------------------------


def test_record_page_emits_page_listed_and_counts() -> None:
    session = start()

    session.record_page(cursor=None, next_cursor="p2", remote_ids=["a", "b", "c"], total=5, new=2, changed=1)

    events = session.collect_events()
    assert names(events) == ["PageListed"]
    page = events[0]
    assert page.page == 1
    assert page.cursor is None
    assert page.next_cursor == "p2"
    assert page.remote_ids == ["a", "b", "c"]
    assert page.total == 5
    assert page.new == 2
    assert page.changed == 1
    assert session.pages_listed == 1
    assert session.next_cursor == "p2"
    assert (session.seen, session.new, session.changed) == (3, 2, 1)


def test_pages_accumulate_counts_and_the_last_page_clears_the_cursor() -> None:
    session = start()
    session.record_page(cursor=None, next_cursor="p2", remote_ids=["a", "b", "c"], total=5, new=2, changed=1)
    session.collect_events()

    session.record_page(cursor="p2", next_cursor=None, remote_ids=["d", "e"], total=5, new=0, changed=2)

    events = session.collect_events()
    assert names(events) == ["PageListed"]
    assert events[0].page == 2
    assert events[0].cursor == "p2"
    assert events[0].next_cursor is None
    assert session.pages_listed == 2
    assert session.next_cursor is None
    assert (session.seen, session.new, session.changed) == (5, 2, 3)


def test_an_empty_page_is_still_recorded() -> None:
    session = start()

    session.record_page(cursor=None, next_cursor=None, remote_ids=[], total=0, new=0, changed=0)

    assert names(session.collect_events()) == ["PageListed"]
    assert session.pages_listed == 1
    assert session.seen == 0


def test_complete_listing_emits_listing_completed_once() -> None:
    session = start()

    session.complete_listing(complete=True, seen=5, reason="")

    events = session.collect_events()
    assert names(events) == ["ListingCompleted"]
    assert events[0].complete is True
    assert events[0].seen == 5
    assert events[0].reason == ""
    assert session.listing_complete is True

    session.complete_listing(complete=False, seen=7, reason="again")

    assert session.collect_events() == []
    assert session.listing_complete is True


def test_an_incomplete_listing_is_also_completed_once_only() -> None:
    session = start()
    session.complete_listing(complete=False, seen=0, reason="empty listing")
    events = session.collect_events()
    assert names(events) == ["ListingCompleted"]
    assert events[0].reason == "empty listing"
    assert session.listing_complete is False

    session.complete_listing(complete=True, seen=3, reason="")

    assert session.collect_events() == []
    assert session.listing_complete is False


# --- work ---------------------------------------------------------------------------------------------------------


def test_plan_work_emits_work_planned_once() -> None:
    session = start("harvest")
    ids = [uuid4(), uuid4(), uuid4()]

    session.plan_work(ids)

    events = session.collect_events()
    assert names(events) == ["WorkPlanned"]
    assert events[0].total == 3
    assert events[0].resource_ids == ids
    assert session.planned == 3

    session.plan_work([uuid4()])

    assert session.collect_events() == []
    assert session.planned == 3


def test_an_empty_plan_is_planned_once_too() -> None:
    session = start("harvest")
    session.plan_work([])
    assert names(session.collect_events()) == ["WorkPlanned"]
    assert session.planned == 0

    session.plan_work([uuid4()])

    assert session.collect_events() == []
    assert session.planned == 0


def test_record_progress_with_empty_lists_writes_nothing() -> None:
    session = start("harvest")

    session.record_progress(harvested=[], unchanged=[], failed=[])

    assert session.collect_events() == []
    assert session.version == 1


def test_record_progress_emits_progress_recorded_with_the_ids() -> None:
    session = start("harvest")
    harvested, unchanged, failed = [uuid4(), uuid4()], [uuid4()], [uuid4()]

    session.record_progress(harvested=harvested, unchanged=unchanged, failed=failed)

    events = session.collect_events()
    assert names(events) == ["ProgressRecorded"]
    assert events[0].harvested == harvested
    assert events[0].unchanged == unchanged
    assert events[0].failed == failed


@pytest.mark.parametrize("which", ["harvested", "unchanged", "failed"])
def test_record_progress_with_one_non_empty_list_is_recorded(which: str) -> None:
    session = start("harvest")
    lists: dict[str, list[UUID]] = {"harvested": [], "unchanged": [], "failed": []}
    lists[which] = [uuid4()]

    session.record_progress(**lists)

    events = session.collect_events()
    assert names(events) == ["ProgressRecorded"]
    assert getattr(events[0], which) == lists[which]


# --- abort request --------------------------------------------------------------------------------------------------


def test_request_abort_emits_abort_requested_once() -> None:
    session = start()

    session.request_abort()

    assert names(session.collect_events()) == ["AbortRequested"]
    assert session.status == ABORTING
    assert session.is_active is True
    assert session.is_final is False

    session.request_abort()

    assert session.collect_events() == []
    assert session.status == ABORTING


def test_an_aborting_session_still_accepts_commands() -> None:
    session = start()
    session.request_abort()
    session.collect_events()

    session.record_page(cursor=None, next_cursor=None, remote_ids=["a"], total=1, new=1, changed=0)
    session.complete_listing(complete=False, seen=1, reason="aborted")

    assert names(session.collect_events()) == ["PageListed", "ListingCompleted"]


# --- finish -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [FINISHED_ALL_OK, FINISHED_SOME_FAILED, FINISHED_ALL_FAILED])
def test_finish_emits_session_finished(status: str) -> None:
    session = start("harvest")

    session.finish(status, {"harvested": 3, "failed": 1}, "3 harvested, 1 failed")

    events = session.collect_events()
    assert names(events) == ["SessionFinished"]
    assert events[0].status == status
    assert events[0].counts == {"harvested": 3, "failed": 1}
    assert events[0].message == "3 harvested, 1 failed"
    assert session.status == status
    assert session.message == "3 harvested, 1 failed"
    assert session.is_final is True
    assert session.is_active is False


def test_finish_is_idempotent() -> None:
    session = start()
    session.finish(FINISHED_ALL_OK, {}, "done")
    session.collect_events()

    session.finish(FINISHED_ALL_FAILED, {}, "again")

    assert session.collect_events() == []
    assert session.status == FINISHED_ALL_OK
    assert session.message == "done"


@pytest.mark.parametrize("status", [ON_GOING, ABORTING, ABORTED, PENDING, "finished", ""])
def test_finish_rejects_non_finishing_statuses(status: str) -> None:
    session = start()

    with pytest.raises(ValueError, match="not a finishing status"):
        session.finish(status, {}, "nope")

    assert session.collect_events() == []
    assert session.status == ON_GOING


def test_finish_while_aborting_is_allowed() -> None:
    session = start()
    session.request_abort()
    session.collect_events()

    session.finish(FINISHED_SOME_FAILED, {"failed": 1}, "finished before the abort took effect")

    assert names(session.collect_events()) == ["SessionFinished"]
    assert session.status == FINISHED_SOME_FAILED


# --- abort --------------------------------------------------------------------------------------------------------


def test_abort_emits_session_aborted_once() -> None:
    session = start()

    session.abort("operator asked")

    events = session.collect_events()
    assert names(events) == ["SessionAborted"]
    assert events[0].message == "operator asked"
    assert session.status == ABORTED
    assert session.message == "operator asked"
    assert session.is_final is True
    assert session.is_active is False

    session.abort("again")

    assert session.collect_events() == []
    assert session.message == "operator asked"


def test_abort_after_finish_and_finish_after_abort_are_no_ops() -> None:
    finished = start()
    finished.finish(FINISHED_ALL_OK, {}, "done")
    finished.collect_events()
    finished.abort("too late")
    assert finished.collect_events() == []
    assert finished.status == FINISHED_ALL_OK

    aborted = start()
    aborted.abort("stop")
    aborted.collect_events()
    aborted.finish(FINISHED_ALL_OK, {}, "too late")
    assert aborted.collect_events() == []
    assert aborted.status == ABORTED


def _finish(session: HarvestingSession) -> None:
    session.finish(FINISHED_ALL_OK, {}, "done")


def _abort(session: HarvestingSession) -> None:
    session.abort("stopped")


COMMANDS: dict[str, Callable[[HarvestingSession], None]] = {
    "record_page": lambda s: s.record_page(None, None, ["a"], 1, 1, 0),
    "complete_listing": lambda s: s.complete_listing(True, 1, ""),
    "plan_work": lambda s: s.plan_work([uuid4()]),
    "record_progress": lambda s: s.record_progress([uuid4()], [], []),
    "request_abort": lambda s: s.request_abort(),
}


@pytest.mark.parametrize("close", [_finish, _abort], ids=["finished", "aborted"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_commands_after_the_end_are_refused(close: Callable[[HarvestingSession], None], command: str) -> None:
    session = start()
    close(session)
    session.collect_events()
    status = session.status

    with pytest.raises(SessionClosedError, match=str(session.id)):
        COMMANDS[command](session)

    assert session.collect_events() == []
    assert session.status == status


# --- replay -------------------------------------------------------------------------------------------------------


def replay(events: Sequence[Any]) -> HarvestingSession:
    aggregate = events[0].mutate(None)
    for e in events[1:]:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, HarvestingSession)
    return aggregate


def test_rebuilt_from_its_events_the_session_has_the_same_state() -> None:
    session = make("refresh")
    session.record_page(None, "p2", ["a", "b"], 3, 2, 0)
    session.record_page("p2", None, ["c"], 3, 0, 1)
    session.complete_listing(True, 3, "")
    session.plan_work([uuid4()])
    session.record_progress([uuid4()], [], [])
    session.request_abort()
    session.finish(FINISHED_SOME_FAILED, {"seen": 3}, "listed 3")
    events = session.collect_events()

    rebuilt = replay(events)

    assert names(events) == [
        "SessionStarted",
        "PageListed",
        "PageListed",
        "ListingCompleted",
        "WorkPlanned",
        "ProgressRecorded",
        "AbortRequested",
        "SessionFinished",
    ]
    assert rebuilt == session
    assert rebuilt.version == 8
    assert (rebuilt.pages_listed, rebuilt.seen, rebuilt.new, rebuilt.changed) == (2, 3, 2, 1)
    assert rebuilt.listing_complete is True
    assert rebuilt.planned == 1
    assert rebuilt.status == FINISHED_SOME_FAILED
    assert rebuilt.message == "listed 3"


def test_rebuilt_aborted_session_is_final() -> None:
    session = make()
    session.abort("stop")

    rebuilt = replay(session.collect_events())

    assert rebuilt == session
    assert rebuilt.status == ABORTED
    assert rebuilt.is_final is True


def test_a_page_with_an_anomaly_keeps_the_truncation_reason_for_a_resume() -> None:
    from uuid import uuid4 as _uuid4

    session = HarvestingSession(harvester_id=_uuid4(), session_type="refresh", parameters={})
    session.record_page(None, "2", ["a"], 10, 1, 0, anomaly=None)
    assert session.truncation is None
    session.record_page("2", "3", ["b"], 10, 1, 0, anomaly="page 2: short page")
    session.record_page("3", None, ["c"], 10, 1, 0, anomaly="later reason")
    assert session.truncation == "page 2: short page"
    events = session.collect_events()
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None and rebuilt.truncation == "page 2: short page"


def test_a_large_plan_is_recorded_in_events_of_at_most_a_thousand_ids() -> None:
    session = make("harvest")
    ids = [uuid4() for _ in range(2_500)]

    session.plan_work(ids)

    events = session.collect_events()
    assert names(events) == ["SessionStarted", "WorkPlanned", "MoreWorkPlanned", "MoreWorkPlanned"]
    assert events[1].total == 2_500
    assert [len(e.resource_ids) for e in events[1:]] == [1_000, 1_000, 500]
    assert [rid for e in events[1:] for rid in e.resource_ids] == ids
    assert session.planned == 2_500
    assert replay(events) == session
