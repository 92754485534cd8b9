"""What OGC API - Records and STAC API (and static STAC) have in common.

Both are JSON over HTTP with `links` ({rel, type, href}) everywhere, GeoJSON
features for the records/items, `next` links for paging, collections listed at
`/collections`, and errors as `{"code", "description"}` documents. The helpers
here are pure functions (plus two thin HTTP wrappers) so that the two remotes
share one reading of these conventions.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from harvesting.remotes.base import BriefResource, RemoteError
from harvesting.remotes.bbox import lonlat_bbox
from harvesting.remotes.http import HttpClient, Response
from harvesting.remotes.values import clean_field, describe_body, json_or_none, load_json

ACCEPT_JSON = "application/geo+json, application/json;q=0.9, */*;q=0.1"
JSON_MEDIA_TYPES = ("application/json", "application/geo+json", "application/schema+json")
# The relation OGC API Common gives the collections list, under its two spellings.
DATA_RELS = ("data", "http://www.opengis.net/def/rel/ogc/1.0/data")
CONFORMANCE_RELS = ("conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance")
# Query parameters servers use for paging offsets: OGC API (offset), WFS and
# GeoServer (startIndex), rustac (skip).
OFFSET_PARAMS = ("offset", "startindex", "skip")
# Relations that move around the API rather than describe the resource; they do
# not belong in a record's links.
NAVIGATION_RELS = frozenset(
    {
        "self",
        "root",
        "parent",
        "child",
        "item",
        "items",
        "collection",
        "next",
        "prev",
        "previous",
        "first",
        "last",
        "conformance",
        "data",
        "search",
        "service-desc",
        "service-doc",
        "queryables",
        "http://www.opengis.net/def/rel/ogc/1.0/queryables",
        "http://www.opengis.net/def/rel/ogc/1.0/schema",
        "http://www.opengis.net/def/rel/ogc/1.0/ogc-catalog",
    }
)
# Navigation that never reaches a descriptor, whatever the document (`item`
# and `child` do, in records).
_ANCHOR_IGNORED_RELS = NAVIGATION_RELS - {"item", "child"}
# OGC service types recognised in a link's URL (`SERVICE=WMS`) when the link
# itself does not name its protocol.
OGC_SERVICES = ("WMS", "WFS", "WCS", "WMTS", "CSW", "WPS", "SOS")
# A pathological server can advertise `next` forever; no real collections list
# needs more pages than this.
MAX_COLLECTION_PAGES = 1000

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$")
_XML_TYPE = re.compile(r"(^|[/+])xml\b", re.IGNORECASE)


# --------------------------------------------------------------------------
# JSON and HTTP
# --------------------------------------------------------------------------


def decode_json(body: bytes, where: str, content_type: str = "") -> Any:
    """The decoded document, or parse-error; an OGC/STAC error body served
    with a success status is an exception-report."""
    data = load_json(body, where, content_type)
    raise_for_error_body(data, where)
    return data


def _fields(*values: Any) -> str:
    # The remote's own error fields, cleaned and cut as one quote.
    parts = (str(v) if isinstance(v, int) and not isinstance(v, bool) else text(v) for v in values)
    return clean_field(": ".join(p for p in parts if p))


def error_description(data: Any) -> str | None:
    """The message of an OGC API / STAC API error document (`{"code",
    "description"}`), or of an `{"error": …}` document, else None."""
    if not isinstance(data, dict):
        return None
    if "code" in data and "description" in data and not {"features", "links", "collections", "type"} & set(data):
        return _fields(data.get("code"), data.get("description")) or "error without description"
    status = data.get("status")
    problem = isinstance(status, int) and not isinstance(status, bool) and ("detail" in data or "title" in data)
    if problem and not {"features", "links", "collections", "stac_version"} & set(data):
        # RFC 7807 problem details (ldproxy and other OGC API servers).
        return _fields(status, data.get("title"), data.get("detail"))
    if "error" in data and not {"features", "links", "collections", "type"} & set(data):
        error = data["error"]
        if isinstance(error, dict):
            return _fields(*(error.get(k) for k in ("code", "message", "description"))) or "error without description"
        return _fields(error) or "error without description"
    return None


def raise_for_error_body(data: Any, where: str) -> None:
    message = error_description(data)
    if message is not None:
        raise RemoteError("exception-report", f"{where}: the server answered an error: {message}")


def raise_for_status(response: Response, where: str, missing_kind: str = "http-error") -> None:
    """A specific error for a 4xx/5xx answer, quoting the server's error
    document when it sent one."""
    if response.status < 400:
        return
    detail = error_description(json_or_none(response.body)) or describe_body(response.body, response.content_type)
    kind = missing_kind if response.status == 404 else "http-error"
    raise RemoteError(kind, f"{where}: HTTP {response.status}, {detail}")


# Error documents are read here for their own message; transient statuses
# (429, 502-504) stay with the HTTP client, which retries them, honouring Retry-After.
_ERROR_STATUSES = tuple(status for status in range(400, 600) if status not in (429, 502, 503, 504))


def get_json(http: HttpClient, url: str, missing_kind: str = "http-error") -> tuple[Response, Any]:
    response = http.request("GET", url, headers={"Accept": ACCEPT_JSON}, accept_status=_ERROR_STATUSES)
    where = f"GET {response.url}"
    raise_for_status(response, where, missing_kind)
    return response, decode_json(response.body, where, response.content_type)


def post_json(http: HttpClient, url: str, body: Any) -> tuple[Response, Any]:
    content = json.dumps(body, separators=(",", ":")).encode("utf-8")
    response = http.request(
        "POST",
        url,
        content=content,
        headers={"Content-Type": "application/json", "Accept": ACCEPT_JSON},
        accept_status=_ERROR_STATUSES,
    )
    where = f"POST {response.url}"
    raise_for_status(response, where)
    return response, decode_json(response.body, where, response.content_type)


# --------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` set, keeping its other query parameters (httpx would
    drop them if given `params=`)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*kept, *params.items()], safe=":/,")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or "/", "", ""))


def _int_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def query_int(url: str, names: Iterable[str]) -> int | None:
    """The first of `names` (case-insensitive) in the URL's query, as a whole number."""
    wanted = {n.lower() for n in names}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key.lower() in wanted:
            return _int_value(value)
    return None


def is_http_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _without_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: `/a/./b/../c` is `/a/c`."""
    segments = path.split("/")
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    joined = "/".join(out)
    return joined if joined.startswith("/") else "/" + joined


def _percent(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def canonical_url(url: str) -> str:
    """One spelling per URL (RFC 3986 6.2.2 plus the scheme's default port):
    a catalogue linking back to a document under another spelling (`#top`,
    `./x/../`, an upper-case host, `:80`, an empty `?`) is seen to be the same.
    Path case and query order are kept: servers may tell them apart."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = _PERCENT.sub(_percent, _without_dot_segments(parts.path or "/"))
    query = _PERCENT.sub(_percent, parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


# --------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    rel: str
    href: str  # absolute, resolved against the document's URL
    type: str
    title: str
    raw: Mapping[str, Any]


def parse_links(doc: Any, base_url: str, key: str = "links") -> list[Link]:
    """The usable links of a document (objects with an href), hrefs made absolute."""
    raw_links = doc.get(key) if isinstance(doc, dict) else None
    links: list[Link] = []
    for raw in raw_links if isinstance(raw_links, list) else []:
        if not isinstance(raw, dict):
            continue
        href = text(raw.get("href"))
        if not href:
            continue
        links.append(
            Link(
                rel=text(raw.get("rel")),
                href=urljoin(base_url, href),
                type=text(raw.get("type")),
                title=text(raw.get("title")) or text(raw.get("name")),
                raw=raw,
            )
        )
    return links


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def find_link(links: Iterable[Link], rels: Iterable[str], media_types: Iterable[str] = JSON_MEDIA_TYPES) -> Link | None:
    """The first link with one of `rels`, preferring one of `media_types`,
    then one without a type (never an HTML alternative when a JSON one exists)."""
    wanted = {r.lower() for r in rels}
    candidates = [link for link in links if link.rel.lower() in wanted]
    preferred = tuple(media_types)
    for link in candidates:
        if _media_type(link.type) in preferred:
            return link
    for link in candidates:
        if not link.type:
            return link
    for link in candidates:
        if "html" not in link.type.lower():
            return link
    return None


@dataclass(frozen=True)
class PageRequest:
    """How to ask for one page: STAC API `next` links may carry a POST body."""

    href: str
    method: str = "GET"
    body: Any = None

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"href": self.href, "method": self.method}
        if self.body is not None:
            value["body"] = self.body
        return value

    @classmethod
    def from_json(cls, value: Any) -> PageRequest:
        if not isinstance(value, dict) or not isinstance(value.get("href"), str):
            raise RemoteError("bad-option", "cursor holds no page request")
        method = value.get("method", "GET")
        if method not in ("GET", "POST"):
            raise RemoteError("bad-option", f"cursor holds an unsupported method {method!r}")
        return cls(href=value["href"], method=method, body=value.get("body"))

    def offset(self) -> int | None:
        if isinstance(self.body, dict):
            for key, value in self.body.items():
                if isinstance(key, str) and key.lower() in OFFSET_PARAMS:
                    return _int_value(value)
        return query_int(self.href, OFFSET_PARAMS)

    def limit(self) -> int | None:
        if isinstance(self.body, dict) and "limit" in self.body:
            return _int_value(self.body["limit"])
        return query_int(self.href, ("limit",))


def next_request(doc: Any, base_url: str, previous: PageRequest) -> PageRequest | None:
    """The request for the page after this one, from its `next` link.

    STAC API: a next link may say `method: POST` with a `body`, which replaces
    the previous body unless `merge` is true.
    """
    link = find_link(parse_links(doc, base_url), ("next",), ("application/geo+json", "application/json"))
    if link is None:
        return None
    if not is_http_url(link.href):
        raise RemoteError("parse-error", f"{base_url}: next link {link.href!r} is not an http(s) URL")
    method = text(link.raw.get("method")).upper() or "GET"
    if method not in ("GET", "POST"):
        raise RemoteError("parse-error", f"{base_url}: next link uses method {method}, which is not supported")
    body = link.raw.get("body") if method == "POST" else None
    if method == "POST":
        if link.raw.get("merge") is True and isinstance(previous.body, dict) and isinstance(body, dict):
            body = {**previous.body, **body}
        elif body is None:
            body = previous.body
    return PageRequest(href=link.href, method=method, body=body)


def send(http: HttpClient, request: PageRequest, missing_kind: str = "http-error") -> tuple[Response, Any]:
    if request.method == "POST":
        return post_json(http, request.href, request.body if request.body is not None else {})
    return get_json(http, request.href, missing_kind)


def query_value(url: str, name: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key.lower() == name.lower():
            return value
    return None


def link_kind(link: Link, navigation: frozenset[str] = NAVIGATION_RELS) -> str | None:
    """The descriptor link type of an API link, or None for navigation links.

    Types: `OGC:WMS`… for services, download, thumbnail, metadata, html,
    license, and `link` for anything else (its rel is kept beside it).
    """
    rel = link.rel.lower()
    media = _media_type(link.type)
    protocol = text(link.raw.get("protocol"))
    if protocol:
        return protocol
    if rel in navigation:
        return None
    if rel in ("describedby", "alternate", "via", "metadata"):
        # Another encoding of the record (pygeoapi's CSW facade points at
        # GetRecordById): metadata, not a service, whatever its URL says.
        if "html" in media:
            return "html"
        return "metadata"
    service = (query_value(link.href, "service") or "").upper()
    if service in OGC_SERVICES:
        return f"OGC:{service}"
    if rel in ("enclosure", "data", "download"):
        return "download"
    if rel in ("preview", "thumbnail", "icon", "overview"):
        return "thumbnail"
    if rel == "license":
        return "license"
    return "link"


def descriptor_links(links: Iterable[Link], navigation: frozenset[str] = NAVIGATION_RELS) -> list[dict[str, Any]]:
    """Normalised descriptor links: http(s) only, navigation left out, no duplicates."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for link in links:
        kind = link_kind(link, navigation)
        if kind is None or not is_http_url(link.href) or (kind, link.href) in seen:
            continue
        seen.add((kind, link.href))
        entry: dict[str, Any] = {"type": kind, "url": link.href}
        # pygeoapi's CSW facade writes a missing title as the string "None".
        if link.title and link.title not in ("None", "null"):
            entry["name"] = link.title
        if link.type:
            entry["mime"] = link.type
        if link.rel:
            entry["rel"] = link.rel
        out.append(entry)
    return out


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def long_text(value: Any) -> str:
    """Text whose line breaks matter (descriptions)."""
    return value.strip() if isinstance(value, str) else ""


def opt_text(value: Any) -> str | None:
    return text(value) or None


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [text(v) for v in value if text(v)]


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def bbox_from_list(values: Any) -> list[float] | None:
    """[west, south, east, north] from a GeoJSON/STAC bbox (2-D or 3-D), by
    the one lon/lat rule (`bbox.lonlat_bbox`)."""
    if not isinstance(values, list) or len(values) not in (4, 6):
        return None
    numbers = [number(v) for v in values]
    if any(n is None for n in numbers):
        return None
    coords = [n for n in numbers if n is not None]
    box = [coords[0], coords[1], coords[3], coords[4]] if len(coords) == 6 else coords
    return lonlat_bbox(*box)


def _positions(coordinates: Any, depth: int = 0) -> Iterable[tuple[float, float]]:
    if depth > 6 or not isinstance(coordinates, list):
        return
    if len(coordinates) >= 2 and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coordinates):
        x, y = number(coordinates[0]), number(coordinates[1])
        if x is not None and y is not None:
            yield x, y
        return
    for part in coordinates:
        yield from _positions(part, depth + 1)


def bbox_from_geometry(geometry: Any) -> list[float] | None:
    if not isinstance(geometry, dict):
        return None
    if geometry.get("type") == "GeometryCollection":
        boxes = [bbox_from_geometry(g) for g in geometry.get("geometries") or [] if isinstance(g, dict)]
        found = [b for b in boxes if b is not None]
        if not found:
            return None
        return [min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found)]
    points = list(_positions(geometry.get("coordinates")))
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return lonlat_bbox(min(xs), min(ys), max(xs), max(ys))


def date_text(value: Any) -> str | None:
    """An ISO 8601 date or date-time as written, or None for anything else
    (pycsw 3 writes placeholders such as "date" where it has no date)."""
    candidate = text(value)
    return candidate if candidate and _DATE.match(candidate) else None


def temporal_extent(start: Any, end: Any) -> list[str | None] | None:
    """[start, end] with None for an open end; None when neither end is a date."""
    first, last = date_text(start), date_text(end)
    return [first, last] if first or last else None


def interval_extent(interval: Any) -> list[str | None] | None:
    if isinstance(interval, list) and len(interval) == 2:
        return temporal_extent(interval[0], interval[1])
    return None


def anchor(body: bytes, data: dict[str, Any], url: str) -> tuple[bytes, dict[str, Any], str]:
    """The raw bytes to store, the document, and the URL its relative hrefs are
    resolved against.

    `reparse` has no URL, only the stored bytes, so relative hrefs must resolve
    the same way from the document alone: against its absolute `self` link.
    A document with relative hrefs and no absolute self link (static STAC) is
    stored with the URL it was read from added as its self link.
    """
    self_link = find_link(parse_links(data, ""), ("self",), ("application/geo+json", "application/json"))
    if self_link is not None and is_http_url(self_link.href):
        return body, data, self_link.href
    if not _has_relative_href(data):
        return body, data, ""
    raw_links = data.get("links")
    existing: list[Any] = raw_links if isinstance(raw_links, list) else []
    links = [link for link in existing if not (isinstance(link, dict) and link.get("rel") == "self")]
    anchored = {**data, "links": [*links, {"rel": "self", "href": url, "type": "application/json"}]}
    return json.dumps(anchored, ensure_ascii=False).encode("utf-8"), anchored, url


def _has_relative_href(data: dict[str, Any]) -> bool:
    """Whether a relative href would reach the descriptor (navigation links do not)."""
    hrefs: list[Any] = []
    links, assets = data.get("links"), data.get("assets")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and text(link.get("rel")).lower() not in _ANCHOR_IGNORED_RELS:
            hrefs.append(link.get("href"))
    for asset in assets.values() if isinstance(assets, dict) else []:
        if isinstance(asset, dict):
            hrefs.append(asset.get("href"))
    return any(isinstance(h, str) and h.strip() and not urlsplit(h.strip()).scheme for h in hrefs)


def document_base(data: dict[str, Any]) -> str:
    """The URL relative hrefs of a stored document resolve against (see `anchor`)."""
    self_link = find_link(parse_links(data, ""), ("self",), ("application/geo+json", "application/json"))
    return self_link.href if self_link is not None and is_http_url(self_link.href) else ""


# --------------------------------------------------------------------------
# Collections and item pages
# --------------------------------------------------------------------------


def read_collections(data: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("collections"), list):
        raise RemoteError(
            "parse-error", f"{where}: JSON has no 'collections' list; not an OGC API collections document"
        )
    collections: list[dict[str, Any]] = []
    for i, entry in enumerate(data["collections"]):
        if not isinstance(entry, dict) or not text(entry.get("id")):
            raise RemoteError("parse-error", f"{where}: collections[{i}] has no id")
        collections.append(entry)
    return collections


def fetch_collections(http: HttpClient, url: str) -> list[tuple[dict[str, Any], str]]:
    """Every collection of a `/collections` document, following `next` links,
    in order and repeats included; each with the URL of the page it came from
    (to resolve its relative links)."""
    request: PageRequest | None = PageRequest(url)
    seen_requests: set[str] = set()
    out: list[tuple[dict[str, Any], str]] = []
    while request is not None:
        key = json.dumps(request.to_json(), sort_keys=True)
        if key in seen_requests or len(seen_requests) >= MAX_COLLECTION_PAGES:
            raise RemoteError("parse-error", f"{request.href}: the collections list pages in a loop")
        seen_requests.add(key)
        response, data = send(http, request)
        where = f"GET {response.url}"
        out.extend((entry, response.url) for entry in read_collections(data, where))
        request = next_request(data, response.url, request)
    return out


@dataclass(frozen=True)
class ItemsPage:
    features: list[dict[str, Any]]
    matched: int | None
    next: PageRequest | None


def read_items_page(data: Any, url: str, request: PageRequest, where: str) -> ItemsPage:
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise RemoteError("parse-error", f"{where}: JSON has no 'features' list; not an items page")
    features: list[dict[str, Any]] = []
    for i, feature in enumerate(data["features"]):
        if not isinstance(feature, dict):
            raise RemoteError("parse-error", f"{where}: features[{i}] is not an object")
        features.append(feature)
    matched = data.get("numberMatched")
    context = data.get("context")
    if matched is None and isinstance(context, dict):
        matched = context.get("matched")  # STAC API context extension (older servers)
    following = next_request(data, url, request)
    if following is not None and following == request:
        raise RemoteError("parse-error", f"{where}: the next link points at this same page; refusing to loop")
    if following is not None and not features:
        raise RemoteError("parse-error", f"{where}: empty page that still advertises a next page; refusing to loop")
    return ItemsPage(features=features, matched=_int_value(matched), next=following)


def feature_id(feature: Mapping[str, Any], where: str) -> str:
    raw = feature.get("id")
    identifier = text(raw) if isinstance(raw, str) else str(raw) if isinstance(raw, int) else ""
    if not identifier:
        raise RemoteError("parse-error", f"{where}: a feature has no id")
    return identifier


# --------------------------------------------------------------------------
# Walking collection after collection, page after page
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkCursor:
    """Where a listing over several collections stands.

    `target` names the collection (checked on resume, since the index alone
    would silently shift if collections were added meanwhile), `request` the
    page to ask for (None: the collection's first page), `base` how many
    records earlier collections held (so positions run on across collections),
    `seen` how many this collection gave so far, `total` the records matched
    across all walked collections when known up front.
    """

    index: int
    target: str
    request: PageRequest | None = None
    base: int = 0
    seen: int = 0
    total: int | None = None

    def encode(self) -> str:
        value: dict[str, Any] = {"i": self.index, "c": self.target, "base": self.base, "seen": self.seen}
        if self.request is not None:
            value["next"] = self.request.to_json()
        if self.total is not None:
            value["total"] = self.total
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def page_key(self) -> str:
        """The page asked for, without the running counts."""
        request = self.request.to_json() if self.request is not None else None
        return json.dumps([self.index, self.target, request], separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, cursor: str) -> WalkCursor:
        try:
            value = json.loads(cursor)
        except (ValueError, RecursionError):
            raise RemoteError("bad-option", f"cursor {cursor[:80]!r} is not a listing cursor") from None
        if not isinstance(value, dict) or not isinstance(value.get("c"), str):
            raise RemoteError("bad-option", f"cursor {cursor[:80]!r} is not a listing cursor")
        index, base, seen = (_int_value(value.get(k)) for k in ("i", "base", "seen"))
        if index is None or base is None or seen is None:
            raise RemoteError("bad-option", f"cursor {cursor[:80]!r} is not a listing cursor")
        request = PageRequest.from_json(value["next"]) if "next" in value else None
        return cls(index, value["c"], request, base, seen, _int_value(value.get("total")))


def locate_target(targets: list[str], cursor: WalkCursor, where: str) -> int:
    if 0 <= cursor.index < len(targets) and targets[cursor.index] == cursor.target:
        return cursor.index
    if cursor.target in targets:
        return targets.index(cursor.target)
    raise RemoteError(
        "not-found",
        f"{where}: collection {cursor.target!r} was listed earlier but is gone; refresh again from the start",
    )


@dataclass(frozen=True)
class WalkStep:
    """One page read during a walk, with the cursor fields that follow it."""

    resources: list[BriefResource]
    next_cursor: str | None
    position: int | None
    next_position: int | None
    # The page ends its collection: it may be short even when the walk goes on
    # to the next collection, so it claims no page size to the paging rules.
    ends_target: bool = False


def walk_page_key(cursor: str) -> str:
    """What a walk cursor asks for, without its running counts (any other
    cursor is its own key): a paging loop shows up as a key seen before."""
    try:
        return WalkCursor.decode(cursor).page_key()
    except RemoteError:
        return cursor


def walk_step(
    targets: list[str],
    cursor: WalkCursor,
    request: PageRequest,
    page: ItemsPage,
    resources: list[BriefResource],
) -> WalkStep:
    """Positions and the next cursor after one page of collection `cursor.index`.

    Positions come from the server's own offsets (the requested URL's, or 0 on
    a first page whose next link pages by offset), so a server ignoring its
    offset shows up to the lister instead of being papered over here.
    """
    offset = request.offset()
    if offset is None and cursor.request is None and page.next is not None and page.next.offset() is not None:
        offset = 0
    position = cursor.base + offset + 1 if offset is not None else None
    seen = cursor.seen + len(page.features)
    if page.next is not None:
        next_offset = page.next.offset()
        next_position = cursor.base + next_offset + 1 if next_offset is not None and offset is not None else None
        following = WalkCursor(cursor.index, cursor.target, page.next, cursor.base, seen, cursor.total)
        return WalkStep(resources, following.encode(), position, next_position)
    done = offset + len(page.features) if offset is not None else seen
    next_position = cursor.base + done + 1 if position is not None else None
    if cursor.index + 1 >= len(targets):
        return WalkStep(resources, None, position, next_position, ends_target=True)
    following = WalkCursor(cursor.index + 1, targets[cursor.index + 1], None, cursor.base + done, 0, cursor.total)
    return WalkStep(resources, following.encode(), position, next_position, ends_target=True)


def probe_total(targets: list[str], first_page: Callable[[int, int], ItemsPage]) -> int | None:
    """Records matched across several collections (one `limit=1` request
    each), or None as soon as one collection does not say."""
    total = 0
    for index in range(len(targets)):
        matched = first_page(index, 1).matched
        if matched is None:
            return None
        total += matched
    return total
