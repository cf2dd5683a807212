"""A small, misbehaving-on-demand HTTP origin for the demo, the tests and the benchmarks (loopback only).

`python -m tools.origin --port 8081` serves it in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
from collections import Counter

from aiohttp import web

CHUNK = 1 << 16
SHUTDOWN_S = 0.5
FLAKY_COUNTS = web.AppKey("flaky_counts", Counter[str])


async def _stream_bytes(request: web.Request, size: int, delay_ms: int = 0) -> web.StreamResponse:
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    block = b"x" * min(size, CHUNK)
    sent = 0
    while sent < size:
        piece = block[: size - sent]
        await response.write(piece)
        sent += len(piece)
    await response.write_eof()
    return response


async def sized(request: web.Request) -> web.StreamResponse:
    return await _stream_bytes(request, int(request.match_info["size"]), int(request.query.get("delay_ms", "0")))


async def page(request: web.Request) -> web.Response:
    return web.Response(text="<html><body><h1>fanfetch demo origin</h1></body></html>", content_type="text/html")


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    headers = {"Retry-After": request.query["retry_after"]} if "retry_after" in request.query else {}
    return web.Response(status=code, text=f"status {code}", headers=headers)


async def gzipped(request: web.Request) -> web.Response:
    size = int(request.match_info["size"])
    body = gzip.compress(b"a" * size)
    return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})


async def redirect(request: web.Request) -> web.Response:
    left = int(request.match_info["count"])
    target = f"/redirect/{left - 1}" if left > 1 else "/bytes/100"
    raise web.HTTPFound(target)


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def redirect_to(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["url"])


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    return web.Response(text="too late")


async def reset(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        # SO_LINGER 0 turns close into a TCP RST: a real "connection reset by peer".
        import socket
        import struct

        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.close()
    await asyncio.sleep(1)
    return web.Response(text="unreachable")


async def flaky(request: web.Request) -> web.Response:
    """Fails `fail` times per key with the given status (and Retry-After), then succeeds."""
    counts = request.app[FLAKY_COUNTS]
    key = request.match_info["key"]
    counts[key] += 1
    if counts[key] <= int(request.query.get("fail", "1")):
        headers = {"Retry-After": request.query["retry_after"]} if "retry_after" in request.query else {}
        return web.Response(status=int(request.query.get("status", "503")), headers=headers, text="busy")
    return web.Response(text="recovered")


async def head_refused(request: web.Request) -> web.Response:
    if request.method == "HEAD":
        return web.Response(status=405)
    return web.Response(text="GET only")


def make_app() -> web.Application:
    app = web.Application()
    app[FLAKY_COUNTS] = Counter()
    app.router.add_get("/", page)
    app.router.add_get("/bytes/{size:\\d+}", sized)
    app.router.add_get("/status/{code:\\d+}", status)
    app.router.add_get("/gzip/{size:\\d+}", gzipped)
    app.router.add_get("/redirect/{count:\\d+}", redirect)
    app.router.add_get("/redirect-to", redirect_to)
    app.router.add_get("/loop", loop)
    app.router.add_get("/hang", hang)
    app.router.add_get("/reset", reset)
    app.router.add_get("/flaky/{key}", flaky)
    app.router.add_route("*", "/head-refused", head_refused)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    # Pending requests (the demo's /hang) are closed at once on shutdown: aiohttp's default waits 60 s for them.
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None, shutdown_timeout=SHUTDOWN_S)


if __name__ == "__main__":
    main()
