"""docs/RELIABILITY.md is generated from the fault tests and must match them."""

from __future__ import annotations

from tests.reliability import DOCUMENT, FAULTS, collect, render


def test_every_fault_of_the_hardening_issue_has_a_test() -> None:
    covered = {t.item for t in collect()}
    assert set(FAULTS) - covered == set()


def test_reliability_document_is_up_to_date() -> None:
    assert DOCUMENT.exists(), "run `python -m tests.reliability`"
    assert DOCUMENT.read_text(encoding="utf-8") == render(collect()), "run `python -m tests.reliability`"
