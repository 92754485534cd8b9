"""The HarvestableResource aggregate: given events, when a command, then exactly these events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from harvesting.domain.resource import (
    NO_RECORD,
    RECORD_DELETED,
    RECORD_ORPHANED,
    HarvestableResource,
    record_id,
    resource_id,
)

HARVESTER_ID = UUID("8d6c3c6e-2f0b-5a57-9d1d-000000000001")
OTHER_HARVESTER_ID = UUID("8d6c3c6e-2f0b-5a57-9d1d-000000000002")
MODIFIED = "2024-05-01T10:00:00Z"


def names(events: Sequence[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def make(remote_id: str = "layer:42", **kwargs: Any) -> HarvestableResource:
    args: dict[str, Any] = {
        "harvester_id": HARVESTER_ID,
        "title": "Rivers",
        "resource_type": "dataset",
        "modified": MODIFIED,
        "should_be_harvested": True,
    }
    args.update(kwargs)
    return HarvestableResource(remote_id=remote_id, **args)


def discover(remote_id: str = "layer:42", **kwargs: Any) -> HarvestableResource:
    """Given: a discovered resource whose discovery event was already collected."""
    resource = make(remote_id, **kwargs)
    resource.collect_events()
    return resource


def harvested(content_hash: str = "sha256:aaa") -> HarvestableResource:
    """Given: a resource with a harvested record (events collected)."""
    resource = discover()
    resource.record_harvest(uuid4(), content_hash, {"title": "Rivers"}, MODIFIED, "https://x.test/42")
    resource.collect_events()
    return resource


# --- ids ----------------------------------------------------------------------------------------------------------


def test_resource_id_is_uuid5_of_harvester_id_and_remote_id() -> None:
    expected = uuid5(HARVESTER_ID, "layer:42")

    assert resource_id(HARVESTER_ID, "layer:42") == expected
    assert make("layer:42").id == expected
    assert make("layer:42", title="Other").id == expected
    assert make("layer:43").id != expected
    assert make("layer:42", harvester_id=OTHER_HARVESTER_ID).id == uuid5(OTHER_HARVESTER_ID, "layer:42")
    assert make("layer:42", harvester_id=OTHER_HARVESTER_ID).id != expected


def test_record_id_is_derived_from_the_resource_id() -> None:
    rid = resource_id(HARVESTER_ID, "layer:42")

    assert record_id(rid) == uuid5(rid, "record")
    assert record_id(rid) != rid
    assert record_id(rid) == record_id(resource_id(HARVESTER_ID, "layer:42"))


# --- discovery ----------------------------------------------------------------------------------------------------


def test_discovery_emits_resource_discovered_with_payload() -> None:
    resource = make("layer:42", should_be_harvested=False)

    events = resource.collect_events()

    assert names(events) == ["ResourceDiscovered"]
    assert events[0].originator_id == resource.id
    assert events[0].harvester_id == HARVESTER_ID
    assert events[0].remote_id == "layer:42"
    assert events[0].title == "Rivers"
    assert events[0].resource_type == "dataset"
    assert events[0].modified == MODIFIED
    assert events[0].should_be_harvested is False


def test_discovery_defaults() -> None:
    resource = discover()

    assert resource.stale is False
    assert resource.removed is False
    assert resource.content_hash is None
    assert resource.harvested_modified is None
    assert resource.has_record is False
    assert resource.last_session_id is None
    assert resource.should_be_harvested is True


# --- note_listed --------------------------------------------------------------------------------------------------


def test_note_listed_unchanged_returns_false_and_writes_nothing() -> None:
    resource = discover()

    assert resource.note_listed("Rivers", "dataset", MODIFIED) is False

    assert resource.collect_events() == []
    assert resource.version == 1


@pytest.mark.parametrize(
    ("title", "resource_type", "modified"),
    [
        ("Rivers and lakes", "dataset", MODIFIED),
        ("Rivers", "dataset", "2024-06-01T00:00:00Z"),
        ("Rivers", "dataset", None),
        ("Rivers", "map", MODIFIED),
    ],
    ids=["title", "modified", "modified-cleared", "type"],
)
def test_note_listed_with_a_change_emits_resource_changed(title: str, resource_type: str, modified: str | None) -> None:
    resource = discover()

    assert resource.note_listed(title, resource_type, modified) is True

    events = resource.collect_events()
    assert names(events) == ["ResourceChanged"]
    assert events[0].title == title
    assert events[0].resource_type == resource_type
    assert events[0].modified == modified
    assert events[0].reappeared is False
    assert (resource.title, resource.resource_type, resource.modified) == (title, resource_type, modified)


def test_note_listed_after_a_change_is_quiet_again() -> None:
    resource = discover()
    resource.note_listed("Rivers v2", "dataset", MODIFIED)
    resource.collect_events()

    assert resource.note_listed("Rivers v2", "dataset", MODIFIED) is False
    assert resource.collect_events() == []


@pytest.mark.parametrize("delete_orphans", [True, False])
def test_note_listed_after_a_sweep_is_a_reappearance(delete_orphans: bool) -> None:
    resource = discover()
    resource.sweep(uuid4(), delete_orphans=delete_orphans)
    resource.collect_events()

    # Same metadata as before: the reappearance alone is news.
    assert resource.note_listed("Rivers", "dataset", MODIFIED) is True

    events = resource.collect_events()
    assert names(events) == ["ResourceChanged"]
    assert events[0].reappeared is True
    assert resource.stale is False
    assert resource.removed is False

    assert resource.note_listed("Rivers", "dataset", MODIFIED) is False
    assert resource.collect_events() == []


# --- select / deselect --------------------------------------------------------------------------------------------


def test_select_when_selected_is_a_no_op() -> None:
    resource = discover(should_be_harvested=True)

    resource.select()

    assert resource.collect_events() == []


def test_deselect_when_deselected_is_a_no_op() -> None:
    resource = discover(should_be_harvested=False)

    resource.deselect()

    assert resource.collect_events() == []


def test_deselect_then_select() -> None:
    resource = discover(should_be_harvested=True)

    resource.deselect()
    assert names(resource.collect_events()) == ["ResourceDeselected"]
    assert resource.should_be_harvested is False

    resource.select()
    assert names(resource.collect_events()) == ["ResourceSelected"]
    assert resource.should_be_harvested is True


# --- harvest ------------------------------------------------------------------------------------------------------


def test_is_unchanged_without_a_record_is_false() -> None:
    resource = discover()

    assert resource.is_unchanged("sha256:aaa", MODIFIED) is False


def test_is_unchanged_compares_the_content_hash() -> None:
    resource = harvested("sha256:aaa")

    assert resource.is_unchanged("sha256:aaa", MODIFIED) is True
    assert resource.is_unchanged("sha256:aaa", "2030-01-01T00:00:00Z") is True
    assert resource.is_unchanged("sha256:bbb", MODIFIED) is False


def test_record_harvest_emits_resource_harvested() -> None:
    resource = discover()
    session_id = uuid4()

    resource.record_harvest(session_id, "sha256:aaa", {"title": "Rivers (WMS)"}, MODIFIED, "https://x.test/42")

    events = resource.collect_events()
    assert names(events) == ["ResourceHarvested"]
    assert events[0].session_id == session_id
    assert events[0].record_id == record_id(resource.id)
    assert events[0].content_hash == "sha256:aaa"
    assert events[0].descriptor == {"title": "Rivers (WMS)"}
    assert events[0].modified == MODIFIED
    assert events[0].remote_url == "https://x.test/42"
    assert resource.has_record is True
    assert resource.content_hash == "sha256:aaa"
    assert resource.harvested_modified == MODIFIED
    assert resource.last_session_id == session_id
    assert resource.title == "Rivers (WMS)"
    assert resource.already_recorded_in(session_id) is True
    assert resource.already_recorded_in(uuid4()) is False


def test_record_harvest_without_a_title_keeps_the_listed_title() -> None:
    resource = discover()

    resource.record_harvest(uuid4(), "sha256:aaa", {"abstract": "x"}, None, "https://x.test/42")

    assert resource.title == "Rivers"


def test_record_failure_emits_resource_harvest_failed() -> None:
    resource = discover()
    session_id = uuid4()

    resource.record_failure(session_id, stage="fetch", error_kind="http", message="HTTP 500")

    events = resource.collect_events()
    assert names(events) == ["ResourceHarvestFailed"]
    assert events[0].session_id == session_id
    assert events[0].stage == "fetch"
    assert events[0].error_kind == "http"
    assert events[0].message == "HTTP 500"
    assert resource.already_recorded_in(session_id) is True
    assert resource.has_record is False


# --- sweep --------------------------------------------------------------------------------------------------------


def test_sweep_with_delete_orphans_deletes_the_record() -> None:
    resource = harvested()
    session_id = uuid4()

    resource.sweep(session_id, delete_orphans=True)

    events = resource.collect_events()
    assert names(events) == ["ResourceStale", "ResourceRemoved"]
    assert events[0].session_id == session_id
    assert events[1].session_id == session_id
    assert events[1].record_id == record_id(resource.id)
    assert events[1].record == RECORD_DELETED == "deleted"
    assert resource.stale is True
    assert resource.removed is True
    assert resource.has_record is False
    assert resource.content_hash is None
    assert resource.is_unchanged("sha256:aaa", MODIFIED) is False


def test_sweep_keeping_orphans_keeps_the_record() -> None:
    resource = harvested()

    resource.sweep(uuid4(), delete_orphans=False)

    events = resource.collect_events()
    assert names(events) == ["ResourceStale", "ResourceRemoved"]
    assert events[1].record == RECORD_ORPHANED == "orphaned"
    assert resource.removed is True
    assert resource.has_record is True
    assert resource.content_hash == "sha256:aaa"


@pytest.mark.parametrize("delete_orphans", [True, False])
def test_sweep_without_a_record(delete_orphans: bool) -> None:
    resource = discover()

    resource.sweep(uuid4(), delete_orphans=delete_orphans)

    events = resource.collect_events()
    assert names(events) == ["ResourceStale", "ResourceRemoved"]
    assert events[1].record == NO_RECORD == "none"
    assert events[1].record_id == record_id(resource.id)
    assert resource.stale is True
    assert resource.removed is True
    assert resource.has_record is False


def test_sweep_of_an_already_removed_resource_is_a_no_op() -> None:
    resource = harvested()
    resource.sweep(uuid4(), delete_orphans=False)
    resource.collect_events()

    resource.sweep(uuid4(), delete_orphans=True)

    assert resource.collect_events() == []
    assert resource.has_record is True


# --- replay -------------------------------------------------------------------------------------------------------


def replay(events: Sequence[Any]) -> HarvestableResource:
    aggregate = events[0].mutate(None)
    for e in events[1:]:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, HarvestableResource)
    return aggregate


def test_rebuilt_from_its_events_the_resource_has_the_same_state() -> None:
    resource = make()
    first, second = uuid4(), uuid4()
    resource.note_listed("Rivers v2", "dataset", MODIFIED)
    resource.deselect()
    resource.select()
    resource.record_harvest(first, "sha256:aaa", {"title": "Rivers v2"}, MODIFIED, "https://x.test/42")
    resource.record_failure(second, "fetch", "http", "HTTP 500")
    resource.sweep(second, delete_orphans=True)
    resource.note_listed("Rivers v2", "dataset", MODIFIED)
    events = resource.collect_events()

    rebuilt = replay(events)

    assert names(events) == [
        "ResourceDiscovered",
        "ResourceChanged",
        "ResourceDeselected",
        "ResourceSelected",
        "ResourceHarvested",
        "ResourceHarvestFailed",
        "ResourceStale",
        "ResourceRemoved",
        "ResourceChanged",
    ]
    assert rebuilt == resource
    assert rebuilt.version == 9
    assert rebuilt.title == "Rivers v2"
    assert rebuilt.has_record is False
    assert rebuilt.content_hash is None
    assert rebuilt.stale is False
    assert rebuilt.removed is False
    assert rebuilt.last_session_id == second


def test_rebuilt_orphaned_resource_keeps_its_record() -> None:
    resource = make()
    resource.record_harvest(uuid4(), "sha256:aaa", {}, MODIFIED, "https://x.test/42")
    resource.sweep(uuid4(), delete_orphans=False)

    rebuilt = replay(resource.collect_events())

    assert rebuilt == resource
    assert rebuilt.removed is True
    assert rebuilt.has_record is True
    assert rebuilt.content_hash == "sha256:aaa"


def test_listed_as_unchanged_needs_a_record_and_the_same_remote_modified_time() -> None:
    resource = discover(modified="2026-01-01T00:00:00Z")
    assert not resource.listed_as_unchanged("fp1")  # no record yet
    resource.record_harvest(uuid4(), "sha256:aaa", {"title": "t"}, "2026-01-01T00:00:00Z", "http://remote", "", "fp1")
    assert resource.listed_as_unchanged("fp1")
    resource.note_listed(resource.title, resource.resource_type, "2026-02-01T00:00:00Z")
    assert not resource.listed_as_unchanged("fp1")


def test_listed_as_unchanged_is_false_after_the_configuration_or_mapping_changed() -> None:
    resource = discover(modified="2026-01-01T00:00:00Z")
    resource.record_harvest(uuid4(), "sha256:aaa", {"title": "t"}, "2026-01-01T00:00:00Z", "http://remote", "", "fp1")
    assert not resource.listed_as_unchanged("fp2")


def test_listed_as_unchanged_is_false_when_the_remote_gives_no_modified_time() -> None:
    resource = discover(modified=None)
    resource.record_harvest(uuid4(), "sha256:aaa", {"title": "t"}, None, "http://remote", "", "fp1")
    assert not resource.listed_as_unchanged("fp1")


def test_a_record_is_made_from_a_document_only_with_the_same_digest_and_fingerprint() -> None:
    resource = HarvestableResource(
        harvester_id=uuid4(), remote_id="a", title="A", resource_type="layer", modified=None, should_be_harvested=True
    )
    assert not resource.made_from("doc", "fp")  # no record yet
    resource.record_harvest(uuid4(), "h", {"title": "A"}, None, "http://x", "doc", "fp")
    assert resource.made_from("doc", "fp")
    assert not resource.made_from("other", "fp")
    assert not resource.made_from("doc", "another mapping")
