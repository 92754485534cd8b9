"""Loopback HTTP server that plays real remotes from recorded documents.

The harvester's tests, benchmarks and demo need remotes they can break on
purpose (layers disappearing, HTTP 500, truncated XML, slow answers) without
hand-written mocks inside the harvester. `LoopbackServer` is a real HTTP server
on 127.0.0.1, so the harvester's own HTTP stack, timeouts and parsers are what
get exercised. It hosts "sites" under path prefixes:

* static documents (`mount_document`),
* a WMS that answers GetCapabilities from recorded documents the way MapServer
  does (`mount_wms` -> `WmsSite`),
* a GeoNode 4.4.5 API v2 emulation built from recorded listing and detail
  documents (`mount_geonode` -> `GeoNodeSite`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import socket
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "GEONODE_FAULTS",
    "SLOW_DELAY_S",
    "WMS_FAULTS",
    "GeoNodeSite",
    "LoopbackServer",
    "Request",
    "Response",
    "Site",
    "StaticDocument",
    "WmsSite",
    "capabilities_layer_names",
    "capabilities_without_layers",
    "capabilities_without_named_layers",
    "read_bundled",
]

logger = logging.getLogger(__name__)

SLOW_DELAY_S = 5.0
WMS_FAULTS = frozenset({"http-500", "exception-200", "malformed", "empty-listing", "slow"})
# GeoNode answers errors with real HTTP statuses, so an "exception with HTTP 200"
# has no GeoNode counterpart worth emulating.
GEONODE_FAULTS = frozenset({"http-500", "malformed", "empty-listing", "slow"})

# What a client going away looks like from the server side; none of these is a
# server bug, so none deserves a traceback.
_DISCONNECTS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)

_BUNDLE_PACKAGE = "harvesting.demo"


def read_bundled(relative_path: str) -> bytes:
    """Bytes of a recorded document shipped in `harvesting/demo/data/`."""
    node = resources.files(_BUNDLE_PACKAGE).joinpath("data")
    for part in relative_path.split("/"):
        node = node.joinpath(part)
    return node.read_bytes()


# --------------------------------------------------------------------------- #
# Request / response plumbing shared by all sites
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Request:
    """One HTTP request, as seen by the site mounted at `base_url`."""

    method: str
    path: str
    """Path below the mount prefix, percent-decoded ('' for the prefix itself)."""
    query: tuple[tuple[str, str], ...]
    raw_query: str
    base_url: str
    """Absolute URL of the mount prefix, e.g. http://127.0.0.1:PORT/geonode."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Seconds to wait before answering; cut short when the server stops."""


class Site(Protocol):
    def handle(self, request: Request) -> Response: ...


class StaticDocument:
    """The same answer to every GET of one path."""

    def __init__(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.body = body
        self.content_type = content_type
        self.status = status

    def handle(self, request: Request) -> Response:
        return Response(self.status, self.body, self.content_type)


@dataclass(frozen=True)
class _Mount:
    prefix: str
    site: Site
    subtree: bool


def _normalise_prefix(prefix: str) -> str:
    stripped = prefix.strip("/")
    return "/" + stripped if stripped else ""


_TEXT_500 = b"Internal Server Error\n"
_TEXT_404 = b"Not Found\n"


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 drops the SYNs of a client opening dozens of
    # connections at once, which then waits a second to retry each.
    request_queue_size = 128

    def __init__(self, port: int, owner: LoopbackServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        # Keep-alive connections would otherwise outlive stop(): a pooled client
        # connection could still be answered by a lingering handler thread, and a
        # test that stops a remote to simulate an outage would not see one.
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _DISCONNECTS) or self.stopping.is_set():
            return
        logger.error("loopback server: error while serving %s", client_address, exc_info=error)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "harvesting-loopback/1"
    sys_version = ""
    # Idle keep-alive connections pin a thread each; bound how long they may idle.
    timeout = 30
    # Headers and body go out in separate writes; with Nagle's algorithm and the
    # client's delayed ACK every keep-alive request would then cost ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _reject(self) -> None:
        # The request body (if any) is left unread, so the connection cannot be reused.
        self.close_connection = True
        self._send(Response(405, b"Method Not Allowed\n", "text/plain; charset=utf-8"), True)

    do_POST = _reject
    do_PUT = _reject
    do_DELETE = _reject
    do_PATCH = _reject

    def _serve(self, *, send_body: bool) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        owner = self.server.owner
        mount = owner._resolve(path)
        if mount is None:
            response = Response(404, _TEXT_404, "text/plain; charset=utf-8")
        else:
            request = Request(
                method=self.command,
                path=path[len(mount.prefix) :],
                query=tuple(parse_qsl(split.query, keep_blank_values=True)),
                raw_query=split.query,
                base_url=owner.url + mount.prefix,
            )
            try:
                response = mount.site.handle(request)
            except Exception:
                logger.exception("loopback server: site %r failed on %s", mount.prefix, self.path)
                response = Response(500, _TEXT_500, "text/plain; charset=utf-8")
        if response.delay_s > 0 and self.server.stopping.wait(response.delay_s):
            # Stopped while "slow": vanish without an answer, as a dying server does.
            self.close_connection = True
            return
        self._send(response, send_body)

    def _send(self, response: Response, send_body: bool) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                # Without it a keep-alive client reuses the connection and finds it closed.
                self.send_header("Connection", "close")
            self.end_headers()
            if send_body:
                self.wfile.write(response.body)
            self.wfile.flush()
        except _DISCONNECTS:
            self.close_connection = True


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 hosting sites under path prefixes.

    `port=0` picks a free port at the first `start()`; later restarts reuse it,
    so a test can stop a remote and bring it back at the same URL.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._mounts: dict[str, _Mount] = {}
        self._lock = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------- #

    def start(self) -> None:
        with self._lock:
            if self._httpd is not None:
                raise RuntimeError("LoopbackServer is already running")
            httpd = _HttpServer(self._port, self)
            self._port = int(httpd.server_address[1])
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"loopback-server-{self._port}",
                daemon=True,
            )
            self._httpd, self._thread = httpd, thread
        thread.start()

    def stop(self) -> None:
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd, self._thread = None, None
        if httpd is None or thread is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("port not chosen yet: start() the server first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- sites -------------------------------------------------------------- #

    def mount(self, prefix: str, site: Site, *, subtree: bool = False) -> None:
        """Serve `site` at `prefix` (and, with `subtree`, every path below it)."""
        key = _normalise_prefix(prefix)
        with self._lock:
            self._mounts[key] = _Mount(key, site, subtree)

    def unmount(self, prefix: str) -> None:
        with self._lock:
            self._mounts.pop(_normalise_prefix(prefix), None)

    def site(self, prefix: str) -> Site:
        with self._lock:
            return self._mounts[_normalise_prefix(prefix)].site

    def mount_document(self, path: str, body: bytes, content_type: str, status: int = 200) -> None:
        self.mount(path, StaticDocument(body, content_type, status))

    def mount_wms(self, prefix: str, capabilities: Mapping[str, bytes]) -> WmsSite:
        site = WmsSite(capabilities)
        self.mount(prefix, site)
        return site

    def mount_geonode(
        self,
        prefix: str,
        resources: Sequence[Mapping[str, Any]],
        details: Mapping[str, Mapping[str, Any]],
    ) -> GeoNodeSite:
        site = GeoNodeSite(resources, details)
        self.mount(prefix, site, subtree=True)
        return site

    def _resolve(self, path: str) -> _Mount | None:
        with self._lock:
            mounts = list(self._mounts.values())
        best: _Mount | None = None
        for mount in mounts:
            if path == mount.prefix or path == mount.prefix + "/":
                matched = True
            else:
                matched = mount.subtree and path.startswith(mount.prefix + "/")
            if matched and (best is None or len(mount.prefix) > len(best.prefix)):
                best = mount
        return best


# --------------------------------------------------------------------------- #
# WMS
# --------------------------------------------------------------------------- #

_WMS_CONTENT_TYPES = {"1.1.1": "application/vnd.ogc.wms_xml", "1.3.0": "text/xml"}
_WMS_EXCEPTION_CONTENT_TYPES = {"1.1.1": "application/vnd.ogc.se_xml", "1.3.0": "text/xml"}
_WMS_EXCEPTION_DOCUMENTS = {
    "1.1.1": "wms/captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_111.xml",
    "1.3.0": "wms/captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_130.xml",
}
_ENCODING_DECLARATION = re.compile(rb"""^[^<]*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _declared_encoding(document: bytes) -> str:
    match = _ENCODING_DECLARATION.match(document[:512])
    return match.group(1).decode("ascii") if match else "UTF-8"


def _xml_parser() -> Any:
    # A parser per call (lxml parsers are not shareable between threads), and one
    # that never fetches DTDs or resolves entities: WMS 1.1.1 documents point at
    # schemas.opengis.net, and the demo must run without a network.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
    )


def _prolog(document: bytes) -> bytes:
    """Everything before the root element: BOM, declaration, DOCTYPE, comments.

    lxml re-serialises a DOCTYPE's internal subset and the XML declaration in
    its own way; re-using the original bytes keeps an edited document as close
    to the served one as possible.
    """
    i = 0
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if document.startswith(bom):
            i = len(bom)
            break
    end = len(document)
    while i < end:
        if document[i : i + 1].isspace():
            i += 1
        elif document.startswith(b"<?", i):
            i = _after(document, b"?>", i)
        elif document.startswith(b"<!--", i):
            i = _after(document, b"-->", i)
        elif document.startswith(b"<!DOCTYPE", i):
            i = _after_doctype(document, i)
        else:
            break
    return document[:i]


def _after(document: bytes, terminator: bytes, start: int) -> int:
    found = document.find(terminator, start)
    if found < 0:
        raise ValueError("unterminated markup in the XML prolog")
    return found + len(terminator)


def _after_doctype(document: bytes, start: int) -> int:
    quote: int | None = None
    in_subset = False
    for i in range(start, len(document)):
        byte = document[i]
        if quote is not None:
            if byte == quote:
                quote = None
        elif byte in b"\"'":
            quote = byte
        elif byte == ord("["):
            in_subset = True
        elif byte == ord("]"):
            in_subset = False
        elif byte == ord(">") and not in_subset:
            return i + 1
    raise ValueError("unterminated DOCTYPE")


def _local_name(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _layer_name(layer: Any) -> str | None:
    for child in layer:
        if _local_name(child) == "Name":
            return str(child.text or "").strip()
    return None


def _layers(root: Any) -> list[Any]:
    return [element for element in root.iter() if _local_name(element) == "Layer"]


def _parse(document: bytes) -> Any:
    try:
        return etree.fromstring(document, parser=_xml_parser())
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not a well-formed XML document: {error}") from None


def _serialise(original: bytes, root: Any) -> bytes:
    body = etree.tostring(root, encoding=_declared_encoding(original), xml_declaration=False)
    if isinstance(body, str):  # only with encoding="unicode", never asked for here
        body = body.encode(_declared_encoding(original))
    return _prolog(original) + body + b"\n"


def _drop(element: Any) -> None:
    """Remove an element, keeping the indentation of what follows it intact.

    lxml removes an element's tail with it, and the tail is the whitespace that
    indents the next sibling (or the parent's end tag), so hand it over.
    """
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    before = (previous.tail if previous is not None else parent.text) or ""
    # Only whitespace is layout; real text (mixed content) is kept, joined up.
    joined = tail if not tail.strip() and not before.strip() else before + tail
    if previous is not None:
        previous.tail = joined
    else:
        parent.text = joined
    parent.remove(element)


def capabilities_layer_names(document: bytes) -> list[str]:
    """Names of the named <Layer>s in a WMS capabilities document, in order."""
    names = (_layer_name(layer) for layer in _layers(_parse(document)))
    return [name for name in names if name]


def capabilities_without_layers(document: bytes, names: Iterable[str]) -> bytes:
    """The document minus every <Layer> whose <Name> is in `names`, sublayers included."""
    unwanted = set(names)
    root = _parse(document)
    doomed = [layer for layer in _layers(root) if _layer_name(layer) in unwanted]
    if not doomed:
        return document
    for layer in doomed:
        _drop(layer)
    return _serialise(document, root)


def capabilities_without_named_layers(document: bytes) -> bytes:
    """A still-valid document that offers nothing to harvest.

    The top layer stays (as an unnamed category layer) because a WMS
    capabilities document with no <Layer> at all is rare in the wild, whereas
    "a root layer with nothing under it" is what a misconfigured server serves.
    """
    root = _parse(document)
    capability = next((child for child in root if _local_name(child) == "Capability"), None)
    if capability is None:
        raise ValueError("not a WMS capabilities document: no <Capability>")
    top = next((child for child in capability if _local_name(child) == "Layer"), None)
    if top is not None:
        for child in list(top):
            if _local_name(child) in ("Name", "Layer"):
                _drop(child)
    return _serialise(document, root)


def _mapserver_exception(version: str, message: str) -> Response:
    """A ServiceExceptionReport worded and typed like MapServer 8's."""
    if version == "1.1.1":
        text = (
            '<?xml version=\'1.0\' encoding="UTF-8" standalone="no" ?>\n'
            '<!DOCTYPE ServiceExceptionReport SYSTEM "http://schemas.opengis.net/wms/1.1.1/exception_1_1_1.dtd">\n'
            '<ServiceExceptionReport version="1.1.1">\n'
            f"<ServiceException>\n{message}\n</ServiceException>\n"
            "</ServiceExceptionReport>\n"
        )
    else:
        text = (
            '<?xml version=\'1.0\' encoding="UTF-8" standalone="no" ?>\n'
            '<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.opengis.net/ogc '
            'http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd">\n'
            f"<ServiceException>\n{message}\n</ServiceException>\n"
            "</ServiceExceptionReport>\n"
        )
    content_type = _WMS_EXCEPTION_CONTENT_TYPES.get(version, "text/xml")
    return Response(200, text.encode("utf-8"), f"{content_type}; charset=UTF-8")


class WmsSite:
    """A WMS answering GetCapabilities from recorded documents, MapServer-style.

    Parameter names are case-insensitive, a missing or unsupported VERSION gets
    the highest recorded version, and any other request gets a
    ServiceExceptionReport with HTTP 200 (MapServer does not use HTTP errors).
    """

    def __init__(self, capabilities: Mapping[str, bytes]) -> None:
        if not capabilities:
            raise ValueError("a WMS needs at least one capabilities document")
        for version in capabilities:
            if not re.fullmatch(r"\d+\.\d+\.\d+", version):
                raise ValueError(f"not a WMS version: {version!r}")
        self._originals = {version: bytes(doc) for version, doc in capabilities.items()}
        self._versions = tuple(sorted(self._originals, key=_version_key))
        self._lock = threading.Lock()
        self._current = dict(self._originals)
        self._removed: frozenset[str] = frozenset()
        self._empty: dict[str, bytes] = {}
        self._fault: str | None = None
        self._requests = 0

    @property
    def versions(self) -> tuple[str, ...]:
        return self._versions

    @property
    def requests(self) -> int:
        """GetCapabilities requests received, answered normally or not."""
        with self._lock:
            return self._requests

    @property
    def removed(self) -> frozenset[str]:
        with self._lock:
            return self._removed

    @property
    def fault(self) -> str | None:
        with self._lock:
            return self._fault

    def document(self, version: str) -> bytes:
        """The capabilities document currently served for `version` (without faults)."""
        with self._lock:
            return self._current[version]

    def layer_names(self, version: str) -> list[str]:
        return capabilities_layer_names(self.document(version))

    def remove_layers(self, names: Iterable[str]) -> None:
        """Omit these layers from later answers (adds to earlier removals)."""
        with self._lock:
            removed = self._removed | frozenset(names)
        # Edit outside the lock: big documents take a while, and requests keep
        # being answered from the previous state meanwhile.
        edited = {version: capabilities_without_layers(doc, removed) for version, doc in self._originals.items()}
        with self._lock:
            self._removed, self._current = removed, edited

    def restore(self) -> None:
        """Serve the recorded documents unchanged again (faults stay as set)."""
        with self._lock:
            self._removed, self._current = frozenset(), dict(self._originals)

    def set_fault(self, kind: str | None) -> None:
        if kind is not None and kind not in WMS_FAULTS:
            raise ValueError(f"unknown WMS fault {kind!r}; expected one of {sorted(WMS_FAULTS)} or None")
        with self._lock:
            self._fault = kind

    def _negotiate(self, requested: str | None) -> str:
        if requested and requested.strip() in self._originals:
            return requested.strip()
        return self._versions[-1]

    def _empty_document(self, version: str) -> bytes:
        with self._lock:
            cached = self._empty.get(version)
        if cached is None:
            cached = capabilities_without_named_layers(self._originals[version])
            with self._lock:
                self._empty[version] = cached
        return cached

    def handle(self, request: Request) -> Response:
        params: dict[str, str] = {}
        for name, value in request.query:
            params.setdefault(name.lower(), value)
        version = self._negotiate(params.get("version"))
        operation = params.get("request", "").strip().lower()
        service = params.get("service", "wms").strip().lower()
        is_capabilities = operation == "getcapabilities" and service == "wms"
        with self._lock:
            fault = self._fault
            if is_capabilities:
                self._requests += 1
            document = self._current[version]
        delay = SLOW_DELAY_S if fault == "slow" else 0.0

        if fault == "http-500":
            return Response(500, _TEXT_500, "text/plain; charset=utf-8")
        if not is_capabilities:
            exception = _mapserver_exception(
                version, "msWMSDispatch(): WMS server error. Incomplete or unsupported WMS request"
            )
            return Response(exception.status, exception.body, exception.content_type, delay_s=delay)
        if fault == "exception-200":
            exception_version = version if version in _WMS_EXCEPTION_DOCUMENTS else "1.3.0"
            body = read_bundled(_WMS_EXCEPTION_DOCUMENTS[exception_version])
            content_type = _WMS_EXCEPTION_CONTENT_TYPES[exception_version]
            return Response(200, body, f"{content_type}; charset=UTF-8", delay_s=delay)
        if fault == "empty-listing":
            document = self._empty_document(version)
        elif fault == "malformed":
            document = document[: len(document) // 2]
        content_type = _WMS_CONTENT_TYPES.get(version, "text/xml")
        return Response(
            200,
            document,
            f"{content_type}; charset={_declared_encoding(document)}",
            delay_s=delay,
        )


# --------------------------------------------------------------------------- #
# GeoNode 4.4.5 API v2
# --------------------------------------------------------------------------- #

GEONODE_RECORDED_ORIGIN = "http://127.0.0.1:8084"
_GEONODE_ROOT_DOCUMENT = "geonode/captured-geonode-4.4.5/api_v2_root.json"
# endpoint -> (key wrapping a detail, resource_type the endpoint is limited to)
_GEONODE_ENDPOINTS: dict[str, tuple[str, str | None]] = {
    "resources": ("resource", None),
    "datasets": ("dataset", "dataset"),
    "documents": ("document", "document"),
    "maps": ("map", "map"),
}
_GEONODE_DEFAULT_PAGE_SIZE = 10
_JSON = "application/json"
# Django's stock production 500 page, which is what a broken GeoNode serves.
_DJANGO_500 = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    b"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
_DJANGO_404 = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n'
    b"<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    b"</body>\n</html>\n"
)
_NOT_FOUND = {"detail": "Not found."}
_INVALID_PAGE = {"success": False, "errors": ["Invalid page."], "code": "not_found"}


def _json_bytes(value: Any) -> bytes:
    # Django REST framework's renderer: compact separators, UTF-8, no ASCII escaping.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_copy(value: Any) -> Any:
    # Deep copy that also proves the value is JSON, so bad input fails at mount time.
    return json.loads(json.dumps(value))


def _with_page(url: str, page: int | None) -> str:
    """DRF's replace_query_param / remove_query_param, which sort the query."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if page is None:
        params.pop("page", None)
    else:
        params["page"] = [str(page)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def _positive_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value > 0 else None


class GeoNodeSite:
    """GeoNode 4.4.5's API v2, as far as a harvester sees it.

    Listings (`/api/v2/resources`, `/datasets`, `/documents`, `/maps`) page and
    filter the given resources in the given order; details come from `details`
    (keyed by pk) or else from the listing entry, which in GeoNode carries the
    detail fields. `/api/v2/resources/{pk}` answers the listing entry first,
    because GeoNode serialises that endpoint exactly like its listing (the
    recorded resource_detail_1028.json equals its listing entry), while the
    typed endpoints use richer serializers and refuse other resource types.
    URLs recorded on the original server are rewritten to this site's.
    """

    def __init__(
        self,
        resources: Sequence[Mapping[str, Any]],
        details: Mapping[str, Mapping[str, Any]],
        *,
        recorded_origin: str = GEONODE_RECORDED_ORIGIN,
        api_root: bytes | None = None,
    ) -> None:
        self._origin = recorded_origin
        self._api_root = api_root if api_root is not None else read_bundled(_GEONODE_ROOT_DOCUMENT)
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._by_pk: dict[str, dict[str, Any]] = {}
        self._details: dict[str, dict[str, Any]] = {}
        self._removed: set[str] = set()
        self._fault: str | None = None
        self._requests = 0
        self._listing_requests = 0
        for entry in resources:
            self._insert(entry, None, at_end=True)
        for pk, detail in details.items():
            self._details[str(pk)] = _json_copy(detail)

    def _insert(self, entry: Mapping[str, Any], detail: Mapping[str, Any] | None, *, at_end: bool) -> None:
        copy: dict[str, Any] = _json_copy(entry)
        for key in ("pk", "uuid", "resource_type", "title"):
            if key not in copy:
                raise ValueError(f"GeoNode resource without {key!r}: {str(entry)[:200]}")
        pk = str(copy["pk"])
        if pk in self._by_pk:
            raise ValueError(f"duplicate GeoNode pk {pk}")
        if at_end:
            self._entries.append(copy)
        else:
            self._entries.insert(0, copy)
        self._by_pk[pk] = copy
        if detail is not None:
            self._details[pk] = _json_copy(detail)

    # -- control ------------------------------------------------------------ #

    @property
    def requests(self) -> int:
        """Detail requests received (any endpoint, answered normally or not)."""
        with self._lock:
            return self._requests

    @property
    def listing_requests(self) -> int:
        with self._lock:
            return self._listing_requests

    @property
    def uuids(self) -> list[str]:
        """UUIDs currently listed, in listing order."""
        with self._lock:
            return [str(e["uuid"]) for e in self._entries if e["uuid"] not in self._removed]

    def remove(self, uuids: Iterable[str]) -> None:
        """Hide these resources from listings and details (adds to earlier removals)."""
        with self._lock:
            self._removed.update(uuids)

    def restore(self) -> None:
        """Un-hide every removed resource (faults stay as set)."""
        with self._lock:
            self._removed.clear()

    def add(self, entry: Mapping[str, Any], detail: Mapping[str, Any] | None = None) -> None:
        """Publish a new resource at the top of the listing, as GeoNode lists newest first."""
        with self._lock:
            self._insert(entry, detail, at_end=False)

    def update(self, uuid: str, changes: Mapping[str, Any]) -> None:
        """Change fields of a resource in its listing entry and its recorded detail."""
        new_values = _json_copy(changes)
        with self._lock:
            entry = next((e for e in self._entries if e["uuid"] == uuid), None)
            if entry is None:
                raise KeyError(uuid)
            entry.update(new_values)
            detail = self._details.get(str(entry["pk"]))
            if detail is not None:
                detail.update(new_values)

    def set_fault(self, kind: str | None) -> None:
        if kind is not None and kind not in GEONODE_FAULTS:
            raise ValueError(f"unknown GeoNode fault {kind!r}; expected one of {sorted(GEONODE_FAULTS)} or None")
        with self._lock:
            self._fault = kind

    # -- serving ------------------------------------------------------------ #

    def handle(self, request: Request) -> Response:
        segments = [segment for segment in request.path.split("/") if segment]
        if segments[:2] != ["api", "v2"]:
            return Response(404, _DJANGO_404, "text/html; charset=utf-8")
        rest = segments[2:]
        is_detail = len(rest) == 2 and rest[0] in _GEONODE_ENDPOINTS
        is_listing = len(rest) == 1 and rest[0] in _GEONODE_ENDPOINTS
        with self._lock:
            fault = self._fault
            if is_detail:
                self._requests += 1
            elif is_listing:
                self._listing_requests += 1
        delay = SLOW_DELAY_S if fault == "slow" else 0.0
        if fault == "http-500":
            return Response(500, _DJANGO_500, "text/html; charset=utf-8")

        if not rest:
            status, body = 200, self._api_root
        elif is_listing:
            status, body = self._listing(request, rest[0], empty=fault == "empty-listing")
        elif is_detail:
            status, body = self._detail(rest[0], rest[1])
        else:
            return Response(404, _DJANGO_404, "text/html; charset=utf-8", delay_s=delay)

        body = body.replace(self._origin.encode(), request.base_url.encode())
        if fault == "malformed":
            body = body[: len(body) // 2]
        return Response(status, body, _JSON, delay_s=delay)

    def _visible(self, resource_type: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry
                for entry in self._entries
                if entry["uuid"] not in self._removed
                and (resource_type is None or entry["resource_type"] == resource_type)
            ]

    def _listing(self, request: Request, endpoint: str, *, empty: bool) -> tuple[int, bytes]:
        _, implied_type = _GEONODE_ENDPOINTS[endpoint]
        entries = [] if empty else self._visible(implied_type)
        entries = _filter(entries, request.query)

        values = {name: value for name, value in request.query}
        page_size = _positive_int(values.get("page_size")) or _GEONODE_DEFAULT_PAGE_SIZE
        pages = max(1, math.ceil(len(entries) / page_size))
        # DRF would also take page=last, but GeoNode 4.4.5 then fails on int("last").
        page = _positive_int(values.get("page", "1"))
        if page is None or page > pages:
            return 404, _json_bytes(_INVALID_PAGE)

        url = request.base_url + request.path + ("?" + request.raw_query if request.raw_query else "")
        next_link = _with_page(url, page + 1) if page < pages else None
        previous_link = None
        if page > 1:
            previous_link = _with_page(url, None if page == 2 else page - 1)
        with self._lock:
            shown = entries[(page - 1) * page_size : page * page_size]
            body = _json_bytes(
                {
                    "links": {"next": next_link, "previous": previous_link},
                    "total": len(entries),
                    "page": page,
                    "page_size": page_size,
                    endpoint: shown,
                }
            )
        return 200, body

    def _detail(self, endpoint: str, pk: str) -> tuple[int, bytes]:
        key, implied_type = _GEONODE_ENDPOINTS[endpoint]
        with self._lock:
            entry = self._by_pk.get(pk)
            recorded = self._details.get(pk)
            if endpoint == "resources" and entry is not None:
                detail: dict[str, Any] | None = entry
            else:
                detail = recorded if recorded is not None else entry
            if (
                detail is None
                or detail.get("uuid") in self._removed
                or (implied_type is not None and detail.get("resource_type") != implied_type)
            ):
                return 404, _json_bytes(_NOT_FOUND)
            return 200, _json_bytes({key: detail})


def _filter(entries: list[dict[str, Any]], query: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The dynamic-rest filters a GeoNode harvester uses; all given filters must hold."""
    type_equals: list[str] = []
    type_in: list[str] = []
    title_contains: list[str] = []
    uuid_equals: list[str] = []
    for name, value in query:
        if name == "filter{resource_type}":
            type_equals.append(value)
        elif name == "filter{resource_type.in}":
            type_in.append(value)
        elif name == "filter{title.icontains}":
            title_contains.append(value.casefold())
        elif name == "filter{uuid}":
            uuid_equals.append(value)

    def keep(entry: dict[str, Any]) -> bool:
        resource_type = entry.get("resource_type")
        title = str(entry.get("title") or "").casefold()
        return (
            all(resource_type == wanted for wanted in type_equals)
            and (not type_in or resource_type in type_in)
            and all(part in title for part in title_contains)
            and all(entry.get("uuid") == wanted for wanted in uuid_equals)
        )

    return [entry for entry in entries if keep(entry)]
