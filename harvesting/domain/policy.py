"""The rules a harvester's configuration must meet, checked before anything is
recorded: a guard that a typo (`nan`, a port of 99999, a password in a URL)
could switch off or leak must be refused at the door.

Readers of already-recorded policies go through the same defaults, so a value
that slipped in before these checks existed still cannot disable a guard.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from harvesting.domain.errors import InvalidConfigurationError

DEFAULT_MAX_STALE_SHARE = 0.5
DEFAULT_MAX_TOTAL_DRIFT = 0.01
DEFAULT_MAX_PAGES = 10_000
DEFAULT_MAX_RESOURCES = 1_000_000
DEFAULT_MAX_REQUESTS = 50_000
# A schedule longer than this is a typo (and `timedelta` overflows long before 1e15 days).
MAX_INTERVAL_S = 10 * 366 * 86400
MAX_BOUND = 100_000_000

_SHARES = {"max_stale_share": DEFAULT_MAX_STALE_SHARE, "max_total_drift": DEFAULT_MAX_TOTAL_DRIFT}
_BOUNDS = {
    "max_pages": DEFAULT_MAX_PAGES,
    "max_resources": DEFAULT_MAX_RESOURCES,
    "max_requests": DEFAULT_MAX_REQUESTS,
}
_INTERVALS = ("refresh_every_s", "harvest_every_s")


def share(value: Any, name: str) -> float:
    """A fraction in [0, 1]; NaN and infinities are refused (NaN compares false
    with everything, so `stale > nan` would never stop a sweep)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidConfigurationError(f"{name} must be a number from 0 to 1, got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidConfigurationError(f"{name} must be a number from 0 to 1, got {value!r}")
    return number


def whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidConfigurationError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidConfigurationError(f"{name} must be a whole number, got {value!r}") from None
    if isinstance(value, float) and (not math.isfinite(value) or value != number):
        raise InvalidConfigurationError(f"{name} must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise InvalidConfigurationError(f"{name} must be from {low:,} to {high:,}, got {value!r}")
    return number


def checked_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with every known value checked and normalised."""
    result = dict(policy)
    for key in _SHARES:
        if key in result:
            result[key] = share(result[key], key.replace("_", "-"))
    for key in _BOUNDS:
        if result.get(key) is not None:
            result[key] = whole(result[key], key.replace("_", "-"), 1, MAX_BOUND)
    for key in _INTERVALS:
        if result.get(key) is not None:
            result[key] = whole(result[key], key.removesuffix("_s").replace("_", "-"), 1, MAX_INTERVAL_S)
    hosts = result.get("allowed_hosts")
    if hosts is not None and (not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts)):
        raise InvalidConfigurationError("allowed_hosts must be a list of HOST[:PORT]")
    return result


def share_of(policy: dict[str, Any], key: str) -> float:
    """A recorded share, or its default if what was recorded is unusable."""
    try:
        return share(policy.get(key, _SHARES[key]), key)
    except InvalidConfigurationError:
        return _SHARES[key]


def bound_of(policy: dict[str, Any], key: str) -> int:
    try:
        value = policy.get(key)
        return _BOUNDS[key] if value is None else whole(value, key, 1, MAX_BOUND)
    except InvalidConfigurationError:
        return _BOUNDS[key]


def interval_of(policy: dict[str, Any], key: str) -> int | None:
    value = policy.get(key)
    if value is None:
        return None
    try:
        return whole(value, key, 1, MAX_INTERVAL_S)
    except InvalidConfigurationError:
        return None


def checked_url(url: str) -> str:
    """An http(s) URL with a host, a valid port, no credentials and nothing a
    copy-paste dragged along (spaces, newlines, control characters)."""
    if not isinstance(url, str) or not url:
        raise InvalidConfigurationError("a harvester needs a URL")
    if url != url.strip():
        raise InvalidConfigurationError(f"URL {url!r} starts or ends with spaces or a newline")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidConfigurationError(f"URL {url!r} is not valid: {e}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidConfigurationError(f"URL {url!r} is not an http(s) URL with a host")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidConfigurationError(f"URL {url!r} contains spaces or control characters")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidConfigurationError(
            "URL must not carry a user name or password (they would be stored in the event log for ever); "
            "credentials are given separately, with named credentials"
        )
    if port is not None and not 1 <= port <= 65535:
        raise InvalidConfigurationError(f"URL {url!r}: port must be from 1 to 65535")
    return url
