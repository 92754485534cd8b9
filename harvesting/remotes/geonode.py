"""GeoNode (API v2, GeoNode 3.2+ / 4.x) as a remote.

The listing walks `/api/v2/resources` page by page; a resource's identity is
its GeoNode `uuid` (stable across pk renumbering on the remote, unlike `pk`).
Details come from the type-specific endpoint (`/api/v2/datasets/{pk}` …)
because it carries more than the generic `/api/v2/resources/{pk}`; but a
metadata-only resource (GeoNode 4.4: a record without data) exists only at the
generic endpoint, the type-specific ones answering 404 for it.

Parsing and normalising are pure functions over decoded JSON so they can be
tested on recorded documents without a server.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

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
from harvesting.remotes.values import describe_body, describe_json, json_or_none, load_json, quoted_fields
from harvesting.remotes.values import finite_number as _number
from harvesting.remotes.values import text as _text

DEFAULT_PAGE_SIZE = 50
# Client errors are read here for GeoNode's `errors` list; 429 and server
# errors stay with the HTTP client, which retries the transient ones.
_CLIENT_ERRORS = tuple(status for status in range(400, 500) if status != 429)

# resource_type -> (detail endpoint, key of the object in the detail JSON).
# "layer" is what GeoNode 3.x API v2 called datasets.
DETAIL_ENDPOINTS: dict[str, tuple[str, str]] = {
    "dataset": ("datasets", "dataset"),
    "document": ("documents", "document"),
    "map": ("maps", "map"),
    "layer": ("layers", "layer"),
}
GENERIC_ENDPOINT = ("resources", "resource")

# Checked up front so a typo such as "datasets" fails loudly instead of
# silently filtering everything away.
KNOWN_RESOURCE_TYPES = ("dataset", "document", "map", "geostory", "dashboard")

CONTACT_ROLES = (
    "poc",
    "metadata_author",
    "publisher",
    "custodian",
    "distributor",
    "resource_user",
    "resource_provider",
    "originator",
    "principal_investigator",
    "processor",
)

# Small native fields worth keeping. Counters and per-user fields
# (popular_count, share_count, rating, favorite, perms) are left out on
# purpose: they change without the metadata changing and would make every
# re-harvest look like an update.
EXTRA_FIELDS = (
    "alternate",
    "subtype",
    "detail_url",
    "srid",
    "state",
    "sourcetype",
    "name",
    "workspace",
    "extension",
    "mime_type",
    "doi",
    "edition",
    "purpose",
    "attribution",
    "maintenance_frequency",
    "restriction_code_type",
    "spatial_representation_type",
    "supplemental_information",
    "data_quality_statement",
    "constraints_other",
    "charset",
    "embed_url",
    "is_published",
    "is_approved",
    "metadata_only",
    "advertised",
)


@dataclass(frozen=True)
class ResourceLocation:
    """Where the details of a listed resource live on the remote."""

    pk: str
    resource_type: str
    metadata_only: bool = False


@dataclass(frozen=True)
class ListingEntry:
    pk: str
    uuid: str
    title: str
    resource_type: str
    modified: str | None
    metadata_only: bool = False


# --------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------


def api_root(url: str) -> str:
    """The `…/api/v2` URL of a GeoNode given its base URL, with or without a
    trailing slash, or already pointing at the API."""
    base = url.strip().rstrip("/")
    for suffix in ("/api/v2", "/api"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return f"{base}/api/v2"


def check_listing_status(status: int, body: bytes, page: int, url: str, content_type: str = "") -> None:
    """Turn a non-200 listing answer into a specific RemoteError.

    GeoNode answers a page past the end with 404 `{"errors": ["Invalid
    page."]}`. We only ask for pages the previous page advertised, so on a
    page > 1 that means resources were removed while we walked the listing.
    """
    if status < 400:
        return
    errors: list[str] = []
    data = json_or_none(body)
    if isinstance(data, dict):
        raw_errors = data.get("errors")
        if isinstance(raw_errors, list):
            errors = [e if isinstance(e, str) else json.dumps(e) for e in raw_errors]
        elif isinstance(data.get("detail"), str):
            errors = [data["detail"]]
    invalid_page = status == 404 and any("invalid page" in e.lower() for e in errors)
    if invalid_page and page > 1:
        raise RemoteError(
            "http-error",
            f"GET {url}: page {page} no longer exists (HTTP 404 Invalid page): the remote "
            "listing shrank while it was being harvested; harvest again from the start",
        )
    detail = quoted_fields(errors) if errors else describe_body(body, content_type)
    raise RemoteError("http-error", f"GET {url}: HTTP {status}, {detail}")


def _opt_text(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _pk_of(entry: dict[str, Any]) -> str:
    pk = entry.get("pk", entry.get("id"))
    return "" if pk is None else str(pk)


def parse_listing_entries(data: Any, where: str = "listing") -> list[ListingEntry]:
    """Every entry of a `/api/v2/resources` document, in remote order."""
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise RemoteError("parse-error", f"{where}: JSON has no 'resources' list; not a GeoNode API v2 listing")
    entries: list[ListingEntry] = []
    for i, raw in enumerate(data["resources"]):
        if not isinstance(raw, dict):
            raise RemoteError("parse-error", f"{where}: resources[{i}] is not an object")
        pk = _pk_of(raw)
        uuid = _text(raw.get("uuid"))
        if not uuid:
            # Without a uuid we cannot identify the record across harvests;
            # failing loudly beats silently dropping it from the harvest.
            raise RemoteError("parse-error", f"{where}: resource pk={pk or '?'} has no uuid")
        if not pk:
            raise RemoteError("parse-error", f"{where}: resource uuid={uuid} has no pk")
        entries.append(
            ListingEntry(
                pk=pk,
                uuid=uuid,
                title=_text(raw.get("title")),
                resource_type=_text(raw.get("resource_type")),
                modified=_opt_text(raw.get("last_updated")),
                metadata_only=raw.get("metadata_only") is True,
            )
        )
    return entries


def _has_next(data: dict[str, Any], page: int) -> bool:
    links = data.get("links")
    if isinstance(links, dict):
        return bool(links.get("next"))
    # No pagination links: fall back on the counters if the server gave them.
    total, size = data.get("total"), data.get("page_size")
    if isinstance(total, int) and isinstance(size, int) and size > 0:
        return page < math.ceil(total / size)
    return False


def _matches(entry: ListingEntry, resource_types: tuple[str, ...], title_filter: str | None) -> bool:
    type_ok = not resource_types or entry.resource_type in resource_types
    title_ok = not title_filter or title_filter.casefold() in entry.title.casefold()
    return type_ok and title_ok


def read_listing(
    data: Any,
    page: int,
    *,
    resource_types: tuple[str, ...] = (),
    title_filter: str | None = None,
    where: str = "listing",
    page_size: int | None = None,
) -> tuple[ListingPage, dict[str, ResourceLocation]]:
    """A listing page plus where each kept resource's details live.

    The filters are applied here as well as on the server so that a server
    which ignores GeoNode's `filter{…}` parameters still yields only what was
    asked for. A page whose entries are all filtered away is still a page.
    """
    entries = parse_listing_entries(data, where)
    reported_page = data.get("page")
    if isinstance(reported_page, int) and reported_page != page:
        # A server that ignores `page` would otherwise be walked forever.
        raise RemoteError("parse-error", f"{where}: asked for page {page}, the remote answered page {reported_page}")
    kept = [e for e in entries if _matches(e, resource_types, title_filter)]
    # An empty raw page that still advertises a next page would loop forever.
    has_next = bool(entries) and _has_next(data, page)
    total = data.get("total")
    # Page-number paging: positions follow from the page size the server used,
    # so the lister can see a short page that would make the next one skip records.
    reported_size = data.get("page_size")
    size = reported_size if isinstance(reported_size, int) and reported_size > 0 else page_size
    position = (page - 1) * size + 1 if size else None
    listing = ListingPage(
        resources=[
            BriefResource(remote_id=e.uuid, title=e.title, resource_type=e.resource_type, modified=e.modified)
            for e in kept
        ],
        next_cursor=str(page + 1) if has_next else None,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        position=position,
        next_position=page * size + 1 if size and has_next else None,
        requested=page_size,
        raw_count=len(entries),
    )
    locations: dict[str, ResourceLocation] = {}
    for e in kept:
        # The lister keeps the first listing of a repeated identifier; so do we.
        locations.setdefault(e.uuid, ResourceLocation(e.pk, e.resource_type, e.metadata_only))
    return listing, locations


def parse_listing(
    data: Any,
    page: int,
    *,
    resource_types: tuple[str, ...] = (),
    title_filter: str | None = None,
) -> ListingPage:
    return read_listing(data, page, resource_types=resource_types, title_filter=title_filter)[0]


def detail_entry(data: Any, resource_type: str, where: str = "detail") -> dict[str, Any]:
    """The resource object out of a detail document (`{"dataset": {...}}` …)."""
    if not isinstance(data, dict):
        raise RemoteError("parse-error", f"{where}: JSON is not an object")
    expected = DETAIL_ENDPOINTS.get(resource_type, GENERIC_ENDPOINT)[1]
    keys = [expected] + [k for _, k in (*DETAIL_ENDPOINTS.values(), GENERIC_ENDPOINT) if k != expected]
    for key in keys:
        entry = data.get(key)
        if isinstance(entry, dict):
            return entry
    raise RemoteError("parse-error", f"{where}: answered with {describe_json(data)} that has no '{expected}' object")


def _normalise_crs(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"EPSG:{value}"
    text = _text(value)
    if not text:
        return None
    if text.isdigit():
        return f"EPSG:{text}"
    if text.lower().startswith("epsg:"):
        return "EPSG:" + text[5:]
    return text


def _bbox_from_extent(extent: Any) -> list[float] | None:
    if not isinstance(extent, dict):
        return None
    # GeoNode computes `extent` from the lon/lat bbox, but a different srid
    # would mean projected coordinates, which must not land in a lon/lat field.
    srid = _normalise_crs(extent.get("srid"))
    if srid not in (None, "EPSG:4326"):
        return None
    coords = extent.get("coords")
    if not isinstance(coords, list) or len(coords) != 4:
        return None
    numbers = [_number(c) for c in coords]
    if any(n is None for n in numbers):
        return None
    west, south, east, north = (n for n in numbers if n is not None)
    return lonlat_bbox(west, south, east, north)


def _bbox_from_polygon(polygon: Any) -> list[float] | None:
    if not isinstance(polygon, dict):
        return None
    rings = polygon.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
        return None
    xs: list[float] = []
    ys: list[float] = []
    for point in rings[0]:
        if not isinstance(point, list) or len(point) < 2:
            return None
        x, y = _number(point[0]), _number(point[1])
        if x is None or y is None:
            return None
        xs.append(x)
        ys.append(y)
    if not xs:
        return None
    return lonlat_bbox(min(xs), min(ys), max(xs), max(ys))


def _keyword_names(values: Any) -> list[str]:
    names: list[str] = []
    if not isinstance(values, list):
        return names
    for value in values:
        name = _text(value.get("name")) or _text(value.get("slug")) if isinstance(value, dict) else _text(value)
        if name:
            names.append(name)
    return names


def _person(role: str, value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        # Some older APIs give a bare username.
        return {"role": role, "name": value.strip(), "email": None} if value.strip() else None
    if not isinstance(value, dict):
        return None
    full = " ".join(p for p in (_text(value.get("first_name")), _text(value.get("last_name"))) if p)
    name = full or _text(value.get("username")) or _text(value.get("name"))
    email = _opt_text(value.get("email"))
    if not name and not email:
        return None
    return {"role": role, "name": name, "email": email}


def normalise_contacts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Contacts of every role, whether a role holds one person (GeoNode < 4.4)
    or a list of people (GeoNode 4.4.5)."""
    contacts: list[dict[str, Any]] = []
    for role in (*CONTACT_ROLES, "owner"):
        value = entry.get(role)
        people = value if isinstance(value, list) else [value]
        for person in people:
            contact = _person(role, person)
            if contact is not None and contact not in contacts:
                contacts.append(contact)
    return contacts


def _normalise_license(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("identifier", "name", "url"):
            text = _text(value.get(key))
            if text:
                return text
        return None
    return _opt_text(value)


def _normalise_links(entry: dict[str, Any]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(link: dict[str, Any]) -> None:
        key = (link["type"], link["url"])
        if key not in seen:
            seen.add(key)
            links.append(link)

    raw_links = entry.get("links")
    for raw in raw_links if isinstance(raw_links, list) else []:
        if not isinstance(raw, dict):
            continue
        url = _text(raw.get("url"))
        if not url:
            continue
        link: dict[str, Any] = {"type": _text(raw.get("link_type")) or "link", "url": url}
        if _text(raw.get("name")):
            link["name"] = _text(raw.get("name"))
        if _text(raw.get("mime")):
            link["mime"] = _text(raw.get("mime"))
        add(link)
    for field_name, link_type in (("download_url", "download"), ("detail_url", "html"), ("thumbnail_url", "thumbnail")):
        url = _text(entry.get(field_name))
        if url:
            add({"type": link_type, "url": url})
    return links


def normalise_resource(entry: dict[str, Any]) -> dict[str, Any]:
    """The normalised descriptor of one GeoNode resource object (the value
    under "dataset"/"document"/"map"/"resource", or a listing entry)."""
    uuid = _text(entry.get("uuid"))
    if not uuid:
        raise RemoteError("parse-error", f"resource pk={_pk_of(entry) or '?'} has no uuid")
    d = empty_descriptor(uuid)
    d["title"] = _text(entry.get("title"))
    d["abstract"] = _text(entry.get("abstract")) or _text(entry.get("raw_abstract"))

    keywords = _keyword_names(entry.get("keywords")) + _keyword_names(entry.get("tkeywords"))
    d["keywords"] = list(dict.fromkeys(keywords))

    d["bbox"] = _bbox_from_extent(entry.get("extent")) or _bbox_from_polygon(entry.get("ll_bbox_polygon"))
    d["crs"] = _normalise_crs(entry.get("srid"))
    start, end = _opt_text(entry.get("temporal_extent_start")), _opt_text(entry.get("temporal_extent_end"))
    d["temporal_extent"] = [start, end] if start or end else None
    d["resource_type"] = _text(entry.get("resource_type"))
    d["links"] = _normalise_links(entry)
    d["contacts"] = normalise_contacts(entry)
    d["license"] = _normalise_license(entry.get("license"))
    d["language"] = _opt_text(entry.get("language"))

    dates: dict[str, str] = {}
    date = _opt_text(entry.get("date"))
    if date:
        dates[_text(entry.get("date_type")) or "publication"] = date
    for key in ("created", "last_updated"):
        value = _opt_text(entry.get(key))
        if value:
            dates[key] = value
    d["dates"] = dates

    extra: dict[str, Any] = {"pk": _pk_of(entry)}
    for key in EXTRA_FIELDS:
        value = entry.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or isinstance(value, (dict, list)):
            continue
        extra[key] = value
    category = entry.get("category")
    if isinstance(category, dict) and _text(category.get("identifier")):
        extra["category"] = _text(category.get("identifier"))
    regions = entry.get("regions")
    if isinstance(regions, list):
        names = [_text(r.get("name")) or _text(r.get("code")) for r in regions if isinstance(r, dict)]
        if any(names):
            extra["regions"] = [n for n in names if n]
    d["extra"] = extra
    return d


def detail_path(location: ResourceLocation) -> str:
    endpoint = DETAIL_ENDPOINTS.get(location.resource_type, GENERIC_ENDPOINT)[0]
    return f"{endpoint}/{location.pk}"


def detail_paths(location: ResourceLocation) -> list[str]:
    """Where to ask for a resource's details, in order: the type-specific
    endpoint, then the generic one that also serves metadata-only resources."""
    generic = f"{GENERIC_ENDPOINT[0]}/{location.pk}"
    if location.metadata_only:
        return [generic]
    specific = detail_path(location)
    return [specific] if specific == generic else [specific, generic]


# --------------------------------------------------------------------------
# The remote
# --------------------------------------------------------------------------


# After this many fetches of resources this process has not listed, it reads
# the whole listing once (a few lookups are cheaper than a listing).
WARM_AFTER_MISSES = 20
MAX_WARM_PAGES = 10_000


class GeoNodeRemote:
    """A GeoNode catalogue reached through its REST API v2.

    Options: page_size (default 50), resource_types (comma list of
    dataset,document,map,…), title_filter (case-insensitive substring).
    """

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.api = api_root(url)
        self.http = http
        self.page_size = options.get_int("page_size", DEFAULT_PAGE_SIZE)
        types = tuple(t.lower() for t in options.get_list("resource_types"))
        unknown = [t for t in types if t not in KNOWN_RESOURCE_TYPES]
        if unknown:
            raise RemoteError(
                "bad-option",
                f"option resource_types: unknown {', '.join(unknown)} (known: {', '.join(KNOWN_RESOURCE_TYPES)})",
            )
        self.resource_types = types
        self.title_filter = (options.get("title_filter") or "").strip() or None
        # Filled by listings and read by fetches, possibly from several threads.
        self._locations: dict[str, ResourceLocation] = {}
        self._lock = threading.Lock()
        self._misses = 0
        self._warm_lock = threading.Lock()
        self._warmed = False

    def check_availability(self) -> bool:
        """True when the API root answers as GeoNode API v2; otherwise raises
        the RemoteError saying why."""
        response = self.http.get(f"{self.api}/")
        where = f"GET {response.url}"
        data = load_json(response.body, where, response.content_type)
        if not isinstance(data, dict) or "resources" not in data:
            raise RemoteError(
                "parse-error",
                f"{where}: answered with {describe_json(data)} that has no 'resources' key; not a GeoNode API v2 root",
            )
        return True

    def _listing_params(self, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "page_size": self.page_size}
        if self.resource_types:
            params["filter{resource_type.in}"] = list(self.resource_types)
        if self.title_filter:
            params["filter{title.icontains}"] = self.title_filter
        return params

    def list_resources(self, cursor: str | None) -> ListingPage:
        page = 1
        if cursor is not None:
            if not cursor.isdigit() or int(cursor) < 1:
                raise RemoteError("bad-option", f"cursor {cursor!r} is not a page number")
            page = int(cursor)
        url = f"{self.api}/resources"
        response = self.http.get(url, self._listing_params(page), accept_status=_CLIENT_ERRORS)
        check_listing_status(response.status, response.body, page, response.url, response.content_type)
        data = load_json(response.body, f"GET {response.url}", response.content_type)
        listing, locations = read_listing(
            data,
            page,
            resource_types=self.resource_types,
            title_filter=self.title_filter,
            where=f"GET {response.url}",
            page_size=self.page_size,
        )
        with self._lock:
            self._locations.update(locations)
        return listing

    def _locate(self, uuid: str) -> ResourceLocation:
        with self._lock:
            known = self._locations.get(uuid)
        if known is not None:
            return known
        with self._lock:
            self._misses += 1
            warm = self._misses >= WARM_AFTER_MISSES and not self._warmed
        if warm:
            self._warm()
            with self._lock:
                known = self._locations.get(uuid)
            if known is not None:
                return known
        # Not listed by this process (e.g. a resumed harvest): ask the remote.
        response = self.http.get(f"{self.api}/resources", {"filter{uuid}": uuid})
        where = f"GET {response.url}"
        for entry in parse_listing_entries(load_json(response.body, where, response.content_type), where):
            # Match ourselves: a server ignoring the filter returns other resources.
            if entry.uuid == uuid:
                location = ResourceLocation(entry.pk, entry.resource_type, entry.metadata_only)
                with self._lock:
                    self._locations[uuid] = location
                return location
        raise RemoteError("not-found", f"no resource with uuid {uuid} on {self.api}")

    def _warm(self) -> None:
        """A harvest in a process that did not list (the listing ran in another
        one, or before a restart) learns where every resource is from the
        listing's pages, once: one filtered lookup per resource cost a request
        each, and the server a search of its whole catalogue each."""
        with self._warm_lock:
            if self._warmed:
                return
            self._warmed = True
            cursor: str | None = None
            for _ in range(MAX_WARM_PAGES):
                try:
                    cursor = self.list_resources(cursor).next_cursor
                except RemoteError:
                    return  # the lookups one by one still work
                if cursor is None:
                    return

    def fetch(self, remote_id: str) -> FetchedResource:
        location = self._locate(remote_id)
        paths = detail_paths(location)
        for path in paths:
            response = self.http.get(f"{self.api}/{path}", accept_status=(404,))
            if response.status != 404:
                break
        else:
            with self._lock:
                self._locations.pop(remote_id, None)
            tried = " and ".join(f"{self.api}/{path}" for path in paths)
            raise RemoteError("not-found", f"GET {tried}: HTTP 404, resource {remote_id} (pk {location.pk}) is gone")
        where = f"GET {response.url}"
        generic = path != detail_path(location)
        data = load_json(response.body, where, response.content_type)
        entry = detail_entry(data, "" if generic else location.resource_type, where)
        descriptor = normalise_resource(entry)
        if location.metadata_only and "metadata_only" not in entry:
            descriptor["extra"]["metadata_only"] = True
        if descriptor["identifier"] != remote_id:
            with self._lock:
                self._locations.pop(remote_id, None)
            # pk reused after a delete and re-create: never file one resource's
            # metadata under another's identity.
            raise RemoteError(
                "parse-error",
                f"{where}: expected resource {remote_id}, got {descriptor['identifier']} (pk {location.pk} reused?)",
            )
        return finished(descriptor, response.body, modified=_opt_text(entry.get("last_updated")))

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        where = f"stored document of {remote_id}"
        entry = detail_entry(load_json(raw, where), "", where)
        return finished(normalise_resource(entry), raw, modified=_opt_text(entry.get("last_updated")))
