"""Where things are: read once from the environment, checked, then passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from harvesting.domain.errors import InvalidConfigurationError


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    parallel: int
    batch_size: int
    http_timeout_s: float = 30.0
    max_response_bytes: int = 64 * 1024 * 1024

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"

    def event_store_env(self) -> dict[str, str]:
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / "harvesting.sqlite3"),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return postgres_env(self.database_url)


def postgres_env(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
        raise InvalidConfigurationError(
            f"HARVEST_DATABASE_URL must look like postgresql://user@host:5432/dbname, got {url!r}"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parsed.path.strip("/")),
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
    }


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise InvalidConfigurationError(f"{name}={raw!r} must be at least 1")
    return value


def _positive_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidConfigurationError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise InvalidConfigurationError(f"{name}={raw!r} must be positive")
    return value


def load_settings() -> Settings:
    return Settings(
        data_dir=Path(os.environ.get("HARVEST_DATA_DIR") or "harvest-data").resolve(),
        database_url=os.environ.get("HARVEST_DATABASE_URL") or None,
        parallel=_positive_int("HARVEST_PARALLEL", 8),
        batch_size=_positive_int("HARVEST_BATCH_SIZE", 100),
        http_timeout_s=_positive_float("HARVEST_HTTP_TIMEOUT", 30.0),
        max_response_bytes=_positive_int("HARVEST_MAX_RESPONSE_BYTES", 64 * 1024 * 1024),
    )
