"""Shared fixtures: loopback origins, a guard that opens loopback, events from events/, a Lambda context."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fanfetch.guard import Guard

from tools.origin import make_app

EVENTS = Path(__file__).resolve().parent.parent / "events"
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
ALL_PORTS = [(1, 65535)]


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


class FakeContext:
    """The parts of the Lambda context the handler and Powertools read."""

    function_name = "fanfetch"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fanfetch"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/fanfetch"
    log_stream_name = "2026/11/26/[$LATEST]abc"

    def __init__(self, remaining_s: float = 30.0) -> None:
        self._end = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws() -> Iterator[None]:
    """Nothing reaches AWS: fake credentials and a dead loopback endpoint unless a test points at moto."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_MAX_ATTEMPTS": "1",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield


@pytest.fixture
def loopback_guard() -> Guard:
    return Guard(LOOPBACK, ALL_PORTS)


@pytest.fixture
async def origin(aiohttp_server: Callable[..., Any]) -> TestServer:
    server: TestServer = await aiohttp_server(make_app(), host="127.0.0.1")
    return server


@pytest.fixture
def open_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Environment that lets the function fetch from loopback servers on any port."""
    from fanfetch.settings import get_settings

    monkeypatch.setenv("ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("ALLOWED_PORTS", "1-65535")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class ThreadedOrigin:
    """The origin app served from its own thread and loop, for sync tests that call lambda_handler."""

    def __init__(self, app: web.Application | None = None, host: str = "127.0.0.1") -> None:
        self.app = app or make_app()
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.1)

    def __enter__(self) -> ThreadedOrigin:
        self._thread.start()

        async def start() -> int:
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, 0)
            await site.start()
            server = site._server
            assert server is not None
            return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

        self.port = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            await self._runner.cleanup()
            # handlers still parked (the /hang route) end here rather than at interpreter exit
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def threaded_origin() -> Iterator[ThreadedOrigin]:
    with ThreadedOrigin() as server:
        yield server


SAMPLE_URLS = ("https://example.com/", "https://example.org/a", "https://example.org/status")


def retarget(name: str, origin: ThreadedOrigin) -> dict[str, Any]:
    """An events/ file with its sample URLs pointed at a loopback origin, in every spelling the event uses."""
    text = (EVENTS / name).read_text()
    for index, sample in enumerate(SAMPLE_URLS):
        target = origin.url(f"/bytes/{index + 11}")
        text = text.replace(sample, target).replace(quote(sample, safe=""), quote(target, safe=""))
    event: dict[str, Any] = json.loads(text)
    if event.get("isBase64Encoded") and event.get("body"):
        body = base64.b64decode(event["body"]).decode()
        for index, sample in enumerate(SAMPLE_URLS):
            body = body.replace(sample, origin.url(f"/bytes/{index + 11}"))
        event["body"] = base64.b64encode(body.encode()).decode()
    return event


def url_of(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


def json_app(routes: web.RouteTableDef) -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    return app
