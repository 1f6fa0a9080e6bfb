"""The SSRF guard for URLs that come from feeds (article links): public addresses only.

Article links are written by strangers, so a link could point the daemon at the machine
itself, the local network or a cloud metadata service. The check happens where the connection
is made: `PublicOnlyBackend` resolves the host name once, refuses every address that is not
public, and connects to the very address it checked, so a second DNS answer (rebinding) can
never slip in. Because it sits under the connection pool, every redirect hop is checked too.
research/reliability.md §2.11.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Says why an address may not be reached, or None when it may.
AddressCheck = Callable[[IPAddress], str | None]

#: Instance metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba Cloud).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: IPv4-mapped, 6to4, Teredo client or NAT64."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why a feed-supplied link may not reach `ip` ("a loopback address", …), None if public.

    `is_global` alone is not enough: it is True for multicast and for IPv6 forms that embed a
    private IPv4 address, so those are unwrapped and checked as well.
    """
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = address_problem(embedded)
        return f"{inner} (inside {ip})" if inner else None
    for label, flagged in (
        ("an unspecified address", ip.is_unspecified),
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("a multicast address", ip.is_multicast),
        ("a reserved address", ip.is_reserved),
        ("a private address", ip.is_private),
    ):
        if flagged:
            return label
    return None if ip.is_global else "not a public address"


#: The ports a link from a feed may reach unless the configuration names others.
LINK_PORTS = frozenset({80, 443})


def port_of(url: httpx.URL) -> int:
    """The port a request to `url` goes to: the one written, else the scheme's."""
    return url.port or (443 if url.scheme == "https" else 80)


def link_problem(url: httpx.URL, ports: frozenset[int] | None) -> str | None:
    """Why a link from a feed may not be fetched whatever its address: credentials written into
    it, or a port outside `ports` (None: any port), where internal services tend to listen."""
    if url.userinfo:
        return "refused: the link carries credentials"
    port = port_of(url)
    if ports is not None and port not in ports:
        allowed = ", ".join(str(number) for number in sorted(ports))
        return (
            f"refused to connect to port {port}: links from feeds may reach ports {allowed} "
            "(`[http] link_ports`)"
        )
    return None


def literal_host_problem(host: str, check: AddressCheck = address_problem) -> str | None:
    """Why a fetch through a proxy may not go to `host`, when that can be told without
    resolving it: an address `check` refuses, or a `localhost` name. None otherwise: the proxy
    resolves the name, and its own rules decide where it may connect."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return f"refused to connect to {host}: a loopback name"
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None
    problem = check(ip)
    return f"refused to connect to {host}: {ip} is {problem}" if problem else None


class AddressRefused(httpcore.ConnectError):
    """A connection the SSRF guard would not open; the message says which address and why."""


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """A network backend that only connects to addresses `check` accepts.

    Installed under an httpx transport's connection pool; TLS still verifies the original host
    name, because httpcore passes it to `start_tls` separately from the address.
    """

    def __init__(self, check: AddressCheck = address_problem) -> None:
        self._check = check
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as error:
            raise httpcore.ConnectError(str(error)) from error
        refusals: list[str] = []
        last_error: httpcore.ConnectError | None = None
        for address in dict.fromkeys(str(info[4][0]) for info in infos):
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            problem = self._check(ip)
            if problem:
                refusals.append(f"{ip} is {problem}")
                continue
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                last_error = error
        if last_error is not None:
            raise last_error
        raise AddressRefused(f"refused to connect to {host}: {'; '.join(refusals)}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("refused to connect to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
