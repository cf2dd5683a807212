"""The async fetch core: bounded, streaming, per-URL results before a deadline. Knows nothing of Lambda or AWS."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import logging
import random
import ssl
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import ClientSession, ClientTimeout, TCPConnector, TraceConfig, client_exceptions
from yarl import URL

from fanfetch.guard import DestinationBlocked, Guard, GuardedResolver, InvalidTarget
from fanfetch.models import (
    FetchError,
    FetchOptions,
    FetchResponse,
    FetchSummary,
    RedirectHop,
    Timings,
    TlsInfo,
    UrlResult,
)

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Only these target headers reach the caller: enough to monitor, nothing that carries content or secrets.
RESULT_HEADERS = ("etag", "last-modified", "cache-control", "server", "retry-after", "content-encoding", "age")
DECODE_CHUNK = 1 << 18
BACKOFF_BASE = 0.2
BACKOFF_CAP = 10.0
MAX_URL_LENGTH = 2048


class RedirectError(Exception):
    """A redirect loop, an overlong chain or an unusable Location."""


class _Undecodable(Exception):
    """A content coding fanfetch did not ask for and cannot decode."""


# The timing record of the request running in the current task, for the TLS hook below.
_current_timing: contextvars.ContextVar[_Clock | None] = contextvars.ContextVar("fanfetch_timing", default=None)


class _Clock:
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


class _TimedSSLContext(ssl.SSLContext):
    """Marks when the TCP connection is up and the TLS handshake begins (aiohttp traces only the sum),
    and keeps the connection's SSL object, whose certificate outlives aiohttp's hold on the connection."""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        ssl_object = super().wrap_bio(*args, **kwargs)
        clock = _current_timing.get()
        if clock is not None:
            clock.tls_start = asyncio.get_running_loop().time()
            clock.ssl_object = ssl_object
        return ssl_object


def _trace_config() -> TraceConfig:
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


@cache
def make_ssl_context(cadata: str | None = None) -> ssl.SSLContext:
    """The verifying client context, with the system roots or, for tests and private PKI, the given PEM CAs.

    Cached: loading the roots takes tens of milliseconds, and a context is safe to share across event loops.
    """
    context = _TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cadata is None:
        context.load_default_certs()
    else:
        context.load_verify_locations(cadata=cadata)
    return context


def _unverified_context() -> ssl.SSLContext:
    """Only for reading a certificate that already failed verification; nothing is fetched through it."""
    context = _TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Decoder:
    """Counts decoded bytes of a gzip/deflate body in bounded slices, so a compression bomb stays cheap."""

    def __init__(self, encoding: str) -> None:
        self._raw_deflate = False
        # wbits 47 accepts both gzip and zlib headers; raw deflate is tried if that fails.
        self._zlib = zlib.decompressobj(47)
        self.encoding = encoding

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Decoded slices of one chunk, produced lazily so the reader can stop at `max_bytes`."""
        try:
            yield self._zlib.decompress(chunk, DECODE_CHUNK)
        except zlib.error:
            if self._raw_deflate or self.encoding != "deflate":
                raise
            self._raw_deflate = True
            self._zlib = zlib.decompressobj(-15)
            yield self._zlib.decompress(chunk, DECODE_CHUNK)
        while self._zlib.unconsumed_tail:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, DECODE_CHUNK)


def _new_decoder(content_encoding: str | None) -> _Decoder | None:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Decoder(encoding)
    raise _Undecodable(encoding)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _tls_info(ssl_object: ssl.SSLObject) -> TlsInfo:
    info = TlsInfo(version=ssl_object.version())
    cert = ssl_object.getpeercert()
    if cert:
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
        _set_expiry(info, not_after)
        issuer: dict[str, str] = {}
        rdns: Any = cert.get("issuer", ())  # ((("organizationName", "..."),), ...)
        for rdn in rdns:
            issuer.update((str(name), str(value)) for name, value in rdn)
        info.issuer = issuer.get("organizationName") or issuer.get("commonName")
    return info


def _set_expiry(info: TlsInfo, not_after: datetime) -> None:
    info.not_after = not_after.isoformat().replace("+00:00", "Z")
    info.days_left = round((not_after - datetime.now(UTC)).total_seconds() / 86400, 2)


def _classify(exc: BaseException) -> FetchError:
    """A per-URL failure reason from whatever the fetch raised; checked from the most specific class down."""
    message = str(exc) or exc.__class__.__name__
    kind: Any
    if isinstance(exc, DestinationBlocked):
        kind = "blocked"
    elif isinstance(exc, (InvalidTarget, aiohttp.InvalidURL, UnicodeError)):
        kind = "invalid_url"
    elif isinstance(exc, RedirectError):
        kind = "redirects"
    elif isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        kind = "tls"
        certificate_error = getattr(exc, "certificate_error", None)
        if certificate_error is not None:
            message = getattr(certificate_error, "verify_message", None) or str(certificate_error)
    elif isinstance(exc, client_exceptions.ClientConnectorDNSError):
        kind = "dns"
        message = f"cannot resolve {exc.host}: {exc.os_error.strerror or exc.os_error}"
    elif isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientOSError, ConnectionError)):
        kind = "connect"
    else:
        kind = "protocol"
    return FetchError(type=kind, message=message[:500])


def _retryable(error: FetchError | None, status: int | None) -> bool:
    if error is None:
        return False
    if error.type == "http":
        return status in RETRY_STATUSES
    return error.type in ("connect", "timeout")


class Fetcher:
    """Fetches single URLs through one session; `fetch_all` runs many of them."""

    def __init__(self, session: ClientSession, options: FetchOptions, guard: Guard, deadline: float) -> None:
        self.session = session
        self.options = options
        self.guard = guard
        self.deadline = deadline
        self.loop = asyncio.get_running_loop()
        self._next_slot: dict[str, float] = {}
        self._host_slots: dict[URL, asyncio.Semaphore] = {}
        self._tls_by_origin: dict[URL, TlsInfo] = {}

    async def fetch(self, raw_url: str) -> UrlResult:
        started = self.loop.time()
        try:
            if len(raw_url) > MAX_URL_LENGTH:
                raise InvalidTarget(f"URL is {len(raw_url)} characters; at most {MAX_URL_LENGTH} are allowed")
            url = URL(raw_url.strip())
            self.guard.check_url(url)  # refused URLs fail here, without an attempt; hops are checked in _follow
        except (InvalidTarget, DestinationBlocked, ValueError) as exc:
            return UrlResult(url=raw_url, error=_classify(exc))
        attempts = 0
        while True:
            attempts += 1
            result = UrlResult(url=raw_url, attempts=attempts)  # each attempt reports afresh
            await self._attempt(url, result)
            wait = self._retry_wait(result)
            if wait is None:
                break
            await asyncio.sleep(wait)
        result.elapsed_ms = round((self.loop.time() - started) * 1000, 3)
        return result

    def _retry_wait(self, result: UrlResult) -> float | None:
        """Seconds before the next attempt, or None to stop: retries spent, not retryable, or past the deadline."""
        if result.attempts > self.options.retries or not _retryable(result.error, result.status):
            return None
        backoff = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (result.attempts - 1)))
        if result.status in (429, 503):
            asked = _retry_after(result.headers.get("retry-after"), datetime.now(UTC))
            if asked is not None:
                backoff = asked
        # Only wait if a useful attempt can still start and finish before the deadline.
        if self.loop.time() + backoff + 0.05 >= self.deadline:
            return None
        return backoff

    async def _attempt(self, url: URL, result: UrlResult) -> None:
        """One attempt. Waiting for a per-host slot and the per-host interval does not eat into `timeout`:
        with many URLs on one host, queued ones would otherwise time out before they start."""
        origin = url.origin()
        slot = self._host_slots.get(origin)
        if slot is None:
            slot = self._host_slots[origin] = asyncio.Semaphore(self.options.per_host)
        try:
            if slot.locked():  # only a wait needs a deadline (and its timer)
                async with asyncio.timeout_at(self.deadline):
                    await slot.acquire()
            else:
                await slot.acquire()
        except TimeoutError:
            result.error = FetchError("deadline", "the invocation deadline came while waiting for a slot on this host")
            return
        try:
            if await self._polite(url, until=self.deadline):
                await self._timed_attempt(url, result)
            else:
                result.error = FetchError("deadline", "the per-host interval would start this fetch after the deadline")
        finally:
            slot.release()

    async def _timed_attempt(self, url: URL, result: UrlResult) -> None:
        clock = _Clock()
        end_at = min(self.loop.time() + self.options.timeout, self.deadline)
        cut_by_deadline = end_at >= self.deadline
        try:
            async with asyncio.timeout_at(end_at):
                await self._follow(url, result, clock)
        except TimeoutError as exc:
            if cut_by_deadline and self.loop.time() >= self.deadline - 0.001:
                result.error = FetchError("deadline", "the invocation deadline came before the fetch finished")
            elif isinstance(exc, aiohttp.ConnectionTimeoutError):
                result.error = FetchError("timeout", f"no connection within {self.options.connect_timeout:g} s")
            else:
                result.error = FetchError("timeout", f"no complete response within {self.options.timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - any failure of one URL is that URL's result, never the batch's
            result.error = _classify(exc)
            if result.error.type == "tls":
                await self._certificate_after_failure(url, result)
        result.timings = clock.timings(self.loop.time())
        if result.error is not None:
            result.ok = False

    async def _follow(self, url: URL, result: UrlResult, clock: _Clock) -> None:
        options = self.options
        method = options.method
        seen = {url}
        result.redirects = []
        while True:
            if result.redirects:  # the first hop was checked and spaced before the timeout started
                self.guard.check_url(url)
                await self._polite(url)
            clock.reset(self.loop.time())  # timings describe the final hop
            token = _current_timing.set(clock)
            try:
                response = await self.session.request(method, url, allow_redirects=False, trace_request_ctx=clock)
            finally:
                _current_timing.reset(token)
            clock.headers = self.loop.time()
            async with response:
                status = response.status
                if status in REDIRECT_STATUSES and "Location" in response.headers:
                    result.redirects.append(RedirectHop(url=str(url), status=status))
                    if len(result.redirects) > options.max_redirects:
                        raise RedirectError(f"more than {options.max_redirects} redirects")
                    try:
                        url = url.join(URL(response.headers["Location"]))
                    except ValueError as exc:
                        raise RedirectError(f"unusable Location header: {exc}") from exc
                    if url in seen:
                        raise RedirectError(f"redirect loop back to {url}")
                    seen.add(url)
                    continue
                if method == "HEAD" and status in (405, 501):
                    method = "GET"  # the server refuses HEAD: ask again for the real thing
                    continue
                await self._record(response, result, method, clock)
                return

    async def _record(self, response: aiohttp.ClientResponse, result: UrlResult, method: str, clock: _Clock) -> None:
        headers = response.headers
        result.status = response.status
        result.final_url = str(response.url)
        result.content_type = headers.get("Content-Type")
        length = headers.get("Content-Length")
        result.content_length = int(length) if length and length.isdigit() else None
        result.headers = {name: headers[name] for name in RESULT_HEADERS if name in headers}
        if response.url.scheme == "https":
            origin = response.url.origin()
            if clock.ssl_object is not None:  # a new connection; a reused one keeps the facts of its handshake
                self._tls_by_origin[origin] = _tls_info(clock.ssl_object)
            result.tls = self._tls_by_origin.get(origin)
        low, high = self.options.ok_status
        if not low <= response.status <= high:
            result.error = FetchError("http", f"status {response.status} is outside {low}-{high}")
        if method != "HEAD":
            await self._read_body(response, result)
        result.ok = result.error is None

    async def _read_body(self, response: aiohttp.ClientResponse, result: UrlResult) -> None:
        """Streams the body, counting wire and decoded bytes; memory stays at a few buffers whatever the size."""
        limit = self.options.max_bytes
        digest = hashlib.sha256() if self.options.hash else None
        try:
            decoder = _new_decoder(response.headers.get("Content-Encoding"))
            decodable = True
        except _Undecodable:
            decoder, decodable = None, False  # a coding not asked for: only wire bytes are known
        wire = size = 0
        truncated = False
        content = response.content
        while not truncated:
            chunk = await content.readany()
            if not chunk:
                break
            wire += len(chunk)
            pieces = decoder.feed(chunk) if decoder is not None else (chunk,)
            for piece in pieces:
                if limit is not None and size + len(piece) > limit:
                    piece = piece[: limit - size]
                    truncated = True
                size += len(piece)
                if digest is not None:
                    digest.update(piece)
                if truncated:
                    break
        if truncated:
            response.close()  # stop the transfer instead of draining the rest
        result.wire_bytes = wire
        result.bytes = size if decodable else None
        result.truncated = truncated
        if digest is not None:
            result.sha256 = digest.hexdigest()

    async def _polite(self, url: URL, until: float | None = None) -> bool:
        """Spaces request starts to one host by `per_host_interval`; False, without waiting, if the turn
        would come after `until`."""
        interval = self.options.per_host_interval
        if not interval:
            return True
        host = url.host or ""
        now = self.loop.time()
        turn = max(now, self._next_slot.get(host, now))
        if until is not None and turn >= until:
            return False
        self._next_slot[host] = turn + interval
        if turn > now:
            await asyncio.sleep(turn - now)
        return True

    async def _certificate_after_failure(self, url: URL, result: UrlResult) -> None:
        """Reads the certificate that failed verification, without trusting it, so its expiry is still reported."""
        if url.scheme != "https":
            return
        clock = _Clock()
        token = _current_timing.set(clock)
        try:
            async with asyncio.timeout_at(min(self.loop.time() + self.options.connect_timeout, self.deadline)):
                response = await self.session.request("HEAD", url, allow_redirects=False, ssl=_unverified_context())
                response.close()  # only the handshake was wanted
        except Exception as exc:  # noqa: BLE001 - best effort: the TLS error itself is already recorded
            logger.debug("certificate not readable after TLS failure", extra={"url": str(url), "reason": str(exc)})
        finally:
            _current_timing.reset(token)
        der = clock.ssl_object.getpeercert(binary_form=True) if clock.ssl_object is not None else None
        if not der:
            return
        from cryptography import x509  # only on this rare path: it is heavy to import

        certificate = x509.load_der_x509_certificate(der)
        info = TlsInfo(version=clock.ssl_object.version() if clock.ssl_object else None)
        _set_expiry(info, certificate.not_valid_after_utc)
        names = certificate.issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME) or (
            certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        )
        info.issuer = str(names[0].value) if names else certificate.issuer.rfc4514_string()
        result.tls = info


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Raise the young-generation GC threshold while fetching.

    Each request leaves thousands of short-lived objects; at the default threshold the collector runs
    every couple of requests and costs about a fifth of the client's CPU. Cycles are still collected,
    only less often, and the setting is restored afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], 50_000), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


async def fetch_all(
    urls: Sequence[str],
    options: FetchOptions | None = None,
    *,
    guard: Guard | None = None,
    budget: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchResponse:
    """Fetch every URL; results come back in input order, one per URL, whatever fails.

    `budget` is the seconds this call may take: no request starts after it runs out, in-flight
    ones are cut, and everything unfinished is reported as `deadline`.
    """
    options = options or FetchOptions()
    guard = guard or Guard()
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + (budget if budget is not None else 365 * 86400)
    results: list[UrlResult | None] = [None] * len(urls)
    connector = TCPConnector(
        limit=options.concurrency,
        limit_per_host=options.per_host,
        resolver=GuardedResolver(guard),
        ssl=ssl_context or make_ssl_context(),
        ttl_dns_cache=60,
    )
    session = ClientSession(
        connector=connector,
        timeout=ClientTimeout(total=None, sock_connect=options.connect_timeout),
        auto_decompress=False,  # decoded here, to count wire and decoded bytes and to bound decompression
        trust_env=False,  # proxy variables must not route around the guard
        cookie_jar=aiohttp.DummyCookieJar(),  # no state leaks from one URL to another
        trace_configs=[_trace_config()],
        headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate", **options.headers},
    )
    with _fewer_collections():
        async with session:
            fetcher = Fetcher(session, options, guard, deadline)
            pending = iter(range(len(urls)))

            async def worker() -> None:
                for index in pending:
                    if loop.time() >= deadline:
                        return
                    results[index] = await fetcher.fetch(urls[index])

            workers = [asyncio.ensure_future(worker()) for _ in range(min(options.concurrency, len(urls)))]
            # Attempts end themselves at the deadline; the grace only covers a worker stuck past it.
            _, stuck = await asyncio.wait(workers, timeout=max(0.0, deadline - loop.time()) + 0.25)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
    return _response(urls, results, elapsed=loop.time() - started)


def _response(urls: Sequence[str], results: list[UrlResult | None], elapsed: float) -> FetchResponse:
    finished = [
        result
        if result is not None
        else UrlResult(url=url, error=FetchError("deadline", "not started before the invocation deadline"))
        for url, result in zip(urls, results, strict=True)
    ]
    ok = sum(1 for result in finished if result.ok)
    summary = FetchSummary(
        total=len(finished),
        ok=ok,
        failed=len(finished) - ok,
        bytes=sum(result.bytes or 0 for result in finished),
        elapsed_ms=round(elapsed * 1000, 3),
        deadline_hit=any(r.error is not None and r.error.type == "deadline" for r in finished),
    )
    return FetchResponse(results=finished, summary=summary)
