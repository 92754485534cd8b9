"""HTTP for remotes: bounded time, bounded size, every failure a RemoteError."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from harvesting.remotes.base import RemoteError

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "harvesting/0.1 (+event-sourced geospatial harvester)"


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise RemoteError("parse-error", f"{self.url}: response is not valid JSON ({e})") from None


class HttpClient:
    """One client per remote, shared by the worker threads (httpx.Client is
    thread-safe), so connections are reused across fetches."""

    def __init__(
        self,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_connections: int = 16,
    ) -> None:
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def get(self, url: str, params: dict[str, Any] | None = None, *, accept_status: tuple[int, ...] = ()) -> Response:
        return self.request("GET", url, params=params, accept_status=accept_status)

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
    ) -> Response:
        try:
            with self._client.stream(method, url, params=params, content=content, headers=headers) as r:
                body = self._read_bounded(r)
                final_url = str(r.url)
                status = r.status_code
                content_type = r.headers.get("content-type", "")
        except httpx.TimeoutException:
            raise RemoteError("timeout", f"{method} {url}: no answer in time") from None
        except httpx.InvalidURL as e:
            raise RemoteError("unreachable", f"{url}: invalid URL ({e})") from None
        except httpx.UnsupportedProtocol as e:
            raise RemoteError("unreachable", f"{url}: {e}") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            raise RemoteError("unreachable", f"{method} {url}: {e or type(e).__name__}") from None
        except httpx.DecodingError as e:
            raise RemoteError("parse-error", f"{method} {url}: cannot decode body ({e})") from None
        except httpx.HTTPError as e:
            raise RemoteError("unreachable", f"{method} {url}: {e or type(e).__name__}") from None
        if status >= 400 and status not in accept_status:
            snippet = body[:200].decode("utf-8", "replace").strip().replace("\n", " ")
            raise RemoteError("http-error", f"{method} {final_url}: HTTP {status} {snippet}".rstrip())
        return Response(url=final_url, status=status, content_type=content_type, body=body)

    def _read_bounded(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise RemoteError("too-large", f"{response.url}: response larger than {self.max_bytes} bytes, refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._client.close()
