"""Paging that cannot lose or invent records: a loopback GeoNode-style listing
that misbehaves in one way per test. Each misbehaviour must truncate the
listing (reason in the session message) and remove no record."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from typing import Any

import pytest

from harvesting.demo.server import LoopbackServer, Request, Response
from tests.conftest import Cli, read_data

TEMPLATE = json.loads(read_data("geonode/captured-geonode-4.4.5/resources_page1_size5.json"))["resources"][0]
PAGE_SIZE = 10
COUNT = 35


def entry(i: int) -> dict[str, Any]:
    e = copy.deepcopy(TEMPLATE)
    e.update(
        pk=str(1000 + i),
        uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"misbehaving/{i}")),
        title=f"dataset {i:03d}",
        last_updated=f"2026-01-01T00:00:{i % 60:02d}Z",
    )
    return e


class PagedGeoNode:
    """Serves COUNT datasets in pages; `mode` breaks the paging on purpose."""

    def __init__(self) -> None:
        self.entries = [entry(i) for i in range(COUNT)]
        self.mode: str | None = None
        self.failures_left = 0
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        query = dict(request.query)
        if request.path.rstrip("/") == "/api/v2":
            return self._json({"resources": request.base_url + "/api/v2/resources"})
        if request.path.startswith("/api/v2/datasets/"):
            pk = request.path.rsplit("/", 1)[-1]
            found = [e for e in self.entries if e["pk"] == pk]
            return self._json({"dataset": found[0]}) if found else self._json({"detail": "Not found."}, 404)
        if request.path.rstrip("/") != "/api/v2/resources":
            return self._json({"detail": "Not found."}, 404)
        page = int(query.get("page", "1"))
        size = int(query.get("page_size", str(PAGE_SIZE)))
        return self._page(request, page, size)

    def _page(self, request: Request, page: int, size: int) -> Response:
        entries = list(self.entries)
        total = len(entries)
        chunk = entries[(page - 1) * size : page * size]
        if self.mode == "duplicates" and page == 2:
            chunk[3] = entries[2]  # an identifier of page 1 again; one resource goes unlisted
        if self.mode == "duplicates-in-page" and page == 2:
            chunk[3] = chunk[2]  # the same identifier twice on one page; one resource goes unlisted
        if self.mode == "short-page" and page == 1:
            chunk = chunk[:-1]  # page 2 still starts at 11: record 10 is never listed
        if self.mode == "total-drift" and page >= 2:
            total += 5  # 14% more while we walk
        if self.mode == "ends-early" and page == 3:
            chunk = chunk[:2]  # and no next: 22 listed of 35 claimed
            return self._listing(request, page, size, chunk, total, has_next=False)
        if self.mode in ("parse-once", "parse-twice") and page == 2:
            with self._lock:
                fail = self.mode == "parse-twice" or self.failures_left > 0
                self.failures_left -= 1
            if fail:
                return Response(200, b'{"links": {"next": null}, "resources": [', "application/json")
        return self._listing(request, page, size, chunk, total, has_next=page * size < len(entries))

    def _listing(
        self, request: Request, page: int, size: int, chunk: list[dict[str, Any]], total: int, has_next: bool
    ) -> Response:
        base = request.base_url + "/api/v2/resources"
        return self._json(
            {
                "links": {"next": f"{base}?page={page + 1}&page_size={size}" if has_next else None, "previous": None},
                "total": total,
                "page": page,
                "page_size": size,
                "resources": chunk,
            }
        )

    @staticmethod
    def _json(document: Any, status: int = 200) -> Response:
        return Response(status, json.dumps(document).encode(), "application/json")


@pytest.fixture
def paged(loopback: LoopbackServer) -> tuple[PagedGeoNode, str]:
    site = PagedGeoNode()
    loopback.mount("/gn", site, subtree=True)
    return site, loopback.url + "/gn"


def harvest_everything(cli: Cli, url: str) -> list[dict[str, Any]]:
    cli(
        "harvester", "add", "gn", "--type", "geonode", "--url", url, "--option", f"page_size={PAGE_SIZE}",
        "--delete-orphans", "--max-stale-share", "1.0",
    )  # fmt: skip
    summary = cli.json("run", "gn")
    assert summary["sessions"][0]["listing"] == "complete"
    records: list[dict[str, Any]] = cli.json("records")
    assert len(records) == COUNT
    return records


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("duplicates", "already listed"),
        ("duplicates-in-page", "already listed"),
        ("short-page", "records would be skipped or repeated"),
        ("total-drift", "total changed from 35 to 40"),
        ("ends-early", "ended after 22 of the 35 records"),
        ("parse-twice", "page 2 failed to parse twice"),
    ],
)
def test_misbehaving_listing_is_truncated_and_removes_nothing(
    cli: Cli, paged: tuple[PagedGeoNode, str], mode: str, reason: str
) -> None:
    site, url = paged
    records = harvest_everything(cli, url)
    site.mode = mode

    result = cli("refresh", "gn", "--wait", "--json", check=False)
    assert result.returncode == 1
    session = result.json()
    assert session["status"] == "finished-some-failed"
    assert session["listing"] == "truncated"
    assert reason in session["message"]
    assert "nothing swept" in session["message"]
    assert session["stale"] == 0
    assert not any(r["stale"] for r in cli.json("resources", "gn"))
    assert cli.json("records") == records


def test_a_page_that_fails_to_parse_once_is_retried(cli: Cli, paged: tuple[PagedGeoNode, str]) -> None:
    site, url = paged
    records = harvest_everything(cli, url)
    site.mode, site.failures_left = "parse-once", 1
    session = cli.json("refresh", "gn", "--wait")
    assert (session["status"], session["listing"], session["total"]) == ("finished-all-ok", "complete", COUNT)
    assert site.failures_left == -1  # failed once, answered the second time
    assert cli.json("records") == records


def test_a_sound_listing_still_sweeps(cli: Cli, paged: tuple[PagedGeoNode, str]) -> None:
    site, url = paged
    harvest_everything(cli, url)
    gone = site.entries.pop(7)
    session = cli.json("refresh", "gn", "--wait")
    assert (session["status"], session["stale"]) == ("finished-all-ok", 1)
    assert gone["uuid"] not in {r["remote_id"] for r in cli.json("records")}
