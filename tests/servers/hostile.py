"""A loopback HTTP server whose routes are plain functions with full control of
the socket: they can drip bytes, stall, redirect anywhere, loop, lie about
lengths or answer POSTs. It records every request, so tests can check what a
harvester asked for (and what it never asked for).

    server = HostileServer()
    server.route("/api/v2/", lambda ex: ex.json({"resources": ex.base + "/api/v2/resources"}))
    server.route("/slow", lambda ex: ex.drip(b"x" * 100, every_s=1.0))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Exchange:
    """One request, and the means to answer it."""

    handler: BaseHTTPRequestHandler
    server: HostileServer
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    answered: bool = field(default=False)

    @property
    def base(self) -> str:
        return self.server.url

    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if self.method != "HEAD":
            h.wfile.write(body)
        self.answered = True

    def json(self, document: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(document).encode(), "application/json", headers)

    def text(self, text: str | bytes, status: int = 200, content_type: str = "text/plain") -> None:
        self.send(status, text.encode() if isinstance(text, str) else text, content_type)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, b"", "text/plain", {"Location": location})

    def drip(self, body: bytes, every_s: float, content_type: str = "application/json") -> None:
        """Headers at once, then one byte every `every_s` seconds."""
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self.answered = True
        for i in range(len(body)):
            if self.server.stopping.is_set():
                return
            try:
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
            except OSError:
                return
            self.server.stopping.wait(every_s)

    def drip_headers(self, every_s: float) -> None:
        """The status line and headers, one byte at a time, never finished."""
        self.answered = True
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 10_000
        for i in range(len(head)):
            if self.server.stopping.is_set():
                return
            try:
                self.handler.wfile.write(head[i : i + 1])
                self.handler.wfile.flush()
            except OSError:
                return
            self.server.stopping.wait(every_s)

    def stall(self, seconds: float) -> None:
        """Accept, read the request, answer nothing for `seconds`."""
        self.server.stopping.wait(seconds)


Route = Callable[[Exchange], None]


class HostileServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, Route]] = []
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._active = 0
        self.max_active = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._serve(self, "GET")

            def do_POST(self) -> None:
                outer._serve(self, "POST")

            def do_HEAD(self) -> None:
                outer._serve(self, "HEAD")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hanging up mid-answer is what these tests are about

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, prefix: str, fn: Route) -> None:
        """Longest matching prefix wins; routing a prefix again replaces it."""
        self.routes = [r for r in self.routes if r[0] != prefix]
        self.routes.append((prefix, fn))
        self.routes.sort(key=lambda r: -len(r[0]))

    def requests_to(self, prefix: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(prefix)]

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.seen.append(Seen(method, parts.path, query, headers, body, time.monotonic()))
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            exchange = Exchange(handler, self, method, parts.path, query, headers, body)
            for prefix, fn in self.routes:
                if parts.path.startswith(prefix):
                    fn(exchange)
                    break
            else:
                exchange.json({"detail": "Not found."}, 404)
            if not exchange.answered:
                handler.close_connection = True
        except OSError:
            handler.close_connection = True
        finally:
            with self._lock:
                self._active -= 1

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
