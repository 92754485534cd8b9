"""The `harvestable_resources` and `records` read models (records are the local
catalogue: what resources became)."""

from __future__ import annotations

import json
from typing import Any

from harvesting.domain.resource import FAILED, HARVESTED, RECORD_DELETED, RECORD_ORPHANED
from harvesting.projections.handlers import Handlers, stamp
from harvesting.runners.storage import Cursor

handlers = Handlers()


@handlers.on("ResourceDiscovered")
def discovered(c: Cursor, e: Any) -> None:
    c.execute(
        "INSERT INTO harvestable_resources (id, harvester_id, remote_id, title, resource_type, modified,"
        " should_be_harvested, stale, removed, discovered, version) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
        (
            str(e.originator_id),
            str(e.harvester_id),
            e.remote_id,
            e.title,
            e.resource_type,
            e.modified,
            int(e.should_be_harvested),
            stamp(e),
            e.originator_version,
        ),
    )


@handlers.on("ResourceChanged")
def changed(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvestable_resources SET title = ?, resource_type = ?, modified = ?, version = ? WHERE id = ?",
        (e.title, e.resource_type, e.modified, e.originator_version, str(e.originator_id)),
    )
    if e.reappeared:
        c.execute("UPDATE harvestable_resources SET stale = 0, removed = 0 WHERE id = ?", (str(e.originator_id),))
        c.execute("UPDATE records SET orphan = 0 WHERE resource_id = ?", (str(e.originator_id),))


@handlers.on("ResourceSelected", "ResourceDeselected")
def selection(c: Cursor, e: Any) -> None:
    selected = int(type(e).__name__ == "ResourceSelected")
    c.execute(
        "UPDATE harvestable_resources SET should_be_harvested = ?, version = ? WHERE id = ?",
        (selected, e.originator_version, str(e.originator_id)),
    )


@handlers.on("ResourceHarvested")
def harvested(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvestable_resources SET last_outcome = ?, last_message = '', last_session = ?, last_at = ?,"
        " content_hash = ?, harvested_modified = ?, fingerprint = ?, raw_hash = ?, has_record = 1, version = ?"
        " WHERE id = ?",
        (
            HARVESTED,
            str(e.session_id),
            stamp(e),
            e.content_hash,
            e.modified,
            getattr(e, "fingerprint", "") or "",
            getattr(e, "raw_hash", "") or None,  # events recorded before raw storage have none
            e.originator_version,
            str(e.originator_id),
        ),
    )
    d = e.descriptor
    values = (
        str(d.get("title") or ""),
        str(d.get("abstract") or ""),
        json.dumps(d.get("keywords") or []),
        json.dumps(d.get("bbox")) if d.get("bbox") is not None else None,
        d.get("crs"),
        json.dumps(d.get("links") or []),
        json.dumps(d, sort_keys=True),
        e.remote_url,
        stamp(e),
        e.content_hash,
        getattr(e, "raw_hash", "") or None,  # events recorded before raw storage have none
    )
    # The owner comes from the resource's row in the same statement (one
    # statement per record instead of a lookup and an insert).
    c.execute(
        "INSERT INTO records (id, harvester_id, resource_id, remote_id, title, abstract, keywords, bbox, crs,"
        " links, descriptor, remote_url, harvested_at, content_hash, raw_hash, orphan)"
        " SELECT ?, r.harvester_id, r.id, r.remote_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0"
        " FROM harvestable_resources r WHERE r.id = ?"
        " ON CONFLICT (id) DO UPDATE SET harvester_id = excluded.harvester_id,"
        " resource_id = excluded.resource_id, remote_id = excluded.remote_id, title = excluded.title,"
        " abstract = excluded.abstract, keywords = excluded.keywords, bbox = excluded.bbox, crs = excluded.crs,"
        " links = excluded.links, descriptor = excluded.descriptor, remote_url = excluded.remote_url,"
        " harvested_at = excluded.harvested_at, content_hash = excluded.content_hash,"
        " raw_hash = excluded.raw_hash, orphan = 0",
        (str(e.record_id), *values, str(e.originator_id)),
    )


@handlers.on("ResourceHarvestFailed")
def harvest_failed(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvestable_resources SET last_outcome = ?, last_message = ?, last_session = ?, last_at = ?,"
        " version = ? WHERE id = ?",
        (
            FAILED,
            f"{e.stage}: {e.error_kind}: {e.message}",
            str(e.session_id),
            stamp(e),
            e.originator_version,
            str(e.originator_id),
        ),
    )


@handlers.on("ResourceStale")
def stale(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvestable_resources SET stale = 1, version = ? WHERE id = ?",
        (e.originator_version, str(e.originator_id)),
    )


@handlers.on("ResourceRemoved")
def removed(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvestable_resources SET removed = 1, version = ? WHERE id = ?",
        (e.originator_version, str(e.originator_id)),
    )
    if e.record == RECORD_DELETED:
        c.execute(
            "UPDATE harvestable_resources SET has_record = 0, content_hash = NULL WHERE id = ?", (str(e.originator_id),)
        )
        c.execute("DELETE FROM records WHERE id = ?", (str(e.record_id),))
    elif e.record == RECORD_ORPHANED:
        c.execute("UPDATE records SET orphan = 1 WHERE id = ?", (str(e.record_id),))
