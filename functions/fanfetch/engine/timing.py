"""Where a request's time goes: a clock per request, fed by aiohttp's trace hooks and a TLS context that marks
the handshake."""

from __future__ import annotations

import asyncio
import contextvars
import ssl
from types import SimpleNamespace
from typing import Any

from aiohttp import ClientSession, TraceConfig

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
        def span(a: float, b: float) -> float | None:
            return round((b - a) * 1000, 3) if a and b else None

        tcp_end = self.tls_start or self.conn_end
        return Timings(
            dns=span(self.dns_start, self.dns_end),
            connect=span(self.conn_start, tcp_end),
            tls=span(self.tls_start, self.conn_end),
            ttfb=span(self.start, self.headers),
            total=span(self.start, end),
        )


# The clock of the request running in the current task, for the TLS hook below.
current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("fanfetch_timing", default=None)


class TimedSSLContext(ssl.SSLContext):
    """Marks when the TCP connection is up and the TLS handshake begins (aiohttp traces only the sum),
    and keeps the connection's SSL object, whose certificate outlives aiohttp's hold on the connection."""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        ssl_object = super().wrap_bio(*args, **kwargs)
        clock = current_clock.get()
        if clock is not None:
            clock.tls_start = asyncio.get_running_loop().time()
            clock.ssl_object = ssl_object
        return ssl_object


def trace_config() -> TraceConfig:
    def mark(attribute: str) -> Any:
        async def handler(session: ClientSession, ctx: SimpleNamespace, params: Any) -> None:
            clock = ctx.trace_request_ctx
            if clock is not None:
                setattr(clock, attribute, asyncio.get_running_loop().time())

        return handler

    config = TraceConfig()
    config.on_dns_resolvehost_start.append(mark("dns_start"))
    config.on_dns_resolvehost_end.append(mark("dns_end"))
    config.on_connection_create_start.append(mark("conn_start"))
    config.on_connection_create_end.append(mark("conn_end"))
    return config
