"""What the status page shows, computed once from latest.json: the template only lays these values out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fanfetch.monitoring.state import Health, HistoryPoint, LatestDocument, RunInfo, UrlState, parse_iso

SPARK_WIDTH = 120
SPARK_HEIGHT = 24


@dataclass(frozen=True, slots=True)
class Sparkline:
    """Inline SVG geometry for one URL's recent history: a latency line and one up/down tick per run."""

    points: str
    ticks: list[tuple[float, float, bool]]
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


@dataclass(frozen=True, slots=True)
class Row:
    url: str
    href: str | None
    state: Health
    status: int | None
    size: str
    delta: int | None
    latency: float | None
    tls_days: float | None
    since: str
    in_state: str
    error: str | None
    uptime: float | None
    spark: Sparkline
    checked_at: str


@dataclass(frozen=True, slots=True)
class PageView:
    rows: list[Row]
    down: int
    up: int
    updated_at: str
    tls_warn_days: float
    run: RunInfo = field(default_factory=RunInfo)


def sparkline(history: Sequence[HistoryPoint]) -> Sparkline:
    count = len(history)
    if count == 0:
        return Sparkline(points="", ticks=[])
    step = SPARK_WIDTH / max(count, 1)
    latencies = [float(point["ms"]) if point["ms"] is not None else 0.0 for point in history]
    top = max(latencies) or 1.0
    line_height = SPARK_HEIGHT - 6  # the bottom 4 px carry the up/down ticks
    coordinates = [
        f"{index * step + step / 2:.1f},{line_height - (value / top) * (line_height - 2) + 1:.1f}"
        for index, value in enumerate(latencies)
    ]
    ticks = [(index * step + 0.5, max(step - 1, 1.0), point["ok"]) for index, point in enumerate(history)]
    return Sparkline(points=" ".join(coordinates), ticks=ticks)


def duration(seconds: float) -> str:
    """A short human duration: 45 s, 12 min, 5.2 h, 3.1 days."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def size(value: object) -> str:
    """Bytes as B, KB or MB (1024-based), or '-' when unknown."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "-"
    if abs(value) < 1024:
        return f"{value} B"
    if abs(value) < 1024 * 1024:
        return f"{value / 1024:.1f} KB"
    return f"{value / (1024 * 1024):.1f} MB"


def row(url: str, entry: UrlState, now: datetime) -> Row:
    in_state = (now - parse_iso(entry.since)).total_seconds() if entry.since is not None else 0.0
    delta = (entry.last_change or {}).get("bytes")
    history = entry.history or []
    return Row(
        url=url,
        # A link only for web addresses: escaping alone would not stop a javascript: URL.
        href=url if url.startswith(("http://", "https://")) else None,
        state="up" if entry.state == "up" else "down",
        status=entry.status,
        size=size(entry.bytes),
        delta=delta if isinstance(delta, int) and not isinstance(delta, bool) else None,
        latency=entry.elapsed_ms,
        tls_days=entry.tls_days_left,
        since=entry.since or "",
        in_state=duration(max(0.0, in_state)),
        error=entry.error,
        uptime=(100 * sum(point["ok"] for point in history) / len(history)) if history else None,
        spark=sparkline(history),
        checked_at=entry.checked_at or "",
    )


def page_view(latest: LatestDocument, now: datetime, tls_warn_days: float) -> PageView:
    """The page's values for a latest.json document: down URLs first, then by URL."""
    rows = sorted((row(url, entry, now) for url, entry in latest.urls.items()), key=lambda r: (r.state == "up", r.url))
    down = sum(r.state == "down" for r in rows)
    return PageView(
        rows=rows,
        down=down,
        up=len(rows) - down,
        updated_at=latest.updated_at or "",
        tls_warn_days=tls_warn_days,
        run=latest.run or RunInfo(),
    )
