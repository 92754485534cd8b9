"""One remote instance per harvester configuration, shared by worker threads,
so per-remote caches (e.g. a WMS capabilities document) serve a whole session."""

from __future__ import annotations

import json
import threading
from typing import Any

from harvesting.remotes import make_remote
from harvesting.remotes.base import Remote
from harvesting.remotes.http import HttpClient


class RemoteRegistry:
    def __init__(self, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient()
        self._lock = threading.Lock()
        self._remotes: dict[str, Remote] = {}

    def for_harvester(self, harvester: Any) -> Remote:
        key = json.dumps([str(harvester.id), harvester.remote_type, harvester.url, harvester.options], sort_keys=True)
        with self._lock:
            remote = self._remotes.get(key)
            if remote is None:
                remote = make_remote(harvester.remote_type, harvester.url, harvester.options, self.http)
                self._remotes[key] = remote
            return remote

    def close(self) -> None:
        self.http.close()
