"""What is published for anyone to read: status.json and the badges, computed once from latest.json, the day
rollups and the incidents. It holds no internals: no bucket, no run key, no error text beyond the state's reason."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fanfetch.monitoring.quorum import QuorumVerdict
from fanfetch.monitoring.rollups import DayRollup, History, history_of, region_latency_p50, uptime
from fanfetch.monitoring.state import LatestDocument, iso, parse_iso

STATUS_JSON_KEY = "status.json"
BADGES_PREFIX = "badges/"
# Colours of shields.io's palette, by state and by uptime.
STATE_COLOURS = {
    "up": "#4c1",
    "degraded": "#dfb317",
    "down": "#e05d44",
    "maintenance": "#9f9f9f",
    "unknown": "#9f9f9f",
}
UNKNOWN_COLOUR = "#9f9f9f"
CHARACTER_PX = 6.5  # Verdana 11 px, about; the badge is sized from it
BADGE_PADDING_PX = 10
BADGE_LABEL_CHARACTERS = 40


_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts `page/2` before `page/10`: runs of digits compare as numbers."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses (and \d leaves it in the text)
    return tuple(
        (0, int(part)) if part.isdecimal() else (1, part.casefold()) for part in _DIGIT_RUNS.split(text) if part
    )


def slug(name: str) -> str:
    """A target's name as a key: letters, digits, `.`, `_` and `-`; a name that had to change gets a short hash,
    so that two names never share a badge."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:80] or "target"
    if safe == name:
        return safe
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def badge_keys(name: str) -> tuple[str, str]:
    """badges/<slug>.svg (the state) and badges/<slug>-uptime.svg (the 30-day uptime)."""
    base = f"{BADGES_PREFIX}{slug(name)}"
    return f"{base}.svg", f"{base}-uptime.svg"


def percent(share: float | None) -> str:
    """Uptime as people read it: 100%, 99.95%, 70%; n/a without checks."""
    if share is None:
        return "n/a"
    if share >= 1:
        return "100%"
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def uptime_colour(share: float | None) -> str:
    if share is None:
        return UNKNOWN_COLOUR
    if share >= 0.999:
        return "#4c1"
    if share >= 0.99:
        return "#97ca00"
    if share >= 0.95:
        return "#dfb317"
    return "#e05d44"


@dataclass(frozen=True, slots=True)
class Badge:
    """A shields.io-style badge's text, colour and geometry; render/badges.py lays it out."""

    label: str
    message: str
    colour: str
    label_width: float
    message_width: float

    @property
    def width(self) -> float:
        return self.label_width + self.message_width


def badge(label: str, message: str, colour: str) -> Badge:
    shown = label if len(label) <= BADGE_LABEL_CHARACTERS else label[: BADGE_LABEL_CHARACTERS - 1] + "…"
    return Badge(
        label=shown,
        message=message,
        colour=colour,
        label_width=round(len(shown) * CHARACTER_PX + BADGE_PADDING_PX, 1),
        message_width=round(len(message) * CHARACTER_PX + BADGE_PADDING_PX, 1),
    )


def schedule_period_seconds(latest: LatestDocument) -> float | None:
    """The monitor's period, read from its runs: the median gap between the recent runs that wrote latest.json."""
    moments = [parse_iso(at) for at in latest.recent_runs or []]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]
    positive = [gap for gap in gaps if gap > 0]
    return statistics.median(positive) if positive else None


def status_document(
    latest: LatestDocument,
    rollups: Mapping[date, DayRollup] | History,
    targets: list[str],
    now: datetime,
    period_s: float | None = None,
    quorums: Mapping[str, QuorumVerdict] | None = None,
    in_order: bool = False,
) -> dict[str, Any]:
    """status.json: per current target (in natural order; `in_order` when `targets` already are) its state,
    since, last check, uptime per window and latency over 24 h.
    With several probe regions (`quorums`, by target name, as this run decided them), each region's state,
    freshness, dissent and latency p50 over 24 h, the quorum, and each region's last run."""
    entries = []
    history = history_of(rollups)
    for name in targets if in_order else sorted(targets, key=natural_key):
        entry = latest.urls.get(name)
        figures = uptime(name, history, now)
        shown: dict[str, Any] = {
            "name": name,
            "group": entry.group if entry is not None else None,
            "state": entry.state if entry is not None else None,
            "since": entry.since if entry is not None else None,
            "checked_at": entry.checked_at if entry is not None else None,
            "uptime": figures.windows,
            "latency_ms": {"p50": figures.p50_ms, "p95": figures.p95_ms},
        }
        decided = (quorums or {}).get(name)
        if decided is not None:
            p50 = region_latency_p50(name, history, now)
            shown["quorum"] = {"required": decided.quorum, "regions": len(decided.regions)}
            shown["regions"] = {
                view.region: {
                    "state": view.state,
                    "fresh": view.fresh,
                    "dissenting": view.dissenting,
                    "checked_at": view.checked_at,
                    "latency_ms": {"p50": p50.get(view.region)},
                }
                for view in decided.regions
            }
        entries.append(shown)
    document: dict[str, Any] = {
        "generated_at": iso(now),
        "period_s": period_s or schedule_period_seconds(latest),
        "targets": entries,
    }
    if latest.probes:
        document["regions"] = {
            region: {"last_run": record.last_run, "silent": record.silent_since is not None}
            for region, record in sorted(latest.probes.items())
        }
    return document


def badges_for(target: Mapping[str, Any]) -> tuple[Badge, Badge]:
    """A status.json target's two badges: its state, and its uptime over 30 days."""
    state = target.get("state") or "unknown"
    share = (target.get("uptime") or {}).get("30d")
    return (
        badge(target["name"], state, STATE_COLOURS.get(state, UNKNOWN_COLOUR)),
        badge(target["name"], f"{percent(share)} (30d)", uptime_colour(share)),
    )
