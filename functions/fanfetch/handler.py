"""Lambda entry point: event in, one call into the engine, response out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fanfetch.engine import fetch_all
from fanfetch.guard import Guard
from fanfetch.models import FetchRequest, dump_response
from fanfetch.observability import logger
from fanfetch.settings import Settings, get_settings
from fanfetch.sources import InvalidRequest, Source, detect, to_request

if TYPE_CHECKING:  # only a type: importing it at run time costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

API_SOURCES = (Source.API_V1, Source.API_V2)
# Lambda returns at most 6 MB synchronously, and API Gateway carries the results as an escaped JSON string.
RESPONSE_LIMIT_BYTES = 5_000_000
# A Step Functions state carries at most 256 KiB; keep room for the task's own wrapping.
STATE_LIMIT_BYTES = 240_000
TIMING_FIELDS = ("dns", "connect", "tls", "ttfb", "total")
SHORT_TEXT = 256


def fit_response(payload: dict[str, Any], limit: int) -> dict[str, Any]:
    """Keep every result inside Lambda's response limit: a response too large would lose them all.

    First the per-URL detail (redirect chains, headers, timings, TLS facts) goes, then long URLs and messages
    are shortened; `summary.trimmed` says so. With MAX_URLS <= 5,000 the second step always fits.
    """
    if len(json.dumps(payload)) <= limit:
        return payload
    payload["summary"]["trimmed"] = True
    for result in payload["results"]:
        result.update(redirects=[], headers={}, timings=dict.fromkeys(TIMING_FIELDS), tls=None)
    if len(json.dumps(payload)) <= limit:
        return payload
    for result in payload["results"]:
        for key in ("url", "final_url"):
            if isinstance(result.get(key), str) and len(result[key]) > SHORT_TEXT:
                result[key] = result[key][:SHORT_TEXT] + "..."
        if result.get("error") and len(result["error"]["message"]) > SHORT_TEXT:
            result["error"]["message"] = result["error"]["message"][:SHORT_TEXT] + "..."
    return payload


def fetch_budget(context: LambdaContext, settings: Settings, started: float, behind_api: bool) -> float:
    """Seconds the engine may spend: what Lambda (and API Gateway) leave, minus time to return the results."""
    remaining = context.get_remaining_time_in_millis() / 1000
    if behind_api:
        remaining = min(remaining, settings.API_TIMEOUT_SECONDS - (time.monotonic() - started))
    return max(0.0, remaining - settings.DEADLINE_MARGIN_SECONDS)


def run_fetch(request: FetchRequest, settings: Settings, budget: float) -> dict[str, Any]:
    guard = Guard(settings.ALLOWED_NETWORKS, settings.ALLOWED_PORTS)
    # A new event loop, session and connector per invocation: a session kept across
    # asyncio.run calls breaks on warm starts ("Event loop is closed").
    response = asyncio.run(fetch_all(request.urls, request.options, guard=guard, budget=budget))
    summary = response.summary
    logger.info(
        "fetched",
        extra={
            "total": summary.total,
            "ok": summary.ok,
            "failed": summary.failed,
            "bytes": summary.bytes,
            "elapsed_ms": summary.elapsed_ms,
            "deadline_hit": summary.deadline_hit,
            "budget_s": round(budget, 3),
        },
    )
    limit = STATE_LIMIT_BYTES if request.step_functions else RESPONSE_LIMIT_BYTES
    payload = fit_response(dump_response(response), limit)
    if payload["summary"]["trimmed"]:
        logger.warning("response trimmed to fit the Lambda payload limit", extra={"total": summary.total})
    return payload


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    settings = get_settings()
    try:
        source = detect(event)
    except InvalidRequest as exc:
        logger.warning("invalid request", extra={"reason": exc.message})
        return exc.as_body()
    behind_api = source in API_SOURCES
    if behind_api:
        request_context = event.get("requestContext")
        if isinstance(request_context, Mapping) and isinstance(request_context.get("requestId"), str):
            logger.set_correlation_id(request_context["requestId"])

    def run(request: FetchRequest) -> dict[str, Any]:
        return run_fetch(request, settings, fetch_budget(context, settings, started, behind_api))

    if behind_api:
        from fanfetch import api  # heavy; only API events pay for it

        return api.handle(event, context, source, settings, run)
    try:
        request = to_request(event, source, settings)
    except InvalidRequest as exc:
        logger.warning("invalid request", extra={"reason": exc.message, "source": source.value})
        if event.get("step_functions") is True:
            raise  # Lambda reports errorType "InvalidRequest": a map counts the chunk as failed and can Catch it
        return exc.as_body()
    return run(request)
