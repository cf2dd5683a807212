"""Monitoring's one part with I/O: after a fetch, the metrics; for monitor runs latest.json, the run, page, alert."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fanfetch import store
from fanfetch.errors import SinkError, WriteConflict
from fanfetch.models import FetchRequest, FetchResponse, dump_response
from fanfetch.monitoring import judge, transitions
from fanfetch.monitoring.alerts.channels.sns import SnsChannel
from fanfetch.monitoring.alerts.message import alert_message
from fanfetch.monitoring.state import (
    LATEST_KEY,
    SCHEMA_VERSION,
    LatestDocument,
    RunInfo,
    iso,
    run_key,
)
from fanfetch.monitoring.transitions import RunComparison
from fanfetch.observability import emit_run_metrics, logger
from fanfetch.settings import Settings

# Attempts at the read-compare-write of latest.json before giving up to overlapping runs.
LATEST_WRITE_ATTEMPTS = 5
# Sink calls a monitor run makes: read latest.json, write it, the run, the page, publish; each bounded by the timeout.
SINK_CALLS = 5


def is_monitor_run(request: FetchRequest, scheduled: bool) -> bool:
    """Scheduled runs, and direct or API runs that ask with `store: true`, are kept and compared."""
    return scheduled or request.options.store


def sink_reserve_seconds(request: FetchRequest, settings: Settings, scheduled: bool) -> float:
    """Time to keep back from the fetch so that the sinks still get their turn before the deadline."""
    if not (settings.RESULTS_BUCKET and is_monitor_run(request, scheduled)):
        return 0.0
    return min(SINK_CALLS * settings.SINK_TIMEOUT_SECONDS, 15.0)


def record_run(
    request: FetchRequest,
    response: FetchResponse,
    settings: Settings,
    request_id: str,
    scheduled: bool,
    now: datetime,
    sinks_until: float | None = None,
) -> dict[str, Any]:
    """The one step after a fetch, with `now` the time it finished. Returns the response as JSON-ready dicts, for
    monitor runs with change and state per URL and a `monitor` object saying where the run was stored. A failing
    sink is logged and reported in `monitor.errors`; the results are returned whatever the sinks do, and by
    `sinks_until` (monotonic)."""
    monitored = is_monitor_run(request, scheduled)
    verdicts = judge.judge_all(response.results) if monitored else None
    emit_run_metrics(
        response, settings.AWS_LAMBDA_FUNCTION_NAME, verdicts=verdicts, per_url=monitored and settings.URL_METRICS
    )
    payload = dump_response(response)  # the one place the results become dicts
    if verdicts is None:
        return payload
    if not settings.RESULTS_BUCKET:
        if request.options.store:
            payload["monitor"] = {
                "stored": None,
                "alert": None,
                "errors": ["store: true needs RESULTS_BUCKET to be set"],
            }
        return payload
    started = now - timedelta(milliseconds=response.summary.elapsed_ms)
    store.prepare("s3", settings.SINK_TIMEOUT_SECONDS)
    try:
        clock = store.CallClock(settings.SINK_TIMEOUT_SECONDS, sinks_until)
        begun = time.monotonic()
        kept = _keep(payload, verdicts, settings, request_id, scheduled, started, now, clock)
        # What keeping the run cost: state, rollups, page and alert, next to the fetch's own elapsed_ms
        kept["monitor"]["sink_ms"] = round((time.monotonic() - begun) * 1000, 1)
        return kept
    except Exception:  # noqa: BLE001 - a bug in keeping the run must not cost the results already fetched
        logger.exception("keeping the run failed: a bug in fanfetch; the results are still returned")
        kept = payload.setdefault("monitor", {"stored": {}, "alert": None, "errors": []})
        kept["errors"].append("keeping the run failed (a bug in fanfetch, logged with its traceback)")
        return payload


def annotate(payload: dict[str, Any], comparison: RunComparison) -> dict[str, Any]:
    """Each result gets its change and state; the summary counts went-down, recovered and changed."""
    for result, verdict in zip(payload["results"], comparison.verdicts, strict=True):
        result["change"] = verdict.change
        result["changes"] = verdict.changes
        result["state"] = verdict.state
        result["state_since"] = verdict.since
        result["state_seconds"] = round(verdict.seconds_in_state, 3)
    payload["summary"]["went_down"] = comparison.went_down
    payload["summary"]["recovered"] = comparison.recovered
    payload["summary"]["changed"] = comparison.changed
    return payload


def run_document(payload: dict[str, Any], run: RunInfo) -> dict[str, Any]:
    """What is kept of one run under runs/: who ran it, when, and the results as returned."""
    return {
        "schema": SCHEMA_VERSION,
        "run": run.model_dump(),
        "summary": payload["summary"],
        "results": payload["results"],
    }


def _sink_failed(errors: list[str], sink: str, exc: SinkError) -> None:
    errors.append(str(exc))
    logger.error(f"{sink} failed; the results are still returned", extra={"sink": sink, "reason": str(exc)})


def _read_latest(bucket: str, clock: store.CallClock) -> tuple[LatestDocument | None, str | None]:
    stored = store.read_object(bucket, LATEST_KEY, *clock.limit(f"s3://{bucket}/{LATEST_KEY}"))
    if stored is None:
        return None, None
    try:
        document = json.loads(stored.body)
    except ValueError:
        logger.warning("latest.json is not JSON; starting afresh", extra={"bucket": bucket})
        return None, stored.etag
    return LatestDocument.read(document), stored.etag


@dataclass(slots=True)
class LatestUpdate:
    comparison: RunComparison
    merged: bool  # False when overlapping runs kept changing latest.json until the attempts ran out


def _pause_before_merging_again(attempt: int, clock: store.CallClock) -> None:
    # Overlapping runs that all retry at once collide again: a jittered, growing pause spreads them out.
    pause = random.uniform(0, min(1.0, 0.05 * 2**attempt))
    if clock.seconds_left() > pause + 1:
        time.sleep(pause)


def _update_latest(
    verdicts: list[judge.Verdict], settings: Settings, run: RunInfo, started: datetime, clock: store.CallClock
) -> LatestUpdate:
    """Read, compare, write with a condition on what was read; a lost race reads again and merges again."""
    bucket = settings.RESULTS_BUCKET
    latest = f"s3://{bucket}/{LATEST_KEY}"
    for attempt in range(1, LATEST_WRITE_ATTEMPTS + 1):
        previous, etag = _read_latest(bucket, clock)
        comparison = transitions.compare_run(verdicts, previous, started, run, settings.TLS_WARN_DAYS)
        # Compact: every run rewrites it, and at 5,000 targets indentation alone is a third of its size
        body = json.dumps(comparison.latest.dump(), separators=(",", ":")).encode()
        timeout, attempts = clock.limit(latest)
        try:
            store.write_object(
                bucket,
                LATEST_KEY,
                body,
                "application/json",
                timeout,
                if_match=etag,
                if_absent=etag is None,
                attempts=attempts,
            )
        except WriteConflict:
            logger.info("latest.json changed under this run; merging again", extra={"attempt": attempt})
            if attempt < LATEST_WRITE_ATTEMPTS:
                _pause_before_merging_again(attempt, clock)
            continue
        return LatestUpdate(comparison, merged=True)
    return LatestUpdate(comparison, merged=False)


def _announce(
    comparison: RunComparison, run: RunInfo, settings: Settings, clock: store.CallClock, errors: list[str]
) -> dict[str, Any] | None:
    """Send the run's alert, if it has one; what was announced, with the message id when the channel took it."""
    if not (settings.ALERT_TOPIC_ARN and comparison.should_alert):
        return None
    channel = SnsChannel(settings.ALERT_TOPIC_ARN, clock)
    message = alert_message(comparison, run, settings.TLS_WARN_DAYS, channel.limits)
    alert: dict[str, Any] = {
        "went_down": [verdict.url for verdict in comparison.alerts if verdict.went_down],
        "recovered": [verdict.url for verdict in comparison.alerts if verdict.recovered],
        "tls_expiring": [verdict.url for verdict in comparison.tls_expiring],
        "message_id": None,
    }
    try:
        alert["message_id"] = channel.send(message).message_id
    except SinkError as exc:
        _sink_failed(errors, "alert topic", exc)
    return alert


def _keep(
    payload: dict[str, Any],
    verdicts: list[judge.Verdict],
    settings: Settings,
    request_id: str,
    scheduled: bool,
    started: datetime,
    now: datetime,
    clock: store.CallClock,
) -> dict[str, Any]:
    bucket = settings.RESULTS_BUCKET
    key = run_key(started, request_id)
    run = RunInfo(request_id=request_id, at=iso(started), key=key, scheduled=scheduled)
    errors: list[str] = []
    stored: dict[str, str] = {}
    payload["monitor"] = {"stored": stored, "alert": None, "errors": errors}
    try:
        update = _update_latest(verdicts, settings, run, started, clock)
    except SinkError as exc:
        # The bucket is gone or unreachable: one error, and no further calls to it in this run.
        _sink_failed(errors, "results bucket", exc)
        return payload
    comparison = update.comparison
    annotate(payload, comparison)
    if update.merged:
        stored["latest"] = f"s3://{bucket}/{LATEST_KEY}"
    else:
        reason = f"still changing after {LATEST_WRITE_ATTEMPTS} attempts; this run's state is not in it"
        _sink_failed(errors, "results bucket", SinkError(f"s3://{bucket}/{LATEST_KEY}", reason))
    # The alert goes first: of what follows, it is what a person is waiting for.
    payload["monitor"]["alert"] = alert = _announce(comparison, run, settings, clock, errors)
    document = json.dumps(run_document(payload, run)).encode()
    try:
        timeout, attempts = clock.limit(f"s3://{bucket}/{key}")
        store.write_object(bucket, key, document, "application/json", timeout, attempts=attempts)
        stored["run"] = f"s3://{bucket}/{key}"
        if update.merged:
            # Every run that moves latest.json refreshes what it adds up to: the day, the incidents, the page,
            # status.json and the badges; the page never lags behind latest.json.
            from fanfetch.monitoring import publisher

            published = publisher.publish(comparison.latest, verdicts, run, now, settings.TLS_WARN_DAYS, bucket, clock)
            stored.update(published)
    except SinkError as exc:
        _sink_failed(errors, "results bucket", exc)
    logger.info(
        "run recorded",
        extra={
            "run": stored.get("run"),
            "went_down": comparison.went_down,
            "recovered": comparison.recovered,
            "changed": comparison.changed,
            "alerted": bool(alert and alert["message_id"]),
        },
    )
    return payload
