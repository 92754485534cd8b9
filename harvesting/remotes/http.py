"""HTTP for remotes: every request bounded in time and size, confined to the
hosts its harvester may talk to, polite to the remote, and cancellable.

Requests run on one asyncio loop in a background thread, whatever thread asks
for them: that is what gives a request a total deadline (a server dripping one
byte at a time is cut off) and lets an abort end requests already in flight.
Callers stay synchronous and only ever see a `Response` or a `RemoteError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import email.utils
import random
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from harvesting.remotes.base import RemoteError, local_disk_error
from harvesting.remotes.origins import Origins
from harvesting.remotes.spool import SpooledBody
from harvesting.remotes.values import describe_body
from harvesting.text import printable

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_PER_HOST = 4
DEFAULT_RETRIES = 2
DEFAULT_MAX_RETRY_AFTER_S = 120.0
MAX_REDIRECTS = 10
_TRANSIENT_STATUSES = (429, 502, 503, 504)
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("harvesting")
    except Exception:  # noqa: BLE001 - running from a source tree without metadata
        return "0"


def user_agent(contact: str = "") -> str:
    """Names us, our version and, when the operator gave one, whom to contact."""
    agent = f"harvesting/{_version()} (event-sourced geospatial harvester"
    return agent + (f"; contact: {printable(contact, 120)})" if contact else ")")


@dataclass(frozen=True)
class HttpSettings:
    timeout_s: float = DEFAULT_TIMEOUT_S
    # Whole request, retries included; None: four read timeouts.
    deadline_s: float | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    per_host: int = DEFAULT_PER_HOST
    retries: int = DEFAULT_RETRIES
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    max_connections: int = 64
    contact: str = ""
    backoff_s: float = 0.5

    @property
    def deadline(self) -> float:
        return self.deadline_s if self.deadline_s is not None else 4 * self.timeout_s


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None
    # `download`: a successful body, on disk instead of in `body`.
    file: SpooledBody | None = None


@dataclass
class RequestBudget:
    """A per-listing bound on requests; set by the lister for its own thread only."""

    limit: int
    used: int = 0
    name: str = "max_requests"

    def spend(self, url: str) -> None:
        if self.used >= self.limit:
            raise RemoteError(
                "listing-bound",
                f"listing bound {self.name}={self.limit} reached (requests made for this listing) at {printable(url)}",
            )
        self.used += 1


_budget: contextvars.ContextVar[RequestBudget | None] = contextvars.ContextVar("harvest_request_budget", default=None)
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("harvest_http_scope", default=None)


@contextlib.contextmanager
def http_scope(scope: str) -> Iterator[None]:
    """Requests made by this thread inside the block can be cancelled together
    (a session's requests, when the session is aborted)."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def request_budget(budget: RequestBudget) -> Iterator[RequestBudget]:
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


class Transport:
    """The process's one event loop and connection pool, shared by every
    harvester; per-host semaphores make the politeness limit hold across them."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="http-loop", daemon=True)
        self._client: httpx.AsyncClient | None = None
        self._per_host: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._scopes: dict[str, set[asyncio.Task[Response]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._pending: set[concurrent.futures.Future[Response]] = set()
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(s.timeout_s),
                follow_redirects=False,  # each hop is checked against the harvester's hosts
                headers={"User-Agent": user_agent(s.contact)},
                limits=httpx.Limits(max_connections=s.max_connections, max_keepalive_connections=s.max_connections),
            )
        return self._client

    def host_slot(self, host: str, port: int) -> asyncio.Semaphore:
        key = (host, port)
        slot = self._per_host.get(key)
        if slot is None:
            slot = self._per_host[key] = asyncio.Semaphore(self.settings.per_host)
        return slot

    def submit(
        self, call: Callable[[], Coroutine[Any, Any, Response]], scope: str
    ) -> concurrent.futures.Future[Response]:
        """Runs `call()` on the loop under `scope`. The coroutine is made only
        once the transport is known to be open, so a request racing shutdown
        fails as cancelled instead of leaving a coroutine never awaited."""

        async def tracked() -> Response:
            task = asyncio.current_task()
            assert task is not None
            self._scopes.setdefault(scope, set()).add(task)
            try:
                return await call()
            finally:
                tasks = self._scopes.get(scope)
                if tasks is not None:
                    tasks.discard(task)
                    if not tasks:
                        del self._scopes[scope]

        with self._lock:
            if self._closed:
                raise RemoteError("cancelled", "HTTP is shut down (the process is stopping)")
            future = asyncio.run_coroutine_threadsafe(tracked(), self._loop)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def cancel(self, scope: str | None = None) -> None:
        """Ends the requests in flight for one scope (a harvester), or all of them."""

        def cancel_now() -> None:
            for key, tasks in list(self._scopes.items()):
                if scope is None or key == scope:
                    for task in list(tasks):
                        task.cancel()

        with self._lock:
            if not self._loop.is_closed() and self._thread.is_alive():
                self._loop.call_soon_threadsafe(cancel_now)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            # Closed before anything is cancelled: no request slips in between.
            self._closed = True
            pending = list(self._pending)
        self.cancel()
        for future in pending:
            future.cancel()

        async def shutdown() -> None:
            if self._client is not None:
                await self._client.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@dataclass
class _Attempt:
    method: str
    url: str
    content: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    spool: bool = False


class HttpClient:
    """What a remote uses. A client made by `restricted_to` may only request its
    harvester's origin and the hosts allowed for it; one made directly (tests,
    tools) talks to any http(s) URL."""

    def __init__(
        self,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_connections: int = 64,
        *,
        settings: HttpSettings | None = None,
        transport: Transport | None = None,
        origins: Origins | None = None,
        scope: str = "",
    ) -> None:
        self.settings = settings or HttpSettings(
            timeout_s=timeout_s, max_bytes=max_bytes, max_connections=max_connections
        )
        self._owns_transport = transport is None
        self._transport = transport or Transport(self.settings)
        self.origins = origins
        self.scope = scope

    @property
    def max_bytes(self) -> int:
        return self.settings.max_bytes

    def restricted_to(self, url: str, allowed_hosts: list[str] | tuple[str, ...] = (), scope: str = "") -> HttpClient:
        """A view for one harvester: same connections and politeness, its own
        hosts and cancellation scope."""
        return HttpClient(
            settings=self.settings,
            transport=self._transport,
            origins=Origins.of(url, allowed_hosts),
            scope=scope or url,
        )

    def cancel(self, scope: str | None = None) -> None:
        self._transport.cancel(scope)

    def get(self, url: str, params: dict[str, Any] | None = None, *, accept_status: tuple[int, ...] = ()) -> Response:
        return self.request("GET", url, params=params, accept_status=accept_status)

    def download(self, url: str) -> Response:
        """A GET whose successful body goes to disk as it arrives (`Response.file`):
        a document of a hundred megabytes never sits in memory. Error bodies
        are read as usual, for their messages."""
        return self.request("GET", url, spool=True)

    def post(self, url: str, content: bytes, content_type: str, *, accept_status: tuple[int, ...] = ()) -> Response:
        return self.request(
            "POST", url, content=content, headers={"Content-Type": content_type}, accept_status=accept_status
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        accept_status: tuple[int, ...] = (),
        spool: bool = False,
    ) -> Response:
        full_url = self._url_with(url, params)
        budget = _budget.get()
        if budget is not None:
            budget.spend(full_url)
        attempt = _Attempt(method, full_url, content, dict(headers or {}), spool)
        deadline = self.settings.deadline
        scope = _scope.get() or self.scope
        future = self._transport.submit(lambda: self._call(attempt, accept_status, deadline), scope)
        try:
            # A little beyond the loop's own deadline: the loop answers first.
            return future.result(timeout=deadline + 5)
        except concurrent.futures.CancelledError:
            raise RemoteError(
                "cancelled", f"{method} {printable(full_url)}: cancelled (session ended or stopping)"
            ) from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RemoteError(
                "deadline", f"{method} {printable(full_url)}: no complete answer in {deadline:g} s"
            ) from None
        except RemoteError:
            raise
        except Exception as e:  # noqa: BLE001 - nothing a remote does may escape as a traceback
            raise RemoteError("unreachable", f"{method} {printable(full_url)}: {type(e).__name__}") from None

    @staticmethod
    def _url_with(url: str, params: dict[str, Any] | None) -> str:
        try:
            parsed = httpx.URL(url, params=params) if params else httpx.URL(url)
        except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as e:
            raise RemoteError("refused-url", f"{printable(url)}: not a usable URL ({printable(str(e), 80)})") from None
        return str(parsed)

    async def _call(self, first: _Attempt, accept_status: tuple[int, ...], deadline: float) -> Response:
        method = first.method
        failures: list[RemoteError] = []
        try:
            async with asyncio.timeout(deadline):
                return await self._with_retries(first, accept_status, failures)
        except TimeoutError:
            earlier = f" (after {len(failures)} failed attempt(s), last: {failures[-1]})" if failures else ""
            raise RemoteError(
                "deadline", f"{method} {printable(first.url)}: no complete answer in {deadline:g} s{earlier}"
            ) from None

    async def _with_retries(
        self, attempt: _Attempt, accept_status: tuple[int, ...], failures: list[RemoteError]
    ) -> Response:
        s = self.settings
        for number in range(s.retries + 1):
            last = number == s.retries
            try:
                response = await self._follow(attempt)
            except RemoteError as e:
                if last or not e.transient:
                    raise
                failures.append(e)
                await asyncio.sleep(self._backoff(number))
                continue
            # Overload answers are retried even where the caller reads error
            # bodies (OGC exception reports): a 503 is the server asking for
            # patience, not a verdict on the request.
            if response.status in _TRANSIENT_STATUSES and not last:
                await asyncio.sleep(self._retry_after(response, number))
                continue
            if response.status >= 400 and response.status not in accept_status:
                found = describe_body(response.body, response.content_type)
                raise RemoteError(
                    "http-error", f"{attempt.method} {printable(response.url)}: HTTP {response.status}, {found}"
                )
            return response
        raise AssertionError("unreachable")

    def _backoff(self, number: int) -> float:
        delay: float = min(10.0, self.settings.backoff_s * 2**number)
        return delay * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not secrecy

    def _retry_after(self, response: Response, number: int) -> float:
        """429 and 503 may say when to come back; we wait that long if it is
        reasonable, otherwise we give up now rather than hammer or hang."""
        raw = _retry_after_seconds(response.retry_after)
        if raw is None:
            return self._backoff(number)
        if raw > self.settings.max_retry_after_s:
            raise RemoteError(
                "http-error",
                f"{printable(response.url)}: HTTP {response.status}, asks to retry after {raw:g} s, "
                f"more than the {self.settings.max_retry_after_s:g} s we wait",
            )
        return raw

    async def _follow(self, attempt: _Attempt) -> Response:
        """One attempt, following redirects by hand: each hop must stay on
        http(s) and within the harvester's hosts."""
        method, url, content = attempt.method, attempt.url, attempt.content
        headers = dict(attempt.headers)
        for _ in range(MAX_REDIRECTS + 1):
            target = self._checked(url)
            response, location = await self._once(method, url, content, headers, target, attempt.spool)
            if location is None:
                return response
            try:
                url = urljoin(url, location)
            except ValueError:
                raise RemoteError("refused-url", f"{method} {printable(url)}: unusable redirect") from None
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, content = "GET", None
                headers.pop("Content-Type", None)
        raise RemoteError(
            "unreachable", f"{attempt.method} {printable(attempt.url)}: more than {MAX_REDIRECTS} redirects"
        )

    def _checked(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
            host = parsed.host
        except (httpx.InvalidURL, UnicodeError, ValueError) as e:
            raise RemoteError("refused-url", f"{printable(url)}: not a usable URL ({printable(str(e), 80)})") from None
        if parsed.scheme not in ("http", "https") or not host:
            raise RemoteError("refused-url", f"refused {printable(url)}: only http(s) URLs are requested")
        if self.origins is not None:
            self.origins.check(url)
        return parsed

    async def _once(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        target: httpx.URL,
        spool: bool = False,
    ) -> tuple[Response, str | None]:
        client = self._transport.client()
        port = target.port or (443 if target.scheme == "https" else 80)
        async with self._transport.host_slot(target.host, port):
            try:
                async with client.stream(method, target, content=content, headers=headers) as r:
                    location = r.headers.get("location") if r.status_code in _REDIRECT_STATUSES else None
                    body, file = b"", None
                    if location is None and spool and 200 <= r.status_code < 300:
                        file = await self._spool_bounded(r, url)
                    elif location is None:
                        body = await self._read_bounded(r, url)
                    response = Response(
                        url=str(r.url),
                        status=r.status_code,
                        content_type=r.headers.get("content-type", ""),
                        body=body,
                        retry_after=r.headers.get("retry-after"),
                        file=file,
                    )
            except httpx.TimeoutException:
                raise RemoteError("timeout", f"{method} {printable(url)}: no answer in time", transient=True) from None
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError) as e:
                raise RemoteError(
                    "unreachable",
                    f"{method} {printable(url)}: {printable(str(e), 120) or type(e).__name__}",
                    transient=True,
                ) from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as e:
                raise RemoteError("refused-url", f"{printable(url)}: {printable(str(e), 80)}") from None
            except httpx.DecodingError:
                raise RemoteError("parse-error", f"{method} {printable(url)}: cannot decode the body") from None
            except httpx.HTTPError as e:
                raise RemoteError(
                    "unreachable", f"{method} {printable(url)}: {printable(str(e), 120) or type(e).__name__}"
                ) from None
            except OSError as e:
                raise RemoteError("unreachable", f"{method} {printable(url)}: {printable(str(e), 120)}") from None
        return response, location

    async def _read_bounded(self, response: httpx.Response, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            self._check_size(size, url)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _spool_bounded(self, response: httpx.Response, url: str) -> SpooledBody:
        try:
            spooled = SpooledBody()
        except OSError as e:
            raise local_disk_error(printable(url), "the answer", e) from None
        try:
            async for chunk in response.aiter_bytes():
                self._check_size(spooled.size + len(chunk), url)
                try:
                    spooled.write(chunk)
                except OSError as e:
                    raise local_disk_error(printable(url), "the answer", e) from None
        except BaseException:
            spooled.close()
            raise
        return spooled.finish()

    def _check_size(self, size: int, url: str) -> None:
        if size > self.settings.max_bytes:
            raise RemoteError(
                "too-large", f"{printable(url)}: response larger than {self.settings.max_bytes} bytes, refused"
            )

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()


def _retry_after_seconds(raw: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3)."""
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
