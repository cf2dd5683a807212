"""Many URLs through one session: workers in input order, retries per URL, every result kept before a deadline."""

from __future__ import annotations

import asyncio
import gc
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import aiohttp
from aiohttp import ClientSession, ClientTimeout
from aiohttp.abc import AbstractResolver

from fanfetch.engine.attempt import Attempts
from fanfetch.engine.failures import classify, internal_error
from fanfetch.engine.retries import retry_wait
from fanfetch.engine.timing import TimedConnector, TimedResolver
from fanfetch.engine.tls import make_ssl_context
from fanfetch.engine.urls import parse_target, with_hint
from fanfetch.errors import DestinationBlocked, InvalidTarget
from fanfetch.guard import Guard, GuardedResolver
from fanfetch.models import BodySample, FetchError, FetchOptions, FetchResponse, FetchSummary, UrlResult

# What fanfetch asks for is what it decodes (see decoding.py).
ACCEPT_ENCODING = "gzip, deflate"


class Fetcher:
    """Fetches single URLs, retries included; `fetch_all` runs many of them."""

    def __init__(self, session: ClientSession, options: FetchOptions, guard: Guard, deadline: float) -> None:
        self.options = options
        self.guard = guard
        self.deadline = deadline
        self.loop = asyncio.get_running_loop()
        self.attempts = Attempts(session, options, guard, deadline)

    async def fetch(self, raw_url: str, inspect_bytes: int = 0) -> UrlResult:
        """One URL's result. Its attempts, and the waits between them, share its `timeout`. With `inspect_bytes`,
        the result keeps that much of the decoded body and every response header as its `sample`."""
        started = self.loop.time()
        try:
            url = parse_target(raw_url)
            self.guard.check_url(url)  # refused URLs fail here, without an attempt; hops are checked per hop
        except InvalidTarget as exc:
            return UrlResult(url=raw_url, error=classify(with_hint(exc, raw_url)))
        except DestinationBlocked as exc:
            return UrlResult(url=raw_url, error=classify(exc))
        timeout = self.options.timeout
        spent = 0.0
        attempts = 0
        while True:
            attempts += 1
            result = UrlResult(url=raw_url, attempts=attempts)  # each attempt reports afresh
            if inspect_bytes > 0:
                result.sample = BodySample(inspect_bytes)
            spent += await self.attempts.run(url, result, timeout - spent)
            wait = retry_wait(result, self.options, timeout - spent, self.deadline - self.loop.time())
            if wait is None:
                break
            await asyncio.sleep(wait)
            spent += wait
        result.elapsed_ms = round((self.loop.time() - started) * 1000, 3)
        return result

    def close(self) -> None:
        """Stops the timer that ends overdue attempts; call it once no attempt runs."""
        self.attempts.deadlines.close()


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
    resolver: AbstractResolver | None = None,
    inspect_bytes: Sequence[int] | None = None,
) -> FetchResponse:
    """Fetch every URL; results come back in input order, one per URL, whatever fails.

    `budget` is the seconds this call may take: no request starts after it runs out, in-flight
    ones are cut, and everything unfinished is reported as `deadline`. `resolver` answers DNS
    (the system's by default); the guard vets every address it returns. `inspect_bytes`, one per URL, keeps
    that many decoded bytes of each body (0: none) for the caller to inspect; other bodies stream as always.
    """
    options = options or FetchOptions()
    guard = guard or Guard()
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + (budget if budget is not None else 365 * 86400)
    results: list[UrlResult | None] = [None] * len(urls)
    connector = TimedConnector(
        limit=options.concurrency,
        limit_per_host=options.per_host,
        resolver=TimedResolver(GuardedResolver(guard, resolver)),
        ssl=ssl_context or make_ssl_context(),
        ttl_dns_cache=60,
    )
    session = ClientSession(
        connector=connector,
        timeout=ClientTimeout(total=None, sock_connect=options.connect_timeout),
        auto_decompress=False,  # decoded here, to count wire and decoded bytes and to bound decompression
        trust_env=False,  # proxy variables must not route around the guard
        cookie_jar=aiohttp.DummyCookieJar(),  # no state leaks from one URL to another
        # options.headers cannot name these two (models.FetchOptions refuses them); set last all the same
        headers={**options.headers, "User-Agent": options.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
    )
    with _fewer_collections():
        async with session:
            fetcher = Fetcher(session, options, guard, deadline)
            pending = iter(range(len(urls)))

            async def worker() -> None:
                for index in pending:
                    if loop.time() >= deadline:
                        return
                    try:
                        inspect = inspect_bytes[index] if inspect_bytes is not None else 0
                        results[index] = await fetcher.fetch(urls[index], inspect)
                    except Exception:  # noqa: BLE001 - a bug outside an attempt still costs only this URL
                        results[index] = UrlResult(url=urls[index], error=internal_error(urls[index]))

            workers = [asyncio.ensure_future(worker()) for _ in range(min(options.concurrency, len(urls)))]
            try:
                # Attempts end themselves at the deadline; the grace only covers a worker stuck past it.
                _, stuck = await asyncio.wait(workers, timeout=max(0.0, deadline - loop.time()) + 0.25)
                for task in stuck:
                    task.cancel()
                await asyncio.gather(*stuck, return_exceptions=True)
            finally:
                fetcher.close()
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
