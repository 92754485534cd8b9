"""Where things are: read once from the environment, checked, then passed down."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from harvesting.domain.errors import InvalidConfigurationError
from harvesting.remotes.http import HttpSettings
from harvesting.runners.sqlite_store import PERSISTENCE_TOPIC as SQLITE_PERSISTENCE

DEFAULT_BROKER_PREFIX = "harvesting"
_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    parallel: int
    batch_size: int
    http: HttpSettings = field(default_factory=HttpSettings)
    # How long a command waits for another process to project its own writes.
    read_wait_s: float = 15.0
    # The distributed runtime's job queue (RabbitMQ), and the prefix of its
    # queue and exchange names, so several installations share one broker.
    broker_url: str | None = None
    broker_prefix: str = DEFAULT_BROKER_PREFIX

    @property
    def distributed(self) -> bool:
        return self.broker_url is not None

    @property
    def http_timeout_s(self) -> float:
        return self.http.timeout_s

    @property
    def max_response_bytes(self) -> int:
        return self.http.max_bytes

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "harvesting.sqlite3"

    def event_store_env(self) -> dict[str, str]:
        if self.database_url is None:
            return {
                "PERSISTENCE_MODULE": SQLITE_PERSISTENCE,
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return postgres_env(self.database_url)


def masked(url: str) -> str:
    """A database URL fit for a message: the password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "") + ":***"
        return parts._replace(netloc=f"{user}@{netloc[1]}").geturl()
    except ValueError:
        return "<unparsable URL>"


def postgres_env(url: str) -> dict[str, str]:
    try:
        parsed = urlsplit(url)
        port = parsed.port
    except ValueError as e:
        raise InvalidConfigurationError(f"HARVEST_DATABASE_URL {masked(url)!r} is not valid: {e}") from None
    if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
        raise InvalidConfigurationError(
            f"HARVEST_DATABASE_URL must look like postgresql://user@host:5432/dbname, got {masked(url)!r}"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parsed.path.strip("/")),
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # Connections held open per process: two. A read command needs one, and
        # twenty of them at once must not exhaust the server's 100 slots; a
        # driving process opens more on demand (overflow) and lets them go.
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "16",
        # A pooled connection that the server ended (restart, pg_terminate_backend)
        # is replaced before use instead of failing the next command.
        "POSTGRES_PRE_PING": "y",
    }


def _positive_int(name: str, default: int, high: int = 1_000_000_000) -> int:
    return _count(name, default, high, low=1)


def _count(name: str, default: int, high: int, low: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise InvalidConfigurationError(f"{name}={raw!r} must be from {low} to {high:,}")
    return value


def _positive_float(name: str, default: float | None, high: float = 86400.0) -> float | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidConfigurationError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or not 0 < value <= high:
        raise InvalidConfigurationError(f"{name}={raw!r} must be a number above 0 and at most {high:g}")
    return value


def load_settings() -> Settings:
    parallel = _positive_int("HARVEST_PARALLEL", 8, 1024)
    timeout = _positive_float("HARVEST_HTTP_TIMEOUT", 30.0)
    assert timeout is not None
    contact = os.environ.get("HARVEST_CONTACT", "")
    if any(ord(ch) < 0x20 for ch in contact):
        raise InvalidConfigurationError("HARVEST_CONTACT must be one line of text (an e-mail or URL)")
    http = HttpSettings(
        timeout_s=timeout,
        deadline_s=_positive_float("HARVEST_HTTP_DEADLINE", None),
        max_bytes=_positive_int("HARVEST_MAX_RESPONSE_BYTES", 64 * 1024 * 1024, 16 * 1024**3),
        per_host=_positive_int("HARVEST_PER_HOST_LIMIT", 4, 1024),
        retries=_count("HARVEST_HTTP_RETRIES", 2, 10),
        max_retry_after_s=_positive_float("HARVEST_MAX_RETRY_AFTER", 120.0) or 120.0,
        max_connections=max(64, 2 * parallel),
        contact=contact,
    )
    database_url = os.environ.get("HARVEST_DATABASE_URL") or None
    return Settings(
        data_dir=Path(os.environ.get("HARVEST_DATA_DIR") or "harvest-data").resolve(),
        database_url=database_url,
        parallel=parallel,
        batch_size=_positive_int("HARVEST_BATCH_SIZE", 100, 100_000),
        http=http,
        read_wait_s=_positive_float("HARVEST_READ_WAIT", 15.0, 3600.0) or 15.0,
        broker_url=_broker_url(database_url),
        broker_prefix=_broker_prefix(),
    )


def _broker_url(database_url: str | None) -> str | None:
    url = os.environ.get("HARVEST_BROKER_URL") or None
    if url is None:
        return None
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as e:
        raise InvalidConfigurationError(f"HARVEST_BROKER_URL {masked(url)!r} is not valid: {e}") from None
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise InvalidConfigurationError(
            f"HARVEST_BROKER_URL must look like amqp://user:password@host:5672/vhost, got {masked(url)!r}"
        )
    if database_url is None:
        raise InvalidConfigurationError(
            "HARVEST_BROKER_URL needs HARVEST_DATABASE_URL: the distributed runtime keeps its events in PostgreSQL"
        )
    return url


def _broker_prefix() -> str:
    prefix = os.environ.get("HARVEST_BROKER_PREFIX") or DEFAULT_BROKER_PREFIX
    if not _PREFIX.fullmatch(prefix):
        raise InvalidConfigurationError(
            f"HARVEST_BROKER_PREFIX={prefix!r}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )
    return prefix
