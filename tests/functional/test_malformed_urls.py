"""Malformed URLs and Locations through the real engine: each fails alone, named, and nothing connects to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions

from tests.conftest import json_app, url_of


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A TCP port on 127.0.0.1 that records every connection made to it and answers none."""
    connections: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(str(writer.get_extra_info("peername")))
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], connections
    server.close()
    await server.wait_closed()


MALFORMED: list[Callable[[int], str]] = [
    lambda port: "http://::1/",
    lambda port: f"http://evil.example\\@127.0.0.1:{port}/",
    lambda port: f"http://127.0.0.1:{port}\\@evil.example/",
    lambda port: f"http://127.0.0.1:{port + 65536}/",
    lambda port: "http:///nothing",
    lambda port: f"http://user:pass@127.0.0.1:{port}/",
    lambda port: f"http://127.0.0.1:{port}/a b",
    lambda port: f"http://127.0.0.1:{port}/\x07",
    lambda port: f"http://%31%32%37.0.0.1:{port}/",
]


async def test_malformed_urls_fail_alone_and_never_connect_when_mixed_with_good_ones(
    origin: TestServer, listener: tuple[int, list[str]], loopback_guard: Guard
) -> None:
    # Given good URLs with malformed ones between them, the malformed ones naming a port that records connections
    port, connections = listener
    bad = [spell(port) for spell in MALFORMED]
    urls = [
        item
        for pair in zip([url_of(origin, f"/bytes/{i}") for i in range(len(bad))], bad, strict=True)
        for item in pair
    ]

    # When fetched together, with a guard that would let loopback through
    response = await fetch_all(urls, FetchOptions(retries=0), guard=loopback_guard)

    # Then every malformed URL is invalid_url with a reason, the good ones are fetched, and nothing connected
    good_results, bad_results = response.results[0::2], response.results[1::2]
    assert [r.error.type if r.error else None for r in bad_results] == ["invalid_url"] * len(bad)
    assert all(r.error is not None and r.error.message and r.attempts == 0 for r in bad_results)
    assert [r.url for r in bad_results] == bad
    assert all(r.ok and r.bytes == i for i, r in enumerate(good_results))
    assert connections == []


MALFORMED_LOCATIONS: list[Callable[[int], str]] = [
    lambda port: f"http://evil.example\\@127.0.0.1:{port}/",
    lambda port: f"/\\127.0.0.1:{port}/",
    lambda port: f"http://127.0.0.1:{port + 65536}/",
    lambda port: f"//user:pass@127.0.0.1:{port}/",
    lambda port: f"http://%31%32%37.0.0.1:{port}/",
    lambda port: f"http://127.0.0.1:{port}/a b",
    lambda port: "http://::1/",
]


@pytest.mark.parametrize("spell", MALFORMED_LOCATIONS)
async def test_redirect_fails_named_and_never_connects_when_location_is_malformed(
    aiohttp_server: object, listener: tuple[int, list[str]], loopback_guard: Guard, spell: Callable[[int], str]
) -> None:
    port, connections = listener
    location = spell(port)
    routes = web.RouteTableDef()

    @routes.get("/go")
    async def go(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    server: TestServer = await aiohttp_server(json_app(routes), host="127.0.0.1")  # type: ignore[operator]
    response = await fetch_all([url_of(server, "/go")], FetchOptions(retries=0), guard=loopback_guard)
    (result,) = response.results
    assert result.error is not None and result.error.type == "redirects", result.error
    assert result.error.message.startswith("unusable Location header: ")
    assert [hop.status for hop in result.redirects] == [302]
    assert connections == []


async def test_typos_fail_with_a_hint_and_never_connect(listener: tuple[int, list[str]], loopback_guard: Guard) -> None:
    # Given URLs typed without their scheme, or with its separator broken, that name a listening port
    port, connections = listener
    typos = [f"127.0.0.1:{port}/api", f"http//127.0.0.1:{port}/"]

    # When fetched
    response = await fetch_all(typos, FetchOptions(retries=0), guard=loopback_guard)

    # Then each fails as invalid_url, and the message says what was probably meant
    messages = [r.error.message if r.error else "" for r in response.results]
    assert [r.error.type if r.error else None for r in response.results] == ["invalid_url", "invalid_url"]
    assert messages[0].endswith(f"; missing http:// ? did you mean http://127.0.0.1:{port}/api ?")
    assert messages[1].endswith(f"; did you mean http://127.0.0.1:{port}/ ?")
    assert connections == []
