"""Each expectation and the judge, table-driven over observations; no network."""

from __future__ import annotations

from typing import Any

import pytest
from fanfetch.models import BodySample, FetchError, TlsInfo, UrlResult
from fanfetch.monitoring.config import Expect
from fanfetch.monitoring.judge import judge, judge_all
from fanfetch.monitoring.observation import Observation, observe


def seen(
    body: bytes | None = b"<p>Add to cart</p> v1.2",
    status: int | None = 200,
    headers: dict[str, str] | None = None,
    complete: bool = True,
    **extra: Any,
) -> Observation:
    values: dict[str, Any] = {
        "url": "https://shop.test/",
        "ok": True,
        "status": status,
        "bytes": len(body) if body is not None else None,
        "sha256": None,
        "elapsed_ms": 120.0,
        "answer_ms": None,
        "tls_days_left": 40.0,
        "error": None,
        "name": "shop-home",
        "headers": {"content-type": "text/html; charset=utf-8", **(headers or {})},
        "body": body,
        "body_complete": complete,
        "content_type": "text/html; charset=utf-8",
    }
    values.update(extra)
    return Observation(**values)


def expect(**spec: Any) -> Expect:
    return Expect.model_validate(spec)


@pytest.mark.parametrize(
    ("spec", "observation", "health", "reason"),
    [
        ({"status": [200]}, seen(), "up", ""),
        ({"status": [200, 204]}, seen(status=503), "down", "status 503, expected 200, 204"),
        ({"status": "200-299"}, seen(status=301), "down", "status 301, expected 200-299"),
        ({"status": 418}, seen(status=418), "up", ""),
        ({"body_contains": "Add to cart"}, seen(), "up", ""),
        ({"body_contains": "Add to cart"}, seen(b"sold out"), "down", 'body_contains "Add to cart" not found'),
        (
            {"body_contains": "Add to cart"},
            seen(b"sold out", complete=False),
            "down",
            'body_contains "Add to cart" not found in the first 8 bytes',
        ),
        ({"body_not_contains": "Internal Server Error"}, seen(), "up", ""),
        (
            {"body_not_contains": "Internal"},
            seen(b"Internal Server Error"),
            "down",
            'body_not_contains "Internal" found',
        ),
        ({"body_matches": r"v\d+\.\d+"}, seen(), "up", ""),
        ({"body_matches": r"v\d+\.\d+"}, seen(b"vX"), "down", r"body_matches /v\d+\.\d+/ did not match"),
        ({"json": {"status": "UP"}}, seen(b'{"status": "UP"}'), "up", ""),
        ({"json": {"status": "UP"}}, seen(b'{"status": "DOWN"}'), "down", 'json status: expected "UP", got "DOWN"'),
        (
            {"json": {"checks[0].ok": True}},
            seen(b'{"checks": [{"ok": 1}]}'),
            "down",
            "json checks[0].ok: expected true",
        ),
        ({"json": {"length(items)": 2}}, seen(b'{"items": [1, 2]}'), "up", ""),
        ({"json": {"status": "UP"}}, seen(b"<html>"), "down", "json: the body is not JSON"),
        ({"json": {"a": 1}}, seen(b'{"a": 1', complete=False), "down", "json: the body is larger than the 7 bytes"),
        ({"headers": {"content-type": "text/html*"}}, seen(), "up", ""),
        (
            {"headers": {"Content-Type": "application/json"}},
            seen(),
            "down",
            'header Content-Type: "text/html; charset=utf-8" does not match "application/json"',
        ),
        ({"headers": {"x-version": "2.*"}}, seen(), "down", "header x-version: missing"),
        ({"max_latency_ms": 800}, seen(elapsed_ms=1240.4), "degraded", "latency 1240 ms > 800 ms"),
        ({"max_latency_ms": 800}, seen(elapsed_ms=799.0), "up", ""),
        # The answering attempt's time when known: earlier failed attempts and waits do not count
        ({"max_latency_ms": 800}, seen(elapsed_ms=2500.0, answer_ms=300.0), "up", ""),
        ({"min_tls_days": 14}, seen(tls_days_left=3.2), "degraded", "certificate: 3.2 days left < 14"),
        ({"min_tls_days": 14}, seen(tls_days_left=None), "degraded", "certificate: no certificate was seen"),
        ({"min_bytes": 100}, seen(b"tiny"), "down", "size 4 bytes < min_bytes 100"),
        ({"max_bytes": 3}, seen(b"tiny"), "down", "size 4 bytes > max_bytes 3"),
        ({"min_bytes": 1, "max_bytes": 10}, seen(b"tiny"), "up", ""),
        (
            {"body_contains": "cart", "max_latency_ms": 10},
            seen(b"nothing"),
            "down",
            'body_contains "cart" not found; latency 120 ms > 10 ms',
        ),
    ],
)
def test_expectation_verdicts_name_what_was_seen(
    spec: dict[str, Any], observation: Observation, health: str, reason: str
) -> None:
    verdict = judge(observation, expect(**spec))
    assert verdict.health == health
    assert verdict.reason.startswith(reason) if reason else verdict.reason == ""


def test_a_failed_fetch_is_down_with_its_error_whatever_is_expected() -> None:
    observation = observe(UrlResult(url="https://shop.test/", error=FetchError("dns", "no such host")), "shop")
    verdict = judge(observation, expect(status=[200], max_latency_ms=10))
    assert (verdict.health, verdict.reason) == ("down", "dns: no such host")


def test_without_a_status_expectation_the_fetch_options_decide() -> None:
    result = UrlResult(url="https://a.test/", status=503, bytes=1, error=FetchError("http", "status 503 is outside"))
    assert judge_all([result])[0].reason == "status 503 is outside"
    # With its own status list, the target accepts what the options would not
    assert judge(observe(result), expect(status=[503])).health == "up"


def test_observe_reads_the_body_sample_and_every_header_in_its_charset() -> None:
    sample = BodySample(limit=100, body="Grüße".encode("latin-1"), headers={"x-a": "1"}, complete=True)
    result = UrlResult(
        url="https://a.test/",
        status=200,
        bytes=5,
        content_type="text/plain; charset=iso-8859-1",
        tls=TlsInfo(days_left=9.0),
        sample=sample,
    )
    observation = observe(result, "a")
    assert observation.headers == {"x-a": "1", "content-type": "text/plain; charset=iso-8859-1"}
    assert judge(observation, expect(body_contains="Grüße", headers={"X-A": "1"})).health == "up"


def test_a_sample_is_never_part_of_a_response() -> None:
    from fanfetch.models import FetchResponse, FetchSummary, dump_response

    result = UrlResult(url="https://a.test/", status=200, sample=BodySample(limit=9, body=b"secret"))
    dumped = dump_response(FetchResponse([result], FetchSummary(1, 1, 0, 0, 1.0)))
    assert "sample" not in dumped["results"][0] and "secret" not in str(dumped)
