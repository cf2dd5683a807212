"""Where fetches may go: the destination guard against SSRF, applied to every hop before connecting."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from fanfetch.errors import DestinationBlocked, InvalidTarget

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Refused whatever `is_global` says, so a Python that classifies one of them differently changes nothing.
DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated) addresses, e.g. ::127.0.0.1
        "fc00::/7",  # unique local, includes the EC2 IMDS address fd00:ec2::254
        "fe80::/10",
        "ff00::/8",
    )
)
NAT64_PREFIXES: tuple[ipaddress.IPv6Network, ...] = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
SCHEMES = frozenset({"http", "https"})


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[list[IPAddress], bool]:
    """IPv4 addresses carried inside an IPv6 one, and whether the wrapper itself is only a carrier."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped], True
    if any(ip in prefix for prefix in NAT64_PREFIXES):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)], True
    embedded: list[IPAddress] = []
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    return embedded, False


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names without DNS, including legacy IPv4 spellings (2130706433, 0x7f.1, 0177.0.0.1, 127.1)."""
    host = host.strip("[]").rstrip(".")  # a trailing dot makes a name absolute; on a number it changes nothing
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            # inet_aton is what the C library uses for numeric hosts, so it reads them as a connect would.
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class Guard:
    """Decides whether an address, port and URL may be fetched."""

    def __init__(
        self,
        allowed_networks: Sequence[IPNetwork] = (),
        allowed_ports: Sequence[tuple[int, int]] = ((80, 80), (443, 443)),
    ) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.allowed_ports = tuple(allowed_ports)
        self._verdicts: dict[tuple[str, str | None, int | None], tuple[str, str] | None] = {}

    def refusal(self, ip: IPAddress) -> str | None:
        """Why an address is refused, or None when it may be connected to."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        candidates: list[IPAddress] = [ip]
        judge_wrapper = True
        # An allowed network admits the address itself, or the IPv4 address a pure carrier (IPv4-mapped, NAT64)
        # leads to; a 6to4 or Teredo address leads to a public relay, so its embedded IPv4 admits nothing.
        admissible: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            embedded, carrier_only = _embedded_ipv4(ip)
            candidates.extend(embedded)
            judge_wrapper = not carrier_only
            if carrier_only:
                admissible.extend(embedded)
        if any(c in net for c in admissible for net in self.allowed_networks if c.version == net.version):
            return None
        for candidate in candidates:
            if candidate is ip and not judge_wrapper:
                continue
            if any(candidate in net for net in DENIED_NETWORKS if net.version == candidate.version):
                return f"{ip} is in a private or reserved network"
            if not candidate.is_global:
                return f"{ip} is not a globally routable address"
        return None

    def port_allowed(self, port: int) -> bool:
        return any(low <= port <= high for low, high in self.allowed_ports)

    def check_url(self, url: URL) -> None:
        """Refuse a URL before any connection: scheme, host, port and IP-literal hosts."""
        verdict = self._verdict(url.scheme, url.raw_host, url.port)
        if verdict is not None:
            kind, reason = verdict
            raise InvalidTarget(reason) if kind == "invalid" else DestinationBlocked(reason)

    def _verdict(self, scheme: str, host: str | None, port: int | None) -> tuple[str, str] | None:
        # Thousands of URLs share a few origins: decide once per (scheme, host, port).
        key = (scheme, host, port)
        if key in self._verdicts:
            return self._verdicts[key]
        verdict: tuple[str, str] | None = None
        if scheme not in SCHEMES:
            verdict = ("invalid", f"scheme {scheme!r} is not allowed: use http or https")
        elif not host:
            verdict = ("invalid", "the URL has no host")
        elif port is None or not self.port_allowed(port):
            verdict = ("blocked", f"port {port} is not in ALLOWED_PORTS")
        elif (literal := parse_ip_literal(host)) is not None and (reason := self.refusal(literal)):
            verdict = ("blocked", reason)
        if len(self._verdicts) < 10_000:
            self._verdicts[key] = verdict
        return verdict

    def check_resolved(self, host: str, addresses: Iterable[str]) -> None:
        for address in addresses:
            reason = self.refusal(ipaddress.ip_address(address))
            if reason:
                raise DestinationBlocked(f"{host} resolves to {address}: {reason}")


class GuardedResolver(AbstractResolver):
    """Resolves once and hands aiohttp only vetted addresses, so there is no window for DNS rebinding."""

    def __init__(self, guard: Guard, resolver: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._resolver = resolver or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        # Refuse the whole name when any address is bad: a mixed answer is how rebinding is attempted.
        self._guard.check_resolved(host, (result["host"] for result in results))
        return results

    async def close(self) -> None:
        await self._resolver.close()
