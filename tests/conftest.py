"""Shared fixtures: a `harvest` CLI runner against a fresh store on each backend
(SQLite files, or a fresh PostgreSQL database), and the loopback servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harvesting.demo.server import LoopbackServer
from harvesting.runners.config import load_settings
from harvesting.runners.runtime import Runtime
from tests.servers.hostile import HostileServer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HARVEST = [sys.executable, "-m", "harvesting.cli"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs `harvest` in a subprocess, as a user would, against one store."""

    def __init__(self, env: dict[str, str], backend: str) -> None:
        self.env = env
        self.backend = backend

    def __call__(self, *args: str, check: bool = True, timeout: float = 180, **extra_env: str) -> Result:
        env = {**self.env, **extra_env}
        done = subprocess.run([*HARVEST, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        result = Result(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"harvest {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n{done.stdout}")
        return result

    def json(self, *args: str) -> Any:
        return self(*args, "--json").json()

    def popen(self, *args: str, **extra_env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*HARVEST, *args],
            env={**self.env, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env["HARVEST_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli(_base_env(tmp_path / "store"), "sqlite")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database per test; PostgreSQL missing is a failure, not a skip."""
    name = f"harvest_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    env = _base_env(tmp_path / "store")
    if request.param == "postgresql":
        env["HARVEST_DATABASE_URL"] = request.getfixturevalue("postgres_database")
    return Cli(env, request.param)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def read_data(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


@pytest.fixture(params=["sqlite", "postgresql"])
def rt(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A runtime in this process on a fresh store of each backend."""
    monkeypatch.setenv("HARVEST_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("HARVEST_DATABASE_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("HARVEST_DATABASE_URL", request.getfixturevalue("postgres_database"))
    runtime = Runtime(load_settings())
    yield runtime
    runtime.close()
