"""The baselines each scenario runs beside ours, as their own processes: the
least code that does the same job with none of our guarantees (no events,
no resume, no audit trail).

    python -m bench.baselines wms-etl URL TARGET      one GET, ElementTree, one transaction
    python -m bench.baselines geonode-fetch API FIRST_PK COUNT CONCURRENCY
    python -m bench.baselines csw-pages URL PAGE_SIZE  GetRecords pages parsed with lxml
    python -m bench.baselines read-log SQLITE_PATH     every notification of the event store
    python -m bench.baselines dump-records SQLITE_PATH every record as JSON, streamed

Each prints one JSON line: what it did (records, events).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

WMS = "{http://www.opengis.net/wms}"
CSW = "{http://www.opengis.net/cat/csw/2.0.2}"


def wms_etl(url: str, target: str) -> dict[str, Any]:
    body = httpx.get(url, params={"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"}).content
    root = ET.fromstring(body)  # noqa: S314
    rows = []
    for layer in root.iter(f"{WMS}Layer"):
        name = layer.findtext(f"{WMS}Name")
        if not name:
            continue
        box = layer.find(f"{WMS}EX_GeographicBoundingBox")
        document = {
            "name": name,
            "title": layer.findtext(f"{WMS}Title"),
            "abstract": layer.findtext(f"{WMS}Abstract"),
            "keywords": [k.text for k in layer.iter(f"{WMS}Keyword")],
            "bbox": [float(v.text or 0) for v in box] if box is not None else None,
        }
        rows.append((name, json.dumps(document)))
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS layers (name TEXT PRIMARY KEY, document TEXT)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO layers VALUES (%s, %s) ON CONFLICT DO NOTHING", rows)
    else:
        lite = sqlite3.connect(target)
        with lite:
            lite.execute("CREATE TABLE IF NOT EXISTS layers (name TEXT PRIMARY KEY, document TEXT)")
            lite.executemany("INSERT OR IGNORE INTO layers VALUES (?, ?)", rows)
        lite.close()
    return {"records": len(rows)}


def geonode_fetch(api: str, first_pk: int, count: int, concurrency: int) -> dict[str, Any]:
    async def run() -> int:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def one(pk: int) -> int:
                async with gate:
                    response = await client.get(f"{api}/datasets/{pk}")
                    json.loads(response.content)
                    return 1

            return sum(await asyncio.gather(*(one(first_pk + i) for i in range(count))))

    return {"records": asyncio.run(run())}


def csw_pages(url: str, page_size: int) -> dict[str, Any]:
    records = 0
    start = 1
    with httpx.Client(timeout=30) as client:
        while start:
            response = client.get(
                url,
                params={
                    "service": "CSW",
                    "version": "2.0.2",
                    "request": "GetRecords",
                    "typeNames": "csw:Record",
                    "resultType": "results",
                    "elementSetName": "full",
                    "outputSchema": "http://www.isotc211.org/2005/gmd",
                    "startPosition": str(start),
                    "maxRecords": str(page_size),
                },
            )
            results: Any = etree.fromstring(response.content).find(f"{CSW}SearchResults")
            records += len(results)
            start = int(results.get("nextRecord") or 0)
    return {"records": records}


def read_log(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    events = 0
    last = 0
    while True:
        rows = conn.execute(
            "SELECT rowid, topic, state FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT 500",
            (last,),
        ).fetchall()
        if not rows:
            break
        for row in rows:
            json.loads(row[2])
        events += len(rows)
        last = rows[-1][0]
    return {"events": events}


def dump_records(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    out = sys.stdout
    count = 0
    for row in conn.execute("SELECT * FROM records ORDER BY harvester_id, remote_id"):
        out.write(json.dumps(dict(row)) + "\n")
        count += 1
    return {"records": count}


def main(argv: list[str]) -> int:
    name, *args = argv
    if name == "wms-etl":
        result = wms_etl(args[0], args[1])
    elif name == "geonode-fetch":
        result = geonode_fetch(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif name == "csw-pages":
        result = csw_pages(args[0], int(args[1]))
    elif name == "read-log":
        result = read_log(args[0])
    elif name == "dump-records":
        result = dump_records(args[0])
    else:
        raise SystemExit(f"unknown baseline {name!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
