"""Origins that break HTTP on purpose (raw TCP servers on 127.0.0.1): each failure is that URL's result, classified."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def truncated_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    await writer.drain()
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


async def huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


async def corrupt_gzip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    body = gzip.compress(b"hello" * 1000)[:20] + b"\x00garbage\x00" * 10
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


async def endless_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with contextlib.suppress(ConnectionError, OSError):
        while True:
            writer.write(b"4000\r\n" + b"z" * 0x4000 + b"\r\n")
            await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(30)


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Behaviour], Awaitable[str]]]:
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[object]] = set()

    async def start(behaviour: Behaviour) -> str:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await behaviour(reader, writer)

        server = await asyncio.start_server(tracked, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/"

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("behaviour", "kinds"),
    [
        (truncated_body, {"protocol"}),
        (garbage, {"protocol"}),
        (huge_header, {"protocol"}),
        (corrupt_gzip, {"protocol"}),
        # FIN or RST depending on whether the request was already sent: closed or reset by the peer
        (close_at_once, {"protocol", "connect"}),
        (silent, {"timeout"}),
    ],
)
async def test_faulty_origin_fails_alone_with_a_reason(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard, behaviour: Behaviour, kinds: set[str]
) -> None:
    bad = await serve(behaviour)
    response = await fetch_all([bad], FetchOptions(timeout=1, retries=0), guard=loopback_guard)
    (result,) = response.results
    assert not result.ok
    assert result.error is not None and result.error.type in kinds, result.error
    assert result.error.message


async def test_endless_body_stops_at_max_bytes(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(endless_chunks)
    response = await fetch_all([url], FetchOptions(max_bytes=1_000_000, timeout=5), guard=loopback_guard)
    (result,) = response.results
    assert result.ok and result.truncated and result.bytes == 1_000_000


async def test_endless_body_without_max_bytes_times_out(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(endless_chunks)
    response = await fetch_all([url], FetchOptions(timeout=0.5, retries=0), guard=loopback_guard)
    (result,) = response.results
    assert result.error is not None and result.error.type == "timeout"


async def test_compression_bombs_keep_the_deadline_and_do_not_hold_other_urls(
    aiohttp_server: Callable[..., Awaitable[object]], loopback_guard: Guard
) -> None:
    # Given 1 MB of gzip that decodes to 512 MB, four times, beside a quick URL, and a 2 s budget
    import time
    import zlib

    from aiohttp import web

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = packer.compress(b"\0" * (512 << 20)) + packer.flush()

    async def bombed(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    async def quick(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/bomb", bombed)
    app.router.add_get("/ok", quick)
    server = await aiohttp_server(app, host="127.0.0.1")
    urls = [str(server.make_url("/bomb"))] * 4 + [str(server.make_url("/ok"))]  # type: ignore[attr-defined]
    started = time.monotonic()

    # When fetched with a long timeout
    response = await fetch_all(urls, FetchOptions(timeout=30), guard=loopback_guard, budget=2.0)

    # Then the call ends at its deadline, the bombs are cut there, and the quick URL was not held behind them
    assert time.monotonic() - started < 2.6
    assert [r.error.type if r.error else None for r in response.results] == ["deadline"] * 4 + [None]
    assert response.results[4].bytes == 2
    assert response.results[4].elapsed_ms < 1000


async def half_gzip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    whole = gzip.compress(bytes(range(256)) * 400)
    body = whole[: len(whole) // 2]  # a well-formed start, then the stream stops
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


async def test_a_gzip_body_cut_short_fails_as_protocol_not_as_a_smaller_page(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(half_gzip)
    response = await fetch_all([url], FetchOptions(timeout=2, retries=0), guard=loopback_guard)
    (result,) = response.results
    assert not result.ok
    assert result.error is not None and result.error.type == "protocol"
    assert "ended before its compressed stream did" in result.error.message
    assert result.status == 200 and result.wire_bytes and result.wire_bytes > 0


async def test_a_gzip_body_cut_by_max_bytes_is_still_ok(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(half_gzip)
    response = await fetch_all([url], FetchOptions(timeout=2, max_bytes=100), guard=loopback_guard)
    (result,) = response.results
    assert result.ok and result.truncated and result.bytes == 100


async def too_many_with_odd_retry_after(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write("HTTP/1.1 429 Too Many\r\nRetry-After: ²\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    writer.close()


async def test_a_retry_after_of_non_ascii_digits_is_ignored_not_a_crash(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(too_many_with_odd_retry_after)
    response = await fetch_all([url], FetchOptions(timeout=2, retries=1), guard=loopback_guard)
    (result,) = response.results
    assert result.error is not None and result.error.type == "http", result.error
    assert result.status == 429 and result.attempts == 2


async def test_kept_alive_connections_the_server_closes_when_idle_do_not_fail_urls(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    # Given a server that answers keep-alive and closes each connection 10 ms later, as short idle timeouts do
    async def answer_then_close_soon(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.close()

    url = await serve(answer_then_close_soon)

    # When many URLs go through a pool of such connections, with no retries
    response = await fetch_all(
        [f"{url}{n}" for n in range(600)], FetchOptions(concurrency=20, per_host=20, retries=0), guard=loopback_guard
    )

    # Then none fails: a request that met a stale connection was asked again on a fresh one
    failures = [r.error for r in response.results if r.error is not None]
    assert failures == []
    assert all(r.bytes == 2 and r.attempts == 1 for r in response.results)


async def test_a_server_that_closes_a_fresh_connection_still_fails_it(
    serve: Callable[[Behaviour], Awaitable[str]], loopback_guard: Guard
) -> None:
    url = await serve(close_at_once)
    response = await fetch_all([url], FetchOptions(timeout=2, retries=0), guard=loopback_guard)
    (result,) = response.results
    assert result.error is not None and result.error.type in ("protocol", "connect")
