"""The engine against real aiohttp origins on 127.0.0.1: isolation, streaming, bounds, timeouts, retries, redirects."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import tracemalloc
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions

from tests.conftest import url_of
from tests.dns import StaticResolver


async def test_fetch_all_keeps_96_results_when_4_urls_fail(origin: TestServer, loopback_guard: Guard) -> None:
    # Given 100 URLs of which one resets, one cannot resolve, one hangs and one answers 500
    urls = [url_of(origin, f"/bytes/{100 + i}") for i in range(100)]
    urls[10] = url_of(origin, "/reset")
    urls[30] = "http://does-not-exist.example/"
    urls[50] = url_of(origin, "/hang")
    urls[70] = url_of(origin, "/status/500")

    # When they are fetched together
    response = await fetch_all(
        urls, FetchOptions(timeout=1, retries=0), guard=loopback_guard, resolver=StaticResolver({})
    )

    # Then 96 succeed and the 4 failures are classified, all in input order
    assert [r.url for r in response.results] == urls
    assert response.summary.ok == 96
    assert response.summary.failed == 4
    failures = {i: r.error.type for i, r in enumerate(response.results) if r.error}
    assert failures == {10: "connect", 30: "dns", 50: "timeout", 70: "http"}
    assert response.results[70].status == 500
    assert all(r.bytes == 100 + i for i, r in enumerate(response.results) if r.ok)
    assert response.summary.bytes == sum(100 + i for i in range(100) if i not in failures) + len("status 500")
    assert response.results[30].error is not None
    assert "does-not-exist.example" in response.results[30].error.message


async def test_fetch_streams_bodies_when_they_are_large(origin: TestServer, loopback_guard: Guard) -> None:
    # 20 bodies of 5 MB: 100 MB in total, counted chunk by chunk without holding a body.
    urls = [url_of(origin, f"/bytes/{5 * 1024 * 1024}?n={i}") for i in range(20)]
    tracemalloc.start()
    try:
        response = await fetch_all(urls, FetchOptions(concurrency=20, per_host=20), guard=loopback_guard)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.summary.ok == 20
    assert all(r.bytes == 5 * 1024 * 1024 and not r.truncated for r in response.results)
    # the server side of this test holds one 64 KB block per response; the client a few buffers each
    assert peak < 24 * 1024 * 1024, f"peak traced memory {peak} grows with body size"


async def test_fetch_truncates_when_body_exceeds_max_bytes(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/bytes/1000000"), url_of(origin, "/bytes/10")],
        FetchOptions(max_bytes=1000, hash=True),
        guard=loopback_guard,
    )
    big, small = response.results
    assert big.ok and big.truncated and big.bytes == 1000
    assert big.sha256 == hashlib.sha256(b"x" * 1000).hexdigest()
    assert big.content_length == 1000000
    assert small.bytes == 10 and not small.truncated


async def test_fetch_reports_decoded_and_wire_bytes_when_gzipped(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([url_of(origin, "/gzip/100000")], FetchOptions(hash=True), guard=loopback_guard)
    (result,) = response.results
    assert result.ok
    assert result.bytes == 100000
    assert result.wire_bytes == len(gzip.compress(b"a" * 100000))
    assert result.content_length == result.wire_bytes
    assert result.sha256 == hashlib.sha256(b"a" * 100000).hexdigest()
    assert result.headers["content-encoding"] == "gzip"


async def test_fetch_stops_decoding_when_a_compression_bomb_passes_max_bytes(
    aiohttp_server: Any, loopback_guard: Guard
) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024))  # 200 MB that travel as about 200 KB

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/bomb", handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    tracemalloc.start()
    try:
        response = await fetch_all([url_of(server, "/bomb")], FetchOptions(max_bytes=1_000_000), guard=loopback_guard)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (result,) = response.results
    assert result.truncated and result.bytes == 1_000_000
    assert peak < 16 * 1024 * 1024


async def test_fetch_never_exceeds_concurrency_and_per_host_limits(aiohttp_server: Any, loopback_guard: Guard) -> None:
    # Given two hosts that record how many requests they serve at once
    peaks: list[Counter[str]] = []

    def counting_app() -> web.Application:
        state: Counter[str] = Counter()
        peaks.append(state)

        async def slow(request: web.Request) -> web.Response:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0.02)
            state["now"] -= 1
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/slow/{n}", slow)
        return app

    first = await aiohttp_server(counting_app(), host="127.0.0.1")
    second = await aiohttp_server(counting_app(), host="127.0.0.1")
    urls = [url_of(server, f"/slow/{i}") for i in range(30) for server in (first, second)]

    # When fetched with concurrency 5 and per_host 3
    response = await fetch_all(urls, FetchOptions(concurrency=5, per_host=3), guard=loopback_guard)

    # Then no host saw more than 3 at once and both together never more than 5
    assert response.summary.ok == 60
    assert max(p["peak"] for p in peaks) <= 3
    assert sum(p["peak"] for p in peaks) <= 6
    assert all(p["peak"] >= 2 for p in peaks), "the limits should still allow parallel requests"


async def test_fetch_marks_unfinished_urls_deadline_when_budget_runs_out(
    origin: TestServer, loopback_guard: Guard
) -> None:
    urls = [url_of(origin, "/bytes/10"), url_of(origin, "/hang"), url_of(origin, "/bytes/20")]
    urls += [url_of(origin, "/hang")] * 3
    response = await fetch_all(urls, FetchOptions(concurrency=2, timeout=30), guard=loopback_guard, budget=0.5)
    kinds = [r.error.type if r.error else "ok" for r in response.results]
    assert kinds[0] == "ok"
    assert kinds[1] == "deadline"
    assert kinds[3:] == ["deadline"] * 3
    assert response.summary.deadline_hit
    assert response.summary.elapsed_ms < 5000


async def test_fetch_retries_when_server_answers_503_then_recovers(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/flaky/a?fail=2&status=503&retry_after=0")], FetchOptions(retries=2), guard=loopback_guard
    )
    (result,) = response.results
    assert result.ok and result.attempts == 3 and result.status == 200


async def test_fetch_honours_retry_after_when_it_fits_the_deadline(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/flaky/b?fail=1&status=429&retry_after=1")], FetchOptions(retries=1), guard=loopback_guard
    )
    (result,) = response.results
    assert result.ok and result.attempts == 2
    assert result.elapsed_ms >= 950  # the server asked for one second


async def test_fetch_gives_up_when_retry_after_is_past_the_deadline(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/flaky/c?fail=1&status=503&retry_after=120")],
        FetchOptions(retries=3),
        guard=loopback_guard,
        budget=5,
    )
    (result,) = response.results
    assert result.attempts == 1
    assert result.error is not None and result.error.type == "http" and result.status == 503
    assert result.headers["retry-after"] == "120"


async def test_fetch_does_not_retry_when_status_is_not_transient(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([url_of(origin, "/status/404")], FetchOptions(retries=3), guard=loopback_guard)
    assert response.results[0].attempts == 1


async def test_fetch_records_redirect_chain_when_following(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([url_of(origin, "/redirect/3")], guard=loopback_guard)
    (result,) = response.results
    assert result.ok and result.bytes == 100
    assert [(hop.url.rsplit(":", 1)[1].split("/", 1)[1], hop.status) for hop in result.redirects] == [
        ("redirect/3", 302),
        ("redirect/2", 302),
        ("redirect/1", 302),
    ]
    assert result.final_url == url_of(origin, "/bytes/100")


async def test_fetch_fails_redirects_when_looping_or_too_long(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/loop"), url_of(origin, "/redirect/5")], FetchOptions(max_redirects=3), guard=loopback_guard
    )
    loop, long = response.results
    assert loop.error is not None and loop.error.type == "redirects" and "loop" in loop.error.message
    assert long.error is not None and long.error.type == "redirects" and "more than 3" in long.error.message


async def test_fetch_falls_back_to_get_when_head_is_refused(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all(
        [url_of(origin, "/head-refused"), url_of(origin, "/bytes/10")],
        FetchOptions(method="HEAD"),
        guard=loopback_guard,
    )
    refused, plain = response.results
    assert refused.ok and refused.status == 200 and refused.bytes == len("GET only")
    assert plain.ok and plain.bytes is None and plain.content_length == 10


async def test_fetch_reports_timings_when_connecting(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([url_of(origin, "/bytes/10")], guard=loopback_guard)
    timings = response.results[0].timings
    assert timings.connect is not None and timings.ttfb is not None and timings.total is not None
    assert timings.tls is None  # plain http
    assert timings.total >= timings.ttfb >= 0


async def test_fetch_sends_user_agent_and_headers(aiohttp_server: Any, loopback_guard: Guard) -> None:
    seen: dict[str, str] = {}

    async def echo(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", echo)
    server = await aiohttp_server(app, host="127.0.0.1")
    await fetch_all(
        [url_of(server, "/")], FetchOptions(headers={"X-Probe": "1"}, user_agent="probe/2"), guard=loopback_guard
    )
    assert seen["User-Agent"] == "probe/2"
    assert seen["Accept-Encoding"] == "gzip, deflate"
    assert seen["X-Probe"] == "1"


async def test_fetch_does_not_send_a_cookie_when_an_earlier_url_set_one(
    aiohttp_server: Any, loopback_guard: Guard
) -> None:
    # Given an origin whose first URL sets a cookie for the whole host and whose second records what it is sent
    cookies_sent: list[str | None] = []

    async def set_cookie(request: web.Request) -> web.Response:
        response = web.Response(text="set")
        response.set_cookie("session", "secret", path="/")
        return response

    async def record(request: web.Request) -> web.Response:
        cookies_sent.append(request.headers.get("Cookie"))
        return web.Response(text="seen")

    app = web.Application()
    app.router.add_get("/set", set_cookie)
    app.router.add_get("/record", record)
    server = await aiohttp_server(app, host="127.0.0.1")

    # When both are fetched one after the other through one call, by name (a cookie jar ignores IP hosts)
    response = await fetch_all(
        [f"http://origin.example:{server.port}/set", f"http://origin.example:{server.port}/record"],
        FetchOptions(concurrency=1),
        guard=loopback_guard,
        resolver=StaticResolver({"origin.example": ["127.0.0.1"]}),
    )

    # Then the cookie was offered and the second request went without it
    assert [r.ok for r in response.results] == [True, True]
    assert cookies_sent == [None]


async def test_fetch_does_not_time_out_urls_queued_behind_the_per_host_limit(
    origin: TestServer, loopback_guard: Guard
) -> None:
    # 12 URLs of 0.3 s on one host, 2 at a time: 1.8 s in all, far past the 1 s timeout of each
    urls = [url_of(origin, f"/bytes/10?delay_ms=300&i={i}") for i in range(12)]
    response = await fetch_all(urls, FetchOptions(per_host=2, timeout=1, retries=0), guard=loopback_guard)
    assert response.summary.ok == 12, [r.error for r in response.results if r.error]
    assert response.summary.elapsed_ms >= 1700


async def test_fetch_spaces_requests_when_per_host_interval_is_set(origin: TestServer, loopback_guard: Guard) -> None:
    # eight starts 0.2 s apart: the last waits 1.4 s for its turn, longer than its 1 s timeout
    urls = [url_of(origin, f"/bytes/1?i={i}") for i in range(8)]
    response = await fetch_all(urls, FetchOptions(per_host_interval=0.2, timeout=1), guard=loopback_guard)
    assert response.summary.ok == 8, [r.error for r in response.results if r.error]
    assert response.summary.elapsed_ms >= 1390


async def test_fetch_spends_one_timeout_when_a_url_hangs_with_default_retries(
    origin: TestServer, loopback_guard: Guard
) -> None:
    # Given 100 URLs of which one accepts the connection and never answers, and the default retries (2)
    urls = [url_of(origin, f"/bytes/{i}") for i in range(100)]
    urls[42] = url_of(origin, "/hang")

    # When they are fetched with a 1 s timeout
    response = await fetch_all(urls, FetchOptions(timeout=1), guard=loopback_guard)

    # Then the hanging URL cost one timeout, not three, and says so
    hung = response.results[42]
    assert hung.error is not None and hung.error.type == "timeout", hung.error
    assert hung.attempts == 1
    assert response.summary.ok == 99
    assert response.summary.elapsed_ms < 1900, "a hang must not be retried into two or three timeouts"


async def test_fetch_retries_when_the_connection_is_reset(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([url_of(origin, "/reset")], FetchOptions(timeout=5), guard=loopback_guard)
    (result,) = response.results
    assert result.error is not None and result.error.type == "connect"
    assert result.attempts == 3


async def test_fetch_does_not_wait_for_retry_after_longer_than_the_timeout(
    origin: TestServer, loopback_guard: Guard
) -> None:
    # Retry-After 3 s does not fit a 2 s timeout, which all attempts of the URL share
    response = await fetch_all(
        [url_of(origin, "/flaky/d?fail=1&status=503&retry_after=3")], FetchOptions(timeout=2), guard=loopback_guard
    )
    (result,) = response.results
    assert result.attempts == 1 and result.status == 503
    assert result.error is not None and result.error.type == "http"
    assert result.elapsed_ms < 1500


async def test_fetch_fails_redirects_when_location_is_empty_and_follows_a_long_one(
    aiohttp_server: Any, loopback_guard: Guard
) -> None:
    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": ""})

    async def overlong(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/next?" + "q" * 3000})

    async def landing(request: web.Request) -> web.Response:
        return web.Response(text="done")

    app = web.Application()
    app.router.add_get("/empty", empty)
    app.router.add_get("/overlong", overlong)
    app.router.add_get("/next", landing)
    server = await aiohttp_server(app, host="127.0.0.1")
    response = await fetch_all([url_of(server, "/empty"), url_of(server, "/overlong")], guard=loopback_guard)
    empty, long = response.results
    assert empty.error is not None and empty.error.type == "redirects" and "empty Location" in empty.error.message
    # A target's Location is not held to the 2,048 characters of a given URL (single sign-on URLs run long);
    # aiohttp bounds a header line, and the captured URL is clipped.
    assert long.ok and long.bytes == len("done")
    assert long.final_url is not None and len(long.final_url) == 256 and long.final_url.endswith("…[cut]")


def test_options_refuse_nan_naming_the_option() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finite number"):
        FetchOptions.model_validate({"deadline": float("nan")})
