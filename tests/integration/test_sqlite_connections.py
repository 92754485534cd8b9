"""The SQLite store's connections are opened as `runners/sqlite_store.py` says:
WAL, no secure delete, and our pool (with a statement cache of more than one
statement, which the library's own pool lacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvesting.runners.config import load_settings
from harvesting.runners.runtime import Runtime
from harvesting.runners.sqlite_store import StatementCachingPool


def test_store_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HARVEST_DATABASE_URL", raising=False)
    rt = Runtime(load_settings())
    try:
        assert isinstance(rt.app.factory.datastore.pool, StatementCachingPool)
        assert rt.db.scalar("PRAGMA secure_delete") == 0
        assert rt.db.scalar("PRAGMA journal_mode") == "wal"
        rt.app.add_harvester("one", "wms", "http://127.0.0.1:1/wms", {}, {})
        rt.projector.catch_up()
        assert rt.db.scalar("SELECT count(*) FROM harvesters") == 1
    finally:
        rt.close()


def test_reading_an_absent_store_uses_the_same_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_DATA_DIR", str(tmp_path / "absent"))
    monkeypatch.delenv("HARVEST_DATABASE_URL", raising=False)
    rt = Runtime(load_settings(), create=False)
    try:
        assert rt.missing
        assert isinstance(rt.app.factory.datastore.pool, StatementCachingPool)
        assert not (tmp_path / "absent").exists()
    finally:
        rt.close()
