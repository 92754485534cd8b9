"""One module per protocol; `make_remote` picks the module for a harvester type."""

from __future__ import annotations

from collections.abc import Mapping

from harvesting.remotes.base import Remote, RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient

REMOTE_TYPES = ("geonode", "wms")


def make_remote(type_: str, url: str, options: Mapping[str, str], http: HttpClient) -> Remote:
    opts = RemoteOptions(dict(options))
    if type_ == "geonode":
        from harvesting.remotes.geonode import GeoNodeRemote

        return GeoNodeRemote(url, opts, http)
    if type_ == "wms":
        from harvesting.remotes.wms import WmsRemote

        return WmsRemote(url, opts, http)
    raise RemoteError("bad-option", f"unknown harvester type {type_!r} (known: {', '.join(REMOTE_TYPES)})")
