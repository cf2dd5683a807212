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
from fanfetch.guard import Guard
from fanfetch.models import FetchRequest, FetchResponse, dump_response
from fanfetch.monitoring import judge, transitions
from fanfetch.monitoring.alerts.channels import slack, sns, webhook
from fanfetch.monitoring.alerts.channels.slack import SlackChannel
from fanfetch.monitoring.alerts.channels.sns import SnsChannel
from fanfetch.monitoring.alerts.channels.webhook import WebhookChannel
from fanfetch.monitoring.alerts.message import Message, News, render
from fanfetch.monitoring.maintenance import active_window
from fanfetch.monitoring.state import (
    LATEST_KEY,
    SCHEMA_VERSION,
    ConfigError,
    LatestDocument,
    PendingDelivery,
    RunInfo,
    iso,
    run_key,
)
from fanfetch.monitoring.targets import TOPIC_CHANNEL, Plan
from fanfetch.monitoring.transitions import Regional, Rule, RunComparison
from fanfetch.observability import emit_run_metrics, logger
from fanfetch.settings import Settings

LIMITS = {"sns": sns.LIMITS, "slack": slack.LIMITS, "webhook": webhook.LIMITS}
# Undelivered alerts kept in latest.json for the next run.
MAX_PENDING = 50
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
    plan: Plan | None = None,
) -> dict[str, Any]:
    """The one step after a fetch, with `now` the time it finished. Returns the response as JSON-ready dicts, for
    monitor runs with change and state per URL and a `monitor` object saying where the run was stored. A failing
    sink is logged and reported in `monitor.errors`; the results are returned whatever the sinks do, and by
    `sinks_until` (monotonic)."""
    monitored = is_monitor_run(request, scheduled)
    verdicts = rules = None
    if monitored:
        if plan is not None:
            monitors = plan.config.monitors
            verdicts = judge.judge_all(response.results, [m.expect for m in monitors], [m.name for m in monitors])
        else:
            verdicts = judge.judge_all(response.results)
        rules = rules_for(plan, now)
    maintenance = [rule.maintenance is not None for rule in rules] if rules is not None else None

    def emit(counts: tuple[int, int] | None = None) -> None:
        emit_run_metrics(
            response,
            settings.AWS_LAMBDA_FUNCTION_NAME,
            verdicts=verdicts,
            per_url=monitored and settings.URL_METRICS,
            maintenance=maintenance,
            counts=counts,
        )

    payload = dump_response(response)  # the one place the results become dicts
    if verdicts is None or not settings.RESULTS_BUCKET:
        emit()
        if verdicts is not None and request.options.store:
            payload["monitor"] = {
                "stored": None,
                "alert": None,
                "errors": ["store: true needs RESULTS_BUCKET to be set"],
            }
        return payload
    started = now - timedelta(milliseconds=response.summary.elapsed_ms)
    try:
        store.prepare("s3", settings.SINK_TIMEOUT_SECONDS, settings.HOME_REGION or None)
        clock = store.CallClock(settings.SINK_TIMEOUT_SECONDS, sinks_until)
        begun = time.monotonic()
        kept = _keep(payload, verdicts, rules, plan, settings, request_id, scheduled, started, now, clock)
        # What keeping the run cost: state, rollups, page and alert, next to the fetch's own elapsed_ms
        kept["monitor"]["sink_ms"] = round((time.monotonic() - begun) * 1000, 1)
        return kept
    except Exception:  # noqa: BLE001 - a bug in keeping the run must not cost the results already fetched
        logger.exception("keeping the run failed: a bug in fanfetch; the results are still returned")
        kept = payload.setdefault("monitor", {"stored": {}, "alert": None, "errors": []})
        kept["errors"].append("keeping the run failed (a bug in fanfetch, logged with its traceback)")
        return payload
    finally:
        # UrlsDown and UrlsDegraded count the debounced states when latest.json could be compared; when it
        # could not, this run's own verdicts. The metrics go out either way, once.
        summary = payload["summary"]
        emit((summary["down"], summary["degraded"]) if "down" in summary else None)


def rules_for(plan: Plan | None, now: datetime) -> list[Rule] | None:
    """Each target's rule this run, maintenance included; None (every verdict counts at once) without a plan."""
    if plan is None:
        return None
    windows = plan.config.maintenance
    return [
        Rule(
            failures_before_down=m.failures_before_down,
            successes_before_up=m.successes_before_up,
            remind_every_s=m.remind_every_s,
            maintenance=active_window(windows, m.name, now),
            url=m.url,
            group=m.group,
            notify=m.notify,
        )
        for m in plan.config.monitors
    ]


def regional_for(settings: Settings) -> Regional | None:
    """This run's part in a monitor probed from several regions; None for a single-region monitor."""
    if not settings.regional:
        return None
    return Regional(
        region=settings.AWS_REGION or "local",
        regions=tuple(settings.MONITOR_REGIONS),
        quorum=settings.quorum,
        period_s=settings.schedule_period_s,
    )


def annotate(payload: dict[str, Any], comparison: RunComparison) -> dict[str, Any]:
    """Each result gets its change and state; the summary counts went-down, recovered and changed."""
    for result, verdict in zip(payload["results"], comparison.verdicts, strict=True):
        result["change"] = verdict.change
        result["changes"] = verdict.changes
        result["state"] = verdict.state
        result["state_since"] = verdict.since
        result["state_seconds"] = round(verdict.seconds_in_state, 3)
        result["name"] = verdict.name
        result["seen"] = verdict.seen
        result["reason"] = verdict.reason or None
        result["pending"] = verdict.pending
        result["event"] = verdict.event
        result["maintenance"] = verdict.maintenance
        if verdict.quorum is not None:
            result["quorum"] = {
                "required": verdict.quorum.quorum,
                "regions": {
                    view.region: {"state": view.state, "fresh": view.fresh, "dissenting": view.dissenting}
                    for view in verdict.quorum.regions
                },
            }
    payload["summary"]["went_down"] = comparison.went_down
    payload["summary"]["recovered"] = comparison.recovered
    payload["summary"]["changed"] = comparison.changed
    payload["summary"]["down"] = comparison.down
    payload["summary"]["degraded"] = comparison.degraded
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
    etag = stored.etag
    del stored  # the bytes are parsed: megabytes at scale
    return LatestDocument.read(document), etag


@dataclass(slots=True)
class LatestUpdate:
    comparison: RunComparison
    merged: bool  # False when overlapping runs kept changing latest.json until the attempts ran out


def _pause_before_merging_again(attempt: int, clock: store.CallClock) -> None:
    # Overlapping runs that all retry at once collide again: a jittered, growing pause spreads them out.
    pause = random.uniform(0, min(1.0, 0.05 * 2**attempt))
    if clock.seconds_left() > pause + 1:
        time.sleep(pause)


def settle_config_error(latest: LatestDocument, error: str | None, now: str) -> bool:
    """Record the file's problem in `latest`; True when it is news (not the problem already announced)."""
    before = latest.config_error
    if error is None:
        latest.config_error = None
        return False
    if before is not None and before.message == error:
        return False
    latest.config_error = ConfigError(message=error, since=now, using="last good configuration")
    return True


def _update_latest(
    verdicts: list[judge.Verdict],
    rules: list[Rule] | None,
    config_error: str | None,
    settings: Settings,
    run: RunInfo,
    started: datetime,
    clock: store.CallClock,
) -> LatestUpdate:
    """Read, compare, write with a condition on what was read; a lost race reads again and merges again."""
    bucket = settings.RESULTS_BUCKET
    latest = f"s3://{bucket}/{LATEST_KEY}"
    for attempt in range(1, LATEST_WRITE_ATTEMPTS + 1):
        previous, etag = _read_latest(bucket, clock)
        comparison = transitions.compare_run(
            verdicts, previous, started, run, settings.TLS_WARN_DAYS, rules, regional_for(settings)
        )
        comparison.config_news = settle_config_error(comparison.latest, config_error, iso(started))
        # Compact: every run rewrites it, and at 5,000 targets indentation alone is a third of its size
        body = comparison.latest.dump_json()
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


def channel_news(comparison: RunComparison, channel: str, config_news: str | None, monitor_news: bool = True) -> News:
    """What one channel is told: the events and certificates of the targets routed to it, and news of the whole
    monitor (a new configuration problem, a probe region gone silent or back), which every channel hears."""
    return News(
        silences=comparison.silences if monitor_news else (),
        events=[v for v in comparison.alerts if channel in (v.notify or (TOPIC_CHANNEL,))],
        tls_expiring=[
            v for v in comparison.tls_expiring if channel in (v.notify or (TOPIC_CHANNEL,)) and v.maintenance is None
        ],
        config_error=config_news,
    )


Channel = SnsChannel | SlackChannel | WebhookChannel


def _parameter(name: str, settings: Settings, clock: store.CallClock) -> str:
    timeout, attempts = clock.limit(f"SSM parameter {name}")
    return store.read_parameter(name, timeout, attempts, region=settings.HOME_REGION or None)


def _channel(name: str, plan: Plan | None, settings: Settings, clock: store.CallClock) -> Channel:
    """The channel a name stands for, its URL and secret read from SSM; SinkError when they cannot be read."""
    kind = plan.config.channels.get(name) if plan is not None else None
    if kind is None or kind.type == "sns":
        return SnsChannel(settings.ALERT_TOPIC_ARN, clock)
    guard = Guard(settings.ALLOWED_NETWORKS, settings.ALLOWED_PORTS)
    timeout = min(settings.SINK_TIMEOUT_SECONDS, max(0.1, clock.seconds_left()))
    if kind.type == "slack":
        return SlackChannel(_parameter(kind.url_ssm, settings, clock), guard, timeout)
    url = kind.url if kind.url is not None else _parameter(kind.url_ssm or "", settings, clock)
    secret = _parameter(kind.secret_ssm, settings, clock) if kind.secret_ssm is not None else None
    return WebhookChannel(url, secret, guard, timeout)


def _channel_type(name: str, plan: Plan | None) -> str:
    kind = plan.config.channels.get(name) if plan is not None else None
    return kind.type if kind is not None else "sns"


def _configured(name: str, plan: Plan | None, settings: Settings) -> bool:
    """Whether a channel can be sent to at all: the stack's topic only when ALERT_TOPIC_ARN is set."""
    kind = plan.config.channels.get(name) if plan is not None else None
    if kind is None or kind.type == "sns":
        return bool(settings.ALERT_TOPIC_ARN)
    return True


def _deliver(
    name: str,
    message: Message,
    plan: Plan | None,
    settings: Settings,
    clock: store.CallClock,
) -> tuple[str | None, str | None]:
    """(message id, None) when the channel took it, (None, error) when it did not."""
    try:
        return _channel(name, plan, settings, clock).send(message).message_id, None
    except SinkError as exc:
        return None, f"channel {name}: {exc}"


def _announce(
    comparison: RunComparison,
    plan: Plan | None,
    run: RunInfo,
    document: str,
    settings: Settings,
    clock: store.CallClock,
    errors: list[str],
    now: str,
) -> tuple[dict[str, Any] | None, list[PendingDelivery]]:
    """Send each channel its news, after the deliveries earlier runs left pending; what was announced, and what
    is pending now."""
    pending: list[PendingDelivery] = []
    for earlier in comparison.latest.pending or []:
        if plan is not None and earlier.channel not in plan.config.channels:
            errors.append(f"pending alert dropped: channel {earlier.channel} is no longer in the monitors file")
            continue
        message = Message(earlier.subject, earlier.text, tuple(earlier.events), earlier.run or None)
        _, error = _deliver(earlier.channel, message, plan, settings, clock)
        if error is not None:
            errors.append(f"pending alert still not delivered: {error}")
            pending.append(earlier.model_copy(update={"tries": earlier.tries + 1, "error": error}))
    config_news = plan.config_error if plan is not None and comparison.config_news else None
    names = list(plan.config.channels) if plan is not None else [TOPIC_CHANNEL]
    alert: dict[str, Any] = {
        "went_down": [v.name for v in comparison.alerts if v.went_down],
        "recovered": [v.name for v in comparison.alerts if v.recovered],
        "degraded": [v.name for v in comparison.alerts if v.event == "degraded"],
        "reminded": [v.name for v in comparison.alerts if v.event == "reminder"],
        "tls_expiring": [v.name for v in comparison.tls_expiring if v.maintenance is None],
        "config_error": config_news,
        "regions_silent": [s.region for s in comparison.silences if s.event == "silent"],
        "regions_back": [s.region for s in comparison.silences if s.event == "resumed"],
        "message_id": None,
        "channels": {},
    }
    topic_told = False
    for name in names:
        # Every sns channel is the one stack topic: the configuration problem is published to it once.
        is_topic = _channel_type(name, plan) == "sns"
        once = not (is_topic and topic_told)
        news = channel_news(comparison, name, config_news if once else None, monitor_news=once)
        topic_told = topic_told or (is_topic and bool(news.config_error or news.silences))
        if not news or not _configured(name, plan, settings):
            continue
        message = render(news, run, settings.TLS_WARN_DAYS, LIMITS[_channel_type(name, plan)], document)
        message_id, error = _deliver(name, message, plan, settings, clock)
        alert["channels"][name] = {"delivered": error is None, "message_id": message_id}
        if error is not None:
            sink = "alert topic" if _channel_type(name, plan) == "sns" else f"channel {name}"
            logger.error("alert not delivered; kept for the next run", extra={"sink": sink, "reason": error})
            errors.append(f"alert not delivered, kept for the next run: {error}")
            pending.append(
                PendingDelivery(
                    channel=name,
                    subject=message.subject,
                    text=message.text,
                    events=list(message.events),
                    run=message.run or {},
                    first_at=now,
                    error=error,
                )
            )
        elif alert["message_id"] is None:
            alert["message_id"] = message_id
    if len(pending) > MAX_PENDING:
        # A receiver that stays down must not grow latest.json without end: the oldest go, and the run says so.
        errors.append(f"{len(pending) - MAX_PENDING} pending alert(s) dropped, oldest first (at most {MAX_PENDING})")
        pending = pending[-MAX_PENDING:]
    if not alert["channels"]:
        return None, pending
    return alert, pending


def _keep_pending(bucket: str, pending: list[PendingDelivery], clock: store.CallClock, errors: list[str]) -> None:
    """Write what is still pending into latest.json, merged with what other runs wrote since."""
    for _ in range(LATEST_WRITE_ATTEMPTS):
        stored = store.read_object(bucket, LATEST_KEY, *clock.limit(f"s3://{bucket}/{LATEST_KEY}"))
        if stored is None:
            return
        try:
            latest = LatestDocument.read(json.loads(stored.body))
        except ValueError:
            return
        latest.pending = pending or None
        timeout, attempts = clock.limit(f"s3://{bucket}/{LATEST_KEY}")
        try:
            store.write_object(
                bucket,
                LATEST_KEY,
                latest.dump_json(),
                "application/json",
                timeout,
                if_match=stored.etag,
                attempts=attempts,
            )
            return
        except WriteConflict:
            continue
    errors.append("pending alerts could not be written to latest.json")


def _keep(
    payload: dict[str, Any],
    verdicts: list[judge.Verdict],
    rules: list[Rule] | None,
    plan: Plan | None,
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
        config_error = plan.config_error if plan is not None else None
        update = _update_latest(verdicts, rules, config_error, settings, run, started, clock)
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
    regional = regional_for(settings)
    if regional is not None and regional.region not in regional.regions:
        errors.append(f"region {regional.region} is not in MONITOR_REGIONS: its verdicts are kept but not counted")
    if plan is not None and plan.config_error:
        payload["monitor"]["config_error"] = plan.config_error
        errors.append(f"targets file invalid, the last good configuration was used: {plan.config_error}")
    before_pending = list(comparison.latest.pending or [])
    alert, pending = _announce(comparison, plan, run, f"s3://{bucket}/{key}", settings, clock, errors, iso(now))
    payload["monitor"]["alert"] = alert
    payload["monitor"]["pending"] = len(pending)
    if update.merged and pending != before_pending:
        try:
            _keep_pending(bucket, pending, clock, errors)
        except SinkError as exc:
            _sink_failed(errors, "results bucket", exc)
    document = json.dumps(run_document(payload, run)).encode()
    try:
        timeout, attempts = clock.limit(f"s3://{bucket}/{key}")
        store.write_object(bucket, key, document, "application/json", timeout, attempts=attempts)
        del document  # megabytes at scale, not to be held while the page is worked out
        stored["run"] = f"s3://{bucket}/{key}"
        if update.merged:
            # Every run that moves latest.json refreshes what it adds up to: the day, the incidents, the page,
            # status.json and the badges; the page never lags behind latest.json.
            from fanfetch.monitoring import publisher

            shown = {verdict.name or verdict.url: verdict for verdict in comparison.verdicts}
            published = publisher.publish(
                comparison.latest,
                verdicts,
                run,
                now,
                settings.TLS_WARN_DAYS,
                bucket,
                clock,
                shown,
                settings.schedule_period_s,
                regional.region if regional is not None else None,
            )
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
            "pending": len(pending),
        },
    )
    return payload
