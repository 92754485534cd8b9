"""`harvest demo`: the main job, end to end, on the embedded default.

Serves the bundled recorded GeoNode 4.4.5 and WMS documents on loopback,
registers a harvester for each, refreshes and harvests them, and prints what
happened. Its store is a fresh SQLite directory, so the demo can run again and
again and be explored afterwards.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from harvesting import presentation as show
from harvesting.domain.session import FINISHED_ALL_OK, HARVEST, REFRESH
from harvesting.projections import queries
from harvesting.runners.config import Settings
from harvesting.runners.runtime import Runtime
from harvesting.runners.waiting import wait_for_session

DEMO_HARVESTERS = (
    ("geonode-demo", "geonode", "geonode"),
    ("wms-demo", "wms", "wms-mapserver"),
)


def demo_dir() -> Path:
    base = Path(os.environ.get("HARVEST_DATA_DIR") or "harvest-data")
    return (base / "demo").resolve()


def run_demo() -> int:
    from harvesting.demo.sites import start_demo_server

    directory = demo_dir()
    shutil.rmtree(directory, ignore_errors=True)
    server, urls = start_demo_server()
    sessions: list[dict[str, Any]] = []
    rt = Runtime(Settings(data_dir=directory, database_url=None, parallel=8, batch_size=100))
    try:
        show.info(f"serving recorded documents on {server.url}; event store in {directory}")
        for name, remote_type, site in DEMO_HARVESTERS:
            rt.app.add_harvester(
                name,
                remote_type,
                urls[site],
                {},
                {"delete_orphans": False, "select_new": True, "max_stale_share": 0.5},
            )
            for session_type in (REFRESH, HARVEST):
                session_id, _ = rt.app.start_session(name, session_type, {"demo": True})
                sessions.append(wait_for_session(rt, str(session_id)))
        rt.settle()
        show.harvesters_table(queries.harvesters(rt.db))
        show.sessions_table(sessions)
        for h in queries.harvesters(rt.db):
            sample = queries.records(rt.db, h["name"])[:3]
            titles = "; ".join(r["title"] for r in sample)
            show.info(f"{h['name']}: {h['records']} records, e.g. {titles}")
    finally:
        rt.close()
        server.stop()
    show.info(f"explore: HARVEST_DATA_DIR={directory} harvest records | harvest sessions | harvest audit geonode-demo")
    failed = [s for s in sessions if s["status"] != FINISHED_ALL_OK]
    for s in failed:
        show.error_line(f"{s['type']} session {s['id']} of {s['harvester']} {s['status']}: {s['message']}")
    return 1 if failed else 0
