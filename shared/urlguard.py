"""Server-side request forgery guard for webhook URLs.

A webhook makes Newsflow send requests to a URL someone else chose. By default the URL
must be http(s), carry no credentials, and its host must resolve ONLY to public
addresses: one private (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10), loopback
(127/8, ::1), link-local (169.254/16 with cloud metadata, fe80::/10) or otherwise
non-global address refuses it. IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4
address it maps. Multicast and unspecified addresses are refused always.

The check runs when a webhook is registered AND before every delivery, and a delivery
connects to the very address that was checked (`pin`), never resolving the name again:
a DNS answer that changes between the check and the connection (DNS rebinding) cannot
point it elsewhere. WEBHOOK_ALLOW_PRIVATE_URLS=true lifts the address rule for local
use (a receiver on the compose network, tests).
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (strings, as getaddrinfo gives them).
Resolver = Callable[[str, int], list[str]]

SCHEMES = {"http": 80, "https": 443}


class UnsafeURLError(ValueError):
    """The URL may not be called: the reason names the rule it breaks."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, every one allowed) and what to say."""

    url: str
    scheme: str
    host: str  # as in the URL (a name, or an address without brackets)
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address getaddrinfo gives for host:port (TCP)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"host {host!r} cannot be resolved: {exc}") from exc
    return [str(info[4][0]) for info in infos]


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why `address` may not be called (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if allow_private:
        return None
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return reason
    return None if address.is_global else "not globally routable"


def check_url(
    url: str, *, allow_private: bool = False, resolve: Resolver = system_resolver
) -> Target:
    """The URL as a Target whose every address may be called; UnsafeURLError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeURLError("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("credentials in the URL are not allowed (the secret signs)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURLError("the URL has no host")
    port = port or SCHEMES[scheme]
    resolved = resolve(host, port)
    if not resolved:
        raise UnsafeURLError(f"host {host!r} resolves to no address")
    addresses: list[IPAddress] = []
    for raw in resolved:
        address = ipaddress.ip_address(raw.split("%", 1)[0])  # no IPv6 zone
        reason = refusal(address, allow_private)
        if reason is not None:
            hint = "" if allow_private else " (WEBHOOK_ALLOW_PRIVATE_URLS=true allows it locally)"
            raise UnsafeURLError(f"host {host!r} resolves to {address}, a {reason} address{hint}")
        if address not in addresses:
            addresses.append(address)
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


def pin(target: Target, address: IPAddress) -> str:
    """The target's URL with `address` in place of its host: connecting to it reaches the
    checked address whatever DNS says now (send Host: and TLS SNI for the name)."""
    parts = urlsplit(target.url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{target.port}"
    return parts._replace(netloc=netloc).geturl()
