"""Which hosts a harvester may request: its URL's origin (scheme, host, port)
plus the hosts its operator allowed. A remote that links, pages or redirects
anywhere else is refused, so it cannot make us request internal hosts
(server-side request forgery) or send a POST body to a third party."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harvesting.remotes.base import RemoteError
from harvesting.text import printable

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise RemoteError("refused-url", f"{printable(url)}: not a usable URL ({e})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        raise RemoteError("refused-url", f"refused {printable(url)}: only http(s) URLs are requested")
    return scheme, host, port or _DEFAULT_PORTS[scheme]


@dataclass(frozen=True)
class AllowedHost:
    """`HOST`, `HOST:PORT`, `*.DOMAIN` or `*.DOMAIN:PORT`; without a port, the
    scheme's default port (80 for http, 443 for https)."""

    host: str
    port: int | None
    wildcard: bool

    @classmethod
    def parse(cls, text: str) -> AllowedHost:
        value = text.strip().lower()
        if not value or any(ch.isspace() for ch in value) or "/" in value or "@" in value:
            raise ValueError(f"{text!r} is not HOST or HOST:PORT")
        try:
            parts = urlsplit(f"http://{value}")
            port = parts.port
        except ValueError as e:
            raise ValueError(f"{text!r} is not HOST or HOST:PORT ({e})") from None
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise ValueError(f"{text!r} is not HOST or HOST:PORT")
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        if not host or "*" in host:
            raise ValueError(f"{text!r}: a wildcard may only be a leading '*.'")
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"{text!r}: port must be 1-65535")
        return cls(host=host, port=port, wildcard=wildcard)

    def admits(self, scheme: str, host: str, port: int) -> bool:
        if self.wildcard:
            if not host.endswith("." + self.host):
                return False
        elif host != self.host:
            return False
        return port == (self.port if self.port is not None else _DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class Origins:
    origin: tuple[str, str, int]
    allowed: tuple[AllowedHost, ...] = ()

    @classmethod
    def of(cls, url: str, allowed_hosts: list[str] | tuple[str, ...] = ()) -> Origins:
        try:
            allowed = tuple(AllowedHost.parse(h) for h in allowed_hosts)
        except ValueError as e:
            raise RemoteError("bad-option", f"--allow-host {e}") from None
        return cls(_origin(url), allowed)

    def admits(self, url: str) -> bool:
        scheme, host, port = _origin(url)
        if (scheme, host, port) == self.origin:
            return True
        o_scheme, o_host, o_port = self.origin
        if host == o_host and (o_scheme, o_port, scheme, port) == ("http", 80, "https", 443):
            return True  # the common upgrade of a plain-http URL to https on the same host
        return any(a.admits(scheme, host, port) for a in self.allowed)

    def check(self, url: str) -> None:
        if not self.admits(url):
            _, host, port = _origin(url)
            shown = f"[{host}]" if ":" in host else host
            raise RemoteError(
                "refused-url",
                f"refused {printable(url)}: not on the harvester's host {self.describe()}; "
                f"if it should be requested, add --allow-host {shown}:{port}",
            )

    def describe(self) -> str:
        scheme, host, port = self.origin
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"
