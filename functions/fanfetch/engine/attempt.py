"""One attempt at a URL: a slot on its host, the hops of its redirects within the time it is given, the final
response recorded."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import ClientResponse, ClientSession
from yarl import URL

from fanfetch.engine.capture import record_response
from fanfetch.engine.deadlines import Deadlines
from fanfetch.engine.decoding import read_body
from fanfetch.engine.failures import TARGET_FAILURES, classify, internal_error
from fanfetch.engine.hosts import HostGate
from fanfetch.engine.redirects import REDIRECT_STATUSES, RedirectChain
from fanfetch.engine.timing import Clock, current_clock
from fanfetch.engine.tls import failed_certificate, tls_info
from fanfetch.guard import Guard
from fanfetch.models import FetchError, FetchOptions, TlsInfo, UrlResult

logger = logging.getLogger(__name__)

# Kept-alive connections a request may find closed by the server before it gets a fresh one. Each try discards the
# connection it was given, and aiohttp already tries a second one inside each.
STALE_CONNECTION_TRIES = 4


class Attempts:
    """Runs attempts through one session; holds what attempts share: host slots and TLS facts per origin."""

    def __init__(self, session: ClientSession, options: FetchOptions, guard: Guard, deadline: float) -> None:
        self.session = session
        self.options = options
        self.guard = guard
        self.deadline = deadline
        self.loop = asyncio.get_running_loop()
        self.hosts = HostGate(options.per_host, options.per_host_interval)
        self.deadlines = Deadlines()
        self._tls_by_origin: dict[URL, TlsInfo] = {}

    async def run(self, url: URL, result: UrlResult, time_left: float) -> float:
        """One attempt, given at most `time_left` seconds; returns the seconds it took.

        Waiting for a per-host slot and the per-host interval is not counted: with many URLs on one host,
        queued ones would otherwise time out before they start.
        """
        slot = self.hosts.slot(url.origin())
        if not await self.hosts.acquire(slot, until=self.deadline):
            result.error = FetchError("deadline", "the invocation deadline came while waiting for a slot on this host")
            return 0.0
        try:
            if not await self.hosts.space(url, until=self.deadline):
                result.error = FetchError("deadline", "the per-host interval would start this fetch after the deadline")
                return 0.0
            return await self._timed(url, result, time_left)
        finally:
            slot.release()

    async def _timed(self, url: URL, result: UrlResult, time_left: float) -> float:
        """The attempt within its time, its failure classified and its timings recorded; returns the seconds it took."""
        clock = Clock()
        started = self.loop.time()
        end_at = min(started + time_left, self.deadline)
        cut_by_deadline = end_at >= self.deadline
        try:
            async with self.deadlines.cutoff(end_at):
                await self._follow(url, result, clock)
        except TimeoutError as exc:
            result.error = self._timeout(exc, cut_by_deadline, time_left)
        except TARGET_FAILURES as exc:
            result.error = classify(exc)
            if result.error.type == "tls":
                await self._certificate_after_failure(url, result)
        except Exception:  # noqa: BLE001 - a bug in fanfetch costs this URL its result, never the batch
            result.error = internal_error(result.url)
        ended = self.loop.time()
        result.timings = clock.timings(ended)
        return ended - started

    def _timeout(self, exc: TimeoutError, cut_by_deadline: bool, time_left: float) -> FetchError:
        timeout = self.options.timeout
        if cut_by_deadline and self.loop.time() >= self.deadline - 0.001:
            return FetchError("deadline", "the invocation deadline came before the fetch finished")
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return FetchError("timeout", f"no connection within {self.options.connect_timeout:g} s")
        if time_left < timeout:
            left = f"{time_left:.3g} s left of the {timeout:g} s timeout"
            return FetchError("timeout", f"no complete response in the {left} its attempts share")
        return FetchError("timeout", f"no complete response within {timeout:g} s")

    async def _follow(self, url: URL, result: UrlResult, clock: Clock) -> None:
        method = self.options.method
        result.redirects = []
        chain = RedirectChain(url, self.options.max_redirects, result.redirects)
        while True:
            if result.redirects:  # the first hop was checked and spaced before the timeout started
                self.guard.check_url(url)
                await self.hosts.space(url)
            response = await self._request(method, url, clock)
            clock.headers = self.loop.time()
            async with response:
                status = response.status
                location = response.headers.get("Location")
                if status in REDIRECT_STATUSES and location is not None:
                    url = chain.follow(url, status, location)
                    continue
                if method == "HEAD" and status in (405, 501):
                    method = "GET"  # the server refuses HEAD: ask again for the real thing
                    continue
                await self._record(response, result, method, clock)
                return

    async def _request(self, method: str, url: URL, clock: Clock) -> ClientResponse:
        """The response to one hop. A server may close an idle kept-alive connection just as a request goes out on
        it; GET and HEAD are idempotent, so they are asked again (RFC 9112, 9.3.1) rather than failed. A server
        that closes a connection opened for the request still fails it."""
        tries = 1
        while True:
            clock.reset(self.loop.time())  # timings describe the final hop
            token = current_clock.set(clock)
            try:
                return await self.session.request(method, url, allow_redirects=False)
            except aiohttp.ServerDisconnectedError:
                if clock.conn_start or tries == STALE_CONNECTION_TRIES:  # a connection opened for it was closed
                    raise
                tries += 1
            finally:
                current_clock.reset(token)

    async def _record(self, response: ClientResponse, result: UrlResult, method: str, clock: Clock) -> None:
        record_response(response, result, self.options.ok_status)
        if response.url.scheme == "https":
            origin = response.url.origin()
            if clock.ssl_object is not None:  # a new connection; a reused one keeps the facts of its handshake
                self._tls_by_origin[origin] = tls_info(clock.ssl_object)
            result.tls = self._tls_by_origin.get(origin)
        if method != "HEAD":
            await read_body(response, result, self.options.max_bytes, self.options.hash)

    async def _certificate_after_failure(self, url: URL, result: UrlResult) -> None:
        until = min(self.loop.time() + self.options.connect_timeout, self.deadline)
        try:
            result.tls = await failed_certificate(self.session, url, until)
        except Exception:  # a bug here must not hide the TLS error already recorded
            logger.exception("reading a failed certificate broke: a bug in fanfetch", extra={"url": str(url)})
