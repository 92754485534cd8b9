"""A real MapServer 8 WMS on 127.0.0.1 for tests and benchmarks.

`mapserv` is a CGI program, so a small HTTP wrapper (the project's
LoopbackServer with a CGI-running site) runs it once per request. Layers are
inline point features written into a generated mapfile: no data files, and
the layer count can be changed between requests by rewriting the mapfile.

Missing MapServer is installed with apt; if that fails the caller gets a
RuntimeError, so tests that need MapServer fail instead of silently skipping.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit

from harvesting.demo.server import LoopbackServer, Request, Response

__all__ = [
    "APT_PACKAGES",
    "MapServerHandle",
    "ensure_mapserver_installed",
    "layer_name",
    "start_mapserver",
    "write_mapfile",
]

APT_PACKAGES = ("cgi-mapserver", "mapserver-bin")
MAPFILE_NAME = "harvest.map"
CONFIG_NAME = "mapserver.conf"
SRS = ("EPSG:4326", "EPSG:3857")
_CGI_TIMEOUT_S = 120.0
_APT_TIMEOUT_S = 900.0
# pytest-xdist workers may all find MapServer missing at once; apt allows one
# installer at a time, so they queue on this lock instead of failing on apt's.
_INSTALL_LOCK = Path(tempfile.gettempdir()) / "harvesting-mapserver-install.lock"


def _find_mapserv() -> str | None:
    found = shutil.which("mapserv")
    if found:
        return found
    cgi = Path("/usr/lib/cgi-bin/mapserv")
    return str(cgi) if os.access(cgi, os.X_OK) else None


def _run_apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        return subprocess.run(
            ["apt-get", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=_APT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(["apt-get", *args], 1, "", str(error))


def ensure_mapserver_installed() -> str:
    """Path of the `mapserv` binary, installing MapServer with apt if needed."""
    found = _find_mapserv()
    if found:
        return found
    with open(_INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _find_mapserv()
        if found:
            return found
        install = ("install", "-y", "--no-install-recommends", *APT_PACKAGES)
        result = _run_apt(*install)
        if result.returncode != 0:
            # A fresh machine has no package lists yet; that is the usual cause.
            _run_apt("update")
            result = _run_apt(*install)
        found = _find_mapserv()
        if found:
            return found
    tail = (result.stdout + result.stderr)[-2000:]
    raise RuntimeError(
        "MapServer is required by these tests but could not be installed with "
        f"`apt-get {' '.join(install)}` (exit {result.returncode}). Install it by hand "
        f"(root, Debian/Ubuntu) and re-run. apt said:\n{tail}"
    )


def layer_name(index: int, names_prefix: str = "layer") -> str:
    return f"{names_prefix}_{index:05d}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _layer_block(index: int, names_prefix: str) -> str:
    # Spread the points over the globe deterministically so every layer has its
    # own bounding box (and tests can tell layers apart by extent too).
    lon = -170.0 + (index * 37) % 340
    lat = -80.0 + (index * 53) % 160
    name = layer_name(index, names_prefix)
    return f"""  LAYER
    NAME {_quote(name)}
    TYPE POINT
    STATUS ON
    EXTENT {lon - 1:.4f} {lat - 1:.4f} {lon + 1:.4f} {lat + 1:.4f}
    PROJECTION
      "init=epsg:4326"
    END
    METADATA
      "wms_title" {_quote(f"Test layer {index} ({names_prefix})")}
      "wms_abstract" {_quote(f"Synthetic point layer number {index} for harvest testing")}
      "wms_keywordlist" {_quote(f"synthetic,point,{name}")}
      "wms_srs" {_quote(" ".join(SRS))}
    END
    FEATURE
      POINTS {lon:.4f} {lat:.4f} END
    END
    CLASS
      STYLE
        COLOR 200 30 30
        SIZE 6
      END
    END
  END
"""


def write_mapfile(
    directory: str | os.PathLike[str],
    layers: int,
    names_prefix: str = "layer",
    *,
    exclude: Collection[str] = (),
    online_resource: str | None = None,
) -> Path:
    """Write `directory/harvest.map` with `layers` inline-feature point layers.

    Layers are named `{names_prefix}_00000`, `_00001`, … (minus `exclude`).
    The root layer has no name, so GetCapabilities lists exactly these layers
    as named layers. The file is replaced atomically, because a request may be
    running `mapserv` on it at the same moment.
    """
    if layers < 0:
        raise ValueError("layers must be >= 0")
    target = Path(directory) / MAPFILE_NAME
    service_metadata = [
        f'      "wms_title" {_quote(f"Harvester loopback MapServer ({layers} layers)")}',
        '      "wms_abstract" "MapServer test service generated by the harvesting test suite"',
        '      "wms_keywordlist" "test,harvest,loopback"',
        f'      "wms_srs" {_quote(" ".join(SRS))}',
        '      "wms_enable_request" "*"',
        '      "wms_rootlayer_name" ""',
    ]
    if online_resource is not None:
        service_metadata.append(f'      "wms_onlineresource" {_quote(online_resource)}')
    parts = [
        "MAP\n",
        f"  NAME {_quote(names_prefix + '_service')}\n",
        "  STATUS ON\n",
        "  SIZE 256 256\n",
        "  UNITS DD\n",
        "  EXTENT -180 -90 180 90\n",
        '  PROJECTION\n    "init=epsg:4326"\n  END\n',
        "  WEB\n    METADATA\n",
        "\n".join(service_metadata),
        "\n    END\n  END\n",
    ]
    excluded = set(exclude)
    parts.extend(_layer_block(i, names_prefix) for i in range(layers) if layer_name(i, names_prefix) not in excluded)
    parts.append("END\n")
    temporary = target.with_name(f".{MAPFILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text("".join(parts), encoding="utf-8")
    os.replace(temporary, target)
    return target


def _posix_literal(text: str) -> str:
    # MS_MAP_PATTERN is a POSIX regex inside a mapfile string; bracket
    # expressions avoid backslashes, whose treatment differs between the two.
    out = []
    for char in text:
        if char in '^]\\"\n':
            raise ValueError(f"cannot put {char!r} of {text!r} into MS_MAP_PATTERN")
        out.append(f"[{char}]" if char in ".[$*+?(){}|" else char)
    return "".join(out)


def _write_config(directory: Path) -> Path:
    config = directory / CONFIG_NAME
    pattern = "^" + _posix_literal(str(directory.resolve())) + "/[^/]*[.]map$"
    config.write_text(f'CONFIG\n  ENV\n    MS_MAP_PATTERN "{pattern}"\n  END\nEND\n', encoding="utf-8")
    return config


def _parse_cgi(output: bytes) -> Response:
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := output.find(sep)) >= 0]
    if not ends:
        return Response(502, b"mapserv wrote no CGI headers\n" + output[:2000], "text/plain; charset=utf-8")
    end, separator_length = min(ends)
    status = 200
    content_type = "application/octet-stream"
    for line in output[:end].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-type":
            content_type = value
        elif name == "status":
            status = int(value.split()[0])
    return Response(status, output[end + separator_length :], content_type)


class _MapservCgi:
    """Runs `mapserv` as a CGI for each request, always on the handle's mapfile."""

    def __init__(self, mapserv: str, mapfile: Path, config: Path) -> None:
        self.mapserv = mapserv
        self.mapfile = mapfile
        self.config = config
        self._lock = threading.Lock()
        self.requests = 0

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        # The client never chooses the mapfile: that is the wrapper's job.
        query = [(name, value) for name, value in request.query if name.lower() != "map"]
        base = urlsplit(request.base_url)
        env = dict(
            os.environ,
            GATEWAY_INTERFACE="CGI/1.1",
            REQUEST_METHOD="GET",
            QUERY_STRING=urlencode([("map", str(self.mapfile)), *query]),
            MAPSERVER_CONFIG_FILE=str(self.config),
            SERVER_NAME=base.hostname or "127.0.0.1",
            SERVER_PORT=str(base.port or 80),
            SERVER_PROTOCOL="HTTP/1.1",
            SCRIPT_NAME=base.path,
            HTTP_HOST=base.netloc,
        )
        try:
            completed = subprocess.run(
                [self.mapserv],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_CGI_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Response(504, b"mapserv timed out\n", "text/plain; charset=utf-8")
        if not completed.stdout:
            message = b"mapserv failed: " + completed.stderr[-2000:]
            return Response(502, message, "text/plain; charset=utf-8")
        return _parse_cgi(completed.stdout)


class MapServerHandle:
    """A running MapServer WMS; `url` takes the usual WMS query parameters."""

    def __init__(
        self,
        server: LoopbackServer,
        cgi: _MapservCgi,
        directory: Path,
        layers: int,
        names_prefix: str,
    ) -> None:
        self._server = server
        self._cgi = cgi
        self.directory = directory
        self.names_prefix = names_prefix
        self._layers = layers
        self._excluded: set[str] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._server.url + "/mapserv"

    @property
    def mapfile(self) -> Path:
        return self._cgi.mapfile

    @property
    def requests(self) -> int:
        """Requests answered by running mapserv (any operation)."""
        with self._cgi._lock:
            return self._cgi.requests

    @property
    def layer_names(self) -> list[str]:
        """Names of the layers the mapfile currently publishes."""
        with self._lock:
            names = (layer_name(i, self.names_prefix) for i in range(self._layers))
            return [name for name in names if name not in self._excluded]

    def _rewrite(self) -> None:
        write_mapfile(
            self.directory,
            self._layers,
            self.names_prefix,
            exclude=self._excluded,
            online_resource=self.url + "?",
        )

    def set_layers(self, layers: int) -> None:
        """Publish layers 0..layers-1 (earlier removals still apply)."""
        with self._lock:
            self._layers = layers
            self._rewrite()

    def remove_layers(self, names: Iterable[str]) -> None:
        with self._lock:
            self._excluded.update(names)
            self._rewrite()

    def restore(self) -> None:
        with self._lock:
            self._excluded.clear()
            self._rewrite()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_mapserver(
    tmpdir: str | os.PathLike[str],
    layers: int,
    names_prefix: str = "layer",
) -> MapServerHandle:
    """Install MapServer if needed and serve a `layers`-layer WMS from `tmpdir`."""
    mapserv = ensure_mapserver_installed()
    directory = Path(tmpdir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config = _write_config(directory)
    cgi = _MapservCgi(mapserv, directory / MAPFILE_NAME, config)
    server = LoopbackServer()
    server.mount("/mapserv", cgi)
    server.start()
    handle = MapServerHandle(server, cgi, directory, layers, names_prefix)
    try:
        # Written after start() because the service's own URL goes into the mapfile.
        handle.set_layers(layers)
    except BaseException:
        server.stop()
        raise
    return handle
