"""The `sam build` artifact through the real Lambda runtime protocol (runtime emulator + awslambdaric).

Needs `make build` first; `make test` does that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import EVENTS, ThreadedOrigin, retarget
from tools.emulator import BUILD_DIR, RuntimeEmulator

pytestmark = pytest.mark.smoke

OPEN_LOOPBACK = {"ALLOWED_NETWORKS": "127.0.0.0/8", "ALLOWED_PORTS": "1-65535", "POWERTOOLS_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def origin() -> Iterator[ThreadedOrigin]:
    with ThreadedOrigin() as server:
        yield server


@pytest.fixture(scope="module")
def function(origin: ThreadedOrigin) -> Iterator[RuntimeEmulator]:
    assert (BUILD_DIR / "fanfetch" / "handler.py").exists(), "no built artifact: run `make build`"
    env = {**OPEN_LOOPBACK, "MONITOR_URLS": f"{origin.url('/bytes/21')},{origin.url('/bytes/22')}"}
    with RuntimeEmulator(env=env) as emulator:
        yield emulator


def _results(response: dict[str, Any]) -> dict[str, Any]:
    if "statusCode" in response:
        assert response["statusCode"] == 200, response
        body: dict[str, Any] = json.loads(response["body"])
        return body
    return response


def test_artifact_ships_compiled_bytecode() -> None:
    compiled = list((BUILD_DIR / "fanfetch" / "__pycache__").glob("handler.cpython-313*.pyc"))
    assert compiled, "make build compiles .pyc files into the artifact"


@pytest.mark.parametrize(
    "name",
    ["direct.json", "api-post.json", "api-get.json", "rest-post.json", "schedule-input.json", "batch.json"],
)
def test_artifact_fetches_every_url_when_invoked_with_sample_event(
    name: str, origin: ThreadedOrigin, function: RuntimeEmulator
) -> None:
    event = retarget(name, origin)
    body = _results(function.invoke(event))
    assert body["summary"]["total"] == body["summary"]["ok"] >= 2
    assert all(result["bytes"] in (11, 12, 13) for result in body["results"])


def test_artifact_uses_monitor_urls_when_invoked_with_raw_schedule(function: RuntimeEmulator) -> None:
    body = function.invoke(json.loads((EVENTS / "schedule.json").read_text()))
    assert [result["bytes"] for result in body["results"]] == [21, 22]


def test_artifact_returns_error_when_invoked_with_invalid_event(function: RuntimeEmulator) -> None:
    response = function.invoke(json.loads((EVENTS / "invalid.json").read_text()))
    assert response["error"]["type"] == "invalid_request"
    assert "stackTrace" not in json.dumps(response)


def test_artifact_fits_100_bodies_of_5_mb_in_a_128_mb_function(origin: ThreadedOrigin) -> None:
    # Given a fresh function and 500 MB to fetch at once
    urls = [origin.url(f"/bytes/{5 * 1024 * 1024}?i={i}") for i in range(100)]
    with RuntimeEmulator(env=OPEN_LOOPBACK) as emulator:
        response = emulator.invoke({"urls": urls, "options": {"concurrency": 100, "per_host": 100}})
        peak_kb = emulator.peak_rss_kb()

    # Then every body was counted and the runtime process never held more than Lambda's smallest size
    assert response["summary"]["ok"] == 100
    assert response["summary"]["bytes"] == 100 * 5 * 1024 * 1024
    assert peak_kb < 128 * 1024, f"peak RSS {peak_kb} kB"


def test_artifact_returns_partial_results_before_lambda_timeout(origin: ThreadedOrigin) -> None:
    # Given a function with a 3 s timeout and a URL that never answers
    event = {"urls": [origin.url("/bytes/5"), origin.url("/hang"), origin.url("/bytes/6")], "options": {"timeout": 60}}
    with RuntimeEmulator(env=OPEN_LOOPBACK, timeout_s=3) as emulator:
        started = time.monotonic()
        response = emulator.invoke(event)
        took = time.monotonic() - started

    # Then the runtime got a response (not a timeout error) with the finished results kept
    assert "errorType" not in response, response
    assert [result["ok"] for result in response["results"]] == [True, False, True]
    assert response["results"][1]["error"]["type"] == "deadline"
    assert took < 3.5, f"took {took:.2f} s"
