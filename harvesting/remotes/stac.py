"""STAC as a remote: a STAC API, or a static catalogue of JSON files.

The configured URL is read first and decides the mode:

* a STAC API landing page (`conformsTo` naming api.stacspec.org, or `data` /
  `search` links): collections come from `/collections` and items from
  `/collections/{id}/items?limit=N`, page after page by `next` links. When a
  server fails that GET (rustac 0.9 answers 500 to collection-filtered GET
  searches), the same collection is asked for through `POST /search`, whose
  `next` links carry a method and a body (STAC API item search). When
  `/collections` is empty but the API searches (pycsw 3), every item is walked
  through `/search`.
* an API collection (`…/collections/{id}` with an `items` link): that one
  collection.
* anything else STAC (`catalog.json`, `collection.json`): a static catalogue,
  walked breadth-first along `child` and `item` links, relative hrefs resolved
  against the document they appear in.

Option `level` says what a resource is: `items` (default) or `collections`.
Identities: `{collection}/{item id}` for items (an item without a collection
keeps its bare id), `collection:{id}` for collections.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from harvesting.remotes.base import (
    BriefResource,
    FetchedResource,
    ListingPage,
    RemoteError,
    RemoteOptions,
    empty_descriptor,
    finished,
)
from harvesting.remotes.http import HttpClient, Response
from harvesting.remotes.ogcapi import (
    DATA_RELS,
    ItemsPage,
    PageRequest,
    WalkCursor,
    anchor,
    bbox_from_geometry,
    bbox_from_list,
    canonical_url,
    date_text,
    decode_json,
    descriptor_links,
    document_base,
    feature_id,
    fetch_collections,
    find_link,
    get_json,
    interval_extent,
    is_http_url,
    locate_target,
    long_text,
    next_request,
    opt_text,
    parse_links,
    probe_total,
    read_collections,
    read_items_page,
    send,
    strings,
    temporal_extent,
    text,
    walk_page_key,
    walk_step,
    with_query,
    without_query,
)
from harvesting.remotes.values import describe_json

DEFAULT_LIMIT = 100
LEVELS = ("items", "collections")
BROKEN_LINK_POLICIES = ("fail", "skip")
COLLECTION_PREFIX = "collection:"
# Target id of "every item, through /search" (real collection ids are never empty).
SEARCH_ALL = ""
STAC_API_MARKER = "api.stacspec.org"
# Not fetched again for every page of a static walk; bounded so that a walk of
# a huge catalogue does not keep every catalogue document in memory.
CONTAINER_CACHE_SIZE = 64
# Documents a static page may read beyond two per resource asked for.
STATIC_EXTRA_READS = 16
# A static catalogue is walked again to find an item not seen by this process
# (after a restart) at most this often, so missing items do not each cost a walk.
REWALK_SECONDS = 300.0
# Item properties worth keeping under `extra` are small ones; big arrays
# (proj:transform, bands…) would dominate the descriptor.
SMALL_PROPERTY_CHARS = 200
SMALL_SUMMARIES_CHARS = 4000
# STAC `properties` that the descriptor already holds elsewhere.
MAPPED_PROPERTIES = frozenset(
    {"title", "description", "keywords", "datetime", "start_datetime", "end_datetime", "created", "updated"}
    | {"license", "providers"}
)
ASSET_SCHEMES = ("http", "https", "s3", "gs")


# --------------------------------------------------------------------------
# Documents (pure)
# --------------------------------------------------------------------------


def stac_type(doc: Any) -> str | None:
    """Catalog, Collection, Feature or FeatureCollection; None when not STAC."""
    if not isinstance(doc, dict):
        return None
    declared = doc.get("type")
    if declared in ("Catalog", "Collection", "Feature", "FeatureCollection"):
        return str(declared)
    if "stac_version" in doc and isinstance(doc.get("links"), list):
        # STAC before 1.0 gave catalogs and collections no `type`.
        return "Collection" if "extent" in doc else "Catalog"
    return None


def is_api_root(doc: dict[str, Any], url: str) -> bool:
    conforms = doc.get("conformsTo")
    if isinstance(conforms, list) and any(isinstance(c, str) and STAC_API_MARKER in c for c in conforms):
        return True
    links = parse_links(doc, url)
    return (
        find_link(links, DATA_RELS) is not None or find_link(links, ("search",), ("application/geo+json",)) is not None
    )


def is_api_collection(doc: dict[str, Any], url: str) -> bool:
    return stac_type(doc) == "Collection" and find_link(parse_links(doc, url), ("items",)) is not None


def item_remote_id(item: dict[str, Any], collection: str | None, where: str) -> str:
    item_id = feature_id(item, where)
    return f"{collection}/{item_id}" if collection else item_id


def _properties(item: dict[str, Any], where: str) -> dict[str, Any]:
    properties = item.get("properties")
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise RemoteError("parse-error", f"{where}: item properties is not an object")
    return properties


def item_modified(item: dict[str, Any]) -> str | None:
    properties = item.get("properties")
    if not isinstance(properties, dict):
        return None
    # Only a true modification stamp may spare a fetch: `datetime` is when the
    # data was captured and stays put when the item's metadata changes.
    return date_text(properties.get("updated"))


def brief_item(item: dict[str, Any], collection: str | None, where: str) -> BriefResource:
    remote_id = item_remote_id(item, collection, where)
    properties = item.get("properties")
    title = text(properties.get("title")) if isinstance(properties, dict) else ""
    return BriefResource(remote_id, title or feature_id(item, where), "item", item_modified(item))


def brief_collection(collection: dict[str, Any], where: str) -> BriefResource:
    cid = text(collection.get("id"))
    if not cid:
        raise RemoteError("parse-error", f"{where}: a collection has no id")
    return BriefResource(
        f"{COLLECTION_PREFIX}{cid}",
        text(collection.get("title")) or cid,
        "collection",
        date_text(collection.get("updated")),
    )


def provider_contacts(providers: Any) -> list[dict[str, Any]]:
    """STAC providers are organisations; one contact per role."""
    contacts: list[dict[str, Any]] = []
    for provider in providers if isinstance(providers, list) else []:
        if not isinstance(provider, dict) or not text(provider.get("name")):
            continue
        name = text(provider["name"])
        for role in strings(provider.get("roles")) or ["provider"]:
            contact: dict[str, Any] = {"role": role, "name": name, "organisation": name}
            if opt_text(provider.get("url")):
                contact["url"] = text(provider["url"])
            if contact not in contacts:
                contacts.append(contact)
    return contacts


def asset_links(assets: Any, base_url: str) -> list[dict[str, Any]]:
    """Assets as descriptor links, typed by role (thumbnail, metadata, else download)."""
    links: list[dict[str, Any]] = []
    for key, asset in assets.items() if isinstance(assets, dict) else []:
        href = text(asset.get("href")) if isinstance(asset, dict) else ""
        url = urljoin(base_url, href) if href else ""
        if not url or urlsplit(url).scheme not in ASSET_SCHEMES:
            continue
        roles = strings(asset.get("roles"))
        if {"thumbnail", "overview"} & set(roles):
            kind = "thumbnail"
        elif "metadata" in roles:
            kind = "metadata"
        else:
            kind = "download"
        link: dict[str, Any] = {"type": kind, "url": url, "name": str(key)}
        if text(asset.get("title")):
            link["title"] = text(asset["title"])
        if text(asset.get("type")):
            link["mime"] = text(asset["type"])
        if roles:
            link["roles"] = roles
        links.append(link)
    return links


def _merge_links(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for group in groups:
        for link in group:
            key = (link["type"], link["url"])
            if key not in seen:
                seen.add(key)
                out.append(link)
    return out


def _small(value: Any, limit: int) -> bool:
    try:
        return len(json.dumps(value, ensure_ascii=False)) <= limit
    except (TypeError, ValueError):
        return False


def item_temporal(properties: dict[str, Any]) -> list[str | None] | None:
    instant = date_text(properties.get("datetime"))
    if instant:
        return [instant, instant]
    return temporal_extent(properties.get("start_datetime"), properties.get("end_datetime"))


def _stac_extra(doc: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if text(doc.get("stac_version")):
        extra["stac_version"] = text(doc["stac_version"])
    extensions = strings(doc.get("stac_extensions"))
    if extensions:
        extra["stac_extensions"] = extensions
    return extra


def item_descriptor(item: Any, remote_id: str, base_url: str, where: str) -> dict[str, Any]:
    """The normalised descriptor of one STAC Item."""
    if not isinstance(item, dict) or stac_type(item) != "Feature":
        raise RemoteError("parse-error", f"{where}: not a STAC Item (GeoJSON Feature)")
    item_id = feature_id(item, where)
    if remote_id != item_id and not remote_id.endswith(f"/{item_id}"):
        raise RemoteError("parse-error", f"{where}: asked for item {remote_id!r}, the document is item {item_id!r}")
    properties = _properties(item, where)
    d = empty_descriptor(remote_id)
    d["title"] = text(properties.get("title")) or item_id
    d["abstract"] = long_text(properties.get("description"))
    d["keywords"] = list(dict.fromkeys(strings(properties.get("keywords"))))
    d["bbox"] = bbox_from_list(item.get("bbox")) or bbox_from_geometry(item.get("geometry"))
    d["crs"] = "CRS:84" if d["bbox"] is not None else None
    d["temporal_extent"] = item_temporal(properties)
    d["resource_type"] = "item"
    d["links"] = _merge_links(descriptor_links(parse_links(item, base_url)), asset_links(item.get("assets"), base_url))
    d["contacts"] = provider_contacts(properties.get("providers"))
    d["license"] = opt_text(properties.get("license"))
    d["dates"] = {key: value for key in ("created", "updated") if (value := date_text(properties.get(key)))}
    extra = _stac_extra(item)
    if text(item.get("collection")):
        extra["collection"] = text(item["collection"])
    small = {
        key: value
        for key, value in properties.items()
        if key not in MAPPED_PROPERTIES and value is not None and _small(value, SMALL_PROPERTY_CHARS)
    }
    if small:
        extra["properties"] = small
    d["extra"] = extra
    return d


def collection_extent(collection: dict[str, Any]) -> tuple[list[float] | None, list[str | None] | None]:
    """The overall box and interval: the first of each in `extent` (STAC says
    the first one covers all the others)."""
    extent = collection.get("extent")
    if not isinstance(extent, dict):
        return None, None
    spatial, temporal = extent.get("spatial"), extent.get("temporal")
    boxes = spatial.get("bbox") if isinstance(spatial, dict) else None
    intervals = temporal.get("interval") if isinstance(temporal, dict) else None
    bbox = bbox_from_list(boxes[0]) if isinstance(boxes, list) and boxes else None
    interval = interval_extent(intervals[0]) if isinstance(intervals, list) and intervals else None
    return bbox, interval


def collection_descriptor(collection: Any, remote_id: str, base_url: str, where: str) -> dict[str, Any]:
    """The normalised descriptor of one STAC Collection."""
    if not isinstance(collection, dict) or stac_type(collection) != "Collection":
        raise RemoteError("parse-error", f"{where}: not a STAC Collection")
    cid = text(collection.get("id"))
    if f"{COLLECTION_PREFIX}{cid}" != remote_id:
        raise RemoteError("parse-error", f"{where}: asked for {remote_id!r}, the document is collection {cid!r}")
    d = empty_descriptor(remote_id)
    d["title"] = text(collection.get("title")) or cid
    d["abstract"] = long_text(collection.get("description"))
    d["keywords"] = list(dict.fromkeys(strings(collection.get("keywords"))))
    d["bbox"], d["temporal_extent"] = collection_extent(collection)
    d["crs"] = "CRS:84" if d["bbox"] is not None else None
    d["resource_type"] = "collection"
    d["links"] = _merge_links(
        descriptor_links(parse_links(collection, base_url)), asset_links(collection.get("assets"), base_url)
    )
    d["contacts"] = provider_contacts(collection.get("providers"))
    d["license"] = opt_text(collection.get("license"))
    d["dates"] = {key: value for key in ("created", "updated") if (value := date_text(collection.get(key)))}
    extra = {"id": cid, **_stac_extra(collection)}
    summaries = collection.get("summaries")
    if isinstance(summaries, dict) and summaries and _small(summaries, SMALL_SUMMARIES_CHARS):
        extra["summaries"] = summaries
    d["extra"] = extra
    return d


def stac_resource(body: bytes, data: Any, remote_id: str, url: str, where: str) -> FetchedResource:
    """An item or a collection from its JSON; `url` is where it was read
    (empty when rebuilt from a stored document)."""
    if not isinstance(data, dict):
        raise RemoteError("parse-error", f"{where}: JSON is not an object; not a STAC document")
    raw, document, base = anchor(body, data, url) if url else (body, data, document_base(data))
    if remote_id.startswith(COLLECTION_PREFIX):
        descriptor = collection_descriptor(document, remote_id, base, where)
        return finished(descriptor, raw, modified=date_text(document.get("updated")))
    return finished(item_descriptor(document, remote_id, base, where), raw, modified=item_modified(document))


# --------------------------------------------------------------------------
# API mode
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One collection to walk for items, or SEARCH_ALL (every item via /search)."""

    id: str
    items_url: str


@dataclass(frozen=True)
class Api:
    collections_url: str | None
    search_url: str | None
    targets: list[Target] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.targets]


def select_targets(
    entries: list[tuple[dict[str, Any], str]], wanted: list[str], collections_url: str | None, where: str
) -> list[Target]:
    """The collections to walk, in server order. A collection listed twice
    with the same items URL is walked once (the same URL asked twice says
    nothing new); one id with two different items URLs is walked twice, and
    the lister sees the repeated identifiers rather than half of them."""
    offered_ids = list(dict.fromkeys(text(entry.get("id")) for entry, _ in entries))
    for name in wanted:
        if name not in offered_ids:
            offered = ", ".join(offered_ids) or "none"
            raise RemoteError(
                "bad-option", f"option collections: {where} offers no collection {name!r} (offered: {offered})"
            )
    targets: list[Target] = []
    for entry, page_url in entries:
        cid = text(entry.get("id"))
        if wanted and cid not in wanted:
            continue
        link = find_link(parse_links(entry, page_url), ("items",), ("application/geo+json", "application/json"))
        if link is not None:
            items_url = without_query(link.href)
        else:
            items_url = f"{without_query(collections_url or page_url)}/{quote(cid, safe=':')}/items"
        target = Target(cid, items_url)
        if target not in targets:
            targets.append(target)
    return targets


def read_collections_page(data: Any, url: str, request: PageRequest, where: str) -> ItemsPage:
    """A `/collections` page in the shape of an items page, to walk it the same way."""
    entries = read_collections(data, where)
    matched = data.get("numberMatched") if isinstance(data, dict) else None
    following = next_request(data, url, request)
    if following is not None and (following == request or not entries):
        raise RemoteError("parse-error", f"{where}: collections page whose next link cannot make progress")
    count = matched if isinstance(matched, int) and not isinstance(matched, bool) and matched >= 0 else None
    return ItemsPage(features=entries, matched=count, next=following)


# --------------------------------------------------------------------------
# Static mode
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """A static catalog or collection: what a walk needs from it."""

    url: str
    id: str
    is_collection: bool
    children: list[str]
    items: list[str]
    document: dict[str, Any]


def read_container(doc: Any, url: str, where: str) -> Container:
    kind = stac_type(doc)
    if kind not in ("Catalog", "Collection") or not isinstance(doc, dict):
        found = kind or "not STAC"
        raise RemoteError("parse-error", f"{where}: not a STAC catalog or collection ({found})")
    links = parse_links(doc, url)
    # Canonical and once each: a link repeated under another spelling is the
    # same document, and asking for it again would say nothing new.
    return Container(
        url=url,
        id=text(doc.get("id")),
        is_collection=kind == "Collection",
        children=list(dict.fromkeys(canonical_url(link.href) for link in links if link.rel == "child")),
        items=list(dict.fromkeys(canonical_url(link.href) for link in links if link.rel == "item")),
        document=doc,
    )


# Bytes of a URL's digest in a static walk's `seen` set: 64 bits keep a
# collision between two containers of one catalogue out of reach (about
# n^2 / 2^65) at 11 characters of cursor per container.
DIGEST_BYTES = 8


def url_digest(url: str) -> bytes:
    return hashlib.blake2b(canonical_url(url).encode("utf-8"), digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class StaticCursor:
    """Where a breadth-first walk stands: containers still to open, the one
    whose item links are being read and how far, and the digests of every
    container queued or opened so far, so that a catalogue whose links loop
    back (A -> B -> A, under any spelling of A) is walked once, also after a
    listing resumes from this cursor."""

    pending: list[str]
    current: str | None = None
    index: int = 0
    seen: frozenset[bytes] = frozenset()

    def encode(self) -> str:
        packed = base64.b64encode(b"".join(sorted(self.seen))).decode("ascii")
        value = {"pending": self.pending, "current": self.current, "index": self.index, "seen": packed}
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str) -> StaticCursor:
        try:
            value = json.loads(cursor)
        except (ValueError, RecursionError):
            value = None
        ok = (
            isinstance(value, dict)
            and isinstance(value.get("pending"), list)
            and all(isinstance(u, str) for u in value["pending"])
            and (value.get("current") is None or isinstance(value.get("current"), str))
            and isinstance(value.get("index"), int)
        )
        seen = _seen_of(value) if ok and isinstance(value, dict) else None
        if seen is None or not isinstance(value, dict):
            raise RemoteError("bad-option", f"cursor {cursor[:80]!r} is not a static catalogue cursor")
        pending = [canonical_url(u) for u in value["pending"]]
        current = canonical_url(value["current"]) if value["current"] is not None else None
        return cls(pending, current, max(0, value["index"]), seen | {url_digest(u) for u in pending})


def _seen_of(value: dict[str, Any]) -> frozenset[bytes] | None:
    packed = value.get("seen")
    if isinstance(packed, str):
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) % DIGEST_BYTES:
            return None
        return frozenset(raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES))
    # Cursors written before the digests listed the opened containers' URLs.
    visited = value.get("visited")
    if isinstance(visited, list) and all(isinstance(u, str) for u in visited):
        return frozenset(url_digest(u) for u in visited)
    return None


# --------------------------------------------------------------------------
# The remote
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Root:
    mode: str  # "api", "api-collection" or "static"
    url: str
    doc: dict[str, Any]


class StacRemote:
    """A STAC API or static STAC catalogue.

    Options: level (items | collections, default items), limit (page size,
    default 100), collections (comma list of collection ids, API only),
    broken_links (fail | skip, default fail: a static catalogue with a child
    or item link answering 404 or leading to something not STAC fails its
    listing rather than look complete without that part of the tree; skip
    walks on, but never past a server error or an outage).
    """

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.url = url.strip()
        if not is_http_url(self.url):
            raise RemoteError("bad-option", f"url {url!r} is not an http(s) URL")
        self.http = http
        self.level = (options.get("level") or "items").strip().lower()
        if self.level not in LEVELS:
            raise RemoteError("bad-option", f"option level={self.level!r}: use one of {', '.join(LEVELS)}")
        self.limit = options.get_int("limit", DEFAULT_LIMIT)
        self.wanted = options.get_list("collections")
        self.broken_links = (options.get("broken_links") or "fail").strip().lower()
        if self.broken_links not in BROKEN_LINK_POLICIES:
            raise RemoteError(
                "bad-option",
                f"option broken_links={self.broken_links!r}: use one of {', '.join(BROKEN_LINK_POLICIES)}",
            )
        self._lock = threading.Lock()
        self._rewalk_lock = threading.Lock()
        self._root: Root | None = None
        self._api: Api | None = None
        self._containers: OrderedDict[str, Container] = OrderedDict()
        self._static_urls: dict[str, str] = {}
        self._last_rewalk = -REWALK_SECONDS

    # -- discovery ---------------------------------------------------------

    def _read_root(self) -> Root:
        response, doc = get_json(self.http, self.url)
        where = f"GET {response.url}"
        kind = stac_type(doc)
        if not isinstance(doc, dict) or kind is None:
            raise RemoteError(
                "parse-error",
                f"{where}: answered with {describe_json(doc)}, not a STAC catalog, collection or API landing page",
            )
        if kind in ("Feature", "FeatureCollection"):
            raise RemoteError("parse-error", f"{where}: a STAC {kind}, not a catalog or collection to harvest")
        if is_api_collection(doc, response.url):
            return Root("api-collection", response.url, doc)
        if is_api_root(doc, response.url):
            return Root("api", response.url, doc)
        return Root("static", response.url, doc)

    def root(self, refresh: bool = False) -> Root:
        with self._lock:
            if self._root is None or refresh:
                self._root = self._read_root()
                self._api = None
            return self._root

    def _discover_api(self, root: Root) -> Api:
        links = parse_links(root.doc, root.url)
        search = find_link(links, ("search",), ("application/geo+json", "application/json"))
        if root.mode == "api-collection":
            cid = text(root.doc.get("id"))
            items = find_link(links, ("items",), ("application/geo+json", "application/json"))
            if not cid or items is None:
                raise RemoteError("parse-error", f"GET {root.url}: collection without id or items link")
            return Api(None, None, [Target(cid, without_query(items.href))])
        data = find_link(links, DATA_RELS)
        collections_url = data.href if data is not None else f"{without_query(root.url)}/collections"
        search_url = search.href if search is not None else None
        if self.level == "collections":
            return Api(collections_url, search_url)
        entries = fetch_collections(self.http, collections_url)
        targets = select_targets(entries, self.wanted, collections_url, f"GET {collections_url}")
        if not targets and search_url is not None and not self.wanted:
            # pycsw 3 lists no collections at /stac/collections yet serves items by search.
            targets = [Target(SEARCH_ALL, without_query(search_url))]
        if not targets:
            raise RemoteError("parse-error", f"GET {collections_url}: the STAC API lists no collections and no search")
        return Api(collections_url, search_url, targets)

    def api(self, refresh: bool = False) -> Api:
        # Reading the root again (root(refresh=True)) also forgets this.
        root = self.root()
        with self._lock:
            if self._api is None or refresh:
                self._api = self._discover_api(root)
            return self._api

    def check_availability(self) -> bool:
        """True when the URL answers as a STAC API, API collection or static
        catalogue; otherwise raises the RemoteError saying why."""
        self.root(refresh=True)
        return True

    # -- listing -----------------------------------------------------------

    @staticmethod
    def page_key(cursor: str) -> str:
        return walk_page_key(cursor)

    def list_resources(self, cursor: str | None) -> ListingPage:
        root = self.root(refresh=cursor is None)
        if root.mode == "static":
            return self._static_listing(cursor)
        if self.level == "collections":
            return self._collections_listing(root, cursor)
        return self._items_listing(cursor)

    def _collections_listing(self, root: Root, cursor: str | None) -> ListingPage:
        if root.mode == "api-collection":
            # One collection: the configured document itself is the listing.
            brief = brief_collection(root.doc, f"GET {root.url}")
            return ListingPage([brief], None, total=1, position=1, next_position=2, requested=None)
        api = self.api()
        state = WalkCursor.decode(cursor) if cursor is not None else WalkCursor(0, "collections")
        request = state.request or PageRequest(api.collections_url or f"{without_query(root.url)}/collections")
        response, data = send(self.http, request)
        where = f"{request.method} {response.url}"
        page = read_collections_page(data, response.url, request, where)
        resources = [
            brief_collection(entry, where)
            for entry in page.features
            if not self.wanted or text(entry.get("id")) in self.wanted
        ]
        step = walk_step(["collections"], replace(state, index=0, target="collections"), request, page, resources)
        return ListingPage(
            step.resources,
            step.next_cursor,
            page.matched,
            step.position,
            step.next_position,
            None if step.ends_target else request.limit(),
            raw_count=len(page.features),  # the collections option filters here, not on the server
        )

    def _first_request(self, target: Target, limit: int) -> PageRequest:
        return PageRequest(with_query(target.items_url, {"limit": str(limit)}))

    def _items_page(
        self, api: Api, target: Target, request: PageRequest, first: bool
    ) -> tuple[str, ItemsPage, PageRequest]:
        """One items page; a first GET that the server fails is asked again as
        POST /search (rustac answers 500 to collection-filtered GET searches)."""
        try:
            response, data = send(self.http, request)
        except RemoteError as error:
            if not (first and request.method == "GET" and error.kind == "http-error" and api.search_url):
                raise
            body: dict[str, Any] = {"limit": request.limit() or self.limit}
            if target.id != SEARCH_ALL:
                body["collections"] = [target.id]
            request = PageRequest(api.search_url, "POST", body)
            try:
                response, data = send(self.http, request)
            except RemoteError as retry_error:
                raise RemoteError(retry_error.kind, f"{retry_error.message}; tried after {error.message}") from None
        where = f"{request.method} {response.url}"
        return where, read_items_page(data, response.url, request, where), request

    def _items_listing(self, cursor: str | None) -> ListingPage:
        if cursor is None:
            api = self.api()
            total = None
            if len(api.targets) > 1:
                total = probe_total(
                    api.ids,
                    lambda i, n: self._items_page(api, api.targets[i], self._first_request(api.targets[i], n), True)[1],
                )
            state = WalkCursor(0, api.targets[0].id, total=total)
        else:
            state = WalkCursor.decode(cursor)
            api = self.api()
            state = replace(state, index=locate_target(api.ids, state, self.url))
        target = api.targets[state.index]
        first = state.request is None
        request = state.request or self._first_request(target, self.limit)
        where, page, request = self._items_page(api, target, request, first)
        # The item's own collection first: a server ignoring the collection
        # filter must not get items filed under the wrong collection.
        resources = [
            brief_item(item, text(item.get("collection")) or target.id or None, where) for item in page.features
        ]
        step = walk_step(api.ids, state, request, page, resources)
        return ListingPage(
            resources=step.resources,
            next_cursor=step.next_cursor,
            total=state.total if len(api.targets) > 1 else page.matched,
            position=step.position,
            next_position=step.next_position,
            requested=None if step.ends_target else request.limit() or self.limit,
        )

    # -- static catalogues ---------------------------------------------------

    def _read_linked(self, url: str) -> tuple[Response, Any]:
        if not is_http_url(url):
            # rustac, for one, leaves file:/// links of the machine that built the catalogue.
            raise RemoteError("parse-error", f"link {url!r} does not lead to an http(s) document")
        return get_json(self.http, url, missing_kind="not-found")

    def _container(self, url: str, is_root: bool) -> Container | None:
        with self._lock:
            cached = self._containers.get(url)
            if cached is not None:
                self._containers.move_to_end(url)
                return cached
        try:
            response, doc = self._read_linked(url)
            container = read_container(doc, response.url, f"GET {response.url}")
        except RemoteError as error:
            if is_root or not self._skippable(error):
                raise RemoteError(error.kind, f"static catalogue {self.url}: {error.message}") from None
            return None
        with self._lock:
            self._containers[url] = container
            while len(self._containers) > CONTAINER_CACHE_SIZE:
                self._containers.popitem(last=False)
        return container

    def _skippable(self, error: RemoteError) -> bool:
        # Only a link that leads nowhere (404) or to something that is not
        # STAC is broken; a server error or an outage is never skipped, or a
        # bad hour on the remote would look like a complete, smaller catalogue.
        return self.broken_links == "skip" and error.kind in ("not-found", "parse-error")

    def _static_item(self, url: str, container: Container) -> BriefResource | None:
        try:
            response, doc = self._read_linked(url)
            where = f"GET {response.url}"
            if stac_type(doc) != "Feature" or not isinstance(doc, dict):
                raise RemoteError("parse-error", f"{where}: an item link leads to something that is not a STAC Item")
            collection = text(doc.get("collection")) or (container.id if container.is_collection else "")
            brief = brief_item(doc, collection or None, where)
        except RemoteError as error:
            if not self._skippable(error):
                raise RemoteError(error.kind, f"static catalogue {self.url}: {error.message}") from None
            return None
        with self._lock:
            self._static_urls[brief.remote_id] = url
        return brief

    def _static_page(self, cursor: str | None) -> tuple[list[BriefResource], str | None]:
        """Up to `limit` resources of a breadth-first walk, reading a bounded
        number of documents (a stretch of catalogues without items or of broken
        links gives a short page rather than an unbounded one)."""
        root = canonical_url(self.url)
        if cursor is None:
            state = StaticCursor([root], seen=frozenset({url_digest(root)}))
        else:
            state = StaticCursor.decode(cursor)
        pending, seen = list(state.pending), set(state.seen)
        current, index = state.current, state.index
        resources: list[BriefResource] = []
        reads = 0
        while len(resources) < self.limit and reads < 2 * self.limit + STATIC_EXTRA_READS:
            if current is None:
                if not pending:
                    break
                url = pending.pop(0)
                reads += 1
                container = self._container(url, is_root=cursor is None and url == root)
                if container is None:
                    continue
                self._open(container, url, pending, seen, resources)
                current, index = url, 0
                continue
            container = self._container(current, is_root=False)
            items = container.items if container is not None and self.level == "items" else []
            if index >= len(items):
                current, index = None, 0
                continue
            reads += 1
            brief = self._static_item(items[index], container) if container is not None else None
            index += 1
            if brief is not None:
                resources.append(brief)
        if current is not None:
            container = self._container(current, is_root=False)
            if container is None or self.level != "items" or index >= len(container.items):
                current, index = None, 0
        if current is None and not pending:
            return resources, None
        return resources, StaticCursor(pending, current, index, frozenset(seen)).encode()

    def _open(
        self, container: Container, url: str, pending: list[str], seen: set[bytes], out: list[BriefResource]
    ) -> None:
        if container.is_collection:
            brief = brief_collection(container.document, f"GET {url}")
            # Known whatever the level, so a collection can be fetched by id.
            with self._lock:
                self._static_urls[brief.remote_id] = url
            if self.level == "collections":
                out.append(brief)
        for child in container.children:
            digest = url_digest(child)
            if digest not in seen:
                seen.add(digest)
                pending.append(child)

    def _static_listing(self, cursor: str | None) -> ListingPage:
        # The root was read to choose the mode (by this process, also when it
        # resumes a listing): no need to read it twice.
        root = self.root()
        container = read_container(root.doc, root.url, f"GET {root.url}")
        with self._lock:
            self._containers[canonical_url(self.url)] = container
        resources, next_cursor = self._static_page(cursor)
        # Static pages are cut by a read budget and skipped links, so they may be
        # short by design: no page size is claimed to the paging rules.
        return ListingPage(resources, next_cursor, requested=None)

    def _static_url(self, remote_id: str) -> str:
        with self._lock:
            known = self._static_urls.get(remote_id)
        if known is not None:
            return known
        # Not listed by this process (a harvest resumed after a restart): walk
        # the catalogue again, once for all the fetches waiting on it.
        with self._rewalk_lock:
            with self._lock:
                known = self._static_urls.get(remote_id)
                due = time.monotonic() - self._last_rewalk >= REWALK_SECONDS
            if known is None and due:
                cursor: str | None = None
                while True:
                    _, cursor = self._static_page(cursor)
                    if cursor is None:
                        break
                with self._lock:
                    self._last_rewalk = time.monotonic()
                    known = self._static_urls.get(remote_id)
        if known is None:
            raise RemoteError("not-found", f"static catalogue {self.url}: no item or collection {remote_id!r} in it")
        return known

    # -- resources -----------------------------------------------------------

    def _api_url(self, remote_id: str) -> str:
        api = self.api()
        if remote_id.startswith(COLLECTION_PREFIX):
            cid = remote_id[len(COLLECTION_PREFIX) :]
            if api.collections_url is None:
                return self.url  # the configured URL is that collection
            return f"{without_query(api.collections_url)}/{quote(cid, safe=':')}"
        collection, sep, item_id = remote_id.partition("/")
        if not sep or not collection or not item_id:
            raise RemoteError("not-found", f"{remote_id!r} has no collection; an API item is '{{collection}}/{{id}}'")
        target = next((t for t in api.targets if t.id == collection), None)
        base = api.collections_url or self.url
        items = target.items_url if target is not None else f"{without_query(base)}/{quote(collection, safe=':')}/items"
        return f"{items}/{quote(item_id, safe=':')}"

    def fetch(self, remote_id: str) -> FetchedResource:
        root = self.root()
        url = self._static_url(remote_id) if root.mode == "static" else self._api_url(remote_id)
        response, data = get_json(self.http, url, missing_kind="not-found")
        return stac_resource(response.body, data, remote_id, response.url, f"GET {response.url}")

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        where = f"stored STAC document {remote_id}"
        return stac_resource(raw, decode_json(raw, where), remote_id, "", where)
