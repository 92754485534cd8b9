"""Install the interop servers, each once, reusing what an earlier run installed.

* MapServer: Debian packages (shared with tests/servers/mapserver.py).
* pycsw 2.6.2, pycsw 3.0.0b2 (PyPI `geonode-pycsw`), MapProxy 7 and rustac: one venv
  each under `.interop/venvs/`, from the pinned files in `interop/requirements/`.
  Separate because both pycsw releases install the import name `pycsw`, and
  both need `SQLAlchemy<2`, which neither declares.
* Koop: npm packages under `.interop/koop/node_modules`, from the committed
  package.json and package-lock.json (Node.js from Debian if the machine has none).

An install is reused when its stamp file holds the digest of what it was built
from, so a second `make interop` installs nothing. Every install writes its
output to `.interop/logs/install-NAME.log`; a failure raises InstallError naming
that log.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from interop import PACKAGE, ROOT

__all__ = [
    "PYTHON_ENVS",
    "InstallError",
    "ensure_koop",
    "ensure_mapserver",
    "ensure_node",
    "ensure_python_env",
    "install_all",
    "logs_dir",
    "state_dir",
]

# venv name -> pinned requirements file (a full `pip freeze` of a working install).
PYTHON_ENVS: dict[str, str] = {
    "pycsw2": "pycsw2.txt",
    "pycsw3": "pycsw3.txt",
    "mapproxy": "mapproxy.txt",
    "rustac": "rustac.txt",
}
REQUIREMENTS = PACKAGE / "requirements"
KOOP_SOURCE = PACKAGE / "koop"
KOOP_FILES = ("package.json", "package-lock.json", "server.js")
_STAMP = ".interop-stamp"
_PIP_TIMEOUT_S = 900.0
_NPM_TIMEOUT_S = 900.0
_APT_TIMEOUT_S = 900.0


class InstallError(RuntimeError):
    """An install step failed; the message names the step and its log file."""


def state_dir() -> Path:
    """Where installs, logs and run directories live (gitignored)."""
    return Path(os.environ.get("INTEROP_DIR", ROOT / ".interop")).resolve()


def logs_dir() -> Path:
    path = state_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(name: str) -> Iterator[None]:
    # Two pytest-xdist workers, or a test run beside `python -m interop install`,
    # must not build the same venv at once.
    lock_dir = state_dir() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _stamp_matches(directory: Path, digest: str) -> bool:
    stamp = directory / _STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def _run_logged(
    step: str, argv: list[str], log: Path, *, cwd: Path | None = None, timeout: float, env: dict[str, str] | None = None
) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise InstallError(f"{step}: {argv[0]} not found ({error}); log: {log}") from None
        except subprocess.TimeoutExpired:
            raise InstallError(f"{step}: `{' '.join(argv)}` took over {timeout:.0f} s; log: {log}") from None
    if done.returncode != 0:
        raise InstallError(
            f"{step}: `{' '.join(argv)}` exited {done.returncode}; log: {log}\n--- end of log ---\n{_tail(log)}"
        )


def venv_dir(name: str) -> Path:
    return state_dir() / "venvs" / name


def venv_bin(name: str, program: str) -> Path:
    return venv_dir(name) / "bin" / program


def ensure_python_env(name: str) -> Path:
    """The bin/ directory of venv NAME, built from its pinned requirements if needed."""
    requirements = REQUIREMENTS / PYTHON_ENVS[name]
    digest = _digest(requirements.read_bytes(), sys.version.encode())
    target = venv_dir(name)
    with _locked(f"venv-{name}"):
        if _stamp_matches(target, digest) and venv_bin(name, "python").exists():
            return target / "bin"
        log = logs_dir() / f"install-{name}.log"
        log.write_text(f"building venv {target} from {requirements}\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        _run_logged(f"venv {name}", [sys.executable, "-m", "venv", str(target)], log, timeout=_PIP_TIMEOUT_S)
        pip = [str(venv_bin(name, "python")), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run_logged(
            f"pip install into {name}", [*pip, "install", "-q", "-r", str(requirements)], log, timeout=_PIP_TIMEOUT_S
        )
        (target / _STAMP).write_text(digest + "\n", encoding="utf-8")
        return target / "bin"


def _apt_install(step: str, packages: list[str], log: Path) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    try:
        _run_logged(step, install, log, timeout=_APT_TIMEOUT_S, env=env)
    except InstallError:
        # A fresh machine has no package lists yet; that is the usual cause.
        _run_logged(f"{step} (apt-get update)", ["apt-get", "update"], log, timeout=_APT_TIMEOUT_S, env=env)
        _run_logged(step, install, log, timeout=_APT_TIMEOUT_S, env=env)


def ensure_node() -> tuple[str, str]:
    """Paths of `node` and `npm`, installing Debian's Node.js if the machine has none."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    with _locked("apt"):
        node, npm = shutil.which("node"), shutil.which("npm")
        if not (node and npm):
            _apt_install("install Node.js", ["nodejs", "npm"], logs_dir() / "install-nodejs.log")
            node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        raise InstallError(
            f"Node.js installed but node/npm still not on PATH; log: {logs_dir() / 'install-nodejs.log'}"
        )
    return node, npm


def koop_dir() -> Path:
    return state_dir() / "koop"


def ensure_koop() -> Path:
    """The directory holding Koop's node_modules and server.js."""
    _, npm = ensure_node()
    sources = [(KOOP_SOURCE / f).read_bytes() for f in KOOP_FILES]
    digest = _digest(*sources)
    target = koop_dir()
    with _locked("koop"):
        if _stamp_matches(target, digest) and (target / "node_modules" / "@koopjs" / "koop-core").is_dir():
            return target
        target.mkdir(parents=True, exist_ok=True)
        for name in KOOP_FILES:
            shutil.copyfile(KOOP_SOURCE / name, target / name)
        log = logs_dir() / "install-koop.log"
        log.write_text(f"installing Koop into {target}\n", encoding="utf-8")
        _run_logged(
            "npm ci (Koop)",
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=warn"],
            log,
            cwd=target,
            timeout=_NPM_TIMEOUT_S,
        )
        (target / _STAMP).write_text(digest + "\n", encoding="utf-8")
        return target


def ensure_mapserver() -> str:
    """Path of `mapserv`, installed with apt if missing (the test suite's own helper)."""
    from tests.servers.mapserver import ensure_mapserver_installed

    with _locked("apt"):
        try:
            return ensure_mapserver_installed()
        except RuntimeError as error:
            raise InstallError(str(error)) from None


def _timed(step: Callable[[], object]) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def install_all() -> dict[str, float]:
    """Install every server (in parallel: it is mostly waiting on registries).

    Returns seconds per install; raises InstallError listing every failure.
    """
    steps: dict[str, Callable[[], object]] = {
        "mapserver": ensure_mapserver,
        "koop": ensure_koop,
        **{name: (lambda name=name: ensure_python_env(name)) for name in PYTHON_ENVS},  # type: ignore[misc]
    }
    timings: dict[str, float] = {}
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = {name: pool.submit(_timed, step) for name, step in steps.items()}
        for name, future in futures.items():
            try:
                timings[name] = future.result()
            except InstallError as error:
                failures.append(f"{name}: {error}")
    if failures:
        raise InstallError("interop install failed:\n" + "\n".join(failures))
    return timings
