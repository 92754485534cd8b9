"""The `harvesters` read model."""

from __future__ import annotations

import json
from typing import Any

from harvesting.domain.harvester import ABORTING_HARVEST, ABORTING_UPDATE, HARVESTING, READY, UPDATING
from harvesting.domain.session import REFRESH
from harvesting.projections.handlers import Handlers, stamp
from harvesting.runners.storage import Cursor

handlers = Handlers()


def _config(e: Any) -> tuple[str, str, str, str]:
    return e.remote_type, e.url, json.dumps(e.options, sort_keys=True), json.dumps(e.policy, sort_keys=True)


@handlers.on("HarvesterRegistered")
def registered(c: Cursor, e: Any) -> None:
    c.execute(
        "INSERT INTO harvesters (id, name, type, url, options, policy, status, available, scheduling,"
        " removed, registered) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 1, 0, ?)",
        (str(e.originator_id), e.name, *_config(e), READY, stamp(e)),
    )


@handlers.on("HarvesterReconfigured")
def reconfigured(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvesters SET type = ?, url = ?, options = ?, policy = ? WHERE id = ?",
        (*_config(e), str(e.originator_id)),
    )


@handlers.on("HarvesterReadded")
def readded(c: Cursor, e: Any) -> None:
    reconfigured(c, e)
    c.execute(
        "UPDATE harvesters SET removed = 0, status = ?, available = NULL WHERE id = ?",
        (READY, str(e.originator_id)),
    )
    # Records left as orphans by the removal are live again, except those whose
    # resource had itself gone stale.
    c.execute(
        "UPDATE records SET orphan = 0 WHERE harvester_id = ? AND resource_id IN"
        " (SELECT id FROM harvestable_resources WHERE harvester_id = ? AND removed = 0)",
        (str(e.originator_id), str(e.originator_id)),
    )


@handlers.on("SchedulingEnabled")
def scheduling_enabled(c: Cursor, e: Any) -> None:
    c.execute("UPDATE harvesters SET scheduling = 1 WHERE id = ?", (str(e.originator_id),))


@handlers.on("SchedulingDisabled")
def scheduling_disabled(c: Cursor, e: Any) -> None:
    c.execute("UPDATE harvesters SET scheduling = 0 WHERE id = ?", (str(e.originator_id),))


@handlers.on("AvailabilityChanged")
def availability_changed(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvesters SET available = ?, availability_message = ? WHERE id = ?",
        (int(e.available), e.message, str(e.originator_id)),
    )


@handlers.on("SessionOpened")
def session_opened(c: Cursor, e: Any) -> None:
    status = UPDATING if e.session_type == REFRESH else HARVESTING
    c.execute(
        "UPDATE harvesters SET status = ?, active_session = ? WHERE id = ?",
        (status, str(e.session_id), str(e.originator_id)),
    )


@handlers.on("SessionAborting")
def session_aborting(c: Cursor, e: Any) -> None:
    c.execute(
        "UPDATE harvesters SET status = CASE WHEN status = 'updating-harvestable-resources' THEN ? ELSE ? END"
        " WHERE id = ?",
        (ABORTING_UPDATE, ABORTING_HARVEST, str(e.originator_id)),
    )


@handlers.on("SessionClosed")
def session_closed(c: Cursor, e: Any) -> None:
    session_type = c.scalar("SELECT type FROM sessions WHERE id = ?", (str(e.session_id),))
    prefix = "last_refresh" if session_type == REFRESH else "last_harvest"
    c.execute(
        f"UPDATE harvesters SET status = ?, active_session = NULL, {prefix} = ?, {prefix}_status = ?"  # noqa: S608
        " WHERE id = ?",
        (READY, stamp(e), e.session_status, str(e.originator_id)),
    )


@handlers.on("HarvesterReset")
def reset(c: Cursor, e: Any) -> None:
    c.execute("UPDATE harvesters SET status = ?, active_session = NULL WHERE id = ?", (READY, str(e.originator_id)))


@handlers.on("HarvesterRemoved")
def removed(c: Cursor, e: Any) -> None:
    c.execute("UPDATE harvesters SET removed = 1 WHERE id = ?", (str(e.originator_id),))
    c.execute("UPDATE records SET orphan = 1 WHERE harvester_id = ?", (str(e.originator_id),))
