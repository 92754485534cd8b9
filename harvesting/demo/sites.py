"""The demo's remotes, built from the recorded documents in `data/`."""

from __future__ import annotations

import json
from typing import Any

from harvesting.demo.server import LoopbackServer, read_bundled

__all__ = [
    "GEONODE_PREFIX",
    "WMS_DOCUMENTS",
    "WMS_PREFIXES",
    "geonode_captures",
    "start_demo_server",
    "wms_documents",
]

GEONODE_PREFIX = "/geonode"
WMS_PREFIXES = {"mesonet": "/wms/mesonet", "mapserver-small5": "/wms/mapserver"}

_GEONODE_DIR = "geonode/captured-geonode-4.4.5"
# (file, key holding its entries). The /resources pages come first so that a
# resource also seen in a typed listing keeps the /resources serialisation,
# which is what GeoNode's /api/v2/resources listing would have shown.
_GEONODE_LISTINGS = (
    ("resources_page1_size5.json", "resources"),
    ("resources_page206_size5_last.json", "resources"),
    ("datasets_page1_size3.json", "datasets"),
    ("documents_page1_size2.json", "documents"),
    ("maps_page1_size2.json", "maps"),
    ("resources_filter_type_map.json", "resources"),
)
# The typed dataset details come first: for pk 1028 both a dataset and a
# resource detail were recorded, and the dataset one is the richer record (the
# resource one equals its listing entry, which the site serves anyway).
_GEONODE_DETAILS = (
    "dataset_detail_1028.json",
    "dataset_detail_testdata_28.json",
    "resource_detail_1028.json",
)

WMS_DOCUMENTS: dict[str, dict[str, str]] = {
    "mesonet": {
        "1.1.1": "wms/owslib/wms_mesonet-caps.xml",
        "1.3.0": "wms/owslib/wms_mesonet-caps-130.xml",
    },
    "mapserver-small5": {
        "1.1.1": "wms/captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml",
        "1.3.0": "wms/captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_130.xml",
    },
}


def _geonode_json(name: str) -> Any:
    return json.loads(read_bundled(f"{_GEONODE_DIR}/{name}"))


def geonode_captures() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every distinct resource seen in the recorded GeoNode listings, newest
    (highest pk) first as GeoNode orders them, and the recorded details by pk."""
    by_uuid: dict[str, dict[str, Any]] = {}
    for name, key in _GEONODE_LISTINGS:
        for entry in _geonode_json(name)[key]:
            by_uuid.setdefault(entry["uuid"], entry)
    resources = sorted(by_uuid.values(), key=lambda entry: int(entry["pk"]), reverse=True)

    details: dict[str, dict[str, Any]] = {}
    for name in _GEONODE_DETAILS:
        wrapped = _geonode_json(name)
        (detail,) = wrapped.values()
        details.setdefault(str(detail["pk"]), detail)
    return resources, details


def wms_documents(name: str) -> dict[str, bytes]:
    """Recorded capabilities documents by WMS version, for "mesonet" or "mapserver-small5"."""
    try:
        paths = WMS_DOCUMENTS[name]
    except KeyError:
        raise KeyError(f"no recorded WMS {name!r}; known: {sorted(WMS_DOCUMENTS)}") from None
    return {version: read_bundled(path) for version, path in paths.items()}


def start_demo_server(port: int = 0) -> tuple[LoopbackServer, dict[str, str]]:
    """Start a loopback server with the recorded GeoNode and WMS remotes.

    Returns the running server (stop it when done; `server.site(prefix)` gives
    the sites to break on purpose) and the URLs to register harvesters against:
    "geonode" (the site root; its API is under /api/v2/), "wms-mesonet" and
    "wms-mapserver" (WMS endpoints taking the usual query parameters).
    """
    server = LoopbackServer(port)
    resources, details = geonode_captures()
    server.mount_geonode(GEONODE_PREFIX, resources, details)
    for name, prefix in WMS_PREFIXES.items():
        server.mount_wms(prefix, wms_documents(name))
    server.start()
    urls = {
        "geonode": server.url + GEONODE_PREFIX,
        "wms-mesonet": server.url + WMS_PREFIXES["mesonet"],
        "wms-mapserver": server.url + WMS_PREFIXES["mapserver-small5"],
    }
    return server, urls
