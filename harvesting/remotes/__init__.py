"""One module per protocol; `make_remote` picks the module for a harvester type."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping

from harvesting.remotes.base import Remote, RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient

# harvester type -> (module, class)
_REMOTES: dict[str, tuple[str, str]] = {
    "geonode": ("harvesting.remotes.geonode", "GeoNodeRemote"),
    "wms": ("harvesting.remotes.wms", "WmsRemote"),
    "arcgis": ("harvesting.remotes.arcgis", "ArcGisRemote"),
    "csw": ("harvesting.remotes.csw", "CswRemote"),
    "ogcapi-records": ("harvesting.remotes.ogcapi_records", "OgcApiRecordsRemote"),
    "stac": ("harvesting.remotes.stac", "StacRemote"),
}
REMOTE_TYPES = tuple(_REMOTES)

# Bump when any protocol's normalisation changes what a descriptor holds, so
# that the listing's modified time no longer spares re-fetching old records.
MAPPING_VERSION = "1"


def remote_fingerprint(type_: str, url: str, options: Mapping[str, str]) -> str:
    """What a record's content depends on besides the remote itself: the
    harvester's configuration and our mapping."""
    canonical = json.dumps([MAPPING_VERSION, type_, url, dict(options)], sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def fetches_locally(type_: str) -> bool:
    """Whether this type's `fetch` reads a document it already holds (one
    request for the whole catalogue, such as WMS capabilities) rather than
    making a request per resource."""
    module_name, class_name = _REMOTES.get(type_, ("", ""))
    if not module_name:
        return False
    return bool(getattr(getattr(importlib.import_module(module_name), class_name), "FETCHES_LOCALLY", False))


def make_remote(
    type_: str,
    url: str,
    options: Mapping[str, str],
    http: HttpClient,
    *,
    allowed_hosts: list[str] | tuple[str, ...] = (),
    scope: str = "",
) -> Remote:
    """The remote for a harvester, its HTTP confined to the URL's origin and the
    allowed hosts: a remote's links, next pages and redirects can't lead elsewhere."""
    try:
        module_name, class_name = _REMOTES[type_]
    except KeyError:
        raise RemoteError(
            "bad-option", f"unknown harvester type {type_!r} (known: {', '.join(REMOTE_TYPES)})"
        ) from None
    remote_class = getattr(importlib.import_module(module_name), class_name)
    scoped = http.restricted_to(url, allowed_hosts, scope=scope)
    remote: Remote = remote_class(url, RemoteOptions(dict(options)), scoped)
    return remote
