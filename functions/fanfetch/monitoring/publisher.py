"""After a run has moved latest.json: its day rollup and the incidents merged by conditional writes, then
status.json and the badges, which anyone may be shown. I/O, like the runner that calls it."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

from fanfetch import store
from fanfetch.errors import WriteConflict
from fanfetch.monitoring import incidents, published, rollups
from fanfetch.monitoring.judge import Verdict
from fanfetch.monitoring.state import STATUS_PAGE_KEY, LatestDocument, RunInfo
from fanfetch.monitoring.transitions import UrlVerdict
from fanfetch.observability import logger

# Attempts at each read-merge-write before leaving the document to the run that keeps winning.
MERGE_ATTEMPTS = 4
# What each target's badges show as last written, so that a run writes only the badges that changed. Private
# (history/ is not served), unlike badges/.
BADGES_WRITTEN_KEY = "history/badges.json"
# Targets whose badges one run writes at most: a first run at 5,000 targets would otherwise put 10,000 objects
# (minutes of S3 calls); the rest follow in the next runs, which know from BADGES_WRITTEN_KEY what is missing.
BADGE_TARGETS_PER_RUN = 200
# Changed when render/badges.py draws badges differently, so that every badge is written again.
BADGE_DRAWING = 2
# Badge writes in flight at once: under botocore's pool of 10 connections.
BADGE_WRITERS = 8


def merge_write[Document](
    bucket: str,
    key: str,
    read: Callable[[object], Document],
    change: Callable[[Document], Document],
    dump: Callable[[Document], dict[str, Any] | bytes],
    clock: store.CallClock,
    unchanged: Callable[[Document, Document], bool] | None = None,
) -> Document | None:
    """Read a JSON document, change it and write it on the condition that nobody wrote it meanwhile; a lost race
    reads again. The change must be idempotent: a run is counted once however often it is applied. `read` is
    given the stored bytes (None when there are none) and reads what it cannot parse as a fresh document."""
    sink = f"s3://{bucket}/{key}"
    for _ in range(MERGE_ATTEMPTS):
        stored = store.read_object(bucket, key, *clock.limit(sink))
        previous = read(stored.body if stored is not None else None)
        changed = change(previous)
        if stored is not None and unchanged is not None and unchanged(previous, changed):
            return changed  # nothing to write
        timeout, attempts = clock.limit(sink)
        try:
            store.write_object(
                bucket,
                key,
                dumped if isinstance(dumped := dump(changed), bytes) else json.dumps(dumped).encode(),
                "application/json",
                timeout,
                if_match=stored.etag if stored is not None else None,
                if_absent=stored is None,
                attempts=attempts,
            )
        except WriteConflict:
            logger.info("a document changed under this run; merging again", extra={"key": key})
            continue
        return changed
    return None


def unzipped(body: bytes) -> bytes:
    """An object's bytes as written: the page and status.json are stored gzip-compressed (S3 serves them with
    Content-Encoding: gzip), and boto3 hands them over as stored."""
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def _read_rollup(bucket: str, day: date, clock: store.CallClock) -> rollups.DayRollup | None:
    key = rollups.rollup_key(day)
    stored = store.read_object(bucket, key, *clock.limit(f"s3://{bucket}/{key}"))
    if stored is None:
        return None
    rollup = rollups.DayRollup.read(stored.body, day)
    if not rollup.runs:
        logger.warning("a day rollup could not be read; its day is left out", extra={"key": key})
        return None
    return rollup


def _history(
    bucket: str, today: date, clock: store.CallClock, today_rollup: rollups.DayRollup | None = None
) -> rollups.History:
    """Today's and yesterday's rollups, and the closed days' totals, moved on to yesterday when a day has closed
    since (once a day; the first time it reads the 89 days before today that exist). Today's rollup, when the run
    has just written it, is not read again."""
    recent = {today: today_rollup} if today_rollup is not None else {}
    for day in (today, today - timedelta(days=1)):
        if day not in recent and (read := _read_rollup(bucket, day, clock)) is not None:
            recent[day] = read
    existing: set[str] = set()

    def read_day(day: date) -> rollups.DayRollup | None:
        if day in recent:
            return recent[day]
        if not existing:  # listed once, when a fold first needs an older day: most of 89 days may not exist
            sink = f"s3://{bucket}/{rollups.ROLLUPS_PREFIX}"
            existing.update(store.list_object_keys(bucket, rollups.ROLLUPS_PREFIX, *clock.limit(sink)) or ["-"])
        return _read_rollup(bucket, day, clock) if rollups.rollup_key(day) in existing else None

    closed = merge_write(
        bucket,
        rollups.CLOSED_DAYS_KEY,
        rollups.ClosedDays.read,
        lambda summary: rollups.fold(summary, read_day, today - timedelta(days=1)),
        rollups.ClosedDays.dump,
        clock,
        unchanged=lambda before, after: before is after,
    )
    return rollups.History(recent, closed)


def badge_digest(target: Mapping[str, Any]) -> str:
    """What a target's two badges show besides its name, in a few bytes: equal digests, equal badges. Worked out
    for every target on every run, so it is the texts and colours badges_for would give, not the badges."""
    state = target.get("state") or "unknown"
    share = (target.get("uptime") or {}).get("30d")
    colours = f"{published.STATE_COLOURS.get(state, published.UNKNOWN_COLOUR)}{published.uptime_colour(share)}"
    return f"{BADGE_DRAWING}|{state}|{published.percent(share)}|{colours}"


def badges_due(targets: Sequence[Mapping[str, Any]], written: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, digest) of the targets whose badges differ from what was last written, at most
    BADGE_TARGETS_PER_RUN of them, in status.json's order."""
    due = []
    for target in targets:
        digest = badge_digest(target)
        if written.get(target["name"]) != digest:
            due.append((target["name"], digest))
            if len(due) == BADGE_TARGETS_PER_RUN:
                break
    return due


def _write_badges(bucket: str, targets: Sequence[Mapping[str, Any]], clock: store.CallClock) -> None:
    """Write the badges that changed since they were last written (a bounded number per run, several at once),
    then record what each current target's badges show; targets no longer shown leave the record."""
    from fanfetch.monitoring.render import badges

    record_sink = f"s3://{bucket}/{BADGES_WRITTEN_KEY}"
    stored = store.read_object(bucket, BADGES_WRITTEN_KEY, *clock.limit(record_sink))
    try:
        before = json.loads(stored.body).get("badges", {}) if stored is not None else {}
    except (ValueError, AttributeError):
        before = {}
    before = before if isinstance(before, dict) else {}
    by_name = {target["name"]: target for target in targets}
    due = badges_due(targets, before)
    writes = [
        (key, badges.render(made))
        for name, _ in due
        for key, made in zip(published.badge_keys(name), published.badges_for(by_name[name]), strict=True)
    ]

    def put(write: tuple[str, str]) -> None:
        key, svg = write
        timeout, attempts = clock.limit(f"s3://{bucket}/{key}")
        store.write_object(bucket, key, svg.encode(), "image/svg+xml", timeout, attempts=attempts)

    if writes:
        put(writes[0])  # the first in this thread: the S3 client exists before the writers share it
        with ThreadPoolExecutor(BADGE_WRITERS) as writers:
            # list(): the first SinkError is raised here, after the writes in flight have ended
            list(writers.map(put, writes[1:]))
    after = {name: before[name] for name in by_name if name in before}
    after.update(due)
    if stored is None or after != before:
        timeout, attempts = clock.limit(record_sink)
        body = json.dumps({"badges": after}, separators=(",", ":")).encode()
        store.write_object(bucket, BADGES_WRITTEN_KEY, body, "application/json", timeout, attempts=attempts)


def publish(
    latest: LatestDocument,
    verdicts: list[Verdict],
    run: RunInfo,
    now: datetime,
    tls_warn_days: float,
    bucket: str,
    clock: store.CallClock,
    shown: Mapping[str, UrlVerdict] | None = None,
    period_s: float | None = None,
    region: str | None = None,
) -> dict[str, str]:
    """Count the run in its day and the incidents, then write the page, status.json and the badges that changed.
    Uptime counts what each check saw (a check inside a maintenance window not at all); incidents follow the state
    shown after debouncing (`shown`, by target name), so one failing run does not open one. With several probe
    regions (`region` is this run's) uptime counts the quorum's state, and not at all while it is unknown.
    `period_s` is the schedule's period when the settings know it; else it is read from latest.json.
    Returns the keys written; a SinkError from any call ends the step (the runner reports it)."""
    written: dict[str, str] = {}
    shown = shown or {}
    run_id = run.key or run.request_id or now.isoformat()

    def outcome(verdict: Verdict) -> str:
        state = shown.get(verdict.seen.label)
        if state is not None and state.maintenance:
            return "maintenance"
        if state is not None and state.quorum is not None:
            return state.state
        return verdict.health

    checks = [
        rollups.Check(
            v.seen.label,
            outcome(v),
            v.seen.answer_ms if v.seen.answer_ms is not None else v.seen.elapsed_ms,
            region,
        )
        for v in verdicts
    ]
    day_key = rollups.rollup_key(now.date())
    today_rollup = merge_write(
        bucket,
        day_key,
        lambda document: rollups.DayRollup.read(document, now.date()),
        lambda rollup: rollups.add_run(rollup, run_id, now, checks),
        rollups.DayRollup.dump_json,
        clock,
    )
    if today_rollup is not None:
        written["rollup"] = f"s3://{bucket}/{day_key}"
    seen = []
    for v in verdicts:
        state = shown.get(v.seen.label)
        if state is None:
            seen.append(incidents.Seen(v.seen.label, v.health, v.reason or v.seen.error))
        else:
            current = "maintenance" if state.maintenance else state.state
            seen.append(incidents.Seen(v.seen.label, current, v.reason or state.error or v.seen.error))
    recorded = merge_write(
        bucket,
        incidents.INCIDENTS_KEY,
        incidents.IncidentsDocument.read,
        lambda document: incidents.record(document, seen, now, run.key),
        incidents.IncidentsDocument.dump,
        clock,
    )
    if recorded is not None:
        written["incidents"] = f"s3://{bucket}/{incidents.INCIDENTS_KEY}"
    days = _history(bucket, now.date(), clock, today_rollup)
    # Sorted once for the page and status.json: at 5,000 targets the sort keys alone take 6 MB
    targets = sorted((v.seen.label for v in verdicts), key=published.natural_key)
    from fanfetch.monitoring import views
    from fanfetch.monitoring.render import page  # Jinja2 is loaded only when a page is written

    period_s = period_s or published.schedule_period_seconds(latest)
    quorums = {name: verdict.quorum for name, verdict in shown.items() if verdict.quorum is not None}
    view = views.page_view(latest, now, tls_warn_days, targets, days, recorded, period_s, quorums, in_order=True)
    timeout, attempts = clock.limit(f"s3://{bucket}/{STATUS_PAGE_KEY}")
    html = gzip.compress(page.render(view).encode(), compresslevel=6, mtime=0)
    store.write_object(
        bucket, STATUS_PAGE_KEY, html, "text/html; charset=utf-8", timeout, attempts=attempts, content_encoding="gzip"
    )
    written["status_page"] = f"s3://{bucket}/{STATUS_PAGE_KEY}"
    status = published.status_document(latest, days, targets, now, period_s, quorums, in_order=True)
    body = gzip.compress(json.dumps(status, separators=(",", ":")).encode(), compresslevel=6, mtime=0)
    status_sink = f"s3://{bucket}/{published.STATUS_JSON_KEY}"
    timeout, attempts = clock.limit(status_sink)
    store.write_object(
        bucket, published.STATUS_JSON_KEY, body, "application/json", timeout, attempts=attempts, content_encoding="gzip"
    )
    written["status_json"] = f"s3://{bucket}/{published.STATUS_JSON_KEY}"
    _write_badges(bucket, status["targets"], clock)
    written["badges"] = f"s3://{bucket}/{published.BADGES_PREFIX}"
    return written
