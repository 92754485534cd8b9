"""Reading loosely typed values the same way in every protocol module: JSON
documents and their fields, and what of a remote's answer may appear in our
error messages."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from harvesting.remotes.base import RemoteError
from harvesting.remotes.spool import SpooledBody

# No catalogue document nests anywhere near this deep (GeoJSON multipolygons
# and PROJJSON stay under 15 levels). Refusing deeper ones up front keeps every
# later walk over a document (json.dumps of it, of its fields, the content
# hash) far below the interpreter's recursion limit, whatever thread runs it.
MAX_JSON_DEPTH = 100
# The most of a remote's own error fields (exception texts, error messages)
# that a message quotes.
MAX_QUOTED_CHARS = 160


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def finite_number(value: Any) -> float | None:
    """A number from a number or numeric string; None for booleans, NaN and infinities
    (remotes write all of these where a coordinate belongs)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------
# What a message may say about a remote's answer
# --------------------------------------------------------------------------


def _sniffed(body: bytes) -> str:
    start = body.lstrip()[:1]
    if start == b"<":
        return "markup"
    if start in (b"{", b"["):
        return "JSON-like text"
    return "unlabelled content"


def _kind(body: bytes, content_type: str) -> str:
    return clean_field(content_type.split(";", 1)[0], 60) or _sniffed(body)


def describe_body(body: bytes | SpooledBody, content_type: str = "") -> str:
    """What arrived, quoting nothing of it: a body may hold another party's
    data (a login page, a stack trace with secrets) or terminal escapes, and
    messages end up in events, logs and terminals."""
    head = body if isinstance(body, bytes) else body.head(64 * 1024)
    if not head.strip() and len(body) <= len(head):
        return "got an empty body"
    return f"got {len(body):,} bytes of {_kind(head, content_type)}"


def clean_field(value: Any, limit: int = MAX_QUOTED_CHARS) -> str:
    """A remote's structured error field (OWS ExceptionText, ArcGIS error
    message, GeoNode errors, OGC API problem detail) fit to quote: control and
    format characters removed, whitespace folded, at most `limit` characters."""
    raw = value if isinstance(value, str) else str(value)
    kept = "".join(ch for ch in raw if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    flat = " ".join(kept.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def quoted_fields(parts: list[Any], limit: int = MAX_QUOTED_CHARS) -> str:
    """Several error fields as one quote, `; `-joined, cleaned and cut as one."""
    cleaned = [clean_field(p, 10 * limit) for p in parts]
    return clean_field("; ".join(dict.fromkeys(p for p in cleaned if p)), limit)


# --------------------------------------------------------------------------
# JSON documents
# --------------------------------------------------------------------------


def _within_depth(value: Any, limit: int) -> bool:
    # Iterative: a recursive walk is what this guards against.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def load_json(body: bytes, where: str, content_type: str = "") -> Any:
    """A remote's JSON document, or RemoteError('parse-error') saying what
    arrived instead (never quoting it), including JSON nested beyond
    MAX_JSON_DEPTH."""
    try:
        data = json.loads(body)
    except RecursionError:
        data = None
        too_deep = True
    except (ValueError, UnicodeDecodeError):
        kind = _kind(body, content_type)
        if "json" in kind.lower() and body.strip():
            raise RemoteError("parse-error", f"{where}: malformed JSON ({len(body):,} bytes of {kind})") from None
        raise RemoteError("parse-error", f"{where}: expected JSON, {describe_body(body, content_type)}") from None
    else:
        too_deep = isinstance(data, (dict, list)) and not _within_depth(data, MAX_JSON_DEPTH)
    if too_deep:
        raise RemoteError(
            "parse-error", f"{where}: JSON nested more than {MAX_JSON_DEPTH} levels deep; not a catalogue document"
        )
    return data


def json_or_none(body: bytes) -> Any:
    """A JSON error body if there is a readable one (within MAX_JSON_DEPTH), else None."""
    try:
        return load_json(body, "")
    except RemoteError:
        return None


def describe_json(data: Any) -> str:
    """What kind of JSON document arrived, for 'answered, but not as …'
    messages; names no value of it beyond a recognised kind."""
    if isinstance(data, list):
        return "a JSON array"
    if not isinstance(data, dict):
        return "a bare JSON value"
    if "stac_version" in data or data.get("type") in ("Catalog", "Collection"):
        return "a STAC document"
    if data.get("type") in ("Feature", "FeatureCollection"):
        return "a GeoJSON document"
    if "resources" in data and ("page" in data or isinstance(data.get("resources"), str)):
        return "a GeoNode API document"
    if "currentVersion" in data or ("folders" in data and "services" in data):
        return "an ArcGIS REST document"
    if isinstance(data.get("links"), list) and ("conformsTo" in data or "collections" in data):
        return "an OGC API document"
    if "error" in data or {"code", "description"} <= set(data):
        return "a JSON error document"
    return f"a JSON object with {len(data)} keys"
