"""Writes a store of about N events for the replay scenario, through the
application (the same events a harvest writes), in large transactions.

    python -m bench.generate N      (HARVEST_DATA_DIR says where)
"""

from __future__ import annotations

import json
import sys

from harvesting.domain.resource import HarvestableResource
from harvesting.runners.runtime import Runtime

BATCH = 2_000


def descriptor(i: int) -> dict[str, object]:
    return {
        "identifier": f"layer_{i:07d}",
        "title": f"Generated layer {i}",
        "abstract": f"Synthetic layer number {i} for the replay benchmark",
        "keywords": ["synthetic", "bench", f"layer{i}"],
        "bbox": [-10.0 + i % 10, 40.0, -5.0 + i % 10, 45.0],
        "crs": "CRS:84",
        "resource_type": "layer",
        "links": [{"type": "OGC:WMS", "name": f"layer_{i:07d}", "url": f"http://127.0.0.1/wms?LAYERS=layer_{i:07d}"}],
        "contacts": [],
        "license": None,
        "extra": {"crs_list": ["EPSG:4326", "EPSG:3857"], "queryable": True, "wms_version": "1.3.0"},
    }


def main(events: int) -> int:
    rt = Runtime()
    app = rt.app
    harvester_id = app.add_harvester("generated", "wms", "http://127.0.0.1/wms", {}, {})
    session_id, _ = app.start_session("generated", "harvest", {})
    written = 3  # registration, session opened and started
    i = 0
    while written < events:
        batch = []
        for _ in range(min(BATCH, max(1, (events - written) // 2))):
            resource = HarvestableResource(
                harvester_id=harvester_id,
                remote_id=f"layer_{i:07d}",
                title=f"Generated layer {i}",
                resource_type="layer",
                modified=None,
                should_be_harvested=True,
            )
            resource.record_harvest(session_id, f"hash-{i}", descriptor(i), None, "http://127.0.0.1/wms", "", "")
            batch.append(resource)
            i += 1
        app.save(*batch)
        written += 2 * len(batch)
    rt.settle()  # a live store's read models are current: replay starts from there
    rt.close()
    print(json.dumps({"events": written, "resources": i}))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
