"""The Harvester aggregate: given events, when a command, then exactly these events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest

from harvesting.domain.errors import HarvesterBusyError, HarvesterRemovedError, InvalidConfigurationError
from harvesting.domain.harvester import (
    ABORTING_HARVEST,
    ABORTING_UPDATE,
    HARVESTER_NAMESPACE,
    HARVESTING,
    READY,
    UPDATING,
    Harvester,
    harvester_id,
)

URL = "https://geonode.example.test/"


def register(name: str = "demo", **kwargs: Any) -> Harvester:
    """Given: a registered harvester whose registration event was already collected."""
    harvester = make(name, **kwargs)
    harvester.collect_events()
    return harvester


def make(name: str = "demo", **kwargs: Any) -> Harvester:
    args: dict[str, Any] = {
        "remote_type": "geonode",
        "url": URL,
        "options": {"page_size": "10"},
        "policy": {},
    }
    args.update(kwargs)
    return Harvester(name=name, **args)


def names(events: Sequence[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def busy(harvester: Harvester, session_type: str = "refresh") -> UUID:
    """Given: the harvester has an active session (events collected)."""
    session_id = uuid4()
    harvester.open_session(session_id, session_type)
    harvester.collect_events()
    return session_id


# --- registration -------------------------------------------------------------------------------------------------


def test_registration_emits_harvester_registered_with_payload() -> None:
    harvester = make("demo", policy={"delete_orphans": True})

    events = harvester.collect_events()

    assert names(events) == ["HarvesterRegistered"]
    registered = events[0]
    assert registered.originator_id == harvester.id
    assert registered.originator_version == 1
    assert registered.name == "demo"
    assert registered.remote_type == "geonode"
    assert registered.url == URL
    assert registered.options == {"page_size": "10"}
    assert registered.policy == {"delete_orphans": True}


def test_registration_defaults() -> None:
    harvester = register()

    assert harvester.name == "demo"
    assert harvester.scheduling_enabled is True
    assert harvester.available is None
    assert harvester.status == READY
    assert harvester.active_session_id is None
    assert harvester.active_session_type is None
    assert harvester.removed is False
    assert harvester.version == 1


def test_policy_defaults_when_policy_is_empty() -> None:
    harvester = register(policy={})

    assert harvester.delete_orphans is False
    assert harvester.select_new is True
    assert harvester.max_stale_share == 0.5


def test_policy_values_are_read_from_the_policy() -> None:
    harvester = register(policy={"delete_orphans": True, "select_new": False, "max_stale_share": 0.2})

    assert harvester.delete_orphans is True
    assert harvester.select_new is False
    assert harvester.max_stale_share == 0.2


def test_options_and_policy_are_copied_not_shared_with_the_caller() -> None:
    options = {"page_size": "10"}
    policy: dict[str, Any] = {"select_new": True}
    harvester = register(options=options, policy=policy)

    options["page_size"] = "99"
    policy["select_new"] = False

    assert harvester.options == {"page_size": "10"}
    assert harvester.select_new is True


def test_id_is_derived_from_the_name() -> None:
    expected = uuid5(uuid5(NAMESPACE_URL, "urn:harvesting:harvester"), "demo")

    assert uuid5(NAMESPACE_URL, "urn:harvesting:harvester") == HARVESTER_NAMESPACE
    assert harvester_id("demo") == expected
    assert make("demo").id == expected
    assert make("demo").id == make("demo", url="https://other.example.test/").id
    assert make("demo").id != make("other").id


# --- sessions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("session_type", "status"), [("refresh", UPDATING), ("harvest", HARVESTING)])
def test_open_session_emits_session_opened_and_sets_status(session_type: str, status: str) -> None:
    harvester = register()
    session_id = uuid4()

    harvester.open_session(session_id, session_type)

    events = harvester.collect_events()
    assert names(events) == ["SessionOpened"]
    assert events[0].session_id == session_id
    assert events[0].session_type == session_type
    assert harvester.active_session_id == session_id
    assert harvester.active_session_type == session_type
    assert harvester.status == status


def test_only_one_active_session_at_a_time() -> None:
    harvester = register()
    active = busy(harvester, "refresh")

    with pytest.raises(HarvesterBusyError) as raised:
        harvester.open_session(uuid4(), "harvest")

    assert raised.value.session_id == active
    assert raised.value.session_type == "refresh"
    assert str(active) in str(raised.value)
    assert harvester.collect_events() == []
    assert harvester.active_session_id == active
    assert harvester.status == UPDATING


def test_open_session_on_a_removed_harvester_is_refused() -> None:
    harvester = register()
    harvester.remove()
    harvester.collect_events()

    with pytest.raises(HarvesterRemovedError):
        harvester.open_session(uuid4(), "refresh")

    assert harvester.collect_events() == []
    assert harvester.active_session_id is None


def test_open_session_with_unknown_type_leaves_the_harvester_unchanged() -> None:
    harvester = register()

    with pytest.raises(InvalidConfigurationError):
        harvester.open_session(uuid4(), "bogus")

    assert harvester.collect_events() == []
    assert harvester.active_session_id is None
    assert harvester.active_session_type is None


def test_close_session_emits_session_closed_and_frees_the_harvester() -> None:
    harvester = register()
    session_id = busy(harvester, "harvest")

    harvester.close_session(session_id, "finished-all-ok")

    events = harvester.collect_events()
    assert names(events) == ["SessionClosed"]
    assert events[0].session_id == session_id
    assert events[0].session_status == "finished-all-ok"
    assert harvester.active_session_id is None
    assert harvester.active_session_type is None
    assert harvester.status == READY


def test_close_session_is_idempotent() -> None:
    harvester = register()
    session_id = busy(harvester)
    harvester.close_session(session_id, "finished-all-ok")
    harvester.collect_events()

    harvester.close_session(session_id, "finished-all-ok")

    assert harvester.collect_events() == []
    assert harvester.status == READY


def test_close_session_ignores_another_session_id() -> None:
    harvester = register()
    active = busy(harvester)

    harvester.close_session(uuid4(), "aborted")

    assert harvester.collect_events() == []
    assert harvester.active_session_id == active
    assert harvester.status == UPDATING


def test_a_new_session_can_open_after_the_previous_one_closed() -> None:
    harvester = register()
    first = busy(harvester)
    harvester.close_session(first, "finished-all-ok")
    harvester.collect_events()
    second = uuid4()

    harvester.open_session(second, "harvest")

    assert names(harvester.collect_events()) == ["SessionOpened"]
    assert harvester.active_session_id == second


@pytest.mark.parametrize(("session_type", "status"), [("refresh", ABORTING_UPDATE), ("harvest", ABORTING_HARVEST)])
def test_request_abort_emits_session_aborting_once(session_type: str, status: str) -> None:
    harvester = register()
    session_id = busy(harvester, session_type)

    harvester.request_abort(session_id)

    events = harvester.collect_events()
    assert names(events) == ["SessionAborting"]
    assert events[0].session_id == session_id
    assert harvester.status == status

    harvester.request_abort(session_id)

    assert harvester.collect_events() == []
    assert harvester.status == status


def test_request_abort_ignores_another_session_id_and_an_idle_harvester() -> None:
    harvester = register()
    harvester.request_abort(uuid4())
    assert harvester.collect_events() == []

    busy(harvester)
    harvester.request_abort(uuid4())

    assert harvester.collect_events() == []
    assert harvester.status == UPDATING


def test_close_session_after_abort_request_returns_to_ready() -> None:
    harvester = register()
    session_id = busy(harvester, "harvest")
    harvester.request_abort(session_id)
    harvester.collect_events()

    harvester.close_session(session_id, "aborted")

    assert names(harvester.collect_events()) == ["SessionClosed"]
    assert harvester.status == READY


def test_reset_clears_the_active_session() -> None:
    harvester = register()
    busy(harvester, "harvest")

    harvester.reset(reason="heartbeat stale")

    events = harvester.collect_events()
    assert names(events) == ["HarvesterReset"]
    assert events[0].reason == "heartbeat stale"
    assert harvester.active_session_id is None
    assert harvester.active_session_type is None
    assert harvester.status == READY


# --- availability ---------------------------------------------------------------------------------------------------


def test_availability_changed_only_on_change() -> None:
    harvester = register()

    harvester.record_availability(True, "ok")
    events = harvester.collect_events()
    assert names(events) == ["AvailabilityChanged"]
    assert events[0].available is True
    assert events[0].message == "ok"
    assert harvester.available is True

    harvester.record_availability(True, "still ok")
    assert harvester.collect_events() == []

    harvester.record_availability(False, "HTTP 503")
    events = harvester.collect_events()
    assert names(events) == ["AvailabilityChanged"]
    assert events[0].available is False
    assert events[0].message == "HTTP 503"
    assert harvester.available is False

    harvester.record_availability(False, "HTTP 502")
    assert harvester.collect_events() == []


def test_first_unavailable_check_is_a_change_from_unknown() -> None:
    harvester = register()

    harvester.record_availability(False, "timeout")

    assert names(harvester.collect_events()) == ["AvailabilityChanged"]
    assert harvester.available is False


# --- reconfigure, remove, re-add -------------------------------------------------------------------------------------


def test_reconfigure_with_equal_configuration_is_a_no_op() -> None:
    harvester = register(policy={"select_new": True})

    harvester.reconfigure("geonode", URL, {"page_size": "10"}, {"select_new": True})

    assert harvester.collect_events() == []
    assert harvester.version == 1


def test_reconfigure_with_a_change_emits_harvester_reconfigured() -> None:
    harvester = register()

    harvester.reconfigure("wms", "https://wms.example.test/ows", {}, {"delete_orphans": True})

    events = harvester.collect_events()
    assert names(events) == ["HarvesterReconfigured"]
    assert events[0].remote_type == "wms"
    assert events[0].url == "https://wms.example.test/ows"
    assert events[0].options == {}
    assert events[0].policy == {"delete_orphans": True}
    assert harvester.remote_type == "wms"
    assert harvester.url == "https://wms.example.test/ows"
    assert harvester.options == {}
    assert harvester.delete_orphans is True


def test_reconfigure_detects_a_policy_only_change() -> None:
    harvester = register(policy={"max_stale_share": 0.5})

    harvester.reconfigure("geonode", URL, {"page_size": "10"}, {"max_stale_share": 0.1})

    assert names(harvester.collect_events()) == ["HarvesterReconfigured"]
    assert harvester.max_stale_share == 0.1


def test_remove_emits_harvester_removed_once() -> None:
    harvester = register()

    harvester.remove()

    events = harvester.collect_events()
    assert names(events) == ["HarvesterRemoved"]
    assert events[0].records == "kept-as-orphans"
    assert harvester.removed is True

    harvester.remove()

    assert harvester.collect_events() == []


def test_remove_is_refused_while_a_session_is_active() -> None:
    harvester = register()
    active = busy(harvester, "harvest")

    with pytest.raises(HarvesterBusyError) as raised:
        harvester.remove()

    assert raised.value.session_id == active
    assert raised.value.session_type == "harvest"
    assert harvester.collect_events() == []
    assert harvester.removed is False


def test_reconfigure_after_remove_readds_the_harvester() -> None:
    harvester = register()
    harvester.record_availability(True, "ok")
    harvester.remove()
    harvester.collect_events()

    # Same configuration as before: still a re-add, not a no-op.
    harvester.reconfigure("geonode", URL, {"page_size": "10"}, {})

    events = harvester.collect_events()
    assert names(events) == ["HarvesterReadded"]
    assert events[0].remote_type == "geonode"
    assert events[0].url == URL
    assert events[0].options == {"page_size": "10"}
    assert events[0].policy == {}
    assert harvester.removed is False
    assert harvester.status == READY
    assert harvester.available is None


def test_readd_applies_the_new_configuration_and_allows_sessions_again() -> None:
    harvester = register()
    harvester.remove()
    harvester.collect_events()

    harvester.reconfigure("wms", "https://wms.example.test/ows", {"version": "1.3.0"}, {"select_new": False})
    harvester.collect_events()

    assert harvester.remote_type == "wms"
    assert harvester.url == "https://wms.example.test/ows"
    assert harvester.options == {"version": "1.3.0"}
    assert harvester.select_new is False
    harvester.open_session(uuid4(), "refresh")
    assert names(harvester.collect_events()) == ["SessionOpened"]


# --- scheduling -----------------------------------------------------------------------------------------------------


def test_enable_scheduling_when_enabled_is_a_no_op() -> None:
    harvester = register()

    harvester.enable_scheduling()

    assert harvester.collect_events() == []
    assert harvester.scheduling_enabled is True


def test_disable_then_enable_scheduling() -> None:
    harvester = register()

    harvester.disable_scheduling()
    assert names(harvester.collect_events()) == ["SchedulingDisabled"]
    assert harvester.scheduling_enabled is False

    harvester.disable_scheduling()
    assert harvester.collect_events() == []

    harvester.enable_scheduling()
    assert names(harvester.collect_events()) == ["SchedulingEnabled"]
    assert harvester.scheduling_enabled is True


# --- replay -------------------------------------------------------------------------------------------------------


def replay(events: Sequence[Any]) -> Harvester:
    aggregate = events[0].mutate(None)
    for e in events[1:]:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, Harvester)
    return aggregate


def test_rebuilt_from_its_events_the_harvester_has_the_same_state() -> None:
    harvester = make("demo", policy={"delete_orphans": True})
    session_id = uuid4()
    harvester.record_availability(True, "ok")
    harvester.disable_scheduling()
    harvester.open_session(session_id, "harvest")
    harvester.request_abort(session_id)
    harvester.close_session(session_id, "aborted")
    harvester.reconfigure("geonode", URL, {"page_size": "50"}, {"delete_orphans": False})
    harvester.remove()
    harvester.reconfigure("geonode", URL, {"page_size": "50"}, {})
    events = harvester.collect_events()

    rebuilt = replay(events)

    assert names(events) == [
        "HarvesterRegistered",
        "AvailabilityChanged",
        "SchedulingDisabled",
        "SessionOpened",
        "SessionAborting",
        "SessionClosed",
        "HarvesterReconfigured",
        "HarvesterRemoved",
        "HarvesterReadded",
    ]
    assert rebuilt == harvester
    assert rebuilt.version == 9
    assert rebuilt.options == {"page_size": "50"}
    assert rebuilt.scheduling_enabled is False
    assert rebuilt.removed is False


def test_rebuilt_mid_session_keeps_the_active_session() -> None:
    harvester = make()
    session_id = uuid4()
    harvester.open_session(session_id, "refresh")

    rebuilt = replay(harvester.collect_events())

    assert rebuilt == harvester
    assert rebuilt.active_session_id == session_id
    assert rebuilt.status == UPDATING
