"""Paging that cannot lose or invent records: the rules that judge each page of
a remote listing, whatever the protocol.

Any anomaly truncates the listing, and a truncated listing never sweeps:
peers that trusted a misbehaving listing wiped or duplicated records
(GeoNetwork #1889, #419; ckanext-spatial #245).
"""

from __future__ import annotations

from dataclasses import dataclass

from harvesting.domain.policy import DEFAULT_MAX_TOTAL_DRIFT


@dataclass(frozen=True)
class PageFacts:
    number: int
    count: int
    total: int | None
    position: int | None
    next_position: int | None
    requested: int | None
    has_next: bool


@dataclass(frozen=True)
class ListingSoFar:
    """What earlier pages established (kept on the session, so it survives a resume)."""

    pages: int
    seen: int
    first_total: int | None


def _drifted(first: int, now: int, max_drift: float) -> bool:
    if first == now:
        return False
    base = max(first, 1)
    return abs(now - first) / base > max_drift


def judge_page(so_far: ListingSoFar, page: PageFacts, max_drift: float = DEFAULT_MAX_TOTAL_DRIFT) -> str | None:
    """The reason to truncate the listing at this page, or None when it is sound."""
    first = so_far.first_total
    if first is not None and page.total is not None and _drifted(first, page.total, max_drift):
        return (
            f"the remote's total changed from {so_far.first_total} to {page.total} during the listing "
            f"(page {page.number}), more than the tolerated {max_drift:.1%}"
        )
    if page.next_position is not None and page.total is not None and page.next_position > page.total + 1:
        # Checked even on a last page: a next position past the total is how
        # such a listing usually ends early.
        return f"page {page.number}: next position {page.next_position} is past the total of {page.total}"
    if page.position is not None and page.next_position is not None and page.has_next:
        if page.next_position <= page.position:
            return (
                f"page {page.number}: next position {page.next_position} does not move past position "
                f"{page.position} (paging goes backwards)"
            )
        if page.next_position != page.position + page.count:
            return (
                f"page {page.number}: {page.count} record(s) from position {page.position}, but the next page "
                f"starts at {page.next_position}; records would be skipped or repeated"
            )
    elif page.has_next and page.requested is not None and page.count < page.requested:
        return f"page {page.number}: short page ({page.count} of {page.requested} asked) before the end of the listing"
    if page.has_next and page.count == 0:
        return f"page {page.number}: empty page before the end of the listing"
    return None


def judge_end(so_far: ListingSoFar, last_total: int | None, max_drift: float = DEFAULT_MAX_TOTAL_DRIFT) -> str | None:
    """At the end of the listing: did we see as many records as the remote said it has?"""
    if last_total is None or so_far.seen >= last_total:
        return None
    if _drifted(last_total, so_far.seen, max_drift):
        return f"the listing ended after {so_far.seen} of the {last_total} records the remote reported"
    return None


def duplicates_reason(page_number: int, duplicates: list[str]) -> str | None:
    if not duplicates:
        return None
    shown = ", ".join(repr(d) for d in duplicates[:3])
    more = f" and {len(duplicates) - 3} more" if len(duplicates) > 3 else ""
    return f"page {page_number} lists identifier(s) already listed: {shown}{more}"


def cursor_loop_reason(page_number: int) -> str:
    return f"page {page_number} leads back to a page already listed (the remote's paging loops); listing stopped"


def bound_reason(name: str, limit: int, what: str) -> str:
    return f"listing bound {name}={limit:,} reached ({what}); raise it with --{name.replace('_', '-')} if expected"
