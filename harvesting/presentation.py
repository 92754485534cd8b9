"""Human output: tables and progress on a terminal, one JSON document with --json."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harvesting.text import terminal_safe

# Off a terminal (pipes, CI logs) tables get room instead of 80 folded columns.
_out = Console(width=None if sys.stdout.isatty() else 220)
_err = Console(stderr=True)


def _finite(value: Any) -> Any:
    """NaN and infinities (from a policy recorded before they were refused) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    # allow_nan=False: NaN is not JSON, and a consumer must never be handed it.
    try:
        text = json.dumps(document, indent=2, sort_keys=True, default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(document), indent=2, sort_keys=True, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def emit_json_list(items: Iterable[Any]) -> None:
    """A JSON array written as its items come, byte for byte what `emit_json`
    writes for the whole list: a listing of 100,000 records never sits in memory."""
    out = sys.stdout
    first = True
    for item in items:
        try:
            text = json.dumps(item, indent=2, sort_keys=True, default=str, allow_nan=False)
        except ValueError:
            text = json.dumps(_finite(item), indent=2, sort_keys=True, default=str, allow_nan=False)
        out.write("[\n  " if first else ",\n  ")
        out.write(text.replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def error_line(message: str) -> None:
    """Expected failures are one line on stderr, never a traceback."""
    one_line = terminal_safe(" ".join(str(message).split()))
    sys.stderr.write(f"error: {one_line}\n")


def note(message: str) -> None:
    """Context on stderr that is not an error (stdout stays the answer)."""
    sys.stderr.write(f"note: {terminal_safe(message)}\n")


def info(message: str) -> None:
    # Text, not markup: a remote title like "[bold]" or an escape sequence is shown as it is.
    _out.print(Text(terminal_safe(message)), highlight=False)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        # Remote titles reach tables: control characters and bidi overrides are
        # shown escaped, and nothing is read as rich markup.
        t.add_row(*[Text("" if v is None else terminal_safe(str(v))) for v in row])
    _out.print(t)


def harvesters_table(harvesters: list[dict[str, Any]]) -> None:
    table(
        "Harvesters",
        ["name", "type", "status", "available", "resources", "records", "last refresh", "last harvest", "url"],
        [
            [
                h["name"],
                h["type"],
                h["status"],
                {True: "yes", False: "no", None: "?"}[h["available"]],
                h["resources"],
                h["records"],
                _when_status(h["last_refresh"], h["last_refresh_status"]),
                _when_status(h["last_harvest"], h["last_harvest_status"]),
                h["url"],
            ]
            for h in harvesters
        ],
    )


def _when_status(when: str | None, status: str | None) -> str:
    if not when:
        return "never"
    return f"{when[:19].replace('T', ' ')} {status or ''}".strip()


def sessions_table(sessions: list[dict[str, Any]]) -> None:
    table(
        "Sessions",
        ["id", "harvester", "type", "status", "total", "done", "harvested", "unchanged", "failed", "message"],
        [
            [
                s["id"],
                s["harvester"],
                s["type"],
                s["status"],
                s["total"],
                s["done"],
                s["harvested"],
                s["unchanged"],
                s["failed"],
                s["message"],
            ]
            for s in sessions
        ],
    )


def resources_table(resources: list[dict[str, Any]]) -> None:
    table(
        "Harvestable resources",
        ["remote id", "title", "selected", "last outcome", "stale", "message"],
        [
            [
                r["remote_id"],
                r["title"],
                "yes" if r["should_be_harvested"] else "no",
                r["last_outcome"] or "",
                "stale" if r["stale"] else "",
                r["last_message"],
            ]
            for r in resources
        ],
    )


def records_table(records: list[dict[str, Any]]) -> None:
    table(
        "Records",
        ["id", "harvester", "remote id", "title", "bbox", "orphan"],
        [
            [
                r["id"],
                r["harvester"],
                r["remote_id"],
                r["title"],
                ", ".join(f"{v:g}" for v in r["bbox"]) if r["bbox"] else "",
                "orphan" if r["orphan"] else "",
            ]
            for r in records
        ],
    )


def details(title: str, document: dict[str, Any]) -> None:
    table(title, ["field", "value"], [[k, _plain(v)] for k, v in document.items()])


def _plain(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return "" if value is None else str(value)


def audit_table(events: list[dict[str, Any]]) -> None:
    table(
        "Events",
        ["time", "aggregate", "version", "event", "payload"],
        [[e["time"], e["aggregate_type"], e["version"], e["event"], _plain(e["payload"])] for e in events],
    )


def is_terminal() -> bool:
    return sys.stderr.isatty()


def progress_console() -> Console:
    return _err
