"""Serve pycsw 2.6 catalogues over WSGI on 127.0.0.1, one path prefix per configuration.

Run with the pycsw 2.6 venv's python:

    python pycsw2_serve.py PORT /cite=/path/cite.cfg /apiso=/path/apiso.cfg

pycsw 2.6 picks its configuration per request (from PYCSW_CONFIG in the WSGI
environ), so one process serves several repositories, each with its own record
count. A threading server because the harvester fetches records concurrently.
"""

from __future__ import annotations

import os
import socketserver
import sys
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")


def dispatcher(pycsw_app: WsgiApp, mounts: dict[str, str]) -> WsgiApp:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, config in mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                # The client never chooses the configuration file.
                query = environ.get("QUERY_STRING", "")
                environ["QUERY_STRING"] = "&".join(p for p in query.split("&") if "config" not in p.lower())
                environ["PYCSW_CONFIG"] = config
                environ["SCRIPT_NAME"] = prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return pycsw_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no catalogue here; try one of: " + " ".join(mounts).encode()]

    return application


def main(argv: list[str]) -> None:
    port = int(argv[0])
    mounts = dict(arg.split("=", 1) for arg in argv[1:])
    # The process environment would win over the per-request configuration.
    os.environ.pop("PYCSW_CONFIG", None)
    from pycsw import wsgi  # type: ignore[import-not-found,unused-ignore]

    server = make_server("127.0.0.1", port, dispatcher(wsgi.application, mounts), ThreadingWSGIServer, QuietHandler)
    print(f"pycsw 2 serving {', '.join(mounts)} on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
