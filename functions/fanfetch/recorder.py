"""After a fetch: metrics, then for monitor runs the comparison, the stored run, latest.json, status page and alert."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fanfetch import monitor, store
from fanfetch.errors import InvalidRequest, SinkError, TargetsUnavailable, WriteConflict
from fanfetch.models import FetchRequest
from fanfetch.observability import emit_run_metrics, logger
from fanfetch.settings import Settings

# Attempts at the read-compare-write of latest.json before giving up to overlapping runs.
LATEST_WRITE_ATTEMPTS = 5
# Sink calls a monitor run makes: read latest.json, write it, the run, the page, publish; each bounded by the timeout.
SINK_CALLS = 5


@dataclass(frozen=True, slots=True)
class SinkClock:
    """The time a run's sink calls have left: each call is bounded so that the last one ends by `until`
    (a `time.monotonic()` reading), however slow the sink. None means no bound beyond the call timeout."""

    timeout: float
    until: float | None = None

    def limit(self, sink: str) -> tuple[float, int]:
        """(seconds per connect and per read, tries) for the next call; SinkError when no call fits any more."""
        if self.until is None:
            return self.timeout, store.MAX_ATTEMPTS
        left = self.until - time.monotonic()
        # A call's worst case is each try timing out on connect and then on read, plus botocore's backoff (< 1 s).
        if left >= store.MAX_ATTEMPTS * 2 * self.timeout + 1:
            return self.timeout, store.MAX_ATTEMPTS
        # Short of that, one try, its two phases sharing what is left; quarter seconds keep the clients few.
        per_phase = math.floor(min(self.timeout, left / 2) * 4) / 4
        if per_phase < 0.25:
            raise SinkError(sink, "skipped: no time left before the deadline")
        return per_phase, 1


def is_monitor_run(request: FetchRequest, scheduled: bool) -> bool:
    """Scheduled runs, and direct or API runs that ask with `store: true`, are kept and compared."""
    return scheduled or request.options.store


def sink_reserve_seconds(request: FetchRequest, settings: Settings, scheduled: bool) -> float:
    """Time to keep back from the fetch so that the sinks still get their turn before the deadline."""
    if not (settings.RESULTS_BUCKET and is_monitor_run(request, scheduled)):
        return 0.0
    return min(SINK_CALLS * settings.SINK_TIMEOUT_SECONDS, 15.0)


def load_targets(settings: Settings) -> dict[str, Any]:
    """The request document kept at TARGETS_S3_URI (text lines, a JSON list or a JSON request)."""
    try:
        text = store.read_text(settings.TARGETS_S3_URI, settings.SINK_TIMEOUT_SECONDS)
        return monitor.parse_targets(text)
    except SinkError as exc:
        logger.error(
            "targets unavailable", extra={"sink": "targets", "uri": settings.TARGETS_S3_URI, "reason": str(exc)}
        )
        raise TargetsUnavailable(f"targets could not be read from TARGETS_S3_URI: {exc}") from None
    except ValueError as exc:
        raise InvalidRequest(f"TARGETS_S3_URI {settings.TARGETS_S3_URI}: {exc}") from None


def record_run(
    request: FetchRequest,
    payload: dict[str, Any],
    settings: Settings,
    request_id: str,
    scheduled: bool,
    sinks_until: float | None = None,
) -> dict[str, Any]:
    """The one step after a fetch. Returns the payload, for monitor runs with change and state per URL
    and a `monitor` object saying where the run was stored. A failing sink is logged and reported in
    `monitor.errors`; the results are returned whatever the sinks do, and by `sinks_until` (monotonic)."""
    monitored = is_monitor_run(request, scheduled)
    emit_run_metrics(
        payload, settings.AWS_LAMBDA_FUNCTION_NAME, monitored=monitored, per_url=monitored and settings.URL_METRICS
    )
    if not monitored:
        return payload
    if not settings.RESULTS_BUCKET:
        if request.options.store:
            payload["monitor"] = {
                "stored": None,
                "alert": None,
                "errors": ["store: true needs RESULTS_BUCKET to be set"],
            }
        return payload
    finished = datetime.now(UTC)
    started = finished - timedelta(milliseconds=float(payload["summary"].get("elapsed_ms") or 0))
    store.prepare("s3", settings.SINK_TIMEOUT_SECONDS)
    clock = SinkClock(settings.SINK_TIMEOUT_SECONDS, sinks_until)
    return _keep(payload, settings, request_id, scheduled, started, clock)


def _sink_failed(errors: list[str], sink: str, exc: SinkError) -> None:
    errors.append(str(exc))
    logger.error(f"{sink} failed; the results are still returned", extra={"sink": sink, "reason": str(exc)})


def _read_latest(bucket: str, clock: SinkClock) -> tuple[dict[str, Any] | None, str | None]:
    stored = store.read_object(bucket, monitor.LATEST_KEY, *clock.limit(f"s3://{bucket}/{monitor.LATEST_KEY}"))
    if stored is None:
        return None, None
    try:
        document = json.loads(stored.body)
    except ValueError:
        logger.warning("latest.json is not JSON; starting afresh", extra={"bucket": bucket})
        return None, stored.etag
    return (document if isinstance(document, dict) else None), stored.etag


def _update_latest(
    payload: dict[str, Any], settings: Settings, run: dict[str, Any], started: datetime, clock: SinkClock
) -> monitor.RunComparison:
    """Read, compare, write with a condition on what was read; a lost race reads again and merges again."""
    bucket = settings.RESULTS_BUCKET
    latest = f"s3://{bucket}/{monitor.LATEST_KEY}"
    for _attempt in range(LATEST_WRITE_ATTEMPTS):
        previous, etag = _read_latest(bucket, clock)
        comparison = monitor.compare_run(payload["results"], previous, started, run, settings.TLS_WARN_DAYS)
        body = json.dumps(comparison.latest, indent=1).encode()
        timeout, attempts = clock.limit(latest)
        try:
            store.write_object(
                bucket,
                monitor.LATEST_KEY,
                body,
                "application/json",
                timeout,
                if_match=etag,
                if_absent=etag is None,
                attempts=attempts,
            )
        except WriteConflict:
            logger.info("latest.json changed under this run; merging again", extra={"attempt": _attempt + 1})
            continue
        return comparison
    raise SinkError(latest, f"still changing after {LATEST_WRITE_ATTEMPTS} attempts")


def _keep(
    payload: dict[str, Any], settings: Settings, request_id: str, scheduled: bool, started: datetime, clock: SinkClock
) -> dict[str, Any]:
    bucket = settings.RESULTS_BUCKET
    key = monitor.run_key(started, request_id)
    run = {"request_id": request_id, "at": monitor.iso(started), "key": key, "scheduled": scheduled}
    errors: list[str] = []
    stored: dict[str, str] = {}
    alert: dict[str, Any] | None = None
    payload["monitor"] = {"stored": stored, "alert": alert, "errors": errors}
    try:
        comparison = _update_latest(payload, settings, run, started, clock)
    except SinkError as exc:
        # The bucket is gone or unreachable: one error, and no further calls to it in this run.
        _sink_failed(errors, "results bucket", exc)
        return payload
    stored["latest"] = f"s3://{bucket}/{monitor.LATEST_KEY}"
    monitor.annotate(payload, comparison)
    document = json.dumps(monitor.run_document(payload, run)).encode()
    try:
        timeout, attempts = clock.limit(f"s3://{bucket}/{key}")
        store.write_object(bucket, key, document, "application/json", timeout, attempts=attempts)
        stored["run"] = f"s3://{bucket}/{key}"
        # Every run that moves latest.json refreshes the page, so the page never lags behind it.
        from fanfetch import statuspage  # Jinja2 is loaded only when a page is written

        page = statuspage.render(comparison.latest, datetime.now(UTC), settings.TLS_WARN_DAYS)
        timeout, attempts = clock.limit(f"s3://{bucket}/{monitor.STATUS_PAGE_KEY}")
        store.write_object(
            bucket, monitor.STATUS_PAGE_KEY, page.encode(), "text/html; charset=utf-8", timeout, attempts=attempts
        )
        stored["status_page"] = f"s3://{bucket}/{monitor.STATUS_PAGE_KEY}"
    except SinkError as exc:
        _sink_failed(errors, "results bucket", exc)
    if settings.ALERT_TOPIC_ARN and comparison.should_alert:
        subject, message = monitor.alert_message(comparison, run, settings.TLS_WARN_DAYS)
        alert = {
            "went_down": [verdict.url for verdict in comparison.alerts if verdict.went_down],
            "recovered": [verdict.url for verdict in comparison.alerts if verdict.recovered],
            "tls_expiring": [verdict.url for verdict in comparison.tls_expiring],
            "message_id": None,
        }
        try:
            timeout, attempts = clock.limit(f"SNS topic {settings.ALERT_TOPIC_ARN}")
            alert["message_id"] = store.publish(settings.ALERT_TOPIC_ARN, subject, message, timeout, attempts)
        except SinkError as exc:
            _sink_failed(errors, "alert topic", exc)
        payload["monitor"]["alert"] = alert
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
