"""A bug in fanfetch is `internal` on the URL it hit, logged with its traceback; target failures keep their types."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestServer
from fanfetch.engine import attempt, fetch_all, fetcher
from fanfetch.guard import Guard
from fanfetch.models import FetchOptions, UrlResult, dump_response

from tests.conftest import url_of


async def test_bug_while_reading_a_body_is_internal_and_logged_when_other_urls_succeed(
    origin: TestServer, loopback_guard: Guard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a body reader that breaks on one URL, as a bug in fanfetch would
    real_read_body = attempt.read_body

    async def broken_on_13(response: ClientResponse, result: UrlResult, *args: Any) -> None:
        if response.url.path == "/bytes/13":
            raise RuntimeError("fanfetch bug under test")
        await real_read_body(response, result, *args)

    monkeypatch.setattr(attempt, "read_body", broken_on_13)
    urls = [url_of(origin, f"/bytes/{i}") for i in range(10, 20)]

    # When the URLs are fetched
    with caplog.at_level(logging.ERROR, logger="fanfetch"):
        response = await fetch_all(urls, FetchOptions(retries=2), guard=loopback_guard)

    # Then that URL alone is `internal`, not retried, and the traceback is in the log
    broken = response.results[3]
    assert broken.error is not None and broken.error.type == "internal"
    assert broken.attempts == 1 and not broken.ok
    assert [r.ok for i, r in enumerate(response.results) if i != 3] == [True] * 9
    assert response.summary.failed == 1
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert record.url == urls[3]  # type: ignore[attr-defined]
    assert "fanfetch bug under test" not in broken.error.message  # internals stay in the log
    assert dump_response(response)["results"][3]["error"]["type"] == "internal"


async def test_bug_outside_an_attempt_is_internal_when_the_retry_policy_breaks(
    origin: TestServer, loopback_guard: Guard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_policy(*args: Any) -> float | None:
        raise KeyError("fanfetch bug under test")

    monkeypatch.setattr(fetcher, "retry_wait", broken_policy)
    with caplog.at_level(logging.ERROR, logger="fanfetch"):
        response = await fetch_all([url_of(origin, "/bytes/1"), "not a url"], guard=loopback_guard)
    broken, invalid = response.results
    assert broken.error is not None and broken.error.type == "internal"
    assert invalid.error is not None and invalid.error.type == "invalid_url"
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)


async def test_garbage_from_a_server_is_still_protocol_and_logs_no_traceback(
    loopback_guard: Guard, caplog: pytest.LogCaptureFixture
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    try:
        with caplog.at_level(logging.DEBUG, logger="fanfetch"):
            response = await fetch_all(
                [f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"],
                FetchOptions(retries=0),
                guard=loopback_guard,
            )
    finally:
        server.close()
        await server.wait_closed()
    (result,) = response.results
    assert result.error is not None and result.error.type == "protocol", result.error
    assert not [r for r in caplog.records if r.exc_info]
