"""Start and stop the interop servers on 127.0.0.1, one function per server.

Each `start_*` installs what it needs (interop.install), writes its
configuration and data under `workdir`, starts the server on a free port, waits
until it answers, and returns a `Server` (also a context manager) whose `stop()`
ends it. A server that exits or stays silent raises ServerStartError naming the
server and its log file under `.interop/logs/`.

Contents, and so the exact counts the tests assert:

* MapServer 8 WMS: `MAPSERVER_LAYERS` inline point layers layer_00000… (tests/servers/mapserver.py).
* MapProxy 7 WMS: `MAPPROXY_LAYERS` layers mp_00… cascading MapServer layers 0…, in two unnamed groups.
* pycsw 2.6.2 CSW: `/cite` the 12 CITE Dublin Core records; `/apiso` the 18 apiso ISO 19139 records;
  `/cite-gzip` the CITE records again with gzip on (pycsw's Content-Length quirk).
* pycsw 3.0.0b2: the 12 CITE + 18 apiso records + the STAC collection `interop-scenes` and its 14 items
  (45 records), as OGC API - Records (`/collections/metadata:main`), STAC API (`/stac`) and CSW (`/csw`).
* rustac 0.9.18 STAC API: the collection `interop-scenes` and its 14 items.
* Koop 10.4: FeatureServers `parks` (5 points) and `rivers` (3 lines), one layer each.
"""

from __future__ import annotations

import atexit
import configparser
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from interop import DATA, ROOT
from interop import install as inst

__all__ = [
    "APISO_RECORDS",
    "CITE_RECORDS",
    "MAPPROXY_LAYERS",
    "MAPSERVER_LAYERS",
    "STAC_COLLECTION",
    "STAC_ITEMS",
    "Server",
    "ServerStartError",
    "start_koop",
    "start_mapproxy",
    "start_mapserver_wms",
    "start_pycsw2",
    "start_pycsw3",
    "start_rustac",
]

CSW_DATA = ROOT / "tests" / "data" / "csw"
CITE_RECORDS = CSW_DATA / "pycsw-cite-records"
APISO_RECORDS = CSW_DATA / "pycsw-apiso-records"
STAC_DATA = DATA / "stac"
STAC_COLLECTION = STAC_DATA / "collection.json"
STAC_ITEMS = STAC_DATA / "items"
KOOP_DATA = DATA / "koop"
RUNNERS = Path(__file__).resolve().parent / "runners"

MAPSERVER_LAYERS = 12
MAPPROXY_LAYERS = 10
START_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 10.0
_ADMIN_TIMEOUT_S = 300.0


class ServerStartError(RuntimeError):
    """A server could not be configured, loaded or started; names its log."""


@dataclass
class Server:
    name: str
    url: str
    log: Path
    endpoints: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _on_stop: Callable[[], None] | None = None

    def stop(self) -> None:
        _RUNNING.discard(self)
        if self._on_stop is not None:
            self._on_stop()
            self._on_stop = None
        if self.process is not None:
            _end_process_group(self.process)
            self.process = None

    def __hash__(self) -> int:
        return id(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# Servers still running when the interpreter exits (a test run interrupted
# between start and stop) are stopped rather than left behind.
_RUNNING: set[Server] = set()
_RUNNING_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    with _RUNNING_LOCK:
        leftovers = list(_RUNNING)
    for server in leftovers:
        server.stop()


def _end_process_group(process: subprocess.Popen[bytes]) -> None:
    # Each server runs in a session of its own, so its group holds exactly the
    # processes it spawned (MapProxy's reloader child, flask's worker...).
    for sig, wait_s in ((signal.SIGTERM, _STOP_TIMEOUT_S), (signal.SIGKILL, _STOP_TIMEOUT_S)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    # Members of the group may outlive its leader; they get the same signal.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_path(name: str) -> Path:
    return inst.logs_dir() / f"{name}.log"


def _tail(path: Path, limit: int = 2500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def _run_admin(
    server: str,
    step: str,
    argv: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> None:
    """Run a set-up command (create a database, load records), appending to `log`."""
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        try:
            done = subprocess.run(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=_ADMIN_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ServerStartError(f"{server}: {step} failed ({error}); log: {log}") from None
    if done.returncode != 0:
        raise ServerStartError(f"{server}: {step} exited {done.returncode}; log: {log}\n{_tail(log)}")


def _load_prctl() -> Callable[..., int] | None:
    try:
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None  # not Linux: stop() and the atexit hook still end the servers


# Loaded here, not in the child: between fork and exec only the call is safe.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the thread that started it
    dies, so a test run killed outright leaves no server behind."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _spawn(
    name: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = log_path(name)
    out = open(log, "ab")  # noqa: SIM115 - the child keeps writing after we return
    try:
        out.write(f"\n$ (cd {cwd}; {' '.join(argv)})\n".encode())
        out.flush()
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # A session of its own, so stop() can end the whole group it spawns.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except OSError as error:
        raise ServerStartError(f"{name}: could not run {argv[0]} ({error}); log: {log}") from None
    finally:
        out.close()


def wait_until_answers(
    name: str,
    probe_url: str,
    *,
    process: subprocess.Popen[bytes] | None,
    log: Path,
    timeout: float = START_TIMEOUT_S,
    accept: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
) -> None:
    """Poll `probe_url` until `accept` is true; fail early if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"{name} exited with code {process.returncode} before answering {probe_url}; "
                    f"log: {log}\n--- end of log ---\n{_tail(log)}"
                )
            try:
                response = client.get(probe_url)
                if accept(response):
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]!r}"
            except httpx.HTTPError as error:
                last = f"{type(error).__name__}: {error}"
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"{name} did not answer {probe_url} within {timeout:.0f} s (last: {last}); "
                    f"log: {log}\n--- end of log ---\n{_tail(log)}"
                )
            time.sleep(0.2)


def _started(
    server: Server,
    probe_url: str,
    timeout: float = START_TIMEOUT_S,
    accept: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
) -> Server:
    with _RUNNING_LOCK:
        _RUNNING.add(server)
    try:
        wait_until_answers(
            server.name, probe_url, process=server.process, log=server.log, timeout=timeout, accept=accept
        )
    except BaseException:
        server.stop()
        raise
    return server


def _fresh_dir(path: Path) -> Path:
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count_rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as conn:
        count: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - our own name
        return count


def _check_loaded(server: str, database: Path, expected: int, log: Path) -> None:
    # pycsw's loaders log a record they cannot parse and carry on with exit 0.
    loaded = _count_rows(database, "records")
    if loaded != expected:
        raise ServerStartError(f"{server}: {loaded} records loaded into {database}, expected {expected}; log: {log}")


def _env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


# --------------------------------------------------------------------------- #
# MapServer 8 (CGI behind the test suite's loopback wrapper)
# --------------------------------------------------------------------------- #


def start_mapserver_wms(workdir: Path, layers: int = MAPSERVER_LAYERS) -> Server:
    from tests.servers.mapserver import start_mapserver

    name = "mapserver"
    log = log_path(name)
    log.write_text(
        f"MapServer CGI under {workdir} ({layers} layers); mapserv runs once per request\n", encoding="utf-8"
    )
    inst.ensure_mapserver()
    try:
        handle = start_mapserver(_fresh_dir(workdir), layers)
    except (RuntimeError, OSError) as error:
        raise ServerStartError(f"{name}: {error}; log: {log}") from None
    server = Server(name, handle.url, log, {"wms": handle.url}, None, handle.stop)
    probe = f"{handle.url}?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0"
    return _started(server, probe, accept=lambda r: r.status_code == 200 and b"<Layer" in r.content)


# --------------------------------------------------------------------------- #
# MapProxy 7 (cascading MapServer)
# --------------------------------------------------------------------------- #


def mapserver_layer_extent(index: int) -> list[float]:
    """[west, south, east, north] of MapServer layer `index` (tests/servers/mapserver.py's formula)."""
    lon = -170.0 + (index * 37) % 340
    lat = -80.0 + (index * 53) % 160
    return [lon - 1, lat - 1, lon + 1, lat + 1]


def mapproxy_config(mapserver_url: str, layers: int = MAPPROXY_LAYERS) -> dict[str, object]:
    """mapproxy.yaml (as JSON, which YAML reads): one direct WMS source per MapServer layer.

    Sources carry a coverage, so MapProxy advertises each layer's own extent
    instead of the whole world. Layers sit in two unnamed groups, so the
    capabilities have nesting a harvester must walk.
    """
    sources: dict[str, object] = {}
    entries: list[dict[str, object]] = []
    for i in range(layers):
        sources[f"ms_{i:02d}"] = {
            "type": "wms",
            "req": {"url": mapserver_url, "layers": f"layer_{i:05d}", "transparent": True},
            "coverage": {"bbox": mapserver_layer_extent(i), "srs": "EPSG:4326"},
            "supported_srs": ["EPSG:4326", "EPSG:3857"],
        }
        entries.append(
            {
                "name": f"mp_{i:02d}",
                "title": f"MapProxy layer {i:02d}",
                "sources": [f"ms_{i:02d}"],
                "md": {"abstract": f"MapServer layer_{i:05d} cascaded by MapProxy"},
            }
        )
    split = layers - 3 if layers > 3 else layers
    groups: list[dict[str, object]] = [{"title": "Cascaded layers", "layers": entries[:split]}]
    if entries[split:]:
        groups.append({"title": "More cascaded layers", "layers": entries[split:]})
    return {
        "services": {
            "wms": {
                "versions": ["1.1.1", "1.3.0"],
                "srs": ["EPSG:4326", "EPSG:3857"],
                "md": {"title": "MapProxy interop", "abstract": "MapProxy 7 cascading MapServer 8"},
            },
        },
        "layers": groups,
        "sources": sources,
        "caches": {},
        "grids": {},
        "globals": {},
    }


def start_mapproxy(workdir: Path, mapserver_url: str, layers: int = MAPPROXY_LAYERS) -> Server:
    name = "mapproxy"
    log = log_path(name)
    log.write_text("", encoding="utf-8")
    bin_dir = inst.ensure_python_env("mapproxy")
    workdir = _fresh_dir(workdir)
    config = workdir / "mapproxy.yaml"
    config.write_text(json.dumps(mapproxy_config(mapserver_url, layers), indent=1), encoding="utf-8")
    port = free_port()
    process = _spawn(
        name, [str(bin_dir / "mapproxy-util"), "serve-develop", "-b", f"127.0.0.1:{port}", str(config)], cwd=workdir
    )
    base = f"http://127.0.0.1:{port}"
    server = Server(name, base, log, {"wms": f"{base}/service"}, process)
    probe = f"{base}/service?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0"
    return _started(server, probe, accept=lambda r: r.status_code == 200 and b"mp_00" in r.content)


# --------------------------------------------------------------------------- #
# pycsw 2.6.2 (CSW), WSGI
# --------------------------------------------------------------------------- #


def pycsw2_config(home: Path, url: str, database: Path, *, gzip: bool = False) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config["server"] = {
        "home": str(home),
        "url": url,
        "mimetype": "application/xml; charset=UTF-8",
        "encoding": "UTF-8",
        "language": "en-US",
        "maxrecords": "10",
        "loglevel": "WARNING",
        "logfile": "",
        "pretty_print": "true",
        "domainquerytype": "list",
        "domaincounts": "false",
        "profiles": "apiso",
    }
    if gzip:
        config["server"]["gzip_compresslevel"] = "6"
    config["manager"] = {"transactions": "false", "allowed_ips": "127.0.0.1"}
    config["metadata:main"] = {
        "identification_title": "pycsw 2.6.2 interop catalogue",
        "identification_abstract": "pycsw 2.6.2 loaded with the pycsw test suite's records",
        "identification_keywords": "catalogue,discovery",
        "identification_keywords_type": "theme",
        "identification_fees": "None",
        "identification_accessconstraints": "None",
        "provider_name": "harvesting interop tests",
        "provider_url": "http://127.0.0.1/",
        "contact_name": "Interop Tester",
        "contact_position": "Tester",
        "contact_address": "Loopback 1",
        "contact_city": "Localhost",
        "contact_stateorprovince": "None",
        "contact_postalcode": "00000",
        "contact_country": "None",
        "contact_phone": "+00-000",
        "contact_fax": "+00-000",
        "contact_email": "interop@example.org",
        "contact_url": "http://127.0.0.1/",
        "contact_hours": "Always",
        "contact_instructions": "None",
        "contact_role": "pointOfContact",
    }
    config["repository"] = {"database": f"sqlite:///{database}", "table": "records"}
    config["metadata:inspire"] = {"enabled": "false"}
    return config


def _write_ini(path: Path, config: configparser.ConfigParser) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        config.write(fh)
    return path


def start_pycsw2(workdir: Path) -> Server:
    name = "pycsw2"
    log = log_path(name)
    log.write_text("", encoding="utf-8")
    bin_dir = inst.ensure_python_env("pycsw2")
    workdir = _fresh_dir(workdir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env_without("PYCSW_CONFIG", "PYCSW_ROOT")
    admin = [str(bin_dir / "python"), str(bin_dir / "pycsw-admin.py")]
    configs: dict[str, Path] = {}
    for catalogue, records in (("cite", CITE_RECORDS), ("apiso", APISO_RECORDS)):
        database = workdir / f"{catalogue}.db"
        database.unlink(missing_ok=True)
        config = _write_ini(workdir / f"{catalogue}.cfg", pycsw2_config(workdir, f"{base}/{catalogue}", database))
        _run_admin(name, f"setup_db {catalogue}", [*admin, "-c", "setup_db", "-f", str(config)], log, env=env)
        _run_admin(
            name,
            f"load_records {catalogue}",
            [*admin, "-c", "load_records", "-f", str(config), "-p", str(records)],
            log,
            env=env,
        )
        _check_loaded(name, database, len(list(records.glob("*.xml"))), log)
        configs[catalogue] = config
    # Same records as /cite, gzip on: the server then sends the uncompressed
    # length as Content-Length with a gzipped body (pycsw 2.6's wsgi.py).
    configs["cite-gzip"] = _write_ini(
        workdir / "cite-gzip.cfg", pycsw2_config(workdir, f"{base}/cite-gzip", workdir / "cite.db", gzip=True)
    )
    mounts = [f"/{catalogue}={config}" for catalogue, config in configs.items()]
    process = _spawn(
        name, [str(bin_dir / "python"), str(RUNNERS / "pycsw2_serve.py"), str(port), *mounts], cwd=workdir, env=env
    )
    endpoints = {catalogue: f"{base}/{catalogue}" for catalogue in configs}
    server = Server(name, base, log, endpoints, process)
    return _started(
        server,
        f"{base}/cite?service=CSW&version=2.0.2&request=GetCapabilities",
        accept=lambda r: r.status_code == 200 and b"Capabilities" in r.content,
    )


# --------------------------------------------------------------------------- #
# pycsw 3.0.0b2 (OGC API - Records, STAC API, CSW), Flask
# --------------------------------------------------------------------------- #


def pycsw3_config(home: Path, url: str, database: Path) -> dict[str, object]:
    return {
        "server": {
            "home": str(home),
            "url": url,
            "mimetype": "application/xml; charset=UTF-8",
            "encoding": "UTF-8",
            "language": "en-US",
            "maxrecords": 10,
            "pretty_print": True,
        },
        "logging": {"level": "WARNING"},
        "manager": {"transactions": False, "allowed_ips": ["127.0.0.1"]},
        "metadata": {
            "identification": {
                "title": "pycsw 3 interop catalogue",
                "description": "pycsw 3.0.0b2 with the pycsw test suite's records and a STAC collection",
                "keywords": ["catalogue", "discovery"],
                "keywords_type": "theme",
                "fees": "None",
                "accessconstraints": "None",
                "terms_of_service": "None",
                "url": "http://127.0.0.1/",
            },
            "license": {"name": "CC0-1.0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
            "provider": {"name": "harvesting interop tests", "url": "http://127.0.0.1/"},
            "contact": {
                "name": "Interop Tester",
                "position": "Tester",
                "address": "Loopback 1",
                "city": "Localhost",
                "stateorprovince": "None",
                "postalcode": "00000",
                "country": "None",
                "phone": "+00-000",
                "fax": "+00-000",
                "email": "interop@example.org",
                "url": "http://127.0.0.1/",
                "hours": "Always",
                "instructions": "None",
                "role": "pointOfContact",
            },
            "inspire": {"enabled": False},
        },
        "profiles": ["apiso"],
        "federatedcatalogues": [],
        "repository": {"database": f"sqlite:///{database}", "table": "records"},
    }


def start_pycsw3(workdir: Path) -> Server:
    name = "pycsw3"
    log = log_path(name)
    log.write_text("", encoding="utf-8")
    bin_dir = inst.ensure_python_env("pycsw3")
    workdir = _fresh_dir(workdir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = workdir / "records.db"
    database.unlink(missing_ok=True)
    # pycsw reads its configuration as YAML; JSON is YAML.
    config = workdir / "pycsw.yml"
    config.write_text(json.dumps(pycsw3_config(workdir, base, database), indent=1), encoding="utf-8")
    env = {**_env_without("PYCSW_CONFIG"), "PYCSW_CONFIG": str(config)}
    admin = [str(bin_dir / "python"), str(bin_dir / "pycsw-admin.py")]
    _run_admin(name, "setup-repository", [*admin, "setup-repository", "-c", str(config)], log, env=env)
    sources = (CITE_RECORDS, APISO_RECORDS, STAC_ITEMS, STAC_COLLECTION)
    for source in sources:
        _run_admin(
            name,
            f"load-records {source.name}",
            [*admin, "load-records", "-c", str(config), "-p", str(source), "-y"],
            log,
            env=env,
        )
    expected = sum(len(list(s.glob("*.xml")) + list(s.glob("*.json"))) if s.is_dir() else 1 for s in sources)
    _check_loaded(name, database, expected, log)
    process = _spawn(
        name,
        [str(bin_dir / "flask"), "--app", "pycsw.wsgi_flask:APP", "run", "-h", "127.0.0.1", "-p", str(port)],
        cwd=workdir,
        env=env,
    )
    endpoints = {
        "records": base,
        "records-collection": f"{base}/collections/metadata:main",
        "stac": f"{base}/stac",
        "csw": f"{base}/csw",
    }
    server = Server(name, base, log, endpoints, process)
    return _started(server, f"{base}/collections?f=json")


# --------------------------------------------------------------------------- #
# rustac 0.9.18 (STAC API, in memory)
# --------------------------------------------------------------------------- #


def write_items_ndjson(target: Path) -> Path:
    """The STAC items as one ndjson file (what `rustac serve` loads), in identifier order."""
    lines = [
        json.dumps(json.loads(p.read_text(encoding="utf-8")), separators=(",", ":"))
        for p in sorted(STAC_ITEMS.glob("*.json"))
    ]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def start_rustac(workdir: Path) -> Server:
    name = "rustac"
    log = log_path(name)
    log.write_text("", encoding="utf-8")
    bin_dir = inst.ensure_python_env("rustac")
    workdir = _fresh_dir(workdir)
    items = write_items_ndjson(workdir / "items.ndjson")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _spawn(
        name,
        [str(bin_dir / "rustac"), "serve", "--addr", f"127.0.0.1:{port}", str(STAC_COLLECTION), str(items)],
        cwd=workdir,
    )
    server = Server(name, base, log, {"stac": base}, process)
    return _started(server, f"{base}/collections/interop-scenes")


# --------------------------------------------------------------------------- #
# Koop 10.4 (ArcGIS FeatureServer)
# --------------------------------------------------------------------------- #


def start_koop(workdir: Path) -> Server:
    name = "koop"
    log = log_path(name)
    log.write_text("", encoding="utf-8")
    koop_dir = inst.ensure_koop()
    node, _ = inst.ensure_node()
    workdir = _fresh_dir(workdir)
    data = workdir / "geojson"
    data.mkdir(exist_ok=True)
    for source in KOOP_DATA.glob("*.geojson"):
        (data / source.name).write_bytes(source.read_bytes())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SUPPRESS_NO_CONFIG_WARNING": "1", "NODE_CONFIG_DIR": str(workdir)}
    # The provider joins its data directory to the working directory.
    process = _spawn(name, [node, str(koop_dir / "server.js"), str(port), "geojson"], cwd=workdir, env=env)
    services = f"{base}/file-geojson/rest/services"
    endpoints = {
        "services": services,
        **{p.stem: f"{services}/{p.stem}/FeatureServer" for p in KOOP_DATA.glob("*.geojson")},
    }
    server = Server(name, base, log, endpoints, process)
    return _started(
        server,
        f"{services}/parks/FeatureServer?f=json",
        accept=lambda r: r.status_code == 200 and b'"layers"' in r.content,
    )
