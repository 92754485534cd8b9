"""ArcGIS REST services (MapServer, FeatureServer, ImageServer) as a remote.

A resource is one layer or table of a MapServer/FeatureServer, or one
ImageServer (which has no layers). The configured URL is one of:

* a services directory, `…/rest/services` (or one of its folders,
  `…/rest/services/Folder`): folders are walked, and each service is one
  listing page. Remote ids are relative to `…/rest/services`:
  `Folder/Name/MapServer/3`, `Name/FeatureServer/0`, `Folder/Name/ImageServer`.
* one service, `…/Name/MapServer`: a single page. Remote ids are relative to
  the URL's parent, `…/Name`: `MapServer/3`, `ImageServer`.
* one layer, `…/Name/FeatureServer/0`: a single page with that layer,
  remote id `FeatureServer/0`.

In every case `base + "/" + remote_id` is the REST URL of the resource, so an
id says where its document lives without any state. resource_type is
"layer" (group layers included), "table" or "raster" (an ImageServer). Query parameters of the
configured URL (e.g. `token`) are sent with every request but never copied
into links or error messages, where they would leak credentials.

The descriptor is built from the resource's own JSON document alone (the raw
document `reparse` gets back), so service-level fields such as
`documentInfo.Keywords` or `serviceDescription` are read when that document
carries them (ImageServer roots do; layer documents usually don't).

Extents in WGS84 (4326) and Web Mercator (102100/3857) give the lon/lat
bbox; other spatial references keep bbox None (no reprojection library) and
their native extent and wkid in `extra`. Links: the resource's REST URL
(type `ESRI:ArcGIS:MapServer|FeatureServer|ImageServer`) and, for a MapServer
layer or an ImageServer, a PNG `export`/`exportImage` URL of its extent
(type `image`).

Parsing and normalising are pure functions over decoded JSON.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from harvesting.remotes.base import (
    BriefResource,
    FetchedResource,
    ListingPage,
    RemoteError,
    RemoteOptions,
    empty_descriptor,
    finished,
)
from harvesting.remotes.bbox import lonlat_bbox
from harvesting.remotes.http import HttpClient
from harvesting.remotes.values import clean_field, describe_json, load_json
from harvesting.remotes.values import finite_number as _number
from harvesting.remotes.values import integer as _int
from harvesting.remotes.values import text as _text

SERVICE_TYPES = ("MapServer", "FeatureServer", "ImageServer")
_CANONICAL_TYPES = {t.lower(): t for t in SERVICE_TYPES}
# Other ArcGIS service kinds: recognised in a URL only to refuse them clearly.
_OTHER_SERVER_TYPES = frozenset(
    t.lower()
    for t in (
        "GPServer",
        "GeocodeServer",
        "GeometryServer",
        "GeoDataServer",
        "GlobeServer",
        "MobileServer",
        "NAServer",
        "SceneServer",
        "SchematicsServer",
        "StreamServer",
        "VectorTileServer",
        "WFSServer",
        "WMSServer",
        "WCSServer",
        "KmlServer",
    )
)

# ArcGIS Server folders are one level deep. The bounds stop a directory whose
# folders fan out into ever more folders; reaching one fails the listing
# (`listing-bound`) rather than end it looking complete.
MAX_FOLDER_DEPTH = 8
MAX_FOLDERS = 1000

WGS84_WKIDS = frozenset({4326})
WEB_MERCATOR_WKIDS = frozenset({3857, 102100, 102113, 900913, 3785})
# Esri's own codes (102100…) are not EPSG codes; these have an EPSG equivalent.
_ESRI_TO_EPSG = {102100: 3857, 102113: 3857, 900913: 3857, 3785: 3857}
EARTH_RADIUS_M = 6378137.0
# |y| / R beyond this is within 1e-17 degrees of a pole; clamping avoids overflow.
_MAX_MERCATOR_RATIO = 40.0
# The long side of the export (preview image) link.
PREVIEW_SIZE = 512


# --------------------------------------------------------------------------
# Where things are
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the configured URL points at.

    `base` is the URL (no query, no trailing slash) that remote ids are
    relative to; `query` the configured query parameters other than `f`.
    """

    kind: str  # "directory" | "service" | "layer"
    base: str
    query: tuple[tuple[str, str], ...]
    folder: str = ""  # directory: the folder to walk from ("" = the root)
    service_name: str = ""  # service/layer: the service's name, for the descriptor
    service_type: str = ""  # service/layer: MapServer | FeatureServer | ImageServer
    layer_id: int | None = None  # layer: the configured layer

    @property
    def entry_url(self) -> str:
        """The REST URL of what was configured."""
        if self.kind == "directory":
            return f"{self.base}/{quote(self.folder, safe='/')}" if self.folder else self.base
        if self.kind == "layer":
            return f"{self.base}/{self.service_type}/{self.layer_id}"
        return f"{self.base}/{self.service_type}"


@dataclass(frozen=True)
class ServiceRef:
    """A service of a services directory: `name` is its full path ("Folder/Name")."""

    name: str
    type: str

    @property
    def path(self) -> str:
        return f"{self.name}/{self.type}"


@dataclass(frozen=True)
class ResourceId:
    service_name: str  # "" for ids of a single-service remote
    service_type: str
    layer_id: int | None  # None for an ImageServer


@dataclass(frozen=True)
class LayerEntry:
    """A layer or table as listed by a service root."""

    id: int
    name: str
    resource_type: str  # "layer" | "table"


def _shown(url: str) -> str:
    """The URL for messages: its query may hold a token."""
    return url.strip().split("?", 1)[0]


def _split_url(url: str) -> tuple[str, str, list[str], tuple[tuple[str, str], ...]]:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise RemoteError("bad-option", f"URL {_shown(url)!r} is not an http(s) URL")
    segments = [s for s in parts.path.split("/") if s]
    query = tuple((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "f")
    return parts.scheme, parts.netloc, segments, query


def _join(scheme: str, netloc: str, segments: list[str]) -> str:
    path = "/" + "/".join(segments) if segments else ""
    return urlunsplit((scheme, netloc, path, "", ""))


def _rest_services_index(segments: list[str]) -> int | None:
    """Index of the segment after `rest/services`, if the path has them."""
    for i in range(len(segments) - 1):
        if segments[i].lower() == "rest" and segments[i + 1].lower() == "services":
            return i + 2
    return None


def parse_target(url: str) -> Target:
    """Classify the configured URL (see the module docstring)."""
    scheme, netloc, segments, query = _split_url(url)
    after_services = _rest_services_index(segments) or 0
    for i in range(after_services, len(segments)):
        lowered = segments[i].lower()
        if lowered in _OTHER_SERVER_TYPES:
            raise RemoteError(
                "bad-option",
                f"URL {_shown(url)!r} is a {segments[i]}; supported: {', '.join(SERVICE_TYPES)} or a directory",
            )
        if lowered not in _CANONICAL_TYPES:
            continue
        service_type = _CANONICAL_TYPES[lowered]
        rest = segments[i + 1 :]
        # Under `rest/services` the name is the folder path; elsewhere the last segment is all there is.
        named = segments[after_services:i] if after_services else segments[max(0, i - 1) : i]
        name_segments = [unquote(s) for s in named]
        base = _join(scheme, netloc, segments[:i])
        service_name = "/".join(name_segments)
        if not rest:
            return Target("service", base, query, service_name=service_name, service_type=service_type)
        if len(rest) == 1 and _is_layer_number(rest[0]) and service_type != "ImageServer":
            return Target(
                "layer", base, query, service_name=service_name, service_type=service_type, layer_id=int(rest[0])
            )
        raise RemoteError(
            "bad-option",
            f"URL {_shown(url)!r} must end at a service or one of its layers (…/{service_type} or …/{service_type}/0), "
            f"not at …/{service_type}/{'/'.join(rest)}",
        )
    if after_services:
        folder = "/".join(unquote(s) for s in segments[after_services:])
        return Target("directory", _join(scheme, netloc, segments[:after_services]), query, folder=folder)
    # No `rest/services` (a proxy or a rewritten path): take the URL as the directory root.
    return Target("directory", _join(scheme, netloc, segments), query)


def _is_layer_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and str(int(text)) == text


def with_query(url: str, query: tuple[tuple[str, str], ...]) -> str:
    """`url?…&f=json`: httpx would replace an existing query, so it is built here."""
    return f"{url}?{urlencode([*query, ('f', 'json')])}"


_BAD_ID_CHARACTERS = re.compile(r"[?#\\\x00-\x1f\x7f]")


def parse_remote_id(remote_id: str, target: Target) -> ResourceId:
    """The parts of a remote id, checked against what this remote can have produced."""

    def refuse(why: str) -> RemoteError:
        return RemoteError("not-found", f"{remote_id!r} is not a resource of {target.entry_url}: {why}")

    segments = remote_id.split("/")
    if _BAD_ID_CHARACTERS.search(remote_id) or any(s in ("", ".", "..") for s in segments):
        raise refuse("malformed identifier")
    layer_id: int | None = None
    if _is_layer_number(segments[-1]):
        layer_id = int(segments[-1])
        segments = segments[:-1]
    if not segments or segments[-1] not in SERVICE_TYPES:
        raise refuse(f"no service type ({', '.join(SERVICE_TYPES)}) where expected")
    service_type, name = segments[-1], "/".join(segments[:-1])
    if (service_type == "ImageServer") != (layer_id is None):
        raise refuse("an ImageServer has no layer number, a MapServer/FeatureServer layer needs one")
    if target.kind == "directory":
        if not name:
            raise refuse("no service name")
    elif name or service_type != target.service_type:
        raise refuse(f"ids of this remote are {target.service_type}[/layer]")
    elif target.kind == "layer" and layer_id != target.layer_id:
        raise refuse(f"this remote has only layer {target.layer_id}")
    return ResourceId(service_name=name, service_type=service_type, layer_id=layer_id)


def resource_url(target: Target, remote_id: str) -> str:
    return f"{target.base}/{quote(remote_id, safe='/')}"


def service_url(target: Target, rid: ResourceId) -> str:
    if rid.service_name:
        return f"{target.base}/{quote(rid.service_name, safe='/')}/{rid.service_type}"
    return f"{target.base}/{rid.service_type}"


# --------------------------------------------------------------------------
# Pure parsing
# --------------------------------------------------------------------------


def _keys(data: Any) -> str:
    """A short account of what a JSON document holds, for error messages."""
    if not isinstance(data, dict):
        return type(data).__name__
    keys = sorted(clean_field(k, 40) for k in data)
    shown = ", ".join(keys[:8]) or "none"
    return f"{shown} and {len(keys) - 8} more" if len(keys) > 8 else shown


def _scalar(value: Any) -> str:
    # Error fields are strings or numbers; a nested value is not quoted at all.
    return "" if isinstance(value, (dict, list)) else str(value)


def raise_for_error(data: Any, where: str) -> None:
    """ArcGIS Server and Koop answer errors with HTTP 200 and `{"error": {…}}`;
    its code, message and details are quoted, cleaned and cut."""
    if not isinstance(data, dict) or data.get("error") is None:
        return
    error = data["error"]
    if not isinstance(error, dict):
        raise RemoteError("exception-report", f"{where}: ArcGIS error: {clean_field(_scalar(error))}")
    code = error.get("code")
    shown_code = clean_field(_scalar(code), 20) if code is not None else ""
    message = clean_field(_scalar(error.get("message") or ""), 1000) or "no message"
    details = error.get("details")
    extra = [clean_field(_scalar(d), 1000) for d in details] if isinstance(details, list) else []
    extra = [d for d in dict.fromkeys(extra) if d and d != message]
    quoted = clean_field(f"{message} ({'; '.join(extra)})" if extra else message)
    prefix = f"{where}: ArcGIS error {shown_code}" if shown_code else f"{where}: ArcGIS error"
    # A 404 code is the server saying the service or layer is gone.
    kind = "not-found" if str(code) == "404" else "exception-report"
    raise RemoteError(kind, f"{prefix}: {quoted}")


def read_json(body: bytes, where: str, content_type: str = "") -> Any:
    data = load_json(body, where, content_type)
    raise_for_error(data, where)
    return data


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteError("parse-error", f"{where}: '{key}' is not a list of names")
    return [v.strip() for v in value if v.strip()]


def folder_path(name: str) -> str:
    """A folder or service path in one spelling: no empty or `.` segments,
    `..` resolved (never above the directory root)."""
    segments: list[str] = []
    for segment in name.strip().split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/".join(segments)


def _sub_folder(name: str, folder: str) -> str | None:
    """The full path of a folder listed in `folder`, or None when the entry
    names `folder` itself or one of its ancestors (a directory listing itself
    as `A`, `A/` or `/A`, or its parent, is a loop, not a sub-folder)."""
    path = folder_path(name)
    if not path or path == folder or folder.startswith(f"{path}/"):
        return None
    prefix = f"{folder}/" if folder else ""
    return path if path.startswith(prefix) else prefix + path


def parse_directory(data: Any, folder: str, where: str) -> tuple[list[str], list[ServiceRef]]:
    """Sub-folders (full paths, each once) and services of one services-directory document.

    Service names are full paths ("Folder/Name") in ArcGIS Server; a bare name
    inside a folder is taken as relative to it.
    """
    if not isinstance(data, dict) or ("services" not in data and "folders" not in data):
        raise RemoteError(
            "parse-error",
            f"{where}: answered with {describe_json(data)}, not an ArcGIS services directory "
            f"(no 'services'; keys: {_keys(data)})",
        )
    folder = folder_path(folder)
    prefix = f"{folder}/" if folder else ""
    listed = (_sub_folder(f, folder) for f in _str_list(data.get("folders"), "folders", where))
    folders = list(dict.fromkeys(f for f in listed if f is not None))
    services: list[ServiceRef] = []
    raw_services = data.get("services")
    if raw_services is not None and not isinstance(raw_services, list):
        raise RemoteError("parse-error", f"{where}: 'services' is not a list")
    for i, entry in enumerate(raw_services or []):
        name = entry.get("name") if isinstance(entry, dict) else None
        type_ = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip() or not isinstance(type_, str):
            raise RemoteError("parse-error", f"{where}: services[{i}] has no name and type")
        name = folder_path(name)
        services.append(ServiceRef(name if name.startswith(prefix) else prefix + name, type_.strip()))
    return folders, services


def _layer_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def parse_service_layers(data: Any, where: str) -> list[LayerEntry]:
    """Layers, then tables, of a MapServer or FeatureServer root document."""
    if not isinstance(data, dict) or ("layers" not in data and "tables" not in data):
        raise RemoteError("parse-error", f"{where}: not an ArcGIS service root (no 'layers'; keys: {_keys(data)})")
    entries: list[LayerEntry] = []
    for key, resource_type in (("layers", "layer"), ("tables", "table")):
        raw = data.get(key)
        if raw is None:
            continue
        if not isinstance(raw, list):
            raise RemoteError("parse-error", f"{where}: '{key}' is not a list")
        for i, item in enumerate(raw):
            layer_id = _layer_id(item.get("id")) if isinstance(item, dict) else None
            if layer_id is None or not isinstance(item, dict):
                raise RemoteError("parse-error", f"{where}: {key}[{i}] has no layer id")
            name = item.get("name")
            entries.append(LayerEntry(layer_id, name.strip() if isinstance(name, str) else "", resource_type))
    return entries


def brief_of(descriptor: dict[str, Any]) -> BriefResource:
    return BriefResource(
        remote_id=descriptor["identifier"],
        title=descriptor["title"],
        resource_type=descriptor["resource_type"],
        # lastEditDate dates the features, not the layer's metadata: never a
        # reason to skip fetching the (small) layer document.
        modified=None,
    )


def service_resources(target: Target, prefix: str, service_type: str, data: Any, where: str) -> list[BriefResource]:
    """Every resource of one service root document; `prefix` is the id of the
    service ("Folder/Name/MapServer", or "MapServer" for a single service)."""
    if service_type == "ImageServer":
        # The service is the resource: its root document is what fetch gets too.
        return [brief_of(describe(data, prefix, target, where))]
    return [
        BriefResource(remote_id=f"{prefix}/{e.id}", title=e.name or f"{prefix}/{e.id}", resource_type=e.resource_type)
        for e in parse_service_layers(data, where)
    ]


def filter_resources(resources: list[BriefResource], layer_filter: str | None) -> list[BriefResource]:
    if not layer_filter:
        return resources
    needle = layer_filter.casefold()
    return [r for r in resources if needle in r.title.casefold()]


# --- descriptor ------------------------------------------------------------


def iso_from_epoch_ms(value: Any) -> str | None:
    """ArcGIS dates (milliseconds since 1970, UTC) as ISO 8601 with a Z."""
    ms = _number(value) if not isinstance(value, str) else None
    if ms is None:
        return None
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    timespec = "seconds" if ms % 1000 == 0 else "milliseconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


@dataclass(frozen=True)
class NativeExtent:
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    wkid: int | None
    latest_wkid: int | None

    def as_dict(self) -> dict[str, float]:
        return {"xmin": self.xmin, "ymin": self.ymin, "xmax": self.xmax, "ymax": self.ymax}


def parse_extent(extent: Any, fallback_sr: Any = None) -> NativeExtent | None:
    """An Esri envelope; ArcGIS writes "NaN" (or nothing) for empty layers."""
    if not isinstance(extent, dict):
        return None
    values = [_number(extent.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
    if any(v is None for v in values):
        return None
    xmin, ymin, xmax, ymax = (v for v in values if v is not None)
    sr = extent.get("spatialReference")
    if not isinstance(sr, dict):
        sr = fallback_sr if isinstance(fallback_sr, dict) else {}
    return NativeExtent(xmin, ymin, xmax, ymax, _int(sr.get("wkid")), _int(sr.get("latestWkid")))


def web_mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Inverse spherical (Web) Mercator, EPSG:3857 metres to degrees."""
    lon = math.degrees(max(-math.pi, min(math.pi, x / EARTH_RADIUS_M)))
    ratio = max(-_MAX_MERCATOR_RATIO, min(_MAX_MERCATOR_RATIO, y / EARTH_RADIUS_M))
    lat = math.degrees(2 * math.atan(math.exp(ratio)) - math.pi / 2)
    return lon, lat


def _codes(extent: NativeExtent) -> set[int]:
    return {c for c in (extent.wkid, extent.latest_wkid) if c is not None}


def bbox_from_extent(extent: NativeExtent | None) -> list[float] | None:
    """[west, south, east, north] in lon/lat from a WGS84 or Web Mercator
    extent; None for other spatial references (no reprojection library here)."""
    if extent is None:
        return None
    codes = _codes(extent)
    if codes & WGS84_WKIDS:
        west, south, east, north = extent.xmin, extent.ymin, extent.xmax, extent.ymax
    elif codes & WEB_MERCATOR_WKIDS:
        west, south = web_mercator_to_lonlat(extent.xmin, extent.ymin)
        east, north = web_mercator_to_lonlat(extent.xmax, extent.ymax)
        west, south, east, north = (round(v, 8) for v in (west, south, east, north))
    else:
        return None
    return lonlat_bbox(west, south, east, north)


def crs_of(extent: NativeExtent | None) -> str | None:
    if extent is None:
        return None
    code = extent.latest_wkid or extent.wkid
    if code is None:
        return None
    code = _ESRI_TO_EPSG.get(code, code)
    # Esri's own codes live from 53000 up and in 102xxx/103xxx; they are not EPSG codes.
    return f"ESRI:{code}" if 53000 <= code < 60000 or code >= 100000 else f"EPSG:{code}"


def _fields(value: Any) -> list[dict[str, str | None]]:
    if not isinstance(value, list):
        return []
    return [
        {"name": item["name"], "type": _text(item.get("type")) or None, "alias": _text(item.get("alias")) or None}
        for item in value
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def _keywords(data: dict[str, Any]) -> list[str]:
    info = data.get("documentInfo")
    raw = info.get("Keywords") if isinstance(info, dict) else None
    if not isinstance(raw, str):
        return []
    return list(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))


def _contacts(data: dict[str, Any]) -> list[dict[str, Any]]:
    info = data.get("documentInfo")
    author = _text(info.get("Author")) if isinstance(info, dict) else ""
    return [{"role": "author", "name": author}] if author else []


def _temporal_extent(data: dict[str, Any]) -> list[str | None] | None:
    info = data.get("timeInfo")
    span = info.get("timeExtent") if isinstance(info, dict) else None
    if not isinstance(span, list) or len(span) != 2:
        return None
    start, end = iso_from_epoch_ms(span[0]), iso_from_epoch_ms(span[1])
    return [start, end] if start or end else None


def last_edit(data: dict[str, Any]) -> str | None:
    info = data.get("editingInfo")
    if not isinstance(info, dict):
        return None
    return iso_from_epoch_ms(info.get("lastEditDate")) or iso_from_epoch_ms(info.get("dataLastEditDate"))


def _plain(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _preview_size(extent: NativeExtent) -> str:
    width, height = extent.xmax - extent.xmin, extent.ymax - extent.ymin
    if width <= 0 or height <= 0:
        return f"{PREVIEW_SIZE},{PREVIEW_SIZE}"
    if width >= height:
        return f"{PREVIEW_SIZE},{max(1, round(PREVIEW_SIZE * height / width))}"
    return f"{max(1, round(PREVIEW_SIZE * width / height))},{PREVIEW_SIZE}"


def export_link(service: str, service_type: str, layer_id: int | None, extent: NativeExtent | None) -> str | None:
    """A PNG of the whole resource: MapServer `export`, ImageServer `exportImage`."""
    if extent is None or service_type == "FeatureServer":
        return None
    params = {"bbox": ",".join(_plain(v) for v in (extent.xmin, extent.ymin, extent.xmax, extent.ymax))}
    code = extent.wkid or extent.latest_wkid
    if code is not None:
        params["bboxSR"] = str(code)
    if service_type == "MapServer":
        params["layers"] = f"show:{layer_id}"
    params.update({"size": _preview_size(extent), "format": "png", "transparent": "true", "f": "image"})
    operation = "export" if service_type == "MapServer" else "exportImage"
    return f"{service}/{operation}?{urlencode(params, safe=':,')}"


def check_resource_document(data: Any, rid: ResourceId, where: str) -> dict[str, Any]:
    """The document must describe the asked-for layer (or ImageServer)."""
    if not isinstance(data, dict):
        raise RemoteError("parse-error", f"{where}: JSON is not an object")
    if rid.layer_id is None:
        if not any(key in data for key in ("name", "extent", "fullExtent", "serviceDescription", "pixelType")):
            raise RemoteError("parse-error", f"{where}: not an ArcGIS ImageServer document (keys: {_keys(data)})")
        return data
    keys = _keys(data)
    if "id" not in data and "name" not in data:
        if "layers" in data:
            raise RemoteError(
                "parse-error", f"{where}: expected layer {rid.layer_id}, got a service root (keys: {keys})"
            )
        raise RemoteError("parse-error", f"{where}: not an ArcGIS layer document (no id or name; keys: {keys})")
    got = data.get("id")
    if got is not None and _layer_id(got) != rid.layer_id and str(got) != str(rid.layer_id):
        raise RemoteError("parse-error", f"{where}: asked for layer {rid.layer_id}, the document is layer {got!r}")
    return data


def _resource_type(data: dict[str, Any], rid: ResourceId) -> str:
    if rid.layer_id is None:
        return "raster"
    return "table" if _text(data.get("type")).lower() == "table" else "layer"


def _parent_layer(data: dict[str, Any]) -> dict[str, Any] | None:
    parent = data.get("parentLayer")
    if not isinstance(parent, dict) or _layer_id(parent.get("id")) is None:
        return None
    return {"id": parent["id"], "name": _text(parent.get("name"))}


def _sub_layers(data: dict[str, Any]) -> list[int]:
    subs = data.get("subLayers")
    if not isinstance(subs, list):
        return []
    ids = (_layer_id(s.get("id")) if isinstance(s, dict) else None for s in subs)
    return [i for i in ids if i is not None]


def build_descriptor(
    data: dict[str, Any], remote_id: str, rid: ResourceId, *, service_name: str, service: str, url: str
) -> dict[str, Any]:
    """The normalised descriptor of a layer (or ImageServer) document.

    `service` is the service's REST URL and `url` the resource's.
    """
    extent_value = data.get("extent")
    if rid.layer_id is None and not isinstance(extent_value, dict):
        extent_value = data.get("fullExtent") or data.get("initialExtent")
    extent = parse_extent(extent_value, data.get("spatialReference"))
    name = _text(data.get("name"))
    title = name or (service_name.rsplit("/", 1)[-1] if rid.layer_id is None else "") or remote_id
    modified = last_edit(data)

    d = empty_descriptor(remote_id)
    d["title"] = title
    d["abstract"] = _text(data.get("description")) or _text(data.get("serviceDescription"))
    d["keywords"] = _keywords(data)
    d["bbox"] = bbox_from_extent(extent)
    d["crs"] = crs_of(extent)
    d["temporal_extent"] = _temporal_extent(data)
    d["resource_type"] = _resource_type(data, rid)
    links: list[dict[str, Any]] = [{"type": f"ESRI:ArcGIS:{rid.service_type}", "url": url, "name": title}]
    export = export_link(service, rid.service_type, rid.layer_id, extent)
    if export is not None:
        links.append({"type": "image", "url": export, "name": "export", "mime": "image/png"})
    d["links"] = links
    d["contacts"] = _contacts(data)
    d["license"] = _text(data.get("copyrightText")) or _text(data.get("licenseInfo")) or None
    d["dates"] = {"modified": modified} if modified else {}
    d["extra"] = {
        "service_name": service_name,
        "service_type": rid.service_type,
        "layer_id": rid.layer_id,
        "layer_type": _text(data.get("type")) or None,
        "geometry_type": _text(data.get("geometryType")) or None,
        "fields": _fields(data.get("fields")),
        "wkid": extent.wkid if extent else None,
        "latest_wkid": extent.latest_wkid if extent else None,
        "extent": extent.as_dict() if extent else None,
        "max_record_count": _int(data.get("maxRecordCount")),
        "current_version": _number(data.get("currentVersion")),
        "capabilities": _text(data.get("capabilities")) or None,
        "parent_layer": _parent_layer(data),
        "sub_layers": _sub_layers(data),
    }
    return d


def describe(data: Any, remote_id: str, target: Target, where: str) -> dict[str, Any]:
    """The descriptor of `remote_id` from its decoded JSON document."""
    rid = parse_remote_id(remote_id, target)
    raise_for_error(data, where)
    document = check_resource_document(data, rid, where)
    return build_descriptor(
        document,
        remote_id,
        rid,
        service_name=rid.service_name or target.service_name,
        service=service_url(target, rid),
        url=resource_url(target, remote_id),
    )


# --------------------------------------------------------------------------
# The remote
# --------------------------------------------------------------------------


def _service_types(options: RemoteOptions) -> tuple[str, ...]:
    wanted = options.get_list("service_types")
    if not wanted:
        return SERVICE_TYPES
    unknown = [t for t in wanted if t.lower() not in _CANONICAL_TYPES]
    if unknown:
        raise RemoteError(
            "bad-option", f"option service_types: unknown {', '.join(unknown)} (known: {', '.join(SERVICE_TYPES)})"
        )
    return tuple(dict.fromkeys(_CANONICAL_TYPES[t.lower()] for t in wanted))


class ArcGisRemote:
    """An ArcGIS REST services directory, service or layer (see the module docstring).

    Options: service_types (comma list, default MapServer,FeatureServer,ImageServer),
    services (comma list of service names such as `Folder/Name` or
    `Folder/Name/MapServer`, case-insensitive; directory URLs only),
    layer_filter (case-insensitive substring of the layer name).
    """

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.target = parse_target(url)
        self.http = http
        self.service_types = _service_types(options)
        self.services = frozenset(s.strip("/").lower() for s in options.get_list("services"))
        if self.services and self.target.kind != "directory":
            raise RemoteError(
                "bad-option", "option services only applies to a services directory URL (…/rest/services)"
            )
        if self.target.kind != "directory" and self.target.service_type not in self.service_types:
            raise RemoteError(
                "bad-option",
                f"the URL is a {self.target.service_type}, which option service_types="
                f"{','.join(self.service_types)} leaves out",
            )
        self.layer_filter = (options.get("layer_filter") or "").strip() or None
        # The services found by the last walk of the directory; the listing's
        # cursor is an index into it. Several threads may list and fetch.
        self._lock = threading.Lock()
        self._discovered: list[ServiceRef] | None = None

    # -- HTTP ---------------------------------------------------------------

    def _get(self, url: str, *, gone_is_not_found: bool = False) -> tuple[bytes, Any, str]:
        """(body, decoded JSON, where) of `url?f=json`; `where` names the URL without its query."""
        where = f"GET {url}"
        response = self.http.get(with_query(url, self.target.query), accept_status=(404,) if gone_is_not_found else ())
        if response.status == 404:
            raise RemoteError("not-found", f"{where}: HTTP 404, the resource is gone")
        return response.body, read_json(response.body, where, response.content_type), where

    # -- contract -----------------------------------------------------------

    def check_availability(self) -> bool:
        """True when the configured URL answers as an ArcGIS services
        directory, service or layer; otherwise raises the RemoteError saying why."""
        _, data, where = self._get(self.target.entry_url)
        if self.target.kind == "directory":
            parse_directory(data, self.target.folder, where)
        elif not isinstance(data, dict):
            found = describe_json(data)
            raise RemoteError("parse-error", f"{where}: answered with {found}, not an ArcGIS REST document")
        return True

    def list_resources(self, cursor: str | None) -> ListingPage:
        if self.target.kind == "directory":
            return self._list_directory(cursor)
        if cursor is not None:
            raise RemoteError("bad-option", f"cursor {cursor!r}: a single ArcGIS service is listed in one page")
        _, data, where = self._get(self.target.entry_url)
        if self.target.kind == "layer":
            remote_id = f"{self.target.service_type}/{self.target.layer_id}"
            everything = [brief_of(describe(data, remote_id, self.target, where))]
        else:
            prefix = self.target.service_type
            everything = service_resources(self.target, prefix, prefix, data, where)
        resources = filter_resources(everything, self.layer_filter)
        return ListingPage(resources=resources, next_cursor=None, total=len(resources), raw_count=len(everything))

    def fetch(self, remote_id: str) -> FetchedResource:
        parse_remote_id(remote_id, self.target)  # refuse foreign ids before any request
        body, data, where = self._get(resource_url(self.target, remote_id), gone_is_not_found=True)
        return self._finished(data, body, remote_id, where)

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        where = f"stored document of {remote_id}"
        return self._finished(read_json(raw, where), raw, remote_id, where)

    # -- internals ----------------------------------------------------------

    def _finished(self, data: Any, raw: bytes, remote_id: str, where: str) -> FetchedResource:
        descriptor = describe(data, remote_id, self.target, where)
        return finished(descriptor, raw, modified=descriptor["dates"].get("modified"))

    def _wanted(self, service: ServiceRef) -> bool:
        if service.type not in self.service_types:
            return False
        return not self.services or bool({service.name.lower(), service.path.lower()} & self.services)

    def discover(self) -> list[ServiceRef]:
        """Every wanted service under the configured folder, walking sub-folders depth first."""
        found: list[ServiceRef] = []
        seen_services: set[ServiceRef] = set()
        start = folder_path(self.target.folder)
        # Folders queued or walked: each folder's URL is asked once per walk.
        known: set[str] = {start}
        pending: list[tuple[str, int]] = [(start, 0)]
        while pending:
            folder, depth = pending.pop()
            url = f"{self.target.base}/{quote(folder, safe='/')}" if folder else self.target.base
            _, data, where = self._get(url)
            folders, services = parse_directory(data, folder, where)
            for service in services:
                # Services of an unsupported type are part of any real directory (GPServer, GeometryServer…).
                # A service listed twice is one URL: listed once.
                if service not in seen_services and self._wanted(service):
                    seen_services.add(service)
                    found.append(service)
            new = [sub for sub in folders if sub not in known]
            if new and depth >= MAX_FOLDER_DEPTH:
                raise RemoteError(
                    "listing-bound",
                    f"{where}: folders nest deeper than {MAX_FOLDER_DEPTH} levels; "
                    "the services directory cannot be walked to its end",
                )
            if len(known) + len(new) > MAX_FOLDERS:
                raise RemoteError(
                    "listing-bound",
                    f"{where}: more than {MAX_FOLDERS} folders; the services directory cannot be walked to its end",
                )
            known.update(new)
            pending.extend((sub, depth + 1) for sub in reversed(new))
        return found

    def _services_for(self, cursor: str | None) -> list[ServiceRef]:
        with self._lock:
            cached = self._discovered
        if cursor is not None and cached is not None:
            return cached
        # A new listing, or a listing resumed by a process that has not walked the directory yet.
        services = self.discover()
        with self._lock:
            self._discovered = services
        return services

    def _list_directory(self, cursor: str | None) -> ListingPage:
        services = self._services_for(cursor)
        if not services and cursor is None:
            return ListingPage(resources=[], next_cursor=None, total=0)
        index = 0
        if cursor is not None:
            # The cursor names the next service, not its index: a service deleted
            # ahead of it while we list would otherwise shift the rest by one.
            paths = [service.path for service in services]
            if cursor not in paths:
                raise RemoteError(
                    "not-found",
                    f"service {cursor!r}, where the listing was to go on, is no longer in {self.target.entry_url}: "
                    "the services directory changed while it was listed",
                )
            index = paths.index(cursor)
        # A service with no (wanted) layers would be an empty page, which the
        # lister rightly takes for a broken listing: go on to the next service.
        resources: list[BriefResource] = []
        raw_count = 0
        while True:
            service = services[index]
            url = f"{self.target.base}/{quote(service.name, safe='/')}/{service.type}"
            _, data, where = self._get(url)
            everything = service_resources(self.target, service.path, service.type, data, where)
            resources = filter_resources(everything, self.layer_filter)
            raw_count += len(everything)
            index += 1
            if resources or index >= len(services):
                break
        next_cursor = services[index].path if index < len(services) else None
        return ListingPage(resources=resources, next_cursor=next_cursor, raw_count=raw_count)
