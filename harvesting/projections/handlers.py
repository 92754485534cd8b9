"""Routing of events to the functions that fold them into tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harvesting.runners.storage import Cursor

Handler = Callable[[Cursor, Any], None]


class Handlers:
    def __init__(self) -> None:
        self.by_event: dict[str, list[Handler]] = {}

    def on(self, *event_names: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for name in event_names:
                self.by_event.setdefault(name, []).append(fn)
            return fn

        return register

    def merge(self, other: Handlers) -> None:
        for name, fns in other.by_event.items():
            self.by_event.setdefault(name, []).extend(fns)

    def apply(self, c: Cursor, event: Any) -> None:
        for fn in self.by_event.get(type(event).__name__, ()):
            fn(c, event)


def stamp(event: Any) -> str:
    """Times in read models come from the events, never the clock, so a replay
    rebuilds them identically."""
    return str(event.timestamp.isoformat())
