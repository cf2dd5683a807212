"""Where a request's time goes: a clock per request, marked by the connector, the resolver and a TLS context that
sees the handshake begin, so that only requests which open a connection pay for being timed."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import ssl
from typing import Any

from aiohttp import ClientRequest, ClientTimeout, TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.tracing import Trace

from fanfetch.models import Timings


class Clock:
    """Monotonic marks of one request; milliseconds are derived when the result is built."""

    __slots__ = ("conn_end", "conn_start", "dns_end", "dns_start", "headers", "ssl_object", "start", "tls_start")

    def __init__(self) -> None:
        self.reset(0.0)

    def reset(self, start: float) -> None:
        self.start = start
        self.dns_start = self.dns_end = self.conn_start = self.tls_start = self.conn_end = self.headers = 0.0
        self.ssl_object: ssl.SSLObject | None = None

    def timings(self, end: float) -> Timings:
        timings = Timings(ttfb=_span(self.start, self.headers), total=_span(self.start, end))
        if self.conn_start:  # a reused connection has no connection phases: they stay null
            tcp_end = self.tls_start or self.conn_end
            timings.dns = _span(self.dns_start, self.dns_end)
            timings.connect = _span(self.conn_start, tcp_end)
            timings.tls = _span(self.tls_start, self.conn_end)
        return timings


def _span(start: float, end: float) -> float | None:
    """Milliseconds between two marks, None when either did not happen."""
    return round((end - start) * 1000, 3) if start and end else None


# The clock of the request running in the current task. The connector, the resolver and the TLS context below run in
# that task (or, for DNS, in a task started from it), so they find the clock here.
current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("fanfetch_timing", default=None)


def _mark(attribute: str) -> None:
    clock = current_clock.get()
    if clock is not None:
        setattr(clock, attribute, asyncio.get_running_loop().time())


class TimedConnector(TCPConnector):
    """Marks when a new connection starts and is ready (DNS, TCP and TLS included).

    aiohttp's trace hooks would give the same marks, but with any trace config it builds trace objects and sends
    signals on every request, reused connections included; this override runs only when a connection is opened.
    """

    async def _create_connection(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature, overridden
    ) -> ResponseHandler:
        _mark("conn_start")
        protocol = await super()._create_connection(req, traces, timeout)
        _mark("conn_end")
        return protocol


class TimedResolver(AbstractResolver):
    """Marks the start and end of a lookup. aiohttp calls it only on a DNS cache miss, and never for an IP host."""

    def __init__(self, resolver: AbstractResolver) -> None:
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        _mark("dns_start")
        results = await self._resolver.resolve(host, port, family)
        _mark("dns_end")
        return results

    async def close(self) -> None:
        await self._resolver.close()


class TimedSSLContext(ssl.SSLContext):
    """Marks when the TCP connection is up and the TLS handshake begins (the connector sees only the sum),
    and keeps the connection's SSL object, whose certificate outlives aiohttp's hold on the connection."""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        ssl_object = super().wrap_bio(*args, **kwargs)
        clock = current_clock.get()
        if clock is not None:
            clock.tls_start = asyncio.get_running_loop().time()
            clock.ssl_object = ssl_object
        return ssl_object
