"""The status page: latest.json as one self-contained HTML page, rendered with autoescaping Jinja2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fanfetch.monitor import parse_iso

TEMPLATES = Path(__file__).resolve().parent / "templates"
SPARK_WIDTH = 120
SPARK_HEIGHT = 24


@dataclass(frozen=True, slots=True)
class Sparkline:
    """Inline SVG geometry for one URL's recent history: a latency line and one up/down tick per run."""

    points: str
    ticks: list[tuple[float, float, bool]]
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def sparkline(history: Sequence[Mapping[str, Any]]) -> Sparkline:
    count = len(history)
    if count == 0:
        return Sparkline(points="", ticks=[])
    step = SPARK_WIDTH / max(count, 1)
    latencies = [float(point["ms"]) if isinstance(point.get("ms"), int | float) else 0.0 for point in history]
    top = max(latencies) or 1.0
    line_height = SPARK_HEIGHT - 6  # the bottom 4 px carry the up/down ticks
    coordinates = [
        f"{index * step + step / 2:.1f},{line_height - (value / top) * (line_height - 2) + 1:.1f}"
        for index, value in enumerate(latencies)
    ]
    ticks = [(index * step + 0.5, max(step - 1, 1.0), bool(point.get("ok"))) for index, point in enumerate(history)]
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


def _row(url: str, entry: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    since = entry.get("since")
    in_state = (now - parse_iso(since)).total_seconds() if isinstance(since, str) else 0.0
    delta = (entry.get("last_change") or {}).get("bytes")
    history = [point for point in entry.get("history") or [] if isinstance(point, Mapping)]
    return {
        "url": url,
        # A link only for web addresses: escaping alone would not stop a javascript: URL.
        "href": url if url.startswith(("http://", "https://")) else None,
        "state": "up" if entry.get("state") == "up" else "down",
        "status": entry.get("status"),
        "size": size(entry.get("bytes")),
        "delta": delta if isinstance(delta, int) else None,
        "latency": entry.get("elapsed_ms"),
        "tls_days": entry.get("tls_days_left"),
        "since": since or "",
        "for": duration(max(0.0, in_state)),
        "error": entry.get("error"),
        "uptime": (100 * sum(bool(p.get("ok")) for p in history) / len(history)) if history else None,
        "spark": sparkline(history),
        "checked_at": entry.get("checked_at", ""),
    }


def render(latest: Mapping[str, Any], now: datetime, tls_warn_days: float) -> str:
    """The page for a latest.json document: down URLs first, then by URL."""
    # Imported here: only invocations that write a page pay for Jinja2.
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    urls: Mapping[str, Any] = latest.get("urls") or {}
    rows = [_row(str(url), entry, now) for url, entry in urls.items() if isinstance(entry, Mapping)]
    rows.sort(key=lambda row: (row["state"] == "up", row["url"]))
    down = sum(row["state"] == "down" for row in rows)
    return environment.get_template("status.html.j2").render(
        rows=rows,
        down=down,
        up=len(rows) - down,
        run=latest.get("run") or {},
        updated_at=latest.get("updated_at", ""),
        tls_warn_days=tls_warn_days,
    )
