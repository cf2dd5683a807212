"""One fetch as an invocation runs it: the time budget, the engine, and a response that always fits Lambda's limit."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fanfetch.engine import fetch_all
from fanfetch.engine.capture import clip
from fanfetch.errors import ConfigurationError
from fanfetch.guard import Guard
from fanfetch.models import (
    DEFAULT_USER_AGENT,
    FetchOptions,
    FetchRequest,
    FetchResponse,
    FetchSummary,
    JobChunk,
    Timings,
    UrlResult,
)
from fanfetch.monitoring import targets
from fanfetch.monitoring.runner import record_run, sink_reserve_seconds
from fanfetch.observability import logger
from fanfetch.settings import Settings
from fanfetch.sources import Source, to_request

if TYPE_CHECKING:  # only a type: importing it at run time costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Lambda returns at most 6 MB (6,291,456 bytes) synchronously. Sizes are measured as Python's default json.dumps
# writes them (ASCII, with spaces), which is never smaller than what the runtime or the API resolver sends.
RESPONSE_LIMIT_BYTES = 6_000_000
# A Step Functions state carries at most 256 KiB; a job chunk keeps room for the task's own wrapping.
STATE_LIMIT_BYTES = 240_000
# Kept back from a job chunk's fetch to write its part to S3.
PART_WRITE_SECONDS = 10.0
EMPTY_TIMINGS = {f.name: None for f in fields(Timings)}


def fetch_budget(
    context: LambdaContext, settings: Settings, started: float, behind_api: bool, deadline: float | None = None
) -> float:
    """Seconds the engine may spend: the least of what Lambda leaves, what API Gateway leaves and the caller's
    `deadline`, each less the time kept back to return the results."""
    margin = settings.DEADLINE_MARGIN_SECONDS
    elapsed = time.monotonic() - started
    limits = [context.get_remaining_time_in_millis() / 1000 - margin]
    if behind_api:
        limits.append(settings.API_TIMEOUT_SECONDS - elapsed - margin)
    if deadline is not None:
        # A short deadline keeps back a share of itself rather than the whole margin.
        limits.append(deadline - elapsed - min(margin, deadline / 4))
    return max(0.0, min(limits))


def wall_clock() -> datetime:
    """The time a run finished, read once per invocation (tests of schedules replace it)."""
    return datetime.now(UTC)


def locate_home(settings: Settings) -> None:
    """A probe region's function keeps its monitor in the home region's bucket: S3 calls for it go there."""
    if settings.HOME_REGION and settings.RESULTS_BUCKET:
        from fanfetch import store

        store.locate_bucket(settings.RESULTS_BUCKET, settings.HOME_REGION)
        if settings.TARGETS_S3_URI:
            store.locate_bucket(store.split_s3_uri(settings.TARGETS_S3_URI)[0], settings.HOME_REGION)


def with_region(options: FetchOptions, region: str) -> FetchOptions:
    """The default User-Agent names the region it probes from, so that a site can tell probes apart and allow
    them; a User-Agent the caller chose is kept as it is."""
    if not region or "user_agent" in options.model_fields_set:
        return options
    return options.model_copy(update={"user_agent": f"{DEFAULT_USER_AGENT} (+region {region})"})


def request_for(event: Mapping[str, Any], source: Source, settings: Settings) -> FetchRequest | targets.Plan:
    """The request of a non-API event; a raw schedule takes its plan from TARGETS_S3_URI when that is set."""
    locate_home(settings)
    if source is Source.SCHEDULE and settings.TARGETS_S3_URI:
        return targets.load_plan(settings)
    return to_request(event, source, settings)


def run(
    asked: FetchRequest | targets.Plan,
    context: LambdaContext,
    started: float,
    settings: Settings,
    behind_api: bool = False,
    scheduled: bool = False,
) -> dict[str, Any]:
    """The response to one request, as the invocation's entry point (handler or API route) returns it: fetched,
    recorded (metrics; for monitor runs the stored run, latest.json, status page and alert), fitted to 6 MB."""
    plan = asked if isinstance(asked, targets.Plan) else None
    request = plan.request if plan is not None else asked
    assert isinstance(request, FetchRequest)
    if request.job is not None and not settings.RESULTS_BUCKET:
        # Refused before fetching: the results would have nowhere to go.
        raise ConfigurationError("a job chunk needs RESULTS_BUCKET to write its results to")
    locate_home(settings)
    whole = fetch_budget(context, settings, started, behind_api, request.options.deadline)
    sinks_until = time.monotonic() + whole
    # The sinks get their turn before the deadline, but never more than half of it: their reserve is a worst
    # case (every call timing out), and a short `deadline` must still leave time to fetch.
    reserve = PART_WRITE_SECONDS if request.job is not None else sink_reserve_seconds(request, settings, scheduled)
    budget = max(whole - reserve, whole / 2)
    response = run_fetch(request, settings, budget) if plan is None else run_plan(plan, settings, budget)
    # The wall clock is read here, once; everything below takes it as a parameter.
    payload = record_run(
        request, response, settings, context.aws_request_id, scheduled, wall_clock(), sinks_until, plan
    )
    if request.job is not None:
        return keep_part(request.job, payload, settings, sinks_until)
    return fit(payload, STATE_LIMIT_BYTES if request.step_functions else RESPONSE_LIMIT_BYTES, nested=behind_api)


def keep_part(job: JobChunk, payload: dict[str, Any], settings: Settings, until: float) -> dict[str, Any]:
    """A job chunk's results written to its part (one key per chunk, so a retry overwrites it); the reply counts
    them. The merge reads the part, so the reply stays small whatever the chunk's size."""
    from fanfetch import store
    from fanfetch.jobs.plan import compact, part_key

    key = part_key(job.id, job.chunk)
    body = b"".join(compact(result).encode() + b"\n" for result in payload["results"])
    with store.calls_until(until):
        store.put_bytes(settings.RESULTS_BUCKET, key, body)
    summary = payload["summary"]
    return {
        "part": f"s3://{settings.RESULTS_BUCKET}/{key}",
        **{name: summary[name] for name in ("total", "ok", "failed", "bytes", "deadline_hit")},
    }


async def fetch_monitors(plan: targets.Plan, guard: Guard, budget: float, region: str = "") -> FetchResponse:
    """A plan's targets, one engine call per set of fetch options, all at once; results in the targets' order.
    Targets with body or header expectations get a bounded sample of what they answered."""
    groups: dict[str, list[int]] = {}
    monitors = plan.config.monitors
    options = [with_region(monitor.options, region) for monitor in monitors]
    for index, chosen in enumerate(options):
        groups.setdefault(chosen.model_dump_json(), []).append(index)
    started = asyncio.get_running_loop().time()
    responses = await asyncio.gather(
        *(
            fetch_all(
                [monitors[i].url for i in indices],
                options[indices[0]],
                guard=guard,
                budget=budget,
                inspect_bytes=[monitors[i].inspect_bytes for i in indices],
            )
            for indices in groups.values()
        )
    )
    results: list[UrlResult] = [UrlResult(url="")] * len(monitors)
    for indices, response in zip(groups.values(), responses, strict=True):
        for index, result in zip(indices, response.results, strict=True):
            results[index] = result
    ok = sum(result.ok for result in results)
    return FetchResponse(
        results=results,
        summary=FetchSummary(
            total=len(results),
            ok=ok,
            failed=len(results) - ok,
            bytes=sum(result.bytes or 0 for result in results),
            elapsed_ms=round((asyncio.get_running_loop().time() - started) * 1000, 3),
            deadline_hit=any(response.summary.deadline_hit for response in responses),
        ),
    )


def run_plan(plan: targets.Plan, settings: Settings, budget: float) -> FetchResponse:
    """A monitor plan's targets fetched within `budget` seconds, in the targets' order."""
    guard = Guard(settings.ALLOWED_NETWORKS, settings.ALLOWED_PORTS)
    response = asyncio.run(fetch_monitors(plan, guard, budget, settings.AWS_REGION))
    _log_fetched(response, budget)
    return response


def run_fetch(request: FetchRequest, settings: Settings, budget: float) -> FetchResponse:
    """Fetch within `budget` seconds; the results as the engine returns them."""
    guard = Guard(settings.ALLOWED_NETWORKS, settings.ALLOWED_PORTS)
    # A new event loop, session and connector per invocation: a session kept across
    # asyncio.run calls breaks on warm starts ("Event loop is closed").
    options = with_region(request.options, settings.AWS_REGION)
    response = asyncio.run(fetch_all(request.urls, options, guard=guard, budget=budget))
    _log_fetched(response, budget)
    return response


def _log_fetched(response: FetchResponse, budget: float) -> None:
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


def fit(payload: dict[str, Any], limit: int, nested: bool = False) -> dict[str, Any]:
    """The payload within `limit`; `nested` when it travels as a JSON string inside an API response."""
    payload = fit_response(payload, limit, nested=nested)
    if payload["summary"].get("trimmed"):
        logger.warning(
            "response trimmed to fit its size limit", extra={"total": len(payload["results"]), "limit": limit}
        )
    return payload


def encoded_size(payload: dict[str, Any], nested: bool = False) -> int:
    """Bytes of the payload as JSON; `nested` adds the escaping of a JSON string inside another document."""
    text = json.dumps(payload)
    return len(json.dumps(text)) if nested else len(text)


def _shorten(text: object) -> object:
    return clip(text) if isinstance(text, str) else text


def _drop_detail(result: dict[str, Any]) -> None:
    result.update(redirects=[], headers={}, timings=dict(EMPTY_TIMINGS), tls=None)
    if "changes" in result:  # a monitor run's comparison; `change` and `state` stay
        result["changes"] = {}


def _shorten_text(result: dict[str, Any]) -> None:
    for key in ("url", "final_url", "content_type"):
        result[key] = _shorten(result.get(key))
    if result.get("error"):
        result["error"]["message"] = _shorten(result["error"]["message"])


def _keep_outcome_only(result: dict[str, Any]) -> None:
    """What always stays: `ok`, `status`, `bytes` and `error.type`, in a result that still has every field."""
    result.update(final_url=None, content_type=None, sha256=None, content_length=None, wire_bytes=None)
    if result.get("error"):
        result["error"]["message"] = ""


def _drop_urls(result: dict[str, Any]) -> None:
    # Results are in input order, so the caller can still pair them with the URLs it sent.
    result["url"] = ""


# Each step loses more; the response is measured again after every one.
TRIM_STEPS = (_drop_detail, _shorten_text, _keep_outcome_only, _drop_urls)


def fit_response(payload: dict[str, Any], limit: int, nested: bool = False) -> dict[str, Any]:
    """Keep every result inside Lambda's response limit: a response too large would lose them all.

    Detail goes step by step (redirect chains, headers, timings and TLS facts; then long text; then everything
    but each URL's outcome; then the URLs themselves), measuring after each step, and `summary.trimmed` says so.
    A result reduced to its outcome is under 400 bytes, so with MAX_URLS at most 5,000 the last step fits.
    """
    if encoded_size(payload, nested) <= limit:
        return payload
    payload["summary"]["trimmed"] = True
    for step in TRIM_STEPS:
        for result in payload["results"]:
            step(result)
        size = encoded_size(payload, nested)
        if size <= limit:
            return payload
    logger.error("response still over the limit after trimming", extra={"bytes": size, "limit": limit})
    return payload
