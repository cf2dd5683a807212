"""A run's alert as text, the same for every channel; each channel passes in the limits it can carry."""

from __future__ import annotations

from dataclasses import dataclass

from fanfetch.monitoring.state import RunInfo
from fanfetch.monitoring.transitions import RunComparison

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


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a channel made of a message: the id the channel gave it, when it gives one."""

    message_id: str | None


def alert_message(comparison: RunComparison, run: RunInfo, tls_warn_days: float, limits: MessageLimits) -> Message:
    """The subject and text of one run's alert: state changes first, then certificates near expiry. A large outage
    lists what fits in `limits` and counts the rest."""
    down = [v for v in comparison.alerts if v.went_down]
    up = [v for v in comparison.alerts if v.recovered]
    parts = []
    if down:
        parts.append(f"{len(down)} down")
    if up:
        parts.append(f"{len(up)} recovered")
    if comparison.tls_expiring:
        parts.append(f"{len(comparison.tls_expiring)} certificate(s) expiring")
    subject = f"fanfetch: {', '.join(parts)}"[: limits.subject_chars]
    header = [f"fanfetch run {run.request_id or ''} at {run.at or ''}", ""]
    footer = [f"Run document: {run.key}"] if run.key else []
    sections = [
        ("DOWN", [f"{v.url} - {v.error or 'not ok'}" for v in down]),
        ("RECOVERED", [v.url for v in up]),
        (
            f"CERTIFICATES EXPIRING WITHIN {tls_warn_days:g} DAYS",
            [f"{v.url} - {v.tls_days_left:.1f} days left" for v in comparison.tls_expiring if v.tls_days_left],
        ),
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
    return Message(subject=subject, text="\n".join(lines).rstrip() + "\n")
