"""How a feed's requests reach its server: through which proxy, trusting which certificates.

Most feeds need neither setting: the fetcher's shared client takes the proxies of the
environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`) and its CA bundle
(`SSL_CERT_FILE` or `SSL_CERT_DIR`, else certifi's). A feed behind a proxy of its own, or on an
intranet server whose certificate a private CA signed (or that signed its own), names them in
its config. httpx binds the proxy and the trusted certificates to a client's connection pools,
so the fetcher keeps one client per distinct `Route`.

Extra CA files are trusted *besides* the default bundle, never instead of it, and there is no
switch that turns verification off: a self-signed server is trusted by giving its own
certificate as a CA file, which pins exactly that server.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

#: The proxy setting that means "connect straight to the server", even when the environment
#: names a proxy.
DIRECT = "direct"
#: HTTP proxies (plain, or TLS to the proxy) and SOCKS5, Tor's. Through SOCKS5 the proxy
#: resolves the server's name (httpcore sends it as a domain), so socks5:// already behaves as
#: socks5h:// and no DNS query leaves this machine for the feed's host.
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class RouteError(Exception):
    """A route that cannot be set up (a CA file that went away or holds no certificate)."""


@dataclass(frozen=True, slots=True, repr=False)
class Route:
    """`proxy`: None for the environment's proxies, `DIRECT` for none, else the proxy's URL
    (credentials in its user-info part, which `repr` hides). `ca_files`: PEM files of
    certificates to trust besides the default ones."""

    proxy: str | None = None
    ca_files: tuple[str, ...] = ()

    def __repr__(self) -> str:
        proxy = self.proxy
        if proxy and "@" in proxy:
            scheme, _, rest = proxy.partition("://")
            proxy = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return f"Route(proxy={proxy!r}, ca_files={self.ca_files!r})"

    def client_options(self) -> dict[str, Any]:
        """The httpx client arguments for this route; RouteError when a CA file fails."""
        return {
            "proxy": None if self.proxy in (None, DIRECT) else self.proxy,
            # Environment proxies only when the route names none (DIRECT refuses them too).
            "trust_env": self.proxy is None,
            "verify": ssl_context(self.ca_files),
        }


def ssl_context(ca_files: Sequence[str]) -> ssl.SSLContext:
    """The default verifying context (the environment's CA bundle, else certifi's) that also
    trusts the certificates in `ca_files`; RouteError names a file that fails."""
    context = httpx.create_ssl_context(trust_env=True)
    for path in ca_files:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as error:
            raise RouteError(f"CA file {path}: {_ca_file_reason(error)}") from None
    return context


def ca_file_problem(path: Path) -> str | None:
    """Why `path` cannot serve as a CA file (None: it can)."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        return _ca_file_reason(error)
    return None


def _ca_file_reason(error: OSError | ssl.SSLError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, ssl.SSLError):
        return "holds no certificate in PEM form (expected -----BEGIN CERTIFICATE-----)"
    return f"cannot be read ({error.strerror or error})"


def proxy_problem(url: str) -> str | None:
    """Why `url` cannot name a proxy (None: it can). Placeholders such as `${NAME}` may stand
    for its user and password; they are read at each poll."""
    if url == DIRECT:
        return None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        return f"not a URL ({error})"
    if parsed.scheme not in PROXY_SCHEMES:
        return f"expected an http://, https:// or socks5:// proxy URL, or {DIRECT!r}"
    if not parsed.host:
        return "the proxy URL has no host"
    if parsed.path not in ("", "/") or parsed.query:
        return "a proxy URL is scheme://[user:password@]host[:port], without a path"
    return None


def proxy_for(client: httpx.AsyncClient, url: httpx.URL) -> str | None:
    """`host:port` of the proxy a request from `client` to `url` goes through (None: none).

    For error messages only: it reads httpx's and httpcore's private attributes, and says
    None if they ever change.
    """
    try:
        transport = client._transport_for_url(url)
        proxy = transport._pool._proxy_url  # type: ignore[attr-defined]
    except AttributeError:
        return None
    host = proxy.host.decode("ascii", "replace")
    return f"{host}:{proxy.port}" if proxy.port else host
