"""What users ask, answered from the read models in the documented JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harvesting.domain.errors import NotFoundError
from harvesting.runners.storage import Database

PAGE = 1000

_HARVESTER_SQL = (
    "SELECT h.*, (SELECT COUNT(*) FROM harvestable_resources r WHERE r.harvester_id = h.id AND r.removed = 0)"
    " AS resource_count, (SELECT COUNT(*) FROM records c WHERE c.harvester_id = h.id) AS record_count"
    " FROM harvesters h"
)


def _harvester(row: dict[str, Any]) -> dict[str, Any]:
    policy = json.loads(row["policy"])
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "url": row["url"],
        "status": row["status"],
        "available": None if row["available"] is None else bool(row["available"]),
        "resources": int(row["resource_count"]),
        "records": int(row["record_count"]),
        "last_refresh": row["last_refresh"],
        "last_harvest": row["last_harvest"],
        "last_refresh_status": row["last_refresh_status"],
        "last_harvest_status": row["last_harvest_status"],
        "active_session": row["active_session"],
        "scheduling": bool(row["scheduling"]),
        "options": json.loads(row["options"]),
        "policy": policy,
    }


def harvesters(db: Database) -> list[dict[str, Any]]:
    return [_harvester(r) for r in db.query(_HARVESTER_SQL + " WHERE h.removed = 0 ORDER BY h.name")]


def harvester(db: Database, name: str) -> dict[str, Any]:
    rows = db.query(_HARVESTER_SQL + " WHERE h.name = ? AND h.removed = 0", (name,))
    if not rows:
        raise NotFoundError(f"no harvester named {name!r}")
    return _harvester(rows[0])


def _session(row: dict[str, Any]) -> dict[str, Any]:
    total = int(row["total"])
    return {
        "id": row["id"],
        "harvester": row["harvester_name"],
        "type": row["type"],
        "status": row["status"],
        "total": total,
        "done": int(row["done"]),
        "harvested": int(row["harvested"]),
        "failed": int(row["failed"]),
        "unchanged": int(row["unchanged"]),
        "new": int(row["new"]),
        "changed": int(row["changed"]),
        "stale": int(row["stale"]),
        "percent": round(100.0 * int(row["done"]) / total, 1) if total else (100.0 if row["ended"] else 0.0),
        "listing": row["listing"],
        "pages": int(row["pages"]),
        "started": row["started"],
        "updated": row["updated"],
        "ended": row["ended"],
        "message": row["message"],
    }


_SESSION_SQL = "SELECT s.*, h.name AS harvester_name FROM sessions s JOIN harvesters h ON h.id = s.harvester_id"


def sessions(db: Database, harvester_name: str | None = None) -> list[dict[str, Any]]:
    if harvester_name is None:
        rows = db.query(_SESSION_SQL + " ORDER BY s.started, s.id")
    else:
        harvester(db, harvester_name)
        rows = db.query(_SESSION_SQL + " WHERE h.name = ? ORDER BY s.started, s.id", (harvester_name,))
    return [_session(r) for r in rows]


def session(db: Database, session_id: str) -> dict[str, Any]:
    rows = db.query(_SESSION_SQL + " WHERE s.id = ?", (session_id,))
    if not rows:
        raise NotFoundError(f"no session {session_id}")
    return _session(rows[0])


def resources(db: Database, harvester_name: str) -> list[dict[str, Any]]:
    return list(iter_resources(db, harvester_name))


def iter_resources(db: Database, harvester_name: str) -> Iterator[dict[str, Any]]:
    """In remote id order, a page at a time: a harvester of 100,000 resources
    is listed in constant memory."""
    h = harvester(db, harvester_name)
    for r in _pages(db, "SELECT * FROM harvestable_resources r WHERE r.harvester_id = ?", h["id"], "r"):
        yield {
            "id": r["id"],
            "harvester": h["name"],
            "remote_id": r["remote_id"],
            "title": r["title"],
            "resource_type": r["resource_type"],
            "should_be_harvested": bool(r["should_be_harvested"]),
            "last_outcome": r["last_outcome"],
            "last_message": r["last_message"] or "",
            "last_harvested": r["last_at"],
            "stale": bool(r["stale"]),
            "removed": bool(r["removed"]),
        }


def _pages(db: Database, sql: str, harvester_id: str, alias: str) -> Iterator[dict[str, Any]]:
    """One harvester's rows by remote id, keyset-paged along the (harvester_id,
    remote_id) index: each page is its own short query, none holds the rest."""
    after = ""
    while True:
        rows = db.query(
            f"{sql} AND {alias}.remote_id > ? ORDER BY {alias}.remote_id LIMIT {PAGE}",
            (harvester_id, after),
        )
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["remote_id"]


_RECORD_SQL = "SELECT c.*, h.name AS harvester_name FROM records c JOIN harvesters h ON h.id = c.harvester_id"


def _record(row: dict[str, Any], full: bool = False) -> dict[str, Any]:
    record = {
        "id": row["id"],
        "harvester": row["harvester_name"],
        "remote_id": row["remote_id"],
        "title": row["title"],
        "abstract": row["abstract"],
        "keywords": json.loads(row["keywords"]),
        "bbox": json.loads(row["bbox"]) if row["bbox"] else None,
        "crs": row["crs"],
        "links": json.loads(row["links"]),
        "harvested_at": row["harvested_at"],
        "content_hash": row["content_hash"],
        "orphan": bool(row["orphan"]),
        "resource_id": row["resource_id"],
        "remote_url": row["remote_url"],
        "raw_hash": row["raw_hash"],
    }
    if full:
        record["descriptor"] = json.loads(row["descriptor"])
    return record


def records(db: Database, harvester_name: str | None = None) -> list[dict[str, Any]]:
    return list(iter_records(db, harvester_name))


def iter_records(db: Database, harvester_name: str | None = None) -> Iterator[dict[str, Any]]:
    """By harvester name, then remote id; a page at a time."""
    if harvester_name is None:
        owners = db.query("SELECT id FROM harvesters ORDER BY name")
    else:
        owners = [{"id": harvester(db, harvester_name)["id"]}]
    for owner in owners:
        for row in _pages(db, _RECORD_SQL + " WHERE c.harvester_id = ?", owner["id"], "c"):
            yield _record(row)


def record(db: Database, record_id: str) -> dict[str, Any]:
    rows = db.query(_RECORD_SQL + " WHERE c.id = ?", (record_id,))
    if not rows:
        raise NotFoundError(f"no record {record_id}")
    return _record(rows[0], full=True)


def resource_for_record(db: Database, record_id: str) -> str | None:
    value = db.scalar("SELECT resource_id FROM records WHERE id = ?", (record_id,))
    return str(value) if value else None
