"""CSW end to end through the CLI: a 1,000-record catalogue harvested twice (the
second time without a single GetRecordById), and CSW paging that misbehaves."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from harvesting.remotes.csw import CSW_NS, GMD_NS
from tests.conftest import Cli
from tests.integration.test_crash_resume import harvested_per_resource
from tests.integration.test_csw_remote_http import ISO_PAGES, CswSite, LoopbackCsw, records_of

GCO = "http://www.isotc211.org/2005/gco"
COUNT = 1000


def synthetic_iso_records(count: int) -> list[Any]:
    """Copies of a recorded pycsw ISO record, each with its own identifier and date stamp."""
    template = records_of(ISO_PAGES)[0]
    records = []
    for i in range(count):
        record = copy.deepcopy(template)
        record.find(f"{{{GMD_NS}}}fileIdentifier/{{{GCO}}}CharacterString").text = f"synthetic-{i:05d}"
        stamp = record.find(f"{{{GMD_NS}}}dateStamp")
        for old in list(stamp):
            stamp.remove(old)
        when = stamp.makeelement(f"{{{GCO}}}DateTime", {})
        when.text = f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"
        stamp.append(when)
        records.append(record)
    return records


@pytest.fixture
def csw() -> Iterator[tuple[CswSite, str]]:
    site = CswSite(maxrecords=100)
    site.records = {CSW_NS: [], GMD_NS: synthetic_iso_records(COUNT)}
    with LoopbackCsw(site) as server:
        yield site, server.base + "/csw"


def by_id_requests(site: CswSite) -> int:
    return sum(1 for s in site.seen if s.params.get("request", "").lower() == "getrecordbyid")


def test_unchanged_catalogue_of_1000_records_needs_no_getrecordbyid(cli: Cli, csw: tuple[CswSite, str]) -> None:
    site, url = csw
    cli("harvester", "add", "cat", "--type", "csw", "--url", url, "--option", "output_schema=iso")
    first = cli.json("run", "cat")
    assert first["sessions"][0]["total"] == COUNT
    assert first["sessions"][1]["harvested"] == COUNT
    assert by_id_requests(site) == COUNT
    records = cli.json("records")
    assert len(records) == COUNT
    assert records[0]["remote_id"] == "synthetic-00000"

    second = cli.json("run", "cat")
    assert (second["sessions"][1]["unchanged"], second["sessions"][1]["harvested"]) == (COUNT, 0)
    assert by_id_requests(site) == COUNT  # none more
    per_resource = harvested_per_resource(cli)
    assert len(per_resource) == COUNT and set(per_resource.values()) == {1}


class MisbehavingCsw(CswSite):
    """pycsw-shaped answers whose nextRecord lies on the third page."""

    lie: str = ""

    def get_records(self, params: dict[str, str]) -> bytes:
        document = super().get_records(params)
        if self.lie and int(params.get("startposition", "1")) == 21:
            matched = len(self.records[GMD_NS])
            wrong = "11" if self.lie == "backwards" else str(matched + 50)
            document = document.replace(b'nextRecord="31"', f'nextRecord="{wrong}"'.encode())
        return document


@pytest.mark.parametrize(("lie", "reason"), [("backwards", "goes backwards"), ("past-total", "past the total")])
def test_csw_next_record_that_lies_truncates_the_listing(sqlite_cli: Cli, lie: str, reason: str) -> None:
    site = MisbehavingCsw(maxrecords=10)
    site.records = {CSW_NS: [], GMD_NS: synthetic_iso_records(45)}
    with LoopbackCsw(site) as server:
        url = server.base + "/csw"
        sqlite_cli("harvester", "add", "cat", "--type", "csw", "--url", url, "--option", "page_size=10",
                   "--delete-orphans", "--max-stale-share", "1.0")  # fmt: skip
        sqlite_cli("run", "cat")
        records = sqlite_cli.json("records")
        assert len(records) == 45
        site.lie = lie
        result = sqlite_cli("refresh", "cat", "--wait", "--json", check=False)
    session = result.json()
    assert (result.returncode, session["status"], session["listing"]) == (1, "finished-some-failed", "truncated")
    assert reason in session["message"]
    assert sqlite_cli.json("records") == records


def test_csw_reimport_with_the_catalogue_switched_off(sqlite_cli: Cli) -> None:
    site = CswSite(maxrecords=100)
    site.records = {CSW_NS: [], GMD_NS: synthetic_iso_records(30)}
    with LoopbackCsw(site) as server:
        sqlite_cli("harvester", "add", "cat", "--type", "csw", "--url", server.base + "/csw")
        sqlite_cli("run", "cat")
    records = sqlite_cli.json("records")
    assert len(records) == 30
    session = sqlite_cli.json("reimport", "cat")
    assert (session["status"], session["unchanged"], session["failed"]) == ("finished-all-ok", 30, 0)
    assert sqlite_cli.json("records") == records


@pytest.mark.fault("14")
def test_csw_page_repeating_an_identifier_keeps_the_first_and_sweeps_nothing(cli: Cli) -> None:
    """CSW page with one identifier 4 times (as a real pycsw answered): first kept, listing truncated, nothing swept.

    30 records harvested with `--delete-orphans` and no stale-share guard; then
    records 11-13 answer with record 10's identifier. The refresh stops at that
    page, having listed 17 resources (page 1, and page 2 less the repeats),
    truncated naming the repeated identifier; the harvest that follows harvests
    what was listed, and all 30 records are still there."""
    site = CswSite(maxrecords=10)
    site.records = {CSW_NS: [], GMD_NS: synthetic_iso_records(30)}
    with LoopbackCsw(site) as server:
        cli("harvester", "add", "cat", "--type", "csw", "--url", server.base + "/csw", "--option", "page_size=10",
            "--delete-orphans", "--max-stale-share", "1.0")  # fmt: skip
        cli("run", "cat")
        before = cli.json("records")
        assert len(before) == 30
        for record in site.records[GMD_NS][11:14]:
            record.find(f"{{{GMD_NS}}}fileIdentifier/{{{GCO}}}CharacterString").text = "synthetic-00010"
        result = cli("run", "cat", "--json", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    refresh, harvest = result.json()["sessions"]
    assert (refresh["status"], refresh["listing"], refresh["stale"]) == ("finished-some-failed", "truncated", 0)
    assert "already listed: 'synthetic-00010', 'synthetic-00010', 'synthetic-00010'" in refresh["message"]
    assert refresh["total"] == 17
    assert (harvest["status"], harvest["failed"]) == ("finished-all-ok", 0)
    assert [r["remote_id"] for r in cli.json("records")] == [r["remote_id"] for r in before]
