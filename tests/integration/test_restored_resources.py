"""The outcome writer restores a resource from its read-model row instead of
reading its events. On both backends, after every kind of resource event,
the restored resource decides what the one loaded from its events decides."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from harvesting.domain.resource import HarvestableResource
from harvesting.runners.runtime import Runtime
from harvesting.runners.work import JOB_COLUMNS, jobs, restored

DECIDING = (
    "harvester_id",
    "remote_id",
    "modified",
    "should_be_harvested",
    "stale",
    "removed",
    "content_hash",
    "harvested_modified",
    "has_record",
    "raw_hash",
    "harvested_fingerprint",
)


def known_of(rt: Runtime, resource_id: UUID) -> Any:
    rt.projector.catch_up()
    rows = rt.db.query(f"SELECT {JOB_COLUMNS} FROM harvestable_resources r WHERE r.id = ?", (str(resource_id),))
    return jobs(rows, uuid4(), uuid4(), False)[0].known


def same_decisions(rt: Runtime, resource_id: UUID, session_ids: list[UUID]) -> None:
    loaded = rt.app.resource(resource_id)
    assert loaded is not None
    copy = restored(resource_id, known_of(rt, resource_id))
    assert copy.version == loaded.version
    assert {k: getattr(copy, k) for k in DECIDING} == {k: getattr(loaded, k) for k in DECIDING}
    for session_id in session_ids:
        assert copy.already_recorded_in(session_id) == loaded.already_recorded_in(session_id)
    assert copy.is_unchanged("h1", None) == loaded.is_unchanged("h1", None)


def test_a_restored_resource_decides_as_the_loaded_one(rt: Runtime) -> None:
    harvester = rt.app.add_harvester("h", "wms", "http://127.0.0.1:1/wms", {}, {})
    first, second = uuid4(), uuid4()
    resource = HarvestableResource(
        harvester_id=harvester, remote_id="a", title="A", resource_type="layer", modified=None, should_be_harvested=True
    )
    rt.app.save(resource)
    same_decisions(rt, resource.id, [first, second])

    resource.record_harvest(first, "h1", {"title": "A from the remote"}, "2026-01-01", "http://x", "raw1", "fp1")
    rt.app.save(resource)
    same_decisions(rt, resource.id, [first, second])

    resource.note_listed("A renamed", "layer", "2026-02-01")
    resource.deselect()
    rt.app.save(resource)
    same_decisions(rt, resource.id, [first, second])

    resource.record_failure(second, "fetch", "timeout", "no answer")
    rt.app.save(resource)
    same_decisions(rt, resource.id, [first, second])

    resource.sweep(second, delete_orphans=True)
    rt.app.save(resource)
    same_decisions(rt, resource.id, [first, second])

    # The restored copy records at the next version: saving it is accepted.
    copy = restored(resource.id, known_of(rt, resource.id))
    copy.record_harvest(uuid4(), "h2", {"title": "again"}, None, "http://x", "raw2", "fp1")
    rt.app.save(copy)
    assert rt.app.resource(resource.id).version == resource.version + 1  # type: ignore[union-attr]


def test_a_row_behind_the_events_conflicts_instead_of_overwriting(rt: Runtime) -> None:
    from eventsourcing.persistence import IntegrityError

    harvester = rt.app.add_harvester("h", "wms", "http://127.0.0.1:1/wms", {}, {})
    resource = HarvestableResource(
        harvester_id=harvester, remote_id="a", title="A", resource_type="layer", modified=None, should_be_harvested=True
    )
    rt.app.save(resource)
    behind = known_of(rt, resource.id)
    resource.record_failure(uuid4(), "fetch", "timeout", "no answer")
    rt.app.save(resource)  # not projected: the row still shows version 1
    stale_copy = restored(resource.id, behind)
    stale_copy.record_harvest(uuid4(), "h1", {"title": "x"}, None, "http://x", "raw", "fp")
    with pytest.raises(IntegrityError):
        rt.app.save(stale_copy)
