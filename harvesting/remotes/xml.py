"""Safe XML parsing for remote documents, plus namespace-agnostic helpers.

Remote documents are untrusted: the parser never touches the network or the
file system (WMS 1.1.1 documents carry a DOCTYPE pointing at
schemas.opengis.net, which must not be fetched) and refuses documents that
declare entities, which is where entity-expansion bombs and external-entity
reads live. OGC services disagree on namespaces (WMS 1.3.0 uses
http://www.opengis.net/wms, 1.1.1 none), so the helpers match local names.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # no stubs shipped

from harvesting.remotes.base import RemoteError
from harvesting.remotes.spool import SpooledBody
from harvesting.remotes.values import clean_field, describe_body, quoted_fields

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# libxml2's error codes by name: a parser message quotes the document (tag
# and entity names), its code does not.
_ERROR_NAMES = {code: name for name, code in vars(etree.ErrorTypes).items() if isinstance(code, int)}

_UTF8_BOM = b"\xef\xbb\xbf"
# Bounds the text copied into error messages so one bad remote cannot bloat the event log.
_MAX_MESSAGE_CHARS = 1000
_WHITESPACE = re.compile(r"\s+")


# One set of safe settings for the tree parser and the streaming one.
_SAFE_SETTINGS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": True,
}


def _new_parser() -> Any:
    # A parser per call: lxml parser objects must not be shared between threads,
    # and remotes parse from many worker threads at once.
    return etree.XMLParser(**_SAFE_SETTINGS)


def strip_bogus_bom(body: bytes) -> bytes:
    """Drop a byte-order mark that does not describe the bytes after it.

    A real WMS answers `FF FE` followed by plain 8-bit XML; taken at its word
    that BOM would make the parser read the document as UTF-16 and fail. A real
    UTF-16 document has a NUL byte beside every ASCII character, so `<` followed
    by a non-NUL byte means the BOM is lying. Leading whitespace before the XML
    declaration (also seen in the wild, and fatal to libxml2) goes too.
    """
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    elif body[:2] in (b"\xff\xfe", b"\xfe\xff") and body[2:3] == b"<" and body[3:4] != b"\x00":
        body = body[2:]
    stripped = body.lstrip(b" \t\r\n")
    if stripped.startswith(b"<"):
        return stripped
    return body


def one_line(text: str | None, limit: int = _MAX_MESSAGE_CHARS) -> str:
    """Collapse whitespace so a remote's message fits one log line."""
    collapsed = _WHITESPACE.sub(" ", text or "").strip()
    if len(collapsed) > limit:
        return collapsed[: limit - 1] + "…"
    return collapsed


def _syntax_error(error: Any) -> str:
    """Where and what kind of error, without libxml2's message (which quotes
    tag and entity names out of the document)."""
    code = getattr(error, "code", None)
    name = _ERROR_NAMES.get(code, "") if isinstance(code, int) else ""
    kind = name.removeprefix("ERR_").lower().replace("_", " ") or "syntax error"
    line, column = getattr(error, "position", None) or (getattr(error, "lineno", 0), 0)
    return f"{kind} at line {line}, column {column}"


def parse_xml(body: bytes, url: str, content_type: str = "") -> Any:
    """Parse an untrusted document and return its root element.

    Raises RemoteError('parse-error', ...) for an empty body, malformed XML, or
    a document that declares entities.
    """
    if not body or not body.strip():
        raise RemoteError("parse-error", "empty response")
    data = strip_bogus_bom(body)
    try:
        root = etree.fromstring(data, _new_parser())
    except etree.XMLSyntaxError as e:
        raise _malformed(e, body, url, content_type) from None
    if root is None:
        raise RemoteError("parse-error", f"{url}: malformed XML: no root element")
    _refuse_entities(root, url)
    return root


def iter_xml(
    body: bytes | SpooledBody, url: str, content_type: str = "", tag: str | None = None
) -> Iterator[tuple[str, Any]]:
    """`parse_xml` as a stream of ("start" | "end", element) events, with the
    same safety and the same errors. The caller clears what it has read: a
    document of 100 MB is read without its whole tree (six times its size) in
    memory, and a spooled body is read from disk as the parser goes. With
    `tag` (such as "{*}Layer") only those elements' events come out; the
    others are built in C, far faster than an event each."""
    source: Any
    if isinstance(body, SpooledBody):
        head = body.head()
        if not head.strip() and body.size <= len(head):
            raise RemoteError("parse-error", "empty response")
        # What strip_bogus_bom drops is a prefix of the head.
        source = body.reader(start=len(head) - len(strip_bogus_bom(head)))
    else:
        if not body or not body.strip():
            raise RemoteError("parse-error", "empty response")
        source = io.BytesIO(strip_bogus_bom(body))
    events = etree.iterparse(source, events=("start", "end"), tag=tag, **_SAFE_SETTINGS)
    first = True
    try:
        for event, element in events:
            if first:
                _refuse_entities(element.getroottree().getroot(), url)
                first = False
            yield event, element
    except etree.XMLSyntaxError as e:
        raise _malformed(e, body, url, content_type) from None
    if first and tag is None:
        raise RemoteError("parse-error", f"{url}: malformed XML: no root element")


def _malformed(error: Any, body: bytes | SpooledBody, url: str, content_type: str) -> RemoteError:
    message = str(error)
    # libxml2 stops deep entity nesting itself, before our own check can run.
    if "amplification" in message or "entity reference loop" in message:
        return RemoteError("parse-error", f"{url}: entity expansion refused: {_syntax_error(error)}")
    found = describe_body(body, content_type)
    return RemoteError("parse-error", f"{url}: malformed XML: {_syntax_error(error)} (expected XML, {found})")


def _refuse_entities(root: Any, url: str) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None:
        # Entities are never expanded (resolve_entities=False), but no OGC
        # document needs them, so a declaration is treated as hostile rather
        # than handed on half-understood.
        count = sum(1 for _ in dtd.iterentities())
        if count:
            raise RemoteError("parse-error", f"{url}: document declares {count} XML entities; refused for safety")


_LOCAL_NAMES: dict[str, str] = {}
# A document of endless distinct tags must not grow the cache without bound.
_LOCAL_NAMES_MAX = 4096


def local_name(el: Any) -> str:
    """The tag without its namespace; '' for comments and processing instructions."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    # Called for every child of every element: a document has few distinct tags.
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1]
        if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX:
            _LOCAL_NAMES[tag] = name
    return name


def children(el: Any, name: str) -> list[Any]:
    """Direct child elements with the given local name, in any namespace or
    none, in document order (lxml's "{*}" filter runs in C)."""
    return list(el.iterchildren("{*}" + name))


def child(el: Any, name: str) -> Any | None:
    return next(el.iterchildren("{*}" + name), None)


def find(el: Any, *path: str) -> Any | None:
    """Follow a path of local names through direct children (first match at each step)."""
    current: Any | None = el
    for name in path:
        if current is None:
            return None
        current = child(current, name)
    return current


def find_all(el: Any, *path: str) -> list[Any]:
    """Every element reachable by a path of local names (all matches at each step)."""
    current = [el]
    for name in path:
        current = [found for parent in current for found in children(parent, name)]
    return current


def text_of(el: Any | None) -> str:
    """All text inside an element, stripped; '' when there is no element."""
    if el is None:
        return ""
    if not len(el):
        # The common leaf element: its text alone, without walking it.
        return (el.text or "").strip()
    return "".join(el.itertext()).strip()


def find_text(el: Any, *path: str) -> str | None:
    """Stripped text at a path of local names; None when the element is absent or empty."""
    found = find(el, *path)
    text = text_of(found)
    return text or None


def raise_for_exception_report(root: Any, url: str) -> None:
    """Raise RemoteError('exception-report', ...) if the document is an OGC exception.

    OGC services answer errors with HTTP 200 and an exception document, so the
    status code alone says nothing. Covers WMS `ServiceExceptionReport` (1.1.1
    without namespace, 1.3.0 in the ogc namespace) and OWS `ExceptionReport`
    (1.0, 1.1, 2.0).
    """
    name = local_name(root)
    if name == "ServiceExceptionReport":
        parts = [(exc.get("code") or "", text_of(exc)) for exc in root.iter() if local_name(exc) == "ServiceException"]
    elif name == "ExceptionReport":
        parts = []
        for exc in root.iter():
            if local_name(exc) != "Exception":
                continue
            texts = [text_of(t) for t in exc if local_name(t) == "ExceptionText"]
            locator = exc.get("locator")
            text = " ".join(t for t in texts if t)
            if locator:
                text = f"{text} (locator: {locator})" if text else f"locator: {locator}"
            parts.append((exc.get("exceptionCode") or "", text))
    else:
        return
    if not parts:
        parts = [("", text_of(root))]
    codes = [clean_field(code, 60) for code, _ in parts if code]
    code = clean_field(", ".join(dict.fromkeys(c for c in codes if c))) or "NoApplicableCode"
    text = quoted_fields([text for _, text in parts if text]) or "(no message)"
    raise RemoteError("exception-report", f"{url}: {code}: {text}")


# Root elements that say which OGC service answered: (local name, namespace prefix) -> what it is.
_KNOWN_ROOTS = {
    ("WMS_Capabilities", ""): "a WMS capabilities document",
    ("WMT_MS_Capabilities", ""): "a WMS capabilities document",
    ("WFS_Capabilities", ""): "a WFS capabilities document",
    ("Capabilities", "http://www.opengis.net/cat/csw/"): "a CSW capabilities document",
    ("Capabilities", "http://www.opengis.net/wmts/"): "a WMTS capabilities document",
    ("Capabilities", "http://www.opengis.net/wcs/"): "a WCS capabilities document",
    ("Capabilities", "http://www.opengis.net/wps/"): "a WPS capabilities document",
    ("CoverageDescriptions", ""): "a WCS coverage description",
    ("GetRecordsResponse", ""): "a CSW GetRecords response",
    ("GetRecordByIdResponse", ""): "a CSW GetRecordById response",
    ("ExceptionReport", ""): "an OWS exception report",
    ("ServiceExceptionReport", ""): "a WMS service exception report",
    ("html", ""): "an HTML page",
    ("feed", "http://www.w3.org/2005/Atom"): "an Atom feed",
    ("OpenSearchDescription", ""): "an OpenSearch description",
}


def describe_root(root: Any) -> str:
    """What an XML document is, from its root element, for 'answered with …,
    not a … document' messages."""
    name = local_name(root)
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    for (known, prefix), what in _KNOWN_ROOTS.items():
        if name == known and namespace.startswith(prefix):
            return what
    return f"an XML document with root element {clean_field(name, 60) or '?'}"
