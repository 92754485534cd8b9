"""OGC API - Records as a remote.

The configured URL is a landing page (or one collection, `…/collections/{id}`).
The landing page's `data` link leads to `/collections`; every collection whose
`itemType` is `record` is walked through `/collections/{id}/items?limit=N`,
page after page by the `next` links the server gives. A record's identity is
`{collection}/{record id}`: record ids are only unique within a collection.

Checked against pycsw 3.0.0b2 and pygeoapi 0.21 (TinyDB catalogue and its CSW
facade), which differ in where they put things: see `record_descriptor`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from harvesting.remotes.base import (
    BriefResource,
    FetchedResource,
    ListingPage,
    RemoteError,
    RemoteOptions,
    empty_descriptor,
    finished,
)
from harvesting.remotes.http import HttpClient
from harvesting.remotes.ogcapi import (
    CONFORMANCE_RELS,
    DATA_RELS,
    NAVIGATION_RELS,
    ItemsPage,
    PageRequest,
    WalkCursor,
    anchor,
    bbox_from_geometry,
    bbox_from_list,
    date_text,
    decode_json,
    descriptor_links,
    document_base,
    feature_id,
    fetch_collections,
    find_link,
    get_json,
    is_http_url,
    locate_target,
    long_text,
    opt_text,
    parse_links,
    probe_total,
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
from harvesting.remotes.stac import COLLECTION_PREFIX, collection_descriptor
from harvesting.remotes.values import describe_json

DEFAULT_LIMIT = 100
RECORDS_CORE = "/spec/ogcapi-records-1/1.0/conf/core"
DCMI_TYPES = "http://purl.org/dc/dcmitype/"
# Inside a record, `item` and `child` are not navigation: pygeoapi writes a
# record's online resources (data pages, services) with rel `item`.
RECORD_NAVIGATION = NAVIGATION_RELS - {"item", "child"}


@dataclass(frozen=True)
class RecordCollection:
    id: str
    title: str
    items_url: str  # without query string


@dataclass(frozen=True)
class Endpoint:
    """What discovery found: the record collections to walk, in server order."""

    collections: list[RecordCollection]
    collections_url: str | None

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.collections]

    def collection(self, collection_id: str) -> RecordCollection | None:
        return next((c for c in self.collections if c.id == collection_id), None)


# --------------------------------------------------------------------------
# Discovery (pure)
# --------------------------------------------------------------------------


def is_collection_document(doc: Any) -> bool:
    """A single collection (`…/collections/{id}`) rather than a landing page."""
    if not isinstance(doc, dict) or "collections" in doc or not text(doc.get("id")):
        return False
    links = parse_links(doc, "")
    return "itemType" in doc or (find_link(links, ("items",)) is not None and find_link(links, DATA_RELS) is None)


def items_url_of(entry: dict[str, Any], page_url: str, collections_url: str | None) -> str:
    link = find_link(parse_links(entry, page_url), ("items",), ("application/geo+json", "application/json"))
    if link is not None:
        return without_query(link.href)
    base = without_query(collections_url or page_url)
    return f"{base}/{quote(text(entry.get('id')), safe=':')}/items"


def is_record_collection(entry: dict[str, Any], untyped_are_records: bool) -> bool:
    item_type = entry.get("itemType")
    if item_type is None:
        return untyped_are_records
    return isinstance(item_type, str) and item_type.strip().lower() == "record"


def select_collections(
    entries: list[tuple[dict[str, Any], str]],
    wanted: list[str],
    collections_url: str | None,
    untyped_are_records: bool,
    where: str,
) -> list[RecordCollection]:
    """The record collections to walk, in server order; `wanted` restricts
    them and must name only record collections the server offers. A
    collection listed twice with the same items URL is walked once; one id
    with two items URLs twice (see `stac.select_targets`)."""
    by_id: dict[str, dict[str, Any]] = {}
    for entry, _ in entries:
        by_id.setdefault(text(entry.get("id")), entry)
    for name in wanted:
        if name not in by_id:
            offered = ", ".join(by_id) or "none"
            raise RemoteError(
                "bad-option", f"option collections: {where} offers no collection {name!r} (offered: {offered})"
            )
        if not is_record_collection(by_id[name], untyped_are_records):
            item_type = text(by_id[name].get("itemType")) or "unknown"
            raise RemoteError("bad-option", f"option collections: {name!r} holds {item_type} items, not records")
    chosen: list[RecordCollection] = []
    for entry, page_url in entries:
        cid = text(entry.get("id"))
        if not (cid in wanted if wanted else is_record_collection(entry, untyped_are_records)):
            continue
        collection = RecordCollection(cid, text(entry.get("title")), items_url_of(entry, page_url, collections_url))
        if all((c.id, c.items_url) != (collection.id, collection.items_url) for c in chosen):
            chosen.append(collection)
    if not chosen:
        raise RemoteError(
            "parse-error", f"{where}: no collection with itemType 'record'; not an OGC API - Records catalogue"
        )
    return chosen


def declares_records(conformance: Any) -> bool:
    values = conformance.get("conformsTo") if isinstance(conformance, dict) else None
    return isinstance(values, list) and any(isinstance(v, str) and RECORDS_CORE in v for v in values)


# --------------------------------------------------------------------------
# Records (pure)
# --------------------------------------------------------------------------


def split_remote_id(remote_id: str) -> tuple[str, str]:
    collection, sep, record = remote_id.partition("/")
    if not sep or not collection or not record:
        raise RemoteError("not-found", f"{remote_id!r} is not a '{{collection}}/{{record id}}' identifier")
    return collection, record


def record_title(feature: dict[str, Any], record_id: str) -> str:
    properties = feature.get("properties")
    title = text(properties.get("title")) if isinstance(properties, dict) else ""
    return title or record_id


def record_modified(feature: dict[str, Any]) -> str | None:
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        return None
    # `created` never changes, so it cannot tell an unchanged record.
    return date_text(properties.get("updated"))


def _properties(feature: dict[str, Any], where: str) -> dict[str, Any]:
    properties = feature.get("properties")
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise RemoteError("parse-error", f"{where}: record properties is not an object")
    return properties


def record_type(value: Any) -> str:
    """`dataset`, `service`…: pycsw writes Dublin Core type URIs for DC records."""
    native = text(value)
    if native.startswith(DCMI_TYPES):
        return native[len(DCMI_TYPES) :].lower()
    return native


def record_time(value: Any) -> list[str | None] | None:
    """The record's `time`: an interval, a date, a timestamp, or (pygeoapi's
    CSW facade) a bare date string. pycsw 3 writes `{"null": "date"}` when it
    has none, which is no date at all."""
    if isinstance(value, str):
        return temporal_extent(value, value)
    if not isinstance(value, dict):
        return None
    interval = value.get("interval")
    if isinstance(interval, list) and len(interval) == 2:
        return temporal_extent(*(None if v == ".." else v for v in interval))
    for key in ("date", "timestamp"):
        if date_text(value.get(key)):
            return temporal_extent(value[key], value[key])
    return None


def record_keywords(properties: dict[str, Any]) -> list[str]:
    words = strings(properties.get("keywords"))
    themes = properties.get("themes")
    for theme in themes if isinstance(themes, list) else []:
        concepts = theme.get("concepts") if isinstance(theme, dict) else None
        for concept in concepts if isinstance(concepts, list) else []:
            word = text(concept.get("id")) or text(concept.get("title")) if isinstance(concept, dict) else text(concept)
            if word:
                words.append(word)
    return list(dict.fromkeys(words))


def _first_value(entries: Any) -> str | None:
    for entry in entries if isinstance(entries, list) else []:
        value = text(entry.get("value")) if isinstance(entry, dict) else text(entry)
        if value:
            return value
    return None


def record_contacts(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """One contact per role (OGC API Records contact objects)."""
    contacts: list[dict[str, Any]] = []
    raw = properties.get("contacts")
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        organisation = text(entry.get("organization")) or text(entry.get("organisation"))
        name = text(entry.get("name")) or text(entry.get("position")) or organisation
        email = _first_value(entry.get("emails"))
        if not name and not email:
            continue
        for role in strings(entry.get("roles")) or ["pointOfContact"]:
            contact: dict[str, Any] = {"role": role, "name": name}
            if organisation:
                contact["organisation"] = organisation
            if email:
                contact["email"] = email
            if contact not in contacts:
                contacts.append(contact)
    return contacts


def record_language(properties: dict[str, Any]) -> str | None:
    value = properties.get("language")
    if isinstance(value, dict):
        return opt_text(value.get("code")) or opt_text(value.get("name"))
    if value is None:
        languages = properties.get("languages")
        if isinstance(languages, list) and languages:
            first = languages[0]
            return opt_text(first.get("code")) if isinstance(first, dict) else opt_text(first)
    return opt_text(value)


def record_license(properties: dict[str, Any]) -> str | None:
    license_ = opt_text(properties.get("license"))
    if license_:
        return license_
    rights = strings(properties.get("rights"))
    return "; ".join(rights) or None


def _record_extra(
    feature: dict[str, Any], properties: dict[str, Any], collection: str, record_id: str
) -> dict[str, Any]:
    extra: dict[str, Any] = {"collection": collection, "id": record_id}
    native_type = text(properties.get("type"))
    if native_type:
        extra["type"] = native_type
    raw_formats = properties.get("formats")
    formats = [
        text(f.get("name")) or text(f.get("mediaType")) if isinstance(f, dict) else text(f)
        for f in (raw_formats if isinstance(raw_formats, list) else [])
    ]
    if any(formats):
        extra["formats"] = [f for f in formats if f]
    external = properties.get("externalIds")
    if isinstance(external, list):
        ids = [
            {"scheme": text(e.get("scheme")), "value": text(e.get("value"))}
            for e in external
            if isinstance(e, dict) and text(e.get("value"))
        ]
        if ids:
            extra["external_ids"] = ids
    themes = properties.get("themes")
    if isinstance(themes, list):
        schemes = [text(t.get("scheme")) for t in themes if isinstance(t, dict) and text(t.get("scheme"))]
        if schemes:
            extra["theme_schemes"] = list(dict.fromkeys(schemes))
    time_value = feature.get("time", properties.get("time"))
    if isinstance(time_value, (str, dict)) and record_time(time_value) is not None:
        extra["time"] = time_value
    return extra


def record_descriptor(feature: Any, remote_id: str, base_url: str, where: str) -> dict[str, Any]:
    """The normalised descriptor of one record (a GeoJSON Feature).

    pycsw 3 puts `time` beside `properties` (the Records standard), pygeoapi's
    CSW facade writes it as a bare date string, and older drafts kept it in
    `properties`; all are read. Links resolve against the record's self link.
    """
    collection, record_id = split_remote_id(remote_id)
    if isinstance(feature, dict) and feature.get("type") == "Collection":
        # pycsw 3 serves a parent STAC Collection among its records as the bare
        # STAC document: it was listed, so it is read, never dropped.
        d = collection_descriptor(feature, f"{COLLECTION_PREFIX}{record_id}", base_url, where)
        d["identifier"] = remote_id
        d["extra"] = {**d["extra"], "record_collection": collection}
        return d
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise RemoteError("parse-error", f"{where}: not a GeoJSON Feature; not an OGC API record")
    found = feature_id(feature, where)
    if found != record_id:
        raise RemoteError("parse-error", f"{where}: asked for record {record_id!r}, the server answered {found!r}")
    properties = _properties(feature, where)
    d = empty_descriptor(remote_id)
    d["title"] = record_title(feature, record_id)
    d["abstract"] = long_text(properties.get("description"))
    d["keywords"] = record_keywords(properties)
    d["bbox"] = bbox_from_list(feature.get("bbox")) or bbox_from_geometry(feature.get("geometry"))
    d["crs"] = "CRS:84" if d["bbox"] is not None else None
    d["temporal_extent"] = record_time(feature.get("time", properties.get("time")))
    d["resource_type"] = record_type(properties.get("type"))
    d["links"] = descriptor_links(parse_links(feature, base_url), RECORD_NAVIGATION)
    d["contacts"] = record_contacts(properties)
    d["license"] = record_license(properties)
    d["language"] = record_language(properties)
    d["dates"] = {key: value for key in ("created", "updated") if (value := date_text(properties.get(key)))}
    d["extra"] = _record_extra(feature, properties, collection, record_id)
    return d


def record_resource(body: bytes, data: Any, remote_id: str, url: str, where: str) -> FetchedResource:
    if not isinstance(data, dict):
        raise RemoteError("parse-error", f"{where}: JSON is not an object; not an OGC API record")
    raw, document, base = anchor(body, data, url) if url else (body, data, document_base(data))
    descriptor = record_descriptor(document, remote_id, base, where)
    return finished(descriptor, raw, modified=record_modified(document))


def brief_record(feature: dict[str, Any], collection: str, where: str) -> BriefResource:
    record_id = feature_id(feature, where)
    properties = feature.get("properties")
    kind = record_type(properties.get("type")) if isinstance(properties, dict) else ""
    return BriefResource(
        remote_id=f"{collection}/{record_id}",
        title=record_title(feature, record_id),
        resource_type=kind,
        modified=record_modified(feature),
    )


def first_request(collection: RecordCollection, limit: int) -> PageRequest:
    return PageRequest(with_query(collection.items_url, {"limit": str(limit), "f": "json"}))


def record_url(endpoint: Endpoint, collection_id: str, record_id: str) -> str:
    known = endpoint.collection(collection_id)
    if known is not None:
        items = known.items_url
    else:
        base = without_query(endpoint.collections_url or "")
        items = f"{base}/{quote(collection_id, safe=':')}/items"
    return with_query(f"{items}/{quote(record_id, safe=':')}", {"f": "json"})


# --------------------------------------------------------------------------
# The remote
# --------------------------------------------------------------------------


class OgcApiRecordsRemote:
    """An OGC API - Records catalogue.

    Options: limit (page size, default 100), collections (comma list of
    collection ids to walk; default every collection whose itemType is record).
    """

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.url = url.strip()
        if not is_http_url(self.url):
            raise RemoteError("bad-option", f"url {url!r} is not an http(s) URL")
        self.http = http
        self.limit = options.get_int("limit", DEFAULT_LIMIT)
        self.wanted = options.get_list("collections")
        self._lock = threading.Lock()
        self._endpoint: Endpoint | None = None

    # -- discovery ---------------------------------------------------------

    def _discover(self) -> Endpoint:
        response, doc = get_json(self.http, with_query(self.url, {"f": "json"}))
        where = f"GET {response.url}"
        if is_collection_document(doc):
            entries = [(doc, response.url)]
            return Endpoint(select_collections(entries, self.wanted, None, True, where), None)
        if not isinstance(doc, dict) or not isinstance(doc.get("links"), list):
            raise RemoteError(
                "parse-error", f"{where}: answered with {describe_json(doc)} without links, not an OGC API landing page"
            )
        links = parse_links(doc, response.url)
        data_link = find_link(links, DATA_RELS)
        collections_url = data_link.href if data_link is not None else f"{without_query(response.url)}/collections"
        entries = fetch_collections(self.http, with_query(collections_url, {"f": "json"}))
        listed = f"GET {collections_url}"
        untyped = any("itemType" not in entry for entry, _ in entries) and self._declares_records(links)
        return Endpoint(select_collections(entries, self.wanted, collections_url, untyped, listed), collections_url)

    def _declares_records(self, links: list[Any]) -> bool:
        # Only asked when some collection lacks itemType (older servers): then
        # the conformance declaration decides whether those hold records.
        link = find_link(links, CONFORMANCE_RELS)
        if link is None:
            return False
        try:
            return declares_records(get_json(self.http, with_query(link.href, {"f": "json"}), "not-found")[1])
        except RemoteError as error:
            # Only a conformance document that is missing or unreadable declares
            # nothing. An outage, a refused URL, a bound or a cancellation would
            # otherwise leave collections out of a listing that looks complete.
            if error.kind in ("not-found", "parse-error", "exception-report"):
                return False
            raise

    def endpoint(self, refresh: bool = False) -> Endpoint:
        with self._lock:
            if self._endpoint is None or refresh:
                self._endpoint = self._discover()
            return self._endpoint

    def check_availability(self) -> bool:
        """True when the URL answers as an OGC API - Records catalogue with a
        record collection; otherwise raises the RemoteError saying why."""
        self.endpoint(refresh=True)
        return True

    # -- listing -----------------------------------------------------------

    def _items_page(self, request: PageRequest) -> tuple[str, ItemsPage]:
        response, data = send(self.http, request)
        where = f"GET {response.url}"
        return where, read_items_page(data, response.url, request, where)

    @staticmethod
    def page_key(cursor: str) -> str:
        return walk_page_key(cursor)

    def list_resources(self, cursor: str | None) -> ListingPage:
        if cursor is None:
            endpoint = self.endpoint(refresh=True)
            targets = endpoint.ids
            total = None
            if len(targets) > 1:
                total = probe_total(
                    targets, lambda i, n: self._items_page(first_request(endpoint.collections[i], n))[1]
                )
            state = WalkCursor(0, targets[0], total=total)
        else:
            state = WalkCursor.decode(cursor)
            endpoint = self.endpoint()
            targets = endpoint.ids
            state = replace(state, index=locate_target(targets, state, self.url))
        collection = endpoint.collections[state.index]
        request = state.request or first_request(collection, self.limit)
        where, page = self._items_page(request)
        resources = [brief_record(feature, collection.id, where) for feature in page.features]
        step = walk_step(targets, state, request, page, resources)
        return ListingPage(
            resources=step.resources,
            next_cursor=step.next_cursor,
            total=state.total if len(targets) > 1 else page.matched,
            position=step.position,
            next_position=step.next_position,
            requested=None if step.ends_target else request.limit() or self.limit,
        )

    # -- records -----------------------------------------------------------

    def fetch(self, remote_id: str) -> FetchedResource:
        collection, record_id = split_remote_id(remote_id)
        url = record_url(self.endpoint(), collection, record_id)
        response, data = get_json(self.http, url, missing_kind="not-found")
        return record_resource(response.body, data, remote_id, response.url, f"GET {response.url}")

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        where = f"stored record {remote_id}"
        return record_resource(raw, decode_json(raw, where), remote_id, "", where)
