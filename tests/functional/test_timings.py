"""Timings against a real origin: each phase measured where it happened and null where it did not."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions

from tests.dns import StaticResolver

NAME = "timed.example"


async def test_timings_cover_every_phase_on_a_new_connection_and_none_on_a_reused_one(
    origin: TestServer, loopback_guard: Guard
) -> None:
    # Given two URLs on one named host, fetched one after the other so the second reuses the connection
    urls = [f"http://{NAME}:{origin.port}/bytes/10?n={i}" for i in range(2)]
    resolver = StaticResolver({NAME: ["127.0.0.1"]})

    # When they are fetched
    response = await fetch_all(urls, FetchOptions(concurrency=1), guard=loopback_guard, resolver=resolver)

    # Then the first paid for DNS and connecting, and the second only for its request
    first, second = (result.timings for result in response.results)
    assert resolver.asked == [NAME]
    assert first.dns is not None and first.connect is not None
    assert first.connect >= first.dns >= 0  # connecting includes the lookup
    assert first.tls is None  # plain http
    assert (second.dns, second.connect, second.tls) == (None, None, None)
    for timings in (first, second):
        assert timings.ttfb is not None and timings.total is not None
        assert timings.total >= timings.ttfb >= 0


async def test_timings_have_no_dns_phase_when_the_host_is_an_address(origin: TestServer, loopback_guard: Guard) -> None:
    response = await fetch_all([f"http://127.0.0.1:{origin.port}/bytes/10"], guard=loopback_guard)
    timings = response.results[0].timings
    assert timings.dns is None
    assert timings.connect is not None and timings.ttfb is not None and timings.total is not None


async def test_timings_describe_the_final_hop_when_redirected(origin: TestServer, loopback_guard: Guard) -> None:
    # Given a redirect to a second host name, so the final hop opens its own connection
    other = f"http://other.example:{origin.port}/bytes/10"
    start = f"http://{NAME}:{origin.port}/redirect-to?url={other}"
    resolver = StaticResolver({NAME: ["127.0.0.1"], "other.example": ["127.0.0.1"]})

    # When it is followed
    response = await fetch_all([start], guard=loopback_guard, resolver=resolver)

    # Then the timings are those of the final hop, with its own lookup and connection
    (result,) = response.results
    assert result.ok, result.error
    assert [hop.status for hop in result.redirects] == [302]
    assert resolver.asked == [NAME, "other.example"]
    assert result.timings.dns is not None and result.timings.connect is not None
