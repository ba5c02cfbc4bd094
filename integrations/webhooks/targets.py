"""Where a webhook may go: tenant-supplied URLs resolved and checked against SSRF.

A URL is parsed, its host resolved, and every address it resolves to must be globally
routable (no loopback, private, link-local, CGNAT, multicast, reserved or IPv4-mapped
IPv6) unless the policy lets it through; the sender then connects to the address that
was checked, so a DNS answer that changes between the check and the connection
(rebinding) cannot redirect it. Checked at create time and again at every attempt.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeTarget(ValueError):
    """A URL a webhook must not be sent to; the message says why in plain words."""


@dataclass(frozen=True)
class Policy:
    """What the deployment allows: http, non-public addresses, and an allow-list."""

    allow_http: bool = False
    allow_private: bool = False
    # Hosts (exact names) and networks reachable even when not globally routable.
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to ``address``, present ``host`` (Host, TLS SNI)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        """The Host header: the name, with the port when it is not the scheme's default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if _DEFAULT_PORTS[self.scheme] == self.port else f"{name}:{self.port}"


@dataclass(frozen=True)
class ParsedUrl:
    """The parts of a webhook URL that matter for connecting."""

    scheme: str
    host: str
    port: int
    path: str


def parse(url: str, policy: Policy) -> ParsedUrl:
    """Check a URL's form (scheme, host, no credentials); raises ``UnsafeTarget``."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"the URL cannot be parsed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeTarget("the URL must start with https://")
    if scheme == "http" and not policy.allow_http:
        raise UnsafeTarget("the URL must use https (http is allowed only in development)")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("the URL must not carry a user name or password")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return ParsedUrl(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], path)


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:  # CGNAT (100.64.0.0/10) and other special ranges
        return "not a globally routable address"
    return None


def _allowed(address: IPAddress, host: str, policy: Policy) -> bool:
    if host in policy.allowed_hosts:
        return True
    return any(address in network for network in policy.allowed_networks)


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeTarget(f"the host {host} does not resolve") from None
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        seen.setdefault(text, ipaddress.ip_address(text))
    return list(seen.values())


def resolve(url: str, policy: Policy) -> Target:
    """The checked address to deliver ``url`` to; raises ``UnsafeTarget`` with the reason."""
    parsed = parse(url, policy)
    addresses = _addresses(parsed.host, parsed.port)
    if not addresses:
        raise UnsafeTarget(f"the host {parsed.host} does not resolve")
    for address in addresses:
        reason = refusal(address)
        if reason and not policy.allow_private and not _allowed(address, parsed.host, policy):
            # Every answer must be safe: a name that also resolves inside is refused.
            raise UnsafeTarget(f"{parsed.host} resolves to {address}, {reason}")
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.path, str(addresses[0]))
