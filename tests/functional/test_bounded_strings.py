"""Strings a target controls are cut to 256 characters when captured, marked as cut; the URL keeps its result."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import dump_response

from tests.conftest import json_app, url_of

HUGE = 8000
MARKER = "…[cut]"


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a dumped result, with where it is."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for key, inner in value.items() for item in _strings(inner, f"{path}.{key}")]
    if isinstance(value, list):
        return [item for index, inner in enumerate(value) for item in _strings(inner, f"{path}[{index}]")]
    return []


def _oversized_headers() -> dict[str, str]:
    return {"Content-Type": "text/plain; x=" + "c" * HUGE, "ETag": '"' + "e" * HUGE + '"', "Server": "s" * HUGE}


async def _origin(aiohttp_server: Any) -> TestServer:
    routes = web.RouteTableDef()

    @routes.get("/start")
    async def start(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/final?pad=" + "l" * HUGE, **_oversized_headers()})

    @routes.get("/final")
    async def final(request: web.Request) -> web.Response:
        return web.Response(text="done", headers=_oversized_headers())

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop?pad=" + "p" * HUGE})

    server: TestServer = await aiohttp_server(json_app(routes), host="127.0.0.1")
    return server


async def test_captured_strings_are_cut_when_headers_and_location_are_oversized(
    aiohttp_server: Any, loopback_guard: Guard
) -> None:
    # Given a redirect and a final response whose Content-Type, ETag, Server and Location are 8,000 characters
    server = await _origin(aiohttp_server)

    # When followed
    response = await fetch_all([url_of(server, "/start"), url_of(server, "/loop")], guard=loopback_guard)

    # Then both URLs have their result and no captured string passes 256 characters
    followed, looped = response.results
    assert followed.ok and followed.bytes == len("done") and followed.status == 200
    assert looped.error is not None and looped.error.type == "redirects" and "loop" in looped.error.message
    for index, result in enumerate(dump_response(response)["results"]):
        strings = dict(_strings(result))
        assert strings.pop(".url") == response.results[index].url  # the caller's own URL is not cut
        too_long = {path: len(text) for path, text in strings.items() if len(text) > 256}
        assert not too_long, too_long
    # and what was cut says so, keeping its start
    for text in (followed.content_type, followed.headers["etag"], followed.headers["server"], followed.final_url):
        assert text is not None and len(text) == 256 and text.endswith(MARKER)
    assert followed.final_url is not None and followed.final_url.startswith(url_of(server, "/final?pad=lll"))
    assert looped.error.message.endswith(MARKER) and len(looped.error.message) == 256
