"""SSRF defences through the real engine: servers on 127.0.0.1 and 127.0.0.2 that count every connection."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions

from tests.dns import StaticResolver

ALL_PORTS = [(1, 65535)]


class CountingServer:
    """An origin on a given loopback address that records each connection it accepts."""

    def __init__(self, server: TestServer, connections: list[str]) -> None:
        self.server = server
        self.connections = connections

    def url(self, path: str = "/") -> str:
        return f"http://{self.server.host}:{self.server.port}{path}"


async def _counting(aiohttp_server: Any, host: str) -> CountingServer:
    connections: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        connections.append(request.path)
        return web.Response(text="hello")

    async def redirect(request: web.Request) -> web.Response:
        connections.append(request.path)
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/go", redirect)
    return CountingServer(await aiohttp_server(app, host=host), connections)


@pytest.fixture
async def public(aiohttp_server: Any) -> CountingServer:
    """Stands in for a public host: the guards below list 127.0.0.1/32 as allowed."""
    return await _counting(aiohttp_server, "127.0.0.1")


@pytest.fixture
async def private(aiohttp_server: Any) -> CountingServer:
    """Stands in for an internal host on 127.0.0.2 (the whole of 127/8 is loopback on Linux)."""
    return await _counting(aiohttp_server, "127.0.0.2")


def _guard(*cidrs: str) -> Guard:
    return Guard([ipaddress.ip_network(cidr) for cidr in cidrs], ALL_PORTS)


def _names() -> StaticResolver:
    """DNS for these tests: loopback names as a host would answer them, and two stand-in hosts."""
    return StaticResolver(
        {"localhost": ["127.0.0.1", "::1"], "public.example": ["127.0.0.1"], "internal.example": ["127.0.0.2"]}
    )


async def test_redirect_to_private_is_blocked_before_connecting(
    public: CountingServer, private: CountingServer
) -> None:
    # Given public -> private -> public
    back_to_public = public.url("/")
    via_private = private.url(f"/go?to={back_to_public}")
    start = public.url(f"/go?to={via_private}")

    # When fetched with only the public network allowed
    response = await fetch_all([start], guard=_guard("127.0.0.1/32"))

    # Then the private hop is refused and never contacted, and the chain stops there
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked"
    assert "127.0.0.2" in result.error.message
    assert private.connections == []
    assert public.connections == ["/go"]
    assert [hop.status for hop in result.redirects] == [302]


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "localhost",
        "127.0.0.1.",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "0",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
    ],
)
async def test_loopback_spellings_are_blocked_when_no_network_is_allowed(public: CountingServer, spelling: str) -> None:
    url = f"http://{spelling}:{public.server.port}/"
    response = await fetch_all([url], guard=_guard(), resolver=_names())
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked", result.error
    assert public.connections == []


async def test_absolute_localhost_never_connects(public: CountingServer) -> None:
    response = await fetch_all([f"http://localhost.:{public.server.port}/"], guard=_guard(), resolver=_names())
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked"
    assert "localhost" in result.error.message and "127.0.0.1" in result.error.message
    assert public.connections == []


async def test_redirect_to_a_name_of_a_private_address_is_blocked_before_connecting(
    public: CountingServer, private: CountingServer
) -> None:
    start = public.url(f"/go?to=http://internal.example:{private.server.port}/")
    response = await fetch_all([start], guard=_guard("127.0.0.1/32"), resolver=_names())
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked"
    assert "internal.example resolves to 127.0.0.2" in result.error.message
    assert private.connections == []
    assert public.connections == ["/go"]


async def test_redirect_to_a_name_of_an_allowed_address_is_followed(public: CountingServer) -> None:
    start = public.url(f"/go?to=http://public.example:{public.server.port}/")
    response = await fetch_all([start], guard=_guard("127.0.0.1/32"), resolver=_names())
    (result,) = response.results
    assert result.ok, result.error
    assert result.final_url == f"http://public.example:{public.server.port}/"
    assert public.connections == ["/go", "/"]


async def test_name_is_refused_whole_when_one_of_its_addresses_is_private(public: CountingServer) -> None:
    # Rebinding attempts answer with a good and a bad address; the good one must not be used either.
    resolver = StaticResolver({"mixed.example": ["127.0.0.1", "127.0.0.2"]})
    response = await fetch_all(
        [f"http://mixed.example:{public.server.port}/"], guard=_guard("127.0.0.1/32"), resolver=resolver
    )
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked" and "127.0.0.2" in result.error.message
    assert public.connections == []


async def test_redirect_to_ipv6_loopback_is_blocked(public: CountingServer) -> None:
    response = await fetch_all([public.url("/go?to=http://[::1]/")], guard=_guard("127.0.0.1/32"))
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked"


async def test_allowed_networks_open_exactly_what_they_list(public: CountingServer, private: CountingServer) -> None:
    response = await fetch_all([private.url(), public.url()], guard=_guard("127.0.0.2/32"))
    opened, refused = response.results
    assert opened.ok
    assert refused.error is not None and refused.error.type == "blocked"
    assert private.connections == ["/"]
    assert public.connections == []


async def test_ports_outside_allow_list_are_blocked(public: CountingServer) -> None:
    guard = Guard([ipaddress.ip_network("127.0.0.1/32")])  # default ports 80 and 443
    response = await fetch_all([public.url()], guard=guard)
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked" and "ALLOWED_PORTS" in result.error.message
    assert public.connections == []


async def test_proxy_environment_is_ignored(public: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a proxy on another loopback address that records every connection, named by every proxy variable,
    # and no NO_PROXY to exempt loopback
    proxied: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxied.append(await reader.readline())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nproxied")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.3", 0)
    proxy_url = f"http://127.0.0.3:{server.sockets[0].getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy_url)

    # When a URL is fetched
    try:
        response = await fetch_all([public.url()], guard=_guard("127.0.0.1/32"))
    finally:
        server.close()
        await server.wait_closed()

    # Then it went straight to the origin and the proxy saw nothing
    assert response.results[0].ok and response.results[0].bytes == len("hello")
    assert proxied == []
    assert public.connections == ["/"]


async def test_name_resolving_to_loopback_is_blocked_with_the_address_in_the_reason(public: CountingServer) -> None:
    response = await fetch_all(
        [f"http://localhost:{public.server.port}/"], FetchOptions(retries=0), guard=_guard(), resolver=_names()
    )
    (result,) = response.results
    assert result.error is not None and result.error.type == "blocked"
    assert "localhost resolves to 127.0.0.1" in result.error.message
