"""A loopback server replaying recorded JSON documents route by route, with
the recorded origin rewritten to its own URL (OGC API Records and STAC tests)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

JSON = "application/json"
NOT_FOUND = b'{"code": "NotFound", "description": "not found"}'


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    raw_path: str = ""  # as sent, before percent-decoding


Answer = tuple[int, str, bytes]


class Replay:
    """A loopback server answering each (method, path) from a handler; the
    recorded origin in documents is rewritten to this server's URL."""

    def __init__(
        self,
        origins: tuple[str, ...] = (),
        not_found: bytes = NOT_FOUND,
        fallback: Callable[[Seen], Answer] | None = None,
    ) -> None:
        self.origins = origins
        self.fallback = fallback
        self.routes: dict[tuple[str, str], Callable[[Seen], Answer]] = {}
        self.requests: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                seen = Seen(self.command, unquote(parts.path), dict(parse_qsl(parts.query)), body, parts.path)
                owner.requests.append(seen)
                handler = owner.routes.get((seen.method, seen.path))
                handler = handler or owner.fallback
                status, content_type, body = handler(seen) if handler else (404, JSON, not_found)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def text(self, path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        for origin in self.origins:
            text = text.replace(origin, self.base)
        return text

    def document(self, path: Path, edit: Callable[[Any], Any] | None = None) -> bytes:
        if edit is None:
            return self.text(path).encode("utf-8")
        return json.dumps(edit(json.loads(self.text(path)))).encode("utf-8")

    def serve(self, path: str, answer: Answer | Callable[[Seen], Answer], method: str = "GET") -> None:
        self.routes[(method, path)] = answer if callable(answer) else (lambda _seen: answer)

    def paths(self, method: str = "GET") -> list[str]:
        return [r.path for r in self.requests if r.method == method]

    def count(self, path: str, method: str = "GET") -> int:
        return sum(1 for r in self.requests if r.path == path and r.method == method)

    def counts(self) -> Counter[str]:
        """How often each path and query was asked for."""
        return Counter(f"{r.path}?{sorted(r.query.items())}" for r in self.requests)

    def __enter__(self) -> Replay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def without_next(data: Any) -> Any:
    data["links"] = [link for link in data["links"] if link.get("rel") != "next"]
    return data


def list_all(remote: Any, max_pages: int) -> tuple[list[str], str | None]:
    """The remote ids of a listing walked page by page, and the cursor left
    (None when the listing ended within `max_pages`)."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page = remote.list_resources(cursor)
        ids += [r.remote_id for r in page.resources]
        cursor = page.next_cursor
        if cursor is None:
            break
    return ids, cursor
