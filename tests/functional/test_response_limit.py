"""A response always fits Lambda's 6 MB limit with every URL in it, whatever the targets send."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from fanfetch import service
from fanfetch.engine.capture import CUT_MARKER, MAX_TEXT
from fanfetch.handler import lambda_handler
from fanfetch.settings import get_settings

from tests.conftest import FakeContext, ThreadedOrigin, load_event

pytestmark = pytest.mark.usefixtures("open_loopback")

HUGE = "x" * 8000


def _hostile_app() -> web.Application:
    """An origin whose every header a target controls is 8,000 characters long."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="hello",
            headers={"Content-Type": f"text/html; {HUGE}", "ETag": f'"{HUGE}"', "Server": HUGE, "Age": HUGE},
        )

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/page?{HUGE}")

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/moved", moved)
    return app


@pytest.fixture
def hostile_origin() -> Any:
    with ThreadedOrigin(_hostile_app()) as server:
        yield server


def test_response_fits_with_every_url_when_5000_targets_send_oversized_headers(
    hostile_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5,000 long URLs to an origin with 8,000-character headers and redirects, with hashing on
    monkeypatch.setenv("MAX_URLS", "5000")
    get_settings.cache_clear()
    tail = "q" * 1800
    urls = [hostile_origin.url(f"/{'moved' if i % 2 else 'page'}?{i}-{tail}") for i in range(5000)]
    event = {"urls": urls, "options": {"hash": True, "concurrency": 200, "per_host": 200}}

    # When fetched directly
    response = lambda_handler(event, FakeContext(remaining_s=120))

    # Then the serialized response is under the limit and every URL has its outcome, in order
    assert len(json.dumps(response)) <= service.RESPONSE_LIMIT_BYTES < 6 * 1024 * 1024
    assert response["summary"]["trimmed"] is True
    assert len(response["results"]) == response["summary"]["total"] == 5000
    assert response["summary"]["ok"] == 5000
    assert all(r["ok"] and r["status"] == 200 and r["bytes"] == 5 for r in response["results"])


def test_api_response_fits_when_the_results_travel_as_an_escaped_string(
    hostile_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a response limit that 50 detailed results overflow, behind the HTTP API
    monkeypatch.setattr(service, "RESPONSE_LIMIT_BYTES", 40_000)
    event = load_event("api-post.json")
    urls = [hostile_origin.url(f"/moved?{i}-{'q' * 600}") for i in range(50)]
    event["body"] = json.dumps({"urls": urls})

    # When fetched through the API
    response = lambda_handler(event, FakeContext())

    # Then the whole proxy response, with its body escaped, is within the limit and keeps every URL
    assert response["statusCode"] == 200
    assert len(json.dumps(response)) <= 40_000 + 200  # the limit covers the body; status and headers are small
    body = json.loads(response["body"])
    assert [r["ok"] for r in body["results"]] == [True] * 50


def test_fit_response_keeps_each_outcome_when_only_the_last_step_fits() -> None:
    # Given results whose URLs alone overflow the limit
    results = [
        {
            "url": "http://a/" + "u" * 2000,
            "ok": i % 2 == 0,
            "status": 200 if i % 2 == 0 else None,
            "bytes": 10,
            "final_url": "http://a/" + "f" * 2000,
            "content_type": "t" * 300,
            "redirects": [{"url": "r" * 300, "status": 301}],
            "headers": {"etag": "e" * 300},
            "timings": {"dns": 1.0, "connect": 1.0, "tls": None, "ttfb": 2.0, "total": 3.0},
            "tls": None,
            "error": None if i % 2 == 0 else {"type": "connect", "message": "m" * 400},
        }
        for i in range(40)
    ]
    payload = {"results": results, "summary": {"total": 40, "trimmed": False}}
    limit = 40 * 400  # a shortened URL alone (256 characters) would not fit

    # When fitted
    fitted = service.fit_response(payload, limit)

    # Then it fits, and each result keeps ok, status, bytes and error.type
    assert service.encoded_size(fitted) <= limit
    assert fitted["summary"]["trimmed"] is True
    assert [r["ok"] for r in fitted["results"]] == [i % 2 == 0 for i in range(40)]
    assert [r["error"]["type"] for r in fitted["results"] if r["error"]] == ["connect"] * 20
    assert all(r["bytes"] == 10 and r["url"] == "" for r in fitted["results"])


def test_fit_response_shortens_text_with_a_visible_mark() -> None:
    payload = {
        "results": [{"url": "http://a/" + "u" * 3000, "final_url": None, "content_type": None, "error": None}],
        "summary": {"trimmed": False},
    }
    fitted = service.fit_response(payload, 1000)
    assert len(fitted["results"][0]["url"]) == MAX_TEXT
    assert fitted["results"][0]["url"].endswith(CUT_MARKER)
