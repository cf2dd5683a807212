"""Lambda entry point: event in, one call into the engine, response out."""

from __future__ import annotations

import asyncio
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
    return dump_response(response)


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
        return exc.as_body()
    return run(request)
