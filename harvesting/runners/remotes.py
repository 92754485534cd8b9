"""One remote instance per harvester configuration, shared by worker threads,
so per-remote caches (e.g. a WMS capabilities document) serve a whole session.

Every remote gets an HTTP view confined to its harvester's hosts, with the
harvester's id as cancellation scope: aborting a session ends its requests."""

from __future__ import annotations

import json
import threading
from typing import Any

from harvesting.remotes import make_remote
from harvesting.remotes.base import Remote, RemoteError
from harvesting.remotes.http import HttpClient
from harvesting.text import printable

VERSIONS_KEPT = 1024


class RemoteRegistry:
    def __init__(self, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient()
        self._lock = threading.Lock()
        self._remotes: dict[str, Remote] = {}
        self._by_version: dict[tuple[Any, int], Remote] = {}

    def for_harvester(self, harvester: Any) -> Remote:
        # A harvester's version changes with any of its settings: the same
        # version needs no new key (a key per fetch cost 5% of an unchanged harvest).
        version = getattr(harvester, "version", None)
        if version is not None:
            remote = self._by_version.get((harvester.id, version))
            if remote is not None:
                return remote
        hosts = list(getattr(harvester, "allowed_hosts", []))
        key = json.dumps(
            [str(harvester.id), harvester.remote_type, harvester.url, harvester.options, hosts], sort_keys=True
        )
        with self._lock:
            remote = self._remotes.get(key)
            if remote is None:
                remote = make_remote(
                    harvester.remote_type,
                    harvester.url,
                    harvester.options,
                    self.http,
                    allowed_hosts=hosts,
                    scope=str(harvester.id),
                )
                self._remotes[key] = remote
            if version is not None:
                if len(self._by_version) >= VERSIONS_KEPT:
                    self._by_version.clear()  # a scheduler's harvesters gain versions every round
                self._by_version[(harvester.id, version)] = remote
            return remote

    def cancel(self, harvester_id: Any = None) -> None:
        """Ends requests in flight for one harvester (all when None)."""
        self.http.cancel(None if harvester_id is None else str(harvester_id))

    def close(self) -> None:
        self.http.close()


def availability(remotes: RemoteRegistry, harvester: Any) -> tuple[bool, str]:
    """Whether the remote answers as its declared protocol, and if not, why.
    Never raises: whatever goes wrong is the reason."""
    try:
        answered = remotes.for_harvester(harvester).check_availability()
    except RemoteError as e:
        return False, str(e)
    except RecursionError:
        return False, "parse-error: the answer is nested too deeply to read"
    except Exception as e:  # noqa: BLE001 - a defect in one remote must not end the process
        return False, f"internal-error: {type(e).__name__}: {printable(str(e), 160)}"
    if not answered:
        return False, f"{harvester.remote_type} remote at {harvester.url} did not answer as {harvester.remote_type}"
    return True, ""
