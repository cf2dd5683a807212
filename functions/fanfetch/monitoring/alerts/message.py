"""A run's alert as text, the same for every channel; each channel passes in the limits it can carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fanfetch.monitoring.quorum import Silence
from fanfetch.monitoring.state import RunInfo
from fanfetch.monitoring.transitions import RunComparison, UrlVerdict
from fanfetch.monitoring.views import duration

# Room kept for the line that counts what is left out.
OMITTED_LINE_BYTES = 80


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """What a channel carries: bytes of text, characters of subject, characters per listed line."""

    text_bytes: int
    subject_chars: int
    line_chars: int = 400


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    # The same news as data, for channels that post JSON (webhooks).
    events: tuple[dict[str, Any], ...] = ()
    run: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a channel made of a message: the id the channel gave it, when it gives one."""

    message_id: str | None


@dataclass(frozen=True, slots=True)
class News:
    """What one channel is told about one run: its targets' events, certificates, a configuration problem."""

    events: Sequence[UrlVerdict] = ()
    tls_expiring: Sequence[UrlVerdict] = ()
    config_error: str | None = None
    # Several probe regions: a region that fell silent or came back.
    silences: Sequence[Silence] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.tls_expiring or self.config_error or self.silences)


def event_record(verdict: UrlVerdict) -> dict[str, Any]:
    """One event as a webhook carries it; with several probe regions, what each region said."""
    record: dict[str, Any] = {
        "name": verdict.name or verdict.url,
        "url": verdict.url,
        "event": verdict.event,
        "state": verdict.state,
        "previous": verdict.previous,
        "reason": verdict.reason or None,
        "since": verdict.since,
        "duration_s": round(verdict.duration_s, 3) if verdict.duration_s is not None else None,
    }
    if verdict.quorum is not None:
        record["regions"] = {view.region: view.state if view.fresh else "silent" for view in verdict.quorum.regions}
    return record


def _label(verdict: UrlVerdict) -> str:
    name = verdict.name or verdict.url
    return name if name == verdict.url else f"{name} ({verdict.url})"


def alert_message(
    comparison: RunComparison, run: RunInfo, tls_warn_days: float, limits: MessageLimits, document: str | None = None
) -> Message:
    """The alert of a whole run, as the stack's topic gets it when every target notifies it."""
    return render(News(comparison.alerts, comparison.tls_expiring), run, tls_warn_days, limits, document)


def render(
    news: News, run: RunInfo, tls_warn_days: float, limits: MessageLimits, document: str | None = None
) -> Message:
    """The subject and text of one channel's alert: configuration first, then state changes, reminders,
    certificates near expiry. A large outage lists what fits in `limits` and counts the rest. `document` names
    the run document (bucket and key)."""
    down = [v for v in news.events if v.event == "down"]
    degraded = [v for v in news.events if v.event == "degraded"]
    up = [v for v in news.events if v.event == "recovered"]
    reminders = [v for v in news.events if v.event == "reminder"]
    parts = []
    if news.config_error:
        parts.append("configuration invalid")
    if down:
        parts.append(f"{len(down)} down")
    if degraded:
        parts.append(f"{len(degraded)} degraded")
    if up:
        parts.append(f"{len(up)} recovered")
    if reminders:
        parts.append(f"{len(reminders)} still down")
    if news.tls_expiring:
        parts.append(f"{len(news.tls_expiring)} certificate(s) expiring")
    silent = [s for s in news.silences if s.event == "silent"]
    resumed = [s for s in news.silences if s.event == "resumed"]
    if silent:
        parts.append(f"{len(silent)} region(s) silent")
    if resumed:
        parts.append(f"{len(resumed)} region(s) back")
    subject = f"fanfetch: {', '.join(parts)}"[: limits.subject_chars]
    header = [f"fanfetch run {run.request_id or ''} at {run.at or ''}", ""]
    where = document or run.key
    footer = [f"Run document: {where}"] if where else []

    def after(verdict: UrlVerdict) -> str:
        return f" after {duration(verdict.duration_s)}" if verdict.duration_s is not None else ""

    sections = [
        ("CONFIGURATION INVALID", [f"configuration invalid: {news.config_error}"] if news.config_error else []),
        ("DOWN", [f"{_label(v)} - {v.reason or v.error or 'not ok'}" for v in down]),
        ("DEGRADED", [f"{_label(v)} - {v.reason}" for v in degraded]),
        ("RECOVERED", [f"{_label(v)} - {v.state}{after(v)}" if v.duration_s is not None else _label(v) for v in up]),
        ("STILL DOWN", [f"{_label(v)} - down for {duration(v.duration_s or 0)}: {v.reason}" for v in reminders]),
        (
            f"CERTIFICATES EXPIRING WITHIN {tls_warn_days:g} DAYS",
            [f"{_label(v)} - {v.tls_days_left:.1f} days left" for v in news.tls_expiring if v.tls_days_left],
        ),
        (
            "PROBE REGIONS SILENT",
            [
                f"{s.region} - no run since {s.last_run or 'it was expected'}; its verdicts no longer count"
                for s in silent
            ],
        ),
        ("PROBE REGIONS BACK", [f"{s.region} - running again" for s in resumed]),
    ]
    budget = limits.text_bytes - sum(len(line.encode()) + 1 for line in header + footer)
    lines = list(header)
    for title, items in sections:
        if not items:
            continue
        lines.append(title)
        budget -= len(title) + 2
        for shown, item in enumerate(items):
            line = "  " + (item if len(item) <= limits.line_chars else item[: limits.line_chars] + "...")
            if len(line.encode()) + 1 > budget - OMITTED_LINE_BYTES:
                lines.append(f"  ... and {len(items) - shown} more (see the run document)")
                budget -= OMITTED_LINE_BYTES
                break
            lines.append(line)
            budget -= len(line.encode()) + 1
        lines.append("")
    lines += footer
    run_record = {**run.model_dump(), "document": where}
    if news.config_error:
        run_record["config_error"] = news.config_error
    records = (
        tuple(event_record(v) for v in news.events)
        + tuple(
            {**event_record(v), "event": "certificate", "tls_days_left": v.tls_days_left} for v in news.tls_expiring
        )
        + tuple({"event": f"region_{s.event}", "region": s.region, "last_run": s.last_run} for s in news.silences)
    )
    return Message(subject=subject, text="\n".join(lines).rstrip() + "\n", events=records, run=run_record)
