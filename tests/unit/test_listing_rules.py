"""The paging rules (domain/listing.py): each anomaly gives a reason, sound pages none."""

from __future__ import annotations

from harvesting.domain.listing import ListingSoFar, PageFacts, duplicates_reason, judge_end, judge_page

START = ListingSoFar(pages=0, seen=0, first_total=None)


def page(**kw: object) -> PageFacts:
    facts: dict[str, object] = {
        "number": 2,
        "count": 10,
        "total": 100,
        "position": 11,
        "next_position": 21,
        "requested": 10,
        "has_next": True,
    }
    facts.update(kw)
    return PageFacts(**facts)  # type: ignore[arg-type]


def test_a_sound_page_passes() -> None:
    assert judge_page(ListingSoFar(1, 10, 100), page()) is None


def test_a_server_capping_the_page_size_consistently_is_sound() -> None:
    # pycsw caps maxRecords silently: 10 returned of 100 asked, nextRecord follows on.
    assert judge_page(ListingSoFar(1, 10, 100), page(requested=100)) is None


def test_next_position_going_backwards() -> None:
    reason = judge_page(ListingSoFar(1, 10, 100), page(next_position=5))
    assert reason is not None and "goes backwards" in reason


def test_next_position_past_the_total() -> None:
    reason = judge_page(ListingSoFar(1, 10, 100), page(position=91, next_position=150))
    assert reason is not None and "past the total of 100" in reason


def test_next_position_past_the_total_on_what_the_remote_calls_its_last_page() -> None:
    reason = judge_page(ListingSoFar(1, 10, 100), page(position=21, next_position=150, has_next=False))
    assert reason is not None and "past the total of 100" in reason


def test_next_position_skipping_records() -> None:
    reason = judge_page(ListingSoFar(1, 10, 100), page(count=7))
    assert reason is not None and "skipped or repeated" in reason


def test_short_page_without_positions() -> None:
    reason = judge_page(ListingSoFar(1, 10, 100), page(position=None, next_position=None, count=7))
    assert reason is not None and "short page (7 of 10 asked)" in reason


def test_the_last_page_may_be_short() -> None:
    last = page(number=10, count=7, total=97, position=91, next_position=None, has_next=False)
    assert judge_page(ListingSoFar(9, 90, 97), last) is None


def test_empty_page_before_the_end() -> None:
    reason = judge_page(START, page(count=0, position=None, next_position=None, requested=None))
    assert reason is not None and "empty page" in reason


def test_total_drift_within_tolerance_passes_and_beyond_it_truncates() -> None:
    assert judge_page(ListingSoFar(1, 10, 1000), page(total=1010)) is None
    reason = judge_page(ListingSoFar(1, 10, 1000), page(total=1011))
    assert reason is not None and "changed from 1000 to 1011" in reason
    assert judge_page(ListingSoFar(1, 10, 1000), page(total=1011), max_drift=0.05) is None


def test_listing_that_ends_early() -> None:
    assert judge_end(ListingSoFar(3, 22, 35), 35) == "the listing ended after 22 of the 35 records the remote reported"
    assert judge_end(ListingSoFar(3, 35, 35), 35) is None
    assert judge_end(ListingSoFar(3, 999, 1000), 1000) is None  # within 1%
    assert judge_end(ListingSoFar(1, 3, None), None) is None


def test_duplicates_reason_names_them() -> None:
    assert duplicates_reason(2, []) is None
    assert duplicates_reason(4, ["a", "b", "c", "d", "e"]) == (
        "page 4 lists identifier(s) already listed: 'a', 'b', 'c' and 2 more"
    )
