"""OGC Web Map Service remote: every named layer of a GetCapabilities document.

A WMS has no per-layer metadata request, so one GetCapabilities document
describes every layer. Parsing it is a pure function (`parse_capabilities`),
and `WmsRemote` caches the parsed result so a harvest of N layers costs one
request, not N.
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # no stubs shipped

from harvesting.remotes.base import (
    BriefResource,
    FetchedResource,
    ListingPage,
    RemoteError,
    RemoteOptions,
    empty_descriptor,
    finished,
    local_disk_error,
)
from harvesting.remotes.bbox import lonlat_bbox
from harvesting.remotes.http import HttpClient
from harvesting.remotes.spool import Spool, SpooledBody
from harvesting.remotes.xml import (
    XLINK_HREF,
    children,
    describe_root,
    find,
    find_all,
    find_text,
    iter_xml,
    local_name,
    one_line,
    parse_xml,
    raise_for_exception_report,
    text_of,
)

SUPPORTED_VERSIONS = ("1.1.1", "1.3.0")
DEFAULT_VERSION = "1.3.0"
DEFAULT_CACHE_SECONDS = 300
# Layers per listing page (the document is fetched once; pages bound the events).
DEFAULT_PAGE_SIZE = 10_000
_LAYER = "{*}Layer"
# The long side of the preview image in the GetMap link; big enough to look at,
# small enough that following the link is cheap for the server.
PREVIEW_SIZE = 512
WORLD = [-180.0, -90.0, 180.0, 90.0]

# Root element name -> the version it implies when the version attribute is missing.
_ROOTS = {"WMT_MS_Capabilities": "1.1.1", "WMS_Capabilities": "1.3.0"}


@dataclass(frozen=True)
class WmsStyle:
    name: str
    title: str


@dataclass
class WmsLayer:
    """One named layer with everything inherited from its ancestors resolved."""

    name: str
    title: str
    abstract: str
    keywords: list[str]
    crs_list: list[str]
    # [west, south, east, north] in lon/lat (`bbox.lonlat_bbox`), or None when the server gives no usable box.
    bbox: list[float] | None
    # CRS as written -> [minx, miny, maxx, maxy] in that CRS's own axis order (as the server wrote it).
    bounding_boxes: dict[str, list[float]]
    styles: list[WmsStyle]
    queryable: bool
    metadata_urls: list[dict[str, str]]
    parent_layers: list[str]
    time_extent: str | None
    raw: bytes
    # The same box in lon/lat as the server wrote it (0..360, overshoots): what
    # a GetMap to that server asks for, where `bbox` could cross the antimeridian.
    written_bbox: list[float] | None = None


@dataclass
class Capabilities:
    url: str
    version: str
    title: str
    getmap_url: str | None
    getmap_formats: list[str]
    contacts: list[dict[str, str | None]]
    access_constraints: str | None
    fees: str | None
    layers: list[WmsLayer]
    # The whole document is each layer's raw document: a layer fragment alone
    # lacks what it inherits, and a content-addressed store keeps it once.
    body: bytes | SpooledBody = b""
    # Where the layers are when they were parsed into a spool (`layers` is then empty).
    spool: Spool[WmsLayer] | None = None
    _by_name: dict[str, WmsLayer] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for layer in self.layers:
            self._by_name.setdefault(layer.name, layer)

    def layer(self, name: str) -> WmsLayer | None:
        if self.spool is not None:
            return self.spool.get(name)
        return self._by_name.get(name)

    def layer_names(self) -> list[str]:
        """Each named layer once, in document order (the first of a repeated name)."""
        if self.spool is not None:
            return self.spool.keys()
        return list(self._by_name)


@dataclass
class _Inherited:
    """What a nested layer takes from its parent (WMS 1.3.0 table 7, same in 1.1.1)."""

    crs: list[str] = field(default_factory=list)  # additive
    geographic_bbox: tuple[list[float], list[float]] | None = None  # replaced; (lon/lat, as written)
    bounding_boxes: dict[str, list[float]] = field(default_factory=dict)  # replaced per CRS
    styles: list[WmsStyle] = field(default_factory=list)  # additive
    queryable: bool = False  # attribute, replaced when the child sets it
    time_extent: str | None = None  # replaced
    parents: list[str] = field(default_factory=list)


# --- pure parsing -------------------------------------------------------------------------


def parse_capabilities(
    body: bytes | SpooledBody,
    url: str,
    content_type: str = "",
    *,
    fragments: bool = True,
    spool: Spool[WmsLayer] | None = None,
) -> Capabilities:
    """Parse a WMS 1.1.1 or 1.3.0 GetCapabilities document.

    Read as a stream: each layer is taken as soon as its own elements are read
    (the schema puts nested layers last) and its element is then freed, so a
    document of 100,000 layers never sits in memory as a tree.

    With `fragments=False` layers carry no XML fragment of their own (the
    remote keeps the whole document as every layer's raw document, and
    serialising a fragment per layer cost a fifth of the parse).

    With `spool`, layers go there as they are parsed instead of into a list:
    a harvest holds 100,000 layers on disk, not in memory.

    Raises RemoteError('exception-report', ...) for an OGC exception document
    (servers send those with HTTP 200) and RemoteError('parse-error', ...) for
    anything that is not a WMS capabilities document.
    """
    root_name = _root_name(body, url, content_type)
    layers: list[WmsLayer] = []
    keep: Callable[[WmsLayer], None] = layers.append if spool is None else (lambda layer: spool.add(layer.name, layer))
    open_layers: list[_OpenLayer] = []
    root: Any = None
    version = ""
    for event, el in iter_xml(body, url, content_type, tag=_LAYER):
        if root is None:
            root = el.getroottree().getroot()
            version = (root.get("version") or "").strip() or _ROOTS[root_name]
        if event == "start":
            if local_name(el.getparent()) not in ("Capability", "Layer"):
                continue
            inherited = _Inherited()
            if open_layers:
                # The parent's own elements are all read by now: take it.
                inherited = open_layers[-1].take(version, keep, fragments)
            open_layers.append(_OpenLayer(el, inherited))
        elif open_layers and open_layers[-1].element is el:
            open_layers.pop().take(version, keep, fragments)
            _let_go(el)
    if root is None:
        # Not a single layer: a small document, read whole.
        root = parse_xml(_whole(body), url, content_type)
        version = (root.get("version") or "").strip() or _ROOTS[root_name]

    capability = find(root, "Capability")
    if capability is None:
        raise RemoteError("parse-error", f"{url}: WMS capabilities without a Capability section")

    getmap = find(capability, "Request", "GetMap")
    getmap_url = None
    getmap_formats: list[str] = []
    if getmap is not None:
        getmap_formats = [text_of(f) for f in children(getmap, "Format") if text_of(f)]
        for resource in find_all(getmap, "DCPType", "HTTP", "Get", "OnlineResource"):
            href = (resource.get(XLINK_HREF) or "").strip()
            if href:
                # Absolute hrefs stay verbatim: urljoin would drop MapServer's bare trailing "?".
                getmap_url = href if urlsplit(href).scheme else urljoin(url, href)
                break

    service = find(root, "Service")
    return Capabilities(
        url=url,
        version=version,
        title=(find_text(service, "Title") or "") if service is not None else "",
        getmap_url=getmap_url,
        getmap_formats=getmap_formats,
        contacts=_contacts(service),
        access_constraints=find_text(service, "AccessConstraints") if service is not None else None,
        fees=find_text(service, "Fees") if service is not None else None,
        layers=layers,
        body=body,
        spool=spool,
    )


def check_capabilities(body: bytes | SpooledBody, url: str, content_type: str = "") -> None:
    """Returns when the document is well-formed WMS capabilities; raises the
    RemoteError saying what it is otherwise. Streamed, and no layer is kept:
    an availability check of a 100 MB document costs one pass, not a tree."""
    _root_name(body, url, content_type)
    for event, el in iter_xml(body, url, content_type, tag=_LAYER):
        if event == "end":
            _let_go(el)


def _let_go(layer: Any) -> None:
    """Frees a layer whose end was read. It is emptied, not removed: libxml2
    may still point at an element whose end it just reported (removing it
    crashes the parser). The emptied layers before it in a parent layer go:
    a parent has been read by the time its first nested layer starts, so none
    of its earlier children is needed again, and 100,000 empty elements kept
    10 MB."""
    layer.clear(keep_tail=True)
    parent = layer.getparent()
    if parent is not None and local_name(parent) == "Layer":
        while layer.getprevious() is not None:
            del parent[0]


def _whole(body: bytes | SpooledBody) -> bytes:
    return body if isinstance(body, bytes) else body.read_all()


def _root_name(body: bytes | SpooledBody, url: str, content_type: str) -> str:
    """The root's local name when it is WMS capabilities; the RemoteError
    saying what the document is otherwise."""
    for _, el in iter_xml(body, url, content_type):
        name = local_name(el)
        if name in _ROOTS:
            return name
        break
    # Anything else is small (an exception report, an HTML page): read it whole for the message.
    root = parse_xml(_whole(body), url, content_type)
    raise_for_exception_report(root, url)
    raise RemoteError("parse-error", f"{url}: answered with {describe_root(root)}, not a WMS capabilities document")


@dataclass
class _OpenLayer:
    """A layer whose start was read: taken (made a WmsLayer, if named) when its
    first nested layer starts or when it ends, whichever comes first."""

    element: Any
    inherited: _Inherited
    below: _Inherited | None = None

    def take(self, version: str, keep: Callable[[WmsLayer], None], fragments: bool) -> _Inherited:
        if self.below is None:
            self.below = _take_layer(self.element, self.inherited, version, keep, fragments)
        return self.below


def _take_layer(
    el: Any, inherited: _Inherited, version: str, keep: Callable[[WmsLayer], None], fragments: bool
) -> _Inherited:
    """Keeps the layer (if named); returns what its nested layers inherit."""
    name = find_text(el, "Name")
    title = find_text(el, "Title") or name or ""

    crs = list(inherited.crs)
    for crs_el in [*children(el, "CRS"), *children(el, "SRS")]:
        # WMS 1.0.0 and some 1.1.x servers put several codes in one element.
        for code in text_of(crs_el).split():
            if code not in crs:
                crs.append(code)

    own_geographic = _lonlat_pair(_geographic_bbox(el))
    # A box that is no lon/lat box is no box: the layer inherits its parent's.
    geographic = own_geographic if own_geographic is not None else inherited.geographic_bbox
    bounding_boxes = {**inherited.bounding_boxes, **_bounding_boxes(el)}

    styles = list(inherited.styles)
    known_styles = {s.name for s in styles}
    for style_el in children(el, "Style"):
        style_name = find_text(style_el, "Name") or ""
        if style_name and style_name not in known_styles:
            styles.append(WmsStyle(name=style_name, title=find_text(style_el, "Title") or style_name))
            known_styles.add(style_name)

    queryable_attr = el.get("queryable")
    queryable = inherited.queryable if queryable_attr is None else queryable_attr.strip() in ("1", "true")

    time_extent = _time_extent(el) or inherited.time_extent

    if name:
        found = geographic if geographic is not None else _bbox_from_bounding_boxes(bounding_boxes, version)
        bbox, written = found if found is not None else (None, None)
        keep(
            WmsLayer(
                name=name,
                title=title,
                abstract=find_text(el, "Abstract") or "",
                keywords=_keywords(el),
                crs_list=crs,
                bbox=bbox,
                bounding_boxes=bounding_boxes,
                styles=styles,
                queryable=queryable,
                metadata_urls=_metadata_urls(el),
                parent_layers=list(inherited.parents),
                time_extent=time_extent,
                raw=_layer_fragment(el) if fragments else b"",
                written_bbox=written,
            )
        )

    below = _Inherited(
        crs=crs,
        geographic_bbox=geographic,
        bounding_boxes=bounding_boxes,
        styles=styles,
        queryable=queryable,
        time_extent=time_extent,
        parents=[*inherited.parents, name] if name else list(inherited.parents),
    )
    return below


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _four(values: list[float | None]) -> list[float] | None:
    if any(v is None for v in values):
        return None
    return [v for v in values if v is not None]


def _geographic_bbox(el: Any) -> list[float] | None:
    """The layer's own lon/lat box: EX_GeographicBoundingBox (1.3.0) or LatLonBoundingBox (1.1.1).

    Both are accepted whatever the version, since servers mix them up.
    """
    ex = find(el, "EX_GeographicBoundingBox")
    if ex is not None:
        return _four(
            [
                _float(find_text(ex, "westBoundLongitude")),
                _float(find_text(ex, "southBoundLatitude")),
                _float(find_text(ex, "eastBoundLongitude")),
                _float(find_text(ex, "northBoundLatitude")),
            ]
        )
    latlon = find(el, "LatLonBoundingBox")
    if latlon is not None:
        return _four([_float(latlon.get(a)) for a in ("minx", "miny", "maxx", "maxy")])
    return None


def _bounding_boxes(el: Any) -> dict[str, list[float]]:
    boxes: dict[str, list[float]] = {}
    for bb in children(el, "BoundingBox"):
        crs = (bb.get("CRS") or bb.get("SRS") or "").strip()
        values = _four([_float(bb.get(a)) for a in ("minx", "miny", "maxx", "maxy")])
        if crs and values is not None:
            boxes[crs] = values
    return boxes


def normalise_crs(code: str) -> str:
    """Map the spellings of WGS84 codes to `EPSG:4326` / `CRS:84`; others upper-cased."""
    c = code.strip().upper()
    if c in ("CRS:84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "URN:OGC:DEF:CRS:OGC::CRS84"):
        return "CRS:84"
    if c.endswith("/OGC/1.3/CRS84"):
        return "CRS:84"
    for prefix in ("URN:OGC:DEF:CRS:EPSG::", "URN:OGC:DEF:CRS:EPSG:", "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/"):
        if c.startswith(prefix):
            return "EPSG:" + c[len(prefix) :].lstrip(":")
    if c.startswith("INIT=EPSG:"):  # MapServer mapfile syntax leaking into capabilities
        return "EPSG:" + c[len("INIT=EPSG:") :]
    return c


def _axis_order_matters(version: str) -> bool:
    """WMS 1.3.0 follows the CRS's axis order; 1.1.x is always x=longitude."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= (1, 3)


def _lonlat_pair(written: list[float] | None) -> tuple[list[float], list[float]] | None:
    """(the box by the lon/lat rule, the box as written), or None."""
    box = lonlat_bbox(*written) if written is not None else None
    return (box, written) if box is not None and written is not None else None


def _bbox_from_bounding_boxes(boxes: dict[str, list[float]], version: str) -> tuple[list[float], list[float]] | None:
    """A lon/lat [w, s, e, n] (and the same box as written) from a
    BoundingBox in CRS:84 or EPSG:4326.

    Under WMS 1.3.0, EPSG:4326 is latitude first (minx is the south latitude);
    CRS:84 is the same datum with longitude first.
    """
    by_code = {normalise_crs(crs): values for crs, values in boxes.items()}
    if "CRS:84" in by_code:
        found = _lonlat_pair(list(by_code["CRS:84"]))
        if found is not None:
            return found
    if "EPSG:4326" in by_code:
        minx, miny, maxx, maxy = by_code["EPSG:4326"]
        if _axis_order_matters(version):
            return _lonlat_pair([miny, minx, maxy, maxx])
        return _lonlat_pair([minx, miny, maxx, maxy])
    return None


def _time_extent(el: Any) -> str | None:
    # 1.3.0 puts the values in Dimension; 1.1.1 declares Dimension and puts values in Extent.
    for tag in ("Dimension", "Extent"):
        for dim in children(el, tag):
            if (dim.get("name") or "").strip().lower() == "time" and text_of(dim):
                return one_line(text_of(dim))
    return None


def _keywords(el: Any) -> list[str]:
    words = [text_of(k) for k in find_all(el, "KeywordList", "Keyword")]
    return list(dict.fromkeys(w for w in words if w))


def _metadata_urls(el: Any) -> list[dict[str, str]]:
    links = []
    for md in children(el, "MetadataURL"):
        resource = find(md, "OnlineResource")
        href = (resource.get(XLINK_HREF) or "").strip() if resource is not None else ""
        if href:
            links.append(
                {
                    "type": "metadata",
                    "url": href,
                    "format": find_text(md, "Format") or "",
                    "standard": (md.get("type") or "").strip(),
                }
            )
    return links


def _contacts(service: Any | None) -> list[dict[str, str | None]]:
    if service is None:
        return []
    info = find(service, "ContactInformation")
    if info is None:
        return []
    contact = {
        "name": find_text(info, "ContactPersonPrimary", "ContactPerson"),
        "organisation": find_text(info, "ContactPersonPrimary", "ContactOrganization"),
        "email": find_text(info, "ContactElectronicMailAddress"),
    }
    return [contact] if any(contact.values()) else []


def _layer_fragment(el: Any) -> bytes:
    """The layer's own XML without its nested layers.

    Nested layers are records of their own; leaving them in would make a
    group's raw document the size of the whole catalogue.
    """
    fragment = etree.Element(el.tag, attrib=dict(el.attrib), nsmap=el.nsmap)
    fragment.text = el.text
    for sub in el:
        if local_name(sub) != "Layer":
            fragment.append(copy.deepcopy(sub))
    result: bytes = etree.tostring(fragment, encoding="utf-8")
    return result


# --- descriptor ---------------------------------------------------------------------------


def with_params(url: str, params: dict[str, str]) -> str:
    """`url` with `params` set, keeping its other query parameters (MapServer's `map=`).

    Keys are matched case-insensitively because WMS parameter names are.
    """
    parts = urlsplit(url)
    replaced = {key.upper() for key in params}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.upper() not in replaced]
    query = urlencode([*kept, *params.items()], safe=":/,")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _preview_size(bbox: list[float]) -> tuple[int, int]:
    west, south, east, north = bbox
    width = east - west if east >= west else east - west + 360.0  # crosses the antimeridian
    height = north - south
    if width <= 0 or height <= 0:
        return PREVIEW_SIZE, PREVIEW_SIZE
    if width >= height:
        return PREVIEW_SIZE, max(1, round(PREVIEW_SIZE * height / width))
    return max(1, round(PREVIEW_SIZE * width / height)), PREVIEW_SIZE


def _request_extent(version: str, layer: WmsLayer) -> tuple[str, list[float], list[float]]:
    """(CRS, BBOX in request axis order, the same box as x/y for the image size)."""
    lat_first = _axis_order_matters(version)
    supported = {normalise_crs(c) for c in layer.crs_list}
    by_code = {normalise_crs(crs): (crs, values) for crs, values in layer.bounding_boxes.items()}
    geographic = ["CRS:84", "EPSG:4326"] if lat_first else ["EPSG:4326"]
    # The server's own spelling of its lon/lat box: a normalised box crossing
    # the antimeridian (west > east) is no valid GetMap BBOX.
    lonlat = layer.written_bbox if layer.written_bbox is not None else layer.bbox
    for code in geographic:
        if code in supported and lonlat is not None:
            return code, _geographic_request_bbox(code, lonlat, lat_first), lonlat
    for code, (written, values) in by_code.items():
        if code in supported or not supported:
            xy = lonlat if lonlat is not None else values
            return written, values, xy
    box = lonlat if lonlat is not None else WORLD
    return "EPSG:4326", _geographic_request_bbox("EPSG:4326", box, lat_first), box


def _geographic_request_bbox(code: str, lonlat: list[float], lat_first: bool) -> list[float]:
    west, south, east, north = lonlat
    if code == "EPSG:4326" and lat_first:
        return [south, west, north, east]
    return [west, south, east, north]


def getmap_link(caps: Capabilities, layer: WmsLayer) -> str:
    """A GetMap URL that renders the whole layer as a PNG preview."""
    crs, bbox, xy = _request_extent(caps.version, layer)
    width, height = _preview_size(xy)
    formats = caps.getmap_formats
    image_format = "image/png" if "image/png" in formats or not formats else formats[0]
    crs_key = "CRS" if _axis_order_matters(caps.version) else "SRS"
    params = {
        "SERVICE": "WMS",
        "REQUEST": "GetMap",
        "VERSION": caps.version,
        "LAYERS": layer.name,
        "STYLES": "",
        "FORMAT": image_format,
        "WIDTH": str(width),
        "HEIGHT": str(height),
        "BBOX": ",".join(_number(v) for v in bbox),
        crs_key: crs,
    }
    return with_params(caps.getmap_url or caps.url, params)


def build_descriptor(caps: Capabilities, layer: WmsLayer) -> dict[str, Any]:
    descriptor = empty_descriptor(layer.name)
    descriptor.update(
        {
            "title": layer.title,
            "abstract": layer.abstract,
            "keywords": list(layer.keywords),
            "bbox": list(layer.bbox) if layer.bbox is not None else None,
            # The bbox is always lon/lat WGS84, which is what CRS:84 names.
            "crs": "CRS:84" if layer.bbox is not None else None,
            "resource_type": "layer",
            "links": [
                {"type": "OGC:WMS", "name": layer.name, "url": getmap_link(caps, layer)},
                *[dict(link) for link in layer.metadata_urls],
            ],
            "contacts": [dict(c) for c in caps.contacts],
            "license": caps.access_constraints,
            "extra": {
                "crs_list": list(layer.crs_list),
                "styles": [{"name": s.name, "title": s.title} for s in layer.styles],
                "queryable": layer.queryable,
                "wms_version": caps.version,
                "parent_layers": list(layer.parent_layers),
                "fees": caps.fees,
                "time": layer.time_extent,
            },
        }
    )
    return descriptor


def layer_resource(caps: Capabilities, name: str) -> FetchedResource:
    """The fetched record of one layer; RemoteError('not-found') when the layer is absent."""
    layer = caps.layer(name)
    if layer is None:
        raise RemoteError("not-found", f"{caps.url}: no layer named {name!r} in the capabilities")
    return finished(build_descriptor(caps, layer), caps.body or layer.raw)


def matches_title_filter(layer: WmsLayer, title_filter: str | None) -> bool:
    if not title_filter:
        return True
    needle = title_filter.casefold()
    return needle in layer.title.casefold() or needle in layer.name.casefold()


# --- remote -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    body: SpooledBody
    url: str
    content_type: str
    digest: str


class WmsRemote:
    # Every layer comes out of the one capabilities document.
    FETCHES_LOCALLY = True

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.url = url
        self.http = http
        self.version = options.get("version", DEFAULT_VERSION) or DEFAULT_VERSION
        if self.version not in SUPPORTED_VERSIONS:
            raise RemoteError(
                "bad-option", f"option version={self.version!r}: use one of {', '.join(SUPPORTED_VERSIONS)}"
            )
        self.cache_seconds = options.get_int("cache_seconds", DEFAULT_CACHE_SECONDS)
        self.title_filter = options.get("title_filter")
        self.page_size = options.get_int("page_size", DEFAULT_PAGE_SIZE)
        # Held across the request so concurrent fetches wait for one
        # GetCapabilities instead of each sending their own.
        self._lock = threading.Lock()
        self._document: _Document | None = None
        self._fetched_at = 0.0
        self._parsed: tuple[str, Capabilities] | None = None
        self._listed: tuple[str, list[str]] | None = None
        self._reparsed: dict[str, Capabilities] = {}

    def capabilities_url(self) -> str:
        return with_params(self.url, {"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": self.version})

    def _current(self, refresh: bool) -> _Document:
        """The capabilities document, downloaded again when asked or when older
        than cache_seconds, and checked to be WMS capabilities."""
        with self._lock:
            fresh = time.monotonic() - self._fetched_at < self.cache_seconds
            if self._document is None or refresh or not fresh:
                # httpx replaces a URL's query with `params`, so the query is built here
                # to keep parameters such as MapServer's `map=`.
                request_url = self.capabilities_url()
                # On disk, not in memory: the document of 100,000 layers is 112 MB.
                response = self.http.download(request_url)
                body = response.file
                if body is None:
                    raise RemoteError("http-error", f"{request_url}: HTTP {response.status} with no document")
                check_capabilities(body, request_url, response.content_type)
                self._document = _Document(body, request_url, response.content_type, body.sha256)
                self._fetched_at = time.monotonic()
            return self._document

    def _capabilities(self, refresh: bool) -> Capabilities:
        document = self._current(refresh)
        with self._lock:
            # Parsed once per distinct document: an unchanged re-harvest that
            # never needs a layer never pays for reading them.
            if self._parsed is None or self._parsed[0] != document.digest:
                self._parsed = None  # the old spool goes before the new one fills
                try:
                    caps = parse_capabilities(
                        document.body, document.url, document.content_type, fragments=False, spool=Spool()
                    )
                except OSError as e:
                    raise local_disk_error(document.url, "the parsed layers", e) from None
                self._parsed = (document.digest, caps)
            return self._parsed[1]

    def document_digest(self) -> str:
        """sha256 of the capabilities document every layer's record is made from."""
        return self._current(refresh=False).digest

    def check_availability(self) -> bool:
        """True when the URL answers WMS capabilities; otherwise raises the
        RemoteError saying why."""
        self._current(refresh=True)
        return True

    def list_resources(self, cursor: str | None) -> ListingPage:
        """Pages of `page_size` layers out of one document: a catalogue of 100,000
        layers is listed (and recorded) ten thousand at a time, not as one
        event of megabytes. The cursor names the document it pages through; if the
        server's document changed before a resumed listing goes on, the listing
        stops there (truncated, never swept) instead of mixing two documents."""
        if cursor is None:
            offset = 0
            document = self._current(refresh=True)
        else:
            offset_text, _, digest = cursor.partition(":")
            document = self._current(refresh=False)
            if not offset_text.isdigit() or not digest or not document.digest.startswith(digest):
                raise RemoteError(
                    "changed", f"{self.capabilities_url()}: the capabilities document changed during the listing"
                )
            offset = int(offset_text)
        caps = self._capabilities(refresh=False)
        names = self._listed_names(document, caps)
        page = []
        for name in names[offset : offset + self.page_size]:
            layer = caps.layer(name)
            if layer is not None:
                page.append(BriefResource(remote_id=layer.name, title=layer.title, resource_type="layer"))
        after = offset + self.page_size
        more = after < len(names)
        after = min(after, len(names))
        return ListingPage(
            resources=page,
            next_cursor=f"{after}:{document.digest[:16]}" if more else None,
            total=len(names),
            position=offset + 1,
            next_position=after + 1 if more else None,
            requested=self.page_size,
        )

    def _listed_names(self, document: _Document, caps: Capabilities) -> list[str]:
        """The names of the layers listed, in document order: every named layer
        once, or those matching the title filter."""
        with self._lock:
            if self._listed is not None and self._listed[0] == document.digest:
                return self._listed[1]
        names = caps.layer_names()
        if self.title_filter:
            names = [n for n in names if (layer := caps.layer(n)) and matches_title_filter(layer, self.title_filter)]
        with self._lock:
            self._listed = (document.digest, names)
        return names

    def fetch(self, remote_id: str) -> FetchedResource:
        return layer_resource(self._capabilities(refresh=False), remote_id)

    def reparse(self, raw: bytes | SpooledBody, remote_id: str) -> FetchedResource:
        key = raw.sha256 if isinstance(raw, SpooledBody) else hashlib.sha256(raw).hexdigest()
        with self._lock:
            caps = self._reparsed.get(key)
            if caps is None:
                # Every layer of a reimport shares one stored document: parse it once.
                caps = parse_capabilities(raw, self.capabilities_url(), fragments=False, spool=Spool())
                self._reparsed = {key: caps}
        return layer_resource(caps, remote_id)
