"""Real servers for the interop tests, each started once per session and stopped at its end.

Installing or starting a server that fails is an error of the tests that need
it, with the server's name and log file in the message, never a skip.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from interop import install as inst
from interop import servers
from interop.servers import Server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session", autouse=True)
def _stop_servers_on_sigterm() -> Iterator[None]:
    """A run ended with SIGTERM (a CI time limit, `timeout`) unwinds through the
    fixtures' teardown instead of dying with the servers still up."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def interop_installed() -> dict[str, float]:
    """Everything installed, in parallel (seconds per install: 0.0 when reused)."""
    try:
        return inst.install_all()
    except inst.InstallError as error:
        pytest.fail(str(error), pytrace=False)


def _serve(start: Callable[..., Server], *args: object) -> Iterator[Server]:
    try:
        server = start(*args)
    except (servers.ServerStartError, inst.InstallError) as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def _workdir(factory: pytest.TempPathFactory, name: str) -> Path:
    return factory.mktemp(name)


@pytest.fixture(scope="session")
def mapserver_wms(interop_installed: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_mapserver_wms, _workdir(tmp_path_factory, "mapserver"))


@pytest.fixture(scope="session")
def mapproxy(mapserver_wms: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_mapproxy, _workdir(tmp_path_factory, "mapproxy"), mapserver_wms.url)


@pytest.fixture(scope="session")
def pycsw2(interop_installed: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_pycsw2, _workdir(tmp_path_factory, "pycsw2"))


@pytest.fixture(scope="session")
def pycsw3(interop_installed: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_pycsw3, _workdir(tmp_path_factory, "pycsw3"))


@pytest.fixture(scope="session")
def rustac(interop_installed: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_rustac, _workdir(tmp_path_factory, "rustac"))


@pytest.fixture(scope="session")
def koop(interop_installed: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(servers.start_koop, _workdir(tmp_path_factory, "koop"))
