"""OGC Catalogue Service for the Web 2.0.2 remote, Dublin Core and ISO 19139.

The listing walks GetRecords page by page (`startPosition` is the cursor) and
a resource is fetched with GetRecordById. Records come either as Dublin Core
(`csw:Record`, outputSchema http://www.opengis.net/cat/csw/2.0.2) or as ISO
19139 (`gmd:MD_Metadata`, and ISO 19115-2 `gmi:MI_Metadata`, outputSchema
http://www.isotc211.org/2005/gmd). Parsing and normalising are pure functions
over lxml elements, so they are tested on recorded documents without a server.

Options:
  page_size      maxRecords asked per GetRecords page (default 100). Servers
                 may cap it silently (pycsw `maxrecords`); the page is then
                 shorter than asked and nextRecord carries on.
  output_schema  `iso` or `dc`. Default: `iso` when the capabilities list the
                 gmd outputSchema for GetRecords, else `dc` (every CSW speaks
                 Dublin Core); decided once per remote instance.
  method         `get` (KVP, default) or `post` (XML bodies) for GetRecords
                 and GetRecordById.
  constraint     OGC CQL text restricting the listing (CQL_TEXT 1.1.0).

The listing asks for elementSetName=summary: brief records carry neither
dct:modified nor gmd:dateStamp (pycsw's ISO brief has no dateStamp), and
without them every resource would be fetched again on each harvest.

Bounding boxes come out lon/lat whatever the record says (see `axis_order`).
A server that gzips its answer under the uncompressed Content-Length (pycsw
2.6 behind plain WSGI) is asked again for the identity encoding, and from then
on always.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # no stubs shipped

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
from harvesting.remotes.http import HttpClient, Response
from harvesting.remotes.values import clean_field, describe_body
from harvesting.remotes.xml import (
    XLINK_HREF,
    child,
    children,
    describe_root,
    find,
    find_all,
    find_text,
    local_name,
    one_line,
    parse_xml,
    raise_for_exception_report,
    text_of,
)

CSW_NS = "http://www.opengis.net/cat/csw/2.0.2"
CSW_NS_PREFIX = "http://www.opengis.net/cat/csw/"
GMD_NS = "http://www.isotc211.org/2005/gmd"
CSW_VERSION = "2.0.2"
CQL_VERSION = "1.1.0"
DEFAULT_PAGE_SIZE = 100
LISTING_ELEMENT_SET = "summary"
FETCH_ELEMENT_SET = "full"
METHODS = ("get", "post")
# option value -> (outputSchema URI, typeNames of the query)
OUTPUT_SCHEMAS: dict[str, tuple[str, str]] = {
    "dc": (CSW_NS, "csw:Record"),
    "iso": (GMD_NS, "gmd:MD_Metadata"),
}
# Every error status is read here rather than by HttpClient, so that an
# exception report sent with HTTP 400/500 is reported as what it says.
# Transient statuses (429, 502-504) stay with the HTTP client, which retries
# them, honouring Retry-After.
_ERROR_STATUSES = tuple(status for status in range(400, 600) if status not in (429, 502, 503, 504))
_XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"

_DC_RECORDS = frozenset({"Record", "SummaryRecord", "BriefRecord"})
_ISO_RECORDS = frozenset({"MD_Metadata", "MI_Metadata"})
_DCMI_TYPE = "http://purl.org/dc/dcmitype/"


# --- code lists -----------------------------------------------------------------------------
# Profiles put their own codes in codeListValue (the Canadian NAP writes
# "RI_622" with the text "dataset; jeuDonnées"), and some records disagree with
# themselves (codeListValue "originator", text "resourceProvider"). A code is
# taken from the first of codeListValue, text, or the text before ";" that the
# ISO code list knows.


def _code_list(*codes: str) -> dict[str, str]:
    return {code.lower(): code for code in codes}


SCOPE_CODES = _code_list(
    "attribute", "attributeType", "collectionHardware", "collectionSession", "dataset", "series",
    "nonGeographicDataset", "dimensionGroup", "feature", "featureType", "propertyType", "fieldSession",
    "software", "service", "model", "tile", "initiative", "stereomate", "sensor", "platformSeries",
    "sensorSeries", "productionSeries", "transferAggregate", "otherAggregate", "application",
    "collection", "coverage", "document", "repository", "aggregate", "product",
)  # fmt: skip
ROLE_CODES = _code_list(
    "resourceProvider", "custodian", "owner", "user", "distributor", "originator", "pointOfContact",
    "principalInvestigator", "processor", "publisher", "author", "sponsor", "coAuthor", "collaborator",
    "editor", "mediator", "rightsHolder", "contributor", "funder", "stakeholder",
)  # fmt: skip
DATE_TYPE_CODES = _code_list(
    "creation", "publication", "revision", "expiry", "lastUpdate", "lastRevision", "nextUpdate",
    "unavailable", "inForce", "adopted", "deprecated", "superseded", "validityBegins", "validityExpires",
    "released", "distribution",
)  # fmt: skip
RESTRICTION_CODES = _code_list(
    "copyright", "patent", "patentPending", "trademark", "license", "intellectualPropertyRights",
    "restricted", "otherRestrictions", "unrestricted", "licenceUnrestricted", "licenceEndUser",
    "licenceDistributor", "private", "statutory", "confidential", "sensitiveButUnclassified",
    "in-confidence",
)  # fmt: skip
KEYWORD_TYPE_CODES = _code_list(
    "discipline", "place", "stratum", "temporal", "theme", "dataCentre", "featureType", "instrument",
    "platform", "process", "project", "service", "product", "subTopicCategory", "taxon",
)  # fmt: skip
ONLINE_FUNCTION_CODES = _code_list(
    "download", "information", "offlineAccess", "order", "search", "completeMetadata", "browseGraphic",
    "upload", "emailService", "browsing", "fileAccess",
)  # fmt: skip


def _code(el: Any | None, known: dict[str, str]) -> str | None:
    if el is None:
        return None
    value = (el.get("codeListValue") or "").strip()
    text = text_of(el)
    before_semicolon = text.split(";")[0].strip()
    for candidate in (value, text, before_semicolon):
        if candidate and candidate.lower() in known:
            return known[candidate.lower()]
    return value or before_semicolon or None


# --- small readers ------------------------------------------------------------------------


def _namespace(el: Any) -> str:
    tag = el.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return str(tag[1:].split("}", 1)[0])
    return ""


def _elements(el: Any) -> list[Any]:
    """Child elements, without comments and processing instructions."""
    return [c for c in el if isinstance(c.tag, str)]


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Drop empty native fields, so `extra` only says what the record says."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _append_link(links: list[dict[str, Any]], link: dict[str, Any]) -> None:
    if not any(existing["type"] == link["type"] and existing["url"] == link["url"] for existing in links):
        links.append(link)


# --- identity of a record -----------------------------------------------------------------


def record_kind(el: Any) -> str | None:
    """'dc' for csw:Record (full, summary, brief), 'iso' for gmd:MD_Metadata / gmi:MI_Metadata."""
    name = local_name(el)
    if name in _DC_RECORDS:
        return "dc"
    if name in _ISO_RECORDS:
        return "iso"
    return None


# ISO property elements carry their value in one typed child; PT_FreeText
# translations sit beside it and must not be glued onto the main text.
_ISO_VALUE_ELEMENTS = frozenset(
    {
        "CharacterString", "Anchor", "FileName", "MimeFileType", "URL", "LocalName", "ScopedName",
        "Decimal", "Real", "Integer", "Boolean", "Date", "DateTime", "Measure", "Distance", "Scale",
    }
)  # fmt: skip


def _iso_text(prop: Any | None) -> str | None:
    if prop is None:
        return None
    elements = _elements(prop)
    for el in elements:
        if local_name(el) in _ISO_VALUE_ELEMENTS:
            return one_line(text_of(el), limit=1_000_000) or None
    if not elements:
        return one_line(text_of(prop), limit=1_000_000) or None
    return None


def _prose(text: str) -> str:
    # Keep the line breaks of prose, drop the indentation of pretty-printed XML.
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _iso_long_text(prop: Any | None) -> str | None:
    """Like _iso_text but keeps line breaks (abstracts are prose)."""
    if prop is None:
        return None
    for el in _elements(prop):
        if local_name(el) in _ISO_VALUE_ELEMENTS:
            return _prose(text_of(el)) or None
    if not _elements(prop):
        return _prose(text_of(prop)) or None
    return None


def _translations(prop: Any | None) -> dict[str, str]:
    if prop is None:
        return {}
    found: dict[str, str] = {}
    for localised in find_all(prop, "PT_FreeText", "textGroup", "LocalisedCharacterString"):
        locale = (localised.get("locale") or "").strip().lstrip("#")
        text = text_of(localised)
        if locale and text:
            found.setdefault(locale, text)
    return found


def iso_identifier(md: Any) -> str | None:
    return _iso_text(child(md, "fileIdentifier"))


def dc_identifier(record: Any) -> str | None:
    for el in children(record, "identifier"):
        text = text_of(el)
        if text:
            return text
    return None


def record_identifier(record: Any) -> str | None:
    kind = record_kind(record)
    if kind == "dc":
        return dc_identifier(record)
    if kind == "iso":
        return iso_identifier(record)
    return None


def _iso_identification(md: Any) -> Any | None:
    for info in children(md, "identificationInfo"):
        elements = _elements(info)
        if elements:
            return elements[0]
    return None


def iso_modified(md: Any) -> str | None:
    return _iso_text(child(md, "dateStamp"))


def _iso_resource_type(md: Any, identification: Any | None) -> str:
    code = _code(find(md, "hierarchyLevel", "MD_ScopeCode"), SCOPE_CODES)
    if code:
        return code
    # ISO 19115: hierarchyLevel defaults to dataset when absent.
    if identification is not None and local_name(identification) == "SV_ServiceIdentification":
        return "service"
    return "dataset"


def _iso_title(identification: Any | None) -> str:
    if identification is None:
        return ""
    return _iso_text(find(identification, "citation", "CI_Citation", "title")) or ""


def dc_type(value: str | None) -> str:
    """DCMI type URIs as ISO-style words (…/dcmitype/Dataset -> dataset)."""
    text = (value or "").strip()
    if text.startswith(_DCMI_TYPE):
        word = text[len(_DCMI_TYPE) :].strip("/")
        return word[:1].lower() + word[1:]
    return text


def brief_record(record: Any, where: str) -> BriefResource:
    """The listing entry of one record of a GetRecords page."""
    kind = record_kind(record)
    if kind == "dc":
        identifier = dc_identifier(record)
        title = find_text(record, "title") or ""
        resource_type = dc_type(find_text(record, "type"))
        modified = find_text(record, "modified")
    elif kind == "iso":
        identification = _iso_identification(record)
        identifier = iso_identifier(record)
        title = _iso_title(identification)
        resource_type = _iso_resource_type(record, identification)
        modified = iso_modified(record)
    else:
        raise RemoteError(
            "parse-error",
            f"{where}: unsupported record element {local_name(record) or '?'} "
            "(expected csw:Record or gmd:MD_Metadata; does the server honour outputSchema?)",
        )
    if not identifier:
        raise RemoteError("parse-error", f"{where}: record without identifier (title {clean_field(title, 80)!r})")
    return BriefResource(remote_id=identifier, title=title, resource_type=resource_type, modified=modified)


# --- capabilities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CswCapabilities:
    title: str
    versions: tuple[str, ...]
    # outputSchema values the server lists for GetRecords.
    output_schemas: tuple[str, ...]

    def default_output_schema(self) -> str:
        return "iso" if GMD_NS in self.output_schemas else "dc"


def _operation_parameter(root: Any, operation: str, parameter: str) -> tuple[str, ...]:
    for op in find_all(root, "OperationsMetadata", "Operation"):
        if (op.get("name") or "").strip().lower() != operation.lower():
            continue
        for param in children(op, "Parameter"):
            if (param.get("name") or "").strip().lower() == parameter.lower():
                # OWS 1.0 lists Value children, OWS 1.1/2.0 wrap them in AllowedValues.
                values = [text_of(v) for v in param.iter() if local_name(v) == "Value"]
                return tuple(_dedup(values))
    return ()


def parse_capabilities(body: bytes, where: str, content_type: str = "") -> CswCapabilities:
    """A CSW GetCapabilities document. Exception reports (sent with HTTP 200)
    and anything that is not CSW capabilities are errors."""
    root = parse_xml(body, where, content_type)
    raise_for_exception_report(root, where)
    name = local_name(root)
    namespace = _namespace(root)
    if name != "Capabilities" or not namespace.startswith(CSW_NS_PREFIX):
        found = describe_root(root)
        raise RemoteError("parse-error", f"{where}: answered with {found}, not a CSW capabilities document")
    identification = child(root, "ServiceIdentification")
    versions = tuple(
        _dedup([text_of(v) for v in children(identification, "ServiceTypeVersion")])
        if identification is not None
        else []
    )
    if namespace != CSW_NS and CSW_VERSION not in versions:
        raise RemoteError(
            "parse-error",
            f"{where}: the server answers CSW {root.get('version') or '?'} and does not offer CSW {CSW_VERSION}",
        )
    title = (find_text(identification, "Title") or "") if identification is not None else ""
    return CswCapabilities(
        title=title,
        versions=versions,
        output_schemas=_operation_parameter(root, "GetRecords", "outputSchema"),
    )


# --- GetRecords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResults:
    matched: int
    returned: int
    next_record: int | None  # None when the server left it out
    records: list[Any]
    element_set: str | None
    record_schema: str | None


def _optional_count(el: Any, name: str, where: str) -> int | None:
    raw = el.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise RemoteError("parse-error", f"{where}: {name}={raw!r} is not a whole number") from None
    if value < 0:
        raise RemoteError("parse-error", f"{where}: {name}={raw!r} is negative")
    return value


def _required_count(el: Any, name: str, where: str) -> int:
    value = _optional_count(el, name, where)
    if value is None:
        raise RemoteError("parse-error", f"{where}: csw:SearchResults without {name}")
    return value


def parse_search_results(body: bytes, where: str, content_type: str = "") -> SearchResults:
    """The csw:SearchResults of a GetRecords response, checked for consistency."""
    root = parse_xml(body, where, content_type)
    raise_for_exception_report(root, where)
    if local_name(root) != "GetRecordsResponse":
        raise RemoteError("parse-error", f"{where}: answered with {describe_root(root)}, not a CSW GetRecords response")
    results = child(root, "SearchResults")
    if results is None:
        raise RemoteError("parse-error", f"{where}: GetRecords response without csw:SearchResults")
    matched = _required_count(results, "numberOfRecordsMatched", where)
    returned = _required_count(results, "numberOfRecordsReturned", where)
    next_record = _optional_count(results, "nextRecord", where)
    records = _elements(results)
    if returned != len(records):
        hint = " (a resultType=hits answer? pycsw says 10 there)" if not records else ""
        raise RemoteError(
            "parse-error",
            f"{where}: numberOfRecordsReturned={returned} but the page holds {len(records)} records{hint}",
        )
    return SearchResults(
        matched=matched,
        returned=returned,
        next_record=next_record,
        records=records,
        element_set=results.get("elementSet"),
        record_schema=results.get("recordSchema"),
    )


def parse_listing(body: bytes, where: str, *, position: int, requested: int, content_type: str = "") -> ListingPage:
    """One listing page from a GetRecords response asked from `position` (1-based).

    nextRecord 0 ends the listing; so does a nextRecord past numberOfRecordsMatched
    (there is nothing there), though it is still reported as next_position.
    Short pages, drifting totals, identifiers repeated within the page and
    the like are reported as they are, every record in order, for the lister
    to judge (it keeps the first of each and never sweeps after such a page).
    """
    results = parse_search_results(body, where, content_type)
    resources = [
        brief_record(record, f"{where}: record {index}") for index, record in enumerate(results.records, start=1)
    ]
    next_position: int | None
    if results.next_record is None:
        # nextRecord is mandatory; without it, assume the page follows on.
        after = position + len(resources)
        next_position = after if resources and after <= results.matched else None
    else:
        next_position = results.next_record or None
    more = next_position is not None and next_position <= results.matched
    return ListingPage(
        resources=resources,
        next_cursor=str(next_position) if more else None,
        total=results.matched,
        position=position,
        next_position=next_position,
        requested=requested,
    )


# --- GetRecordById ----------------------------------------------------------------------------


def parse_record_by_id(body: bytes, where: str, remote_id: str, content_type: str = "") -> Any:
    """The record element for `remote_id` out of a GetRecordById response.

    An empty response means the record is gone (RemoteError 'not-found').
    """
    root = parse_xml(body, where, content_type)
    raise_for_exception_report(root, where)
    if record_kind(root) is not None:
        records = [root]  # some servers answer the bare record
    elif local_name(root) == "GetRecordByIdResponse":
        records = _elements(root)
    else:
        raise RemoteError(
            "parse-error", f"{where}: answered with {describe_root(root)}, not a CSW GetRecordById response"
        )
    if not records:
        raise RemoteError("not-found", f"{where}: no record with identifier {remote_id!r}")
    for record in records:
        if record_kind(record) is None:
            name = clean_field(local_name(record), 60) or "?"
            raise RemoteError("parse-error", f"{where}: unsupported record element {name}")
        if record_identifier(record) == remote_id:
            return record
    found = ", ".join(repr(clean_field(record_identifier(r) or "?", 80)) for r in records[:3])
    raise RemoteError("parse-error", f"{where}: asked for record {remote_id!r}, the answer holds {found}")


def record_bytes(record: Any) -> bytes:
    """The record on its own, with the namespace declarations it inherits, as UTF-8."""
    data: bytes = etree.tostring(record, encoding="utf-8", with_tail=False)
    return data


# --- Dublin Core ------------------------------------------------------------------------------

_EPSG_4326 = re.compile(
    r"^(EPSG:4326|URN:(X-)?OGC:DEF:CRS:EPSG:[0-9.]*:4326|HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/EPSG/[0-9.]+/4326)$"
)
_CRS84 = re.compile(
    r"^(CRS:84|OGC:CRS84|URN:OGC:DEF:CRS:OGC:[0-9.]*:CRS84|URN:OGC:DEF:CRS:OGC:2:84"
    r"|HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/OGC/[0-9.]+/CRS84"
    r"|HTTPS?://WWW\.OPENGIS\.NET/GML/SRS/EPSG\.XML#4326)$"
)


def axis_order(crs: str | None) -> str | None:
    """'lonlat' or 'latlon' for the WGS84 codes, None for any other CRS.

    EPSG:4326 is latitude first by definition and OWS Common makes a
    BoundingBox follow the CRS's axis order, so every EPSG:4326 spelling is
    read lat/lon (pycsw writes urn:x-ogc:def:crs:EPSG:6.11:4326 that way);
    CRS84 and the GML 2 `epsg.xml#4326` URL are lon/lat. A missing crs is
    taken as the CRS84 default of ows:WGS84BoundingBox.
    """
    code = (crs or "").strip().upper()
    if not code or _CRS84.match(code):
        return "lonlat"
    if _EPSG_4326.match(code):
        return "latlon"
    return None


def _corner(text: str | None) -> tuple[float, float] | None:
    parts = (text or "").split()
    if len(parts) < 2:
        return None
    first, second = _float(parts[0]), _float(parts[1])
    if first is None or second is None:
        return None
    return first, second


def ows_bbox(el: Any) -> list[float] | None:
    """[west, south, east, north] of an ows:BoundingBox / ows:WGS84BoundingBox in WGS84.

    Servers get the axis order wrong often enough (GeoNetwork wrote lon/lat
    under lat/lon URNs for years) that a box impossible in the declared order
    but valid in the other one is read in the other one.
    """
    order = "lonlat" if local_name(el) == "WGS84BoundingBox" else axis_order(el.get("crs"))
    if order is None:
        return None
    lower, upper = _corner(find_text(el, "LowerCorner")), _corner(find_text(el, "UpperCorner"))
    if lower is None or upper is None:
        return None
    lonlat = (lower[0], lower[1], upper[0], upper[1])
    latlon = (lower[1], lower[0], upper[1], upper[0])
    preferred, other = (lonlat, latlon) if order == "lonlat" else (latlon, lonlat)
    box = lonlat_bbox(*preferred)
    return box if box is not None else lonlat_bbox(*other)


def _dc_texts(record: Any, name: str) -> list[str]:
    return _dedup([text_of(el) for el in children(record, name)])


def _dc_links(record: Any) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    for el in record:
        name = local_name(el)
        url = text_of(el)
        if name not in ("references", "URI") or not url:
            continue
        # pycsw writes the Python None of a missing scheme as the string "None".
        protocol = next(
            (v.strip() for v in (el.get("protocol"), el.get("scheme")) if v and v.strip() and v.strip() != "None"),
            None,
        )
        link: dict[str, Any] = {"type": protocol or "link", "url": url}
        for attribute in ("name", "description"):
            value = (el.get(attribute) or "").strip()
            if value and value != "None":
                link[attribute] = value
        _append_link(links, link)
    return links


def _dc_temporal(record: Any) -> list[str | None] | None:
    text = find_text(record, "temporal")
    if not text or "/" not in text:
        return None
    start, end = (part.strip() or None for part in text.split("/", 1))
    return [start, end] if start or end else None


def dc_descriptor(record: Any) -> dict[str, Any]:
    """The normalised descriptor of a csw:Record (full, summary or brief)."""
    identifier = dc_identifier(record)
    if not identifier:
        raise RemoteError("parse-error", "csw:Record without dc:identifier")
    d = empty_descriptor(identifier)
    d["title"] = find_text(record, "title") or ""
    d["abstract"] = _prose(find_text(record, "abstract") or find_text(record, "description") or "")
    d["keywords"] = _dc_texts(record, "subject")

    boxes = [el for el in record if local_name(el) in ("BoundingBox", "WGS84BoundingBox")]
    geographic = [(el, box) for el in boxes if (box := ows_bbox(el)) is not None]
    if geographic:
        d["bbox"] = geographic[0][1]
        d["crs"] = "CRS:84"
    d["temporal_extent"] = _dc_temporal(record)
    d["resource_type"] = dc_type(find_text(record, "type"))
    d["links"] = _dc_links(record)
    d["contacts"] = [
        {"role": role, "name": name, "organisation": None, "email": None}
        for role in ("creator", "publisher", "contributor")
        for name in _dc_texts(record, role)
    ]
    rights = _dc_texts(record, "license") + _dc_texts(record, "rights") + _dc_texts(record, "accessRights")
    d["license"] = "; ".join(_dedup(rights)) or None
    d["language"] = find_text(record, "language")
    d["dates"] = _compact(
        {
            "modified": find_text(record, "modified"),
            "created": find_text(record, "created"),
            "issued": find_text(record, "issued"),
            "date": find_text(record, "date"),
        }
    )
    schemes = {text_of(el): (el.get("scheme") or "").strip() for el in children(record, "subject") if text_of(el)}
    d["extra"] = _compact(
        {
            "metadata_schema": "csw:Record",
            "element_set": local_name(record),
            "formats": _dc_texts(record, "format"),
            "relations": _dc_texts(record, "relation"),
            "sources": _dc_texts(record, "source"),
            "spatial": _dc_texts(record, "spatial"),
            "alternative_titles": _dc_texts(record, "alternative"),
            "subject_schemes": {k: v for k, v in schemes.items() if v and v != "None"},
            "bbox_crs": (geographic[0][0].get("crs") or "").strip() if geographic else None,
            # Boxes in other CRSs are kept as written: converting them needs a projection library.
            "bounding_boxes": [
                {
                    "crs": (el.get("crs") or "").strip(),
                    "lower": find_text(el, "LowerCorner"),
                    "upper": find_text(el, "UpperCorner"),
                }
                for el in boxes
                if ows_bbox(el) is None
            ],
        }
    )
    return d


# --- ISO 19139 --------------------------------------------------------------------------------


def _iso_bbox(identification: Any | None) -> list[float] | None:
    if identification is None:
        return None
    boxes: list[list[float]] = []
    # gmd:extent in MD_DataIdentification, srv:extent in SV_ServiceIdentification.
    for extent in find_all(identification, "extent", "EX_Extent"):
        for geo in find_all(extent, "geographicElement", "EX_GeographicBoundingBox"):
            values = [
                _float(_iso_text(child(geo, name)))
                for name in ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")
            ]
            if all(v is not None for v in values):
                west, south, east, north = (v for v in values if v is not None)
                box = lonlat_bbox(west, south, east, north)
                if box is not None:
                    boxes.append(box)
    if not boxes:
        return None
    if len(boxes) == 1 or any(box[0] > box[2] for box in boxes):
        # A union is ill-defined once a box crosses the antimeridian; keep the first.
        return boxes[0]
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _time_position(el: Any | None, position: str, instant_side: str) -> str | None:
    if el is None:
        return None
    direct = find_text(el, position)
    if direct:
        return direct
    return find_text(el, instant_side, "TimeInstant", "timePosition")


def _iso_temporal(identification: Any | None) -> list[str | None] | None:
    if identification is None:
        return None
    for extent in find_all(identification, "extent", "EX_Extent"):
        for temporal in find_all(extent, "temporalElement"):
            for holder in _elements(temporal):  # EX_TemporalExtent or EX_SpatialTemporalExtent
                for gml_extent in children(holder, "extent"):
                    for primitive in _elements(gml_extent):
                        if local_name(primitive) == "TimePeriod":
                            start = _time_position(primitive, "beginPosition", "begin")
                            end = _time_position(primitive, "endPosition", "end")
                        elif local_name(primitive) == "TimeInstant":
                            start = end = find_text(primitive, "timePosition")
                        else:
                            continue
                        if start or end:
                            return [start, end]
    return None


def _keyword_groups(identification: Any | None) -> list[dict[str, Any]]:
    if identification is None:
        return []
    groups: list[dict[str, Any]] = []
    # srv:keywords is where pycsw repeats a service's keywords.
    for holder in [*children(identification, "descriptiveKeywords"), *children(identification, "keywords")]:
        for block in children(holder, "MD_Keywords"):
            words = _dedup([_iso_text(k) or "" for k in children(block, "keyword")])
            if not words:
                continue
            group = _compact(
                {
                    "keywords": words,
                    "type": _code(find(block, "type", "MD_KeywordTypeCode"), KEYWORD_TYPE_CODES),
                    "thesaurus": _iso_text(find(block, "thesaurusName", "CI_Citation", "title")),
                }
            )
            if group not in groups:
                groups.append(group)
    return groups


def _online_resource_link(resource: Any) -> dict[str, Any] | None:
    url = _iso_text(child(resource, "linkage"))
    if not url:
        return None
    protocol = _iso_text(child(resource, "protocol"))
    link: dict[str, Any] = {"type": protocol or "link", "url": url}
    name = _iso_text(child(resource, "name"))
    if name:
        link["name"] = name
    description = _iso_text(child(resource, "description"))
    if description:
        link["description"] = description
    function = _code(find(resource, "function", "CI_OnLineFunctionCode"), ONLINE_FUNCTION_CODES)
    if function:
        link["function"] = function
    return link


def _iso_links(md: Any, identification: Any | None) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    for distribution in find_all(md, "distributionInfo", "MD_Distribution"):
        options = [
            *find_all(distribution, "transferOptions", "MD_DigitalTransferOptions"),
            *find_all(distribution, "distributor", "MD_Distributor", "distributorTransferOptions",
                      "MD_DigitalTransferOptions"),
        ]  # fmt: skip
        for option in options:
            for resource in find_all(option, "onLine", "CI_OnlineResource"):
                link = _online_resource_link(resource)
                if link is not None:
                    _append_link(links, link)
    if identification is not None:
        for graphic in find_all(identification, "graphicOverview", "MD_BrowseGraphic"):
            file_name = child(graphic, "fileName")
            anchor = find(file_name, "FileName") if file_name is not None else None
            url = ((anchor.get("src") or "").strip() if anchor is not None else "") or _iso_text(file_name)
            if not url:
                continue
            thumbnail: dict[str, Any] = {"type": "thumbnail", "url": url}
            description = _iso_text(child(graphic, "fileDescription"))
            if description:
                thumbnail["name"] = description
            mime = _iso_text(child(graphic, "fileType"))
            if mime:
                thumbnail["format"] = mime
            _append_link(links, thumbnail)
    return links


def _party(holder: Any, fallback_role: str) -> dict[str, Any] | None:
    party = child(holder, "CI_ResponsibleParty")
    if party is None:
        # A party by reference (xlink:href to a registry), titled but not inline.
        href = (holder.get(XLINK_HREF) or "").strip()
        title = (holder.get(_XLINK_TITLE) or "").strip()
        if not href and not title:
            return None
        contact: dict[str, Any] = {"role": fallback_role, "name": title or None, "organisation": None, "email": None}
        if href:
            contact["href"] = href
        return contact
    name = _iso_text(child(party, "individualName"))
    organisation = _iso_text(child(party, "organisationName"))
    email = _iso_text(find(party, "contactInfo", "CI_Contact", "address", "CI_Address", "electronicMailAddress"))
    if not (name or organisation or email):
        return None
    role = _code(find(party, "role", "CI_RoleCode"), ROLE_CODES) or fallback_role
    return {"role": role, "name": name, "organisation": organisation, "email": email}


def _iso_contacts(md: Any, identification: Any | None) -> list[dict[str, Any]]:
    holders: list[tuple[Any, str]] = [(h, "contact") for h in children(md, "contact")]
    if identification is not None:
        holders += [(h, "pointOfContact") for h in children(identification, "pointOfContact")]
        holders += [
            (h, "citedResponsibleParty")
            for h in find_all(identification, "citation", "CI_Citation", "citedResponsibleParty")
        ]
    holders += [
        (h, "distributor")
        for h in find_all(md, "distributionInfo", "MD_Distribution", "distributor", "MD_Distributor",
                          "distributorContact")
    ]  # fmt: skip
    contacts: list[dict[str, Any]] = []
    for holder, fallback in holders:
        contact = _party(holder, fallback)
        if contact is not None and contact not in contacts:
            contacts.append(contact)
    return contacts


def _iso_constraints(identification: Any | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"use_limitation": [], "other": [], "access": [], "use": [], "links": []}
    if identification is None:
        return found
    for holder in children(identification, "resourceConstraints"):
        for block in _elements(holder):  # MD_Constraints, MD_LegalConstraints, MD_SecurityConstraints
            found["use_limitation"] += [_iso_long_text(e) or "" for e in children(block, "useLimitation")]
            for other in children(block, "otherConstraints"):
                found["other"].append(_iso_long_text(other) or "")
                anchor = find(other, "Anchor")
                if anchor is not None and (anchor.get(XLINK_HREF) or "").strip():
                    found["links"].append((anchor.get(XLINK_HREF) or "").strip())
            found["access"] += [
                _code(find(e, "MD_RestrictionCode"), RESTRICTION_CODES) or ""
                for e in children(block, "accessConstraints")
            ]
            found["use"] += [
                _code(find(e, "MD_RestrictionCode"), RESTRICTION_CODES) or "" for e in children(block, "useConstraints")
            ]
    return {key: _dedup(values) for key, values in found.items()}


def _iso_license(constraints: dict[str, list[str]]) -> str | None:
    texts = _dedup([one_line(t, limit=1_000_000) for t in constraints["use_limitation"] + constraints["other"]])
    if texts:
        return "; ".join(texts)
    # Only codes: "license" or "otherRestrictions" still say more than nothing.
    codes = _dedup(constraints["access"] + constraints["use"])
    return "; ".join(codes) or None


def _iso_language(prop: Any | None) -> str | None:
    if prop is None:
        return None
    code = find(prop, "LanguageCode")
    if code is not None:
        return (code.get("codeListValue") or "").strip() or text_of(code) or None
    return _iso_text(prop)


def _iso_dates(md: Any, identification: Any | None) -> dict[str, str]:
    dates: dict[str, str] = {}
    stamp = iso_modified(md)
    if stamp:
        dates["modified"] = stamp
    if identification is not None:
        for ci_date in find_all(identification, "citation", "CI_Citation", "date", "CI_Date"):
            value = _iso_text(child(ci_date, "date"))
            kind = _code(find(ci_date, "dateType", "CI_DateTypeCode"), DATE_TYPE_CODES) or "date"
            if value:
                dates.setdefault(kind, value)
    return dates


def _reference_systems(md: Any) -> list[str]:
    codes: list[str] = []
    for holder in find_all(md, "referenceSystemInfo", "MD_ReferenceSystem", "referenceSystemIdentifier"):
        code = find(holder, "RS_Identifier", "code")
        if code is None:
            code = find(holder, "MD_Identifier", "code")
        codes.append(_iso_text(code) or "")
    return _dedup(codes)


def iso_descriptor(md: Any) -> dict[str, Any]:
    """The normalised descriptor of a gmd:MD_Metadata or gmi:MI_Metadata record."""
    identifier = iso_identifier(md)
    if not identifier:
        raise RemoteError("parse-error", f"{local_name(md)} without gmd:fileIdentifier")
    identification = _iso_identification(md)
    citation_title = find(identification, "citation", "CI_Citation", "title") if identification is not None else None
    abstract = child(identification, "abstract") if identification is not None else None
    groups = _keyword_groups(identification)
    constraints = _iso_constraints(identification)

    d = empty_descriptor(identifier)
    d["title"] = _iso_title(identification)
    d["abstract"] = _iso_long_text(abstract) or ""
    d["keywords"] = _dedup([word for group in groups for word in group["keywords"]])
    d["bbox"] = _iso_bbox(identification)
    d["crs"] = "CRS:84" if d["bbox"] is not None else None
    d["temporal_extent"] = _iso_temporal(identification)
    d["resource_type"] = _iso_resource_type(md, identification)
    d["links"] = _iso_links(md, identification)
    d["contacts"] = _iso_contacts(md, identification)
    d["license"] = _iso_license(constraints)
    metadata_language = _iso_language(child(md, "language"))
    resource_language = _iso_language(child(identification, "language")) if identification is not None else None
    d["language"] = resource_language or metadata_language
    d["dates"] = _iso_dates(md, identification)

    standard = " ".join(
        t for t in (_iso_text(child(md, "metadataStandardName")), _iso_text(child(md, "metadataStandardVersion"))) if t
    )
    formats = [
        _iso_text(name) or "" for name in find_all(md, "distributionInfo", "MD_Distribution", "distributionFormat",
                                                   "MD_Format", "name")
    ]  # fmt: skip
    d["extra"] = _compact(
        {
            "metadata_schema": "iso19115-2" if local_name(md) == "MI_Metadata" else "iso19139",
            "parent_identifier": _iso_text(child(md, "parentIdentifier")),
            "metadata_language": metadata_language,
            "metadata_standard": standard,
            "topic_categories": _dedup(
                [text_of(c) for c in find_all(identification, "topicCategory", "MD_TopicCategoryCode")]
                if identification is not None
                else []
            ),
            "keyword_groups": groups,
            "reference_systems": _reference_systems(md),
            "formats": _dedup(formats),
            "service_type": _iso_text(child(identification, "serviceType")) if identification is not None else None,
            "constraints": _compact(dict(constraints)),
            "title_translations": _translations(citation_title),
            "abstract_translations": _translations(abstract),
        }
    )
    return d


# --- one record -------------------------------------------------------------------------------


def record_descriptor(record: Any) -> dict[str, Any]:
    kind = record_kind(record)
    if kind == "dc":
        return dc_descriptor(record)
    if kind == "iso":
        return iso_descriptor(record)
    raise RemoteError("parse-error", f"unsupported record element {local_name(record) or '?'}")


def record_modified(record: Any) -> str | None:
    kind = record_kind(record)
    if kind == "dc":
        return find_text(record, "modified")
    if kind == "iso":
        return iso_modified(record)
    return None


# --- requests ---------------------------------------------------------------------------------


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    """`url` with `params` set, keeping its other query parameters.

    Keys are matched case-insensitively because OGC KVP names are.
    """
    parts = urlsplit(url)
    replaced = {key.lower() for key, _ in params}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in replaced]
    query = urlencode([*kept, *params], safe=":/,")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def capabilities_params() -> list[tuple[str, str]]:
    return [("service", "CSW"), ("version", CSW_VERSION), ("request", "GetCapabilities")]


def getrecords_params(schema: str, start: int, page_size: int, constraint: str | None) -> list[tuple[str, str]]:
    uri, type_name = OUTPUT_SCHEMAS[schema]
    params = [
        ("service", "CSW"),
        ("version", CSW_VERSION),
        ("request", "GetRecords"),
        ("typeNames", type_name),
        ("resultType", "results"),
        ("elementSetName", LISTING_ELEMENT_SET),
        ("outputSchema", uri),
        ("startPosition", str(start)),
        ("maxRecords", str(page_size)),
    ]
    if constraint:
        params += [
            ("constraintLanguage", "CQL_TEXT"),
            ("constraint_language_version", CQL_VERSION),
            ("constraint", constraint),
        ]
    return params


def getrecordbyid_params(schema: str, remote_id: str) -> list[tuple[str, str]]:
    return [
        ("service", "CSW"),
        ("version", CSW_VERSION),
        ("request", "GetRecordById"),
        ("id", remote_id),
        ("elementSetName", FETCH_ELEMENT_SET),
        ("outputSchema", OUTPUT_SCHEMAS[schema][0]),
    ]


def _csw(name: str) -> str:
    return f"{{{CSW_NS}}}{name}"


def getrecords_body(schema: str, start: int, page_size: int, constraint: str | None) -> bytes:
    uri, type_name = OUTPUT_SCHEMAS[schema]
    # gmd is declared so the typeNames QName resolves.
    nsmap = {"csw": CSW_NS, "ogc": "http://www.opengis.net/ogc", "gmd": GMD_NS}
    root = etree.Element(
        _csw("GetRecords"),
        nsmap=nsmap,
        service="CSW",
        version=CSW_VERSION,
        resultType="results",
        startPosition=str(start),
        maxRecords=str(page_size),
        outputSchema=uri,
    )
    query = etree.SubElement(root, _csw("Query"), typeNames=type_name)
    etree.SubElement(query, _csw("ElementSetName")).text = LISTING_ELEMENT_SET
    if constraint:
        holder = etree.SubElement(query, _csw("Constraint"), version=CQL_VERSION)
        etree.SubElement(holder, _csw("CqlText")).text = constraint
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def getrecordbyid_body(schema: str, remote_id: str) -> bytes:
    root = etree.Element(
        _csw("GetRecordById"),
        nsmap={"csw": CSW_NS},
        service="CSW",
        version=CSW_VERSION,
        outputSchema=OUTPUT_SCHEMAS[schema][0],
    )
    etree.SubElement(root, _csw("Id")).text = remote_id
    etree.SubElement(root, _csw("ElementSetName")).text = FETCH_ELEMENT_SET
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def check_status(status: int, body: bytes, where: str, *, by_id: bool = False, content_type: str = "") -> None:
    """Turn an HTTP error answer into a specific RemoteError.

    An OWS exception report sent with an error status is reported as an
    exception report (with the status); GetRecordById answered 404 means the
    record is gone. Any other body is described, never quoted.
    """
    if status < 400:
        return
    try:
        raise_for_exception_report(parse_xml(body, where), f"{where}: HTTP {status}")
    except RemoteError as e:
        if e.kind == "exception-report":
            if by_id and status == 404:
                raise RemoteError("not-found", e.message) from None
            raise
    if by_id and status == 404:
        raise RemoteError("not-found", f"{where}: HTTP 404, no such record")
    raise RemoteError("http-error", f"{where}: HTTP {status}, {describe_body(body, content_type)}")


def metadata_link(url: str, remote_id: str, kind: str) -> dict[str, Any]:
    schema = "iso" if kind == "iso" else "dc"
    return {
        "type": "metadata",
        "url": with_query(url, getrecordbyid_params(schema, remote_id)),
        "format": "application/xml",
        "standard": "ISO 19139" if schema == "iso" else "csw:Record",
    }


def _is_truncated_body(error: RemoteError) -> bool:
    # h11 via httpx: "peer closed connection without sending complete message body".
    return error.kind == "unreachable" and "complete message body" in error.message


# --- remote -----------------------------------------------------------------------------------


class CswRemote:
    """A CSW 2.0.2 catalogue (pycsw, GeoNetwork, GeoNode's pycsw, deegree, …)."""

    def __init__(self, url: str, options: RemoteOptions, http: HttpClient) -> None:
        self.url = url.strip()
        self.http = http
        self.page_size = options.get_int("page_size", DEFAULT_PAGE_SIZE)
        schema = (options.get("output_schema") or "").strip().lower() or None
        if schema is not None and schema not in OUTPUT_SCHEMAS:
            raise RemoteError("bad-option", f"option output_schema={schema!r}: use one of {', '.join(OUTPUT_SCHEMAS)}")
        self.method = (options.get("method") or "get").strip().lower()
        if self.method not in METHODS:
            raise RemoteError("bad-option", f"option method={self.method!r}: use one of {', '.join(METHODS)}")
        self.constraint = (options.get("constraint") or "").strip() or None
        # Held across the GetCapabilities request, so concurrent fetches wait
        # for one answer instead of each asking.
        self._lock = threading.Lock()
        self._schema = schema
        # pycsw 2.6 behind plain WSGI gzips the body but announces the
        # uncompressed Content-Length; once seen, ask this server for identity.
        self._identity_encoding = False

    # -- transport ---------------------------------------------------------------------------

    def _send(self, method: str, url: str, content: bytes | None = None) -> Response:
        headers = {"Content-Type": "application/xml"} if content is not None else {}
        if self._identity_encoding:
            headers["Accept-Encoding"] = "identity"
        try:
            return self.http.request(method, url, content=content, headers=headers, accept_status=_ERROR_STATUSES)
        except RemoteError as e:
            if self._identity_encoding or not _is_truncated_body(e):
                raise
        self._identity_encoding = True
        headers["Accept-Encoding"] = "identity"
        return self.http.request(method, url, content=content, headers=headers, accept_status=_ERROR_STATUSES)

    # -- capabilities ------------------------------------------------------------------------

    def capabilities_url(self) -> str:
        return with_query(self.url, capabilities_params())

    def fetch_capabilities(self) -> CswCapabilities:
        url = self.capabilities_url()
        where = f"GET {url}"
        response = self._send("GET", url)
        check_status(response.status, response.body, where, content_type=response.content_type)
        return parse_capabilities(response.body, where, response.content_type)

    def output_schema(self) -> str:
        """The configured schema, or the one the capabilities suggest (asked once)."""
        with self._lock:
            if self._schema is None:
                self._schema = self.fetch_capabilities().default_output_schema()
            return self._schema

    def check_availability(self) -> bool:
        """True when the URL answers CSW 2.0.2 capabilities; otherwise raises
        the RemoteError saying why (what answered, when it can be told)."""
        caps = self.fetch_capabilities()
        with self._lock:
            if self._schema is None:
                self._schema = caps.default_output_schema()
        return True

    # -- listing -----------------------------------------------------------------------------

    @staticmethod
    def _start(cursor: str | None) -> int:
        if cursor is None:
            return 1
        if not cursor.isdigit() or int(cursor) < 1:
            raise RemoteError("bad-option", f"cursor {cursor!r} is not a record position")
        return int(cursor)

    def list_resources(self, cursor: str | None) -> ListingPage:
        start = self._start(cursor)
        schema = self.output_schema()
        if self.method == "post":
            where = f"POST {self.url} GetRecords startPosition={start}"
            response = self._send("POST", self.url, getrecords_body(schema, start, self.page_size, self.constraint))
        else:
            url = with_query(self.url, getrecords_params(schema, start, self.page_size, self.constraint))
            where = f"GET {url}"
            response = self._send("GET", url)
        check_status(response.status, response.body, where, content_type=response.content_type)
        return parse_listing(
            response.body, where, position=start, requested=self.page_size, content_type=response.content_type
        )

    # -- one record --------------------------------------------------------------------------

    def fetch(self, remote_id: str) -> FetchedResource:
        schema = self.output_schema()
        if self.method == "post":
            where = f"POST {self.url} GetRecordById id={remote_id}"
            response = self._send("POST", self.url, getrecordbyid_body(schema, remote_id))
        else:
            url = with_query(self.url, getrecordbyid_params(schema, remote_id))
            where = f"GET {url}"
            response = self._send("GET", url)
        check_status(response.status, response.body, where, by_id=True, content_type=response.content_type)
        record = parse_record_by_id(response.body, where, remote_id, response.content_type)
        return self._resource(record, remote_id, where)

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        where = f"stored record {remote_id}"
        record = parse_xml(raw, where)
        if record_kind(record) is None:
            raise RemoteError("parse-error", f"{where}: holds {describe_root(record)}, not a CSW record")
        return self._resource(record, remote_id, where)

    def _resource(self, record: Any, remote_id: str, where: str) -> FetchedResource:
        identifier = record_identifier(record)
        if identifier != remote_id:
            got = clean_field(identifier, 80) if identifier is not None else None
            raise RemoteError("parse-error", f"{where}: expected record {remote_id!r}, got {got!r}")
        descriptor = record_descriptor(record)
        kind = record_kind(record) or "dc"
        _append_link(descriptor["links"], metadata_link(self.url, remote_id, kind))
        return finished(descriptor, record_bytes(record), modified=record_modified(record))
