"""What the status page shows, computed once from latest.json: the template only lays these values out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import ClassVar

from fanfetch.monitoring.incidents import IncidentsDocument
from fanfetch.monitoring.published import natural_key, percent
from fanfetch.monitoring.quorum import QuorumVerdict
from fanfetch.monitoring.rollups import DayRollup, History, daily_uptime, history_of, region_latency_p50, uptime
from fanfetch.monitoring.state import LatestDocument, RunInfo, UrlState, iso, parse_iso

STATES_ORDER = {"down": 0, "degraded": 1, "unknown": 2, "maintenance": 3, "up": 4}
# Past this many targets the page shows a card with a day bar for the targets that are not up (at most this many)
# and one line for each of the others, so that a page of 5,000 targets stays small; status.json has them all.
DETAIL_LIMIT = 100
# A page read this many schedule periods after it was written says the monitor has stopped.
STALE_AFTER_PERIODS = 2


@dataclass(frozen=True, slots=True)
class DayCell:
    """One day of a target's 90-day bar: its uptime as a colour class and a title that says it in words."""

    day: str
    level: str  # none, full, high, low, bad
    title: str


@dataclass(frozen=True, slots=True)
class RegionCell:
    """One probe region's part in a target's state: what it said, its latency p50 over 24 h, and whether it
    disagrees with the quorum or has gone silent."""

    region: str
    state: str  # up, degraded, down, or silent (no fresh verdict)
    latency_p50: str
    dissenting: bool


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    url: str
    href: str | None
    # The URL in pieces that end at `/` and `.`, so that a narrow screen breaks it there and nowhere else
    url_parts: list[str]
    state: str
    status: int | None
    status_change: str | None  # "200 → 500"
    size: str
    size_change: str | None  # "+1.2 KB": neutral, a size is not better or worse for changing
    since: str
    in_state: str
    checked_at: str
    error: str | None
    uptime: dict[str, str]
    latency_p50: str
    latency_p95: str
    tls_days: float | None
    days: list[DayCell]
    # A card; a Line is the one-line form (the template tells them apart by this)
    compact: ClassVar[bool] = False
    # A change waiting for its runs in a row ("failing: 1 of 2"), and the maintenance window the target is in.
    note: str | None = None
    maintenance: str | None = None
    group: str | None = None
    regions: list[RegionCell] = field(default_factory=list)
    quorum: str | None = None  # "quorum 2 of 3 regions"
    checked_from: str | None = None  # the region whose check the status and size are from

    @property
    def dissenting(self) -> list[str]:
        return [cell.region for cell in self.regions if cell.dissenting]


@dataclass(frozen=True, slots=True)
class Line:
    """A target that is up, on a large page: one line with its state, name and 30-day uptime, and the regions
    that disagree. Only what the line shows is worked out: at 5,000 targets a card's figures cost seconds."""

    name: str
    label: str
    state: str
    uptime_30d: str
    group: str | None = None
    dissenting: list[str] = field(default_factory=list)
    compact: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IncidentRow:
    name: str
    state: str
    reason: str | None
    start: str
    end: str | None
    duration: str


@dataclass(frozen=True, slots=True)
class Group:
    name: str | None
    rows: list[Row | Line]


@dataclass(frozen=True, slots=True)
class PageView:
    groups: list[Group]
    counts: dict[str, int]
    generated_at: str
    stale_after: str | None
    tls_warn_days: float
    incidents: list[IncidentRow] = field(default_factory=list)
    run: RunInfo = field(default_factory=RunInfo)
    # A banner: the targets file is invalid and the last good configuration is in use.
    config_error: str | None = None
    # Several probe regions: those whose runs stopped.
    silent_regions: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[Row | Line]:
        return [row for group in self.groups for row in group.rows]


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


def day_cells(cells: Sequence[tuple[date, float | None]]) -> list[DayCell]:
    shown = []
    for day, share in cells:
        if share is None:
            level, words = "none", "no checks"
        else:
            level = "full" if share >= 0.999 else "high" if share >= 0.99 else "low" if share >= 0.95 else "bad"
            words = f"{percent(share)} up"
        shown.append(DayCell(day=day.isoformat(), level=level, title=f"{day.isoformat()}: {words}"))
    return shown


def _status_change(entry: UrlState) -> str | None:
    change = (entry.last_change or {}).get("status")
    if isinstance(change, Mapping) and change.get("from") != change.get("to"):
        before, after = change.get("from"), change.get("to")
        return f"{before if before is not None else '-'} → {after if after is not None else '-'}"
    return None


def _size_change(entry: UrlState) -> str | None:
    delta = (entry.last_change or {}).get("bytes")
    if isinstance(delta, int) and not isinstance(delta, bool) and delta:
        return ("+" if delta > 0 else "-") + size(abs(delta))
    return None


def _ms(value: float | None) -> str:
    return "-" if value is None else "> 30 s" if value == float("inf") else f"{value:.0f} ms"


def row(
    name: str,
    entry: UrlState,
    now: datetime,
    rollups: Mapping[date, DayRollup] | History | None = None,
    decided: QuorumVerdict | None = None,
) -> Row:
    in_state = (now - parse_iso(entry.since)).total_seconds() if entry.since is not None else 0.0
    days = rollups or {}
    figures = uptime(name, days, now)
    cells = []
    if decided is not None:
        p50 = region_latency_p50(name, days, now)
        cells = [
            RegionCell(
                region=view.region,
                state=(view.state or "silent") if view.fresh else "silent",
                latency_p50=_ms(p50.get(view.region)),
                dissenting=view.dissenting,
            )
            for view in decided.regions
        ]
    url = entry.url or name
    label = _label(name, entry)
    return Row(
        name=name,
        url=url,
        # A link only for web addresses: escaping alone would not stop a javascript: URL.
        href=url if url.startswith(("http://", "https://")) else None,
        url_parts=[part for part in re.split(r"(?<=[/.])", label) if part],
        state=_shown_state(entry),
        note=entry.pending,
        maintenance=entry.maintenance,
        group=entry.group,
        status=entry.status,
        status_change=_status_change(entry),
        size=size(entry.bytes),
        size_change=_size_change(entry),
        since=entry.since or "",
        in_state=duration(max(0.0, in_state)),
        checked_at=entry.checked_at or "",
        error=entry.reason if entry.reason is not None else entry.error,
        uptime={window: percent(share) for window, share in figures.windows.items()},
        latency_p50=_ms(figures.p50_ms),
        latency_p95=_ms(figures.p95_ms),
        tls_days=entry.tls_days_left,
        days=day_cells(daily_uptime(name, days, now.date())),
        regions=cells,
        checked_from=_last_region(entry),
        quorum=f"quorum {decided.quorum} of {len(decided.regions)} regions" if decided is not None else None,
    )


def _shown_state(entry: UrlState) -> str:
    # Inside a maintenance window the page says so instead of the state it would alert on.
    return "maintenance" if entry.maintenance else entry.state or "down"


def _label(name: str, entry: UrlState) -> str:
    url = entry.url or name
    return name if name == url else f"{name} ({url})"


def line(name: str, entry: UrlState, now: datetime, rollups: History, decided: QuorumVerdict | None = None) -> Line:
    return Line(
        name=name,
        label=_label(name, entry),
        state=_shown_state(entry),
        uptime_30d=percent(uptime(name, rollups, now).windows["30d"]),
        group=entry.group,
        dissenting=[view.region for view in decided.regions if view.dissenting] if decided is not None else [],
    )


def _last_region(entry: UrlState) -> str | None:
    checked = [(region.checked_at or "", name) for name, region in (entry.regions or {}).items()]
    return max(checked)[1] if checked else None


def _up(latest: LatestDocument, name: str) -> bool:
    return latest.urls[name].state == "up"


def page_view(
    latest: LatestDocument,
    now: datetime,
    tls_warn_days: float,
    targets: Sequence[str] | None = None,
    rollups: Mapping[date, DayRollup] | History | None = None,
    incidents: IncidentsDocument | None = None,
    period_s: float | None = None,
    quorums: Mapping[str, QuorumVerdict] | None = None,
    in_order: bool = False,
) -> PageView:
    """The page's values: the current targets (all of latest.json's when not given), down first and then in
    natural order of name (`in_order` when `targets` already are in it), with their uptime, 90-day bar and the
    incidents."""
    names = list(targets) if targets is not None else list(latest.urls)
    known = [name for name in names if name in latest.urls]
    # Ordered before the rows are made, so that a large page makes a card only where it shows one. The sort by
    # state is stable: it keeps the natural order within a state.
    if not in_order:
        known.sort(key=natural_key)
    known.sort(key=lambda name: STATES_ORDER.get(latest.urls[name].state or "down", 0))
    large = len(known) > DETAIL_LIMIT
    history = history_of(rollups or {})
    decided = quorums or {}
    rows: list[Row | Line] = [
        line(name, latest.urls[name], now, history, decided.get(name))
        if large and (index >= DETAIL_LIMIT or _up(latest, name))
        else row(name, latest.urls[name], now, history, decided.get(name))
        for index, name in enumerate(known)
    ]
    counts = {state: sum(r.state == state for r in rows) for state in STATES_ORDER}
    shown = set(names)
    incident_rows = [
        IncidentRow(
            name=name,
            state=incident.state,
            reason=incident.reason,
            start=incident.start,
            end=incident.end,
            duration=duration(incident.duration_s) if incident.duration_s is not None else "ongoing",
        )
        for name, history in (incidents.targets.items() if incidents is not None else [])
        if name in shown
        for incident in history
    ]
    incident_rows.sort(key=lambda i: i.start, reverse=True)
    stale_after = iso(now + timedelta(seconds=STALE_AFTER_PERIODS * period_s)) if period_s else None
    # Ungrouped targets first, then each group in the order its first target comes.
    groups: dict[str | None, list[Row | Line]] = {None: []}
    for each in rows:
        groups.setdefault(each.group, []).append(each)
    return PageView(
        groups=[Group(name=name, rows=members) for name, members in groups.items() if members or name is None],
        config_error=latest.config_error.message if latest.config_error is not None else None,
        counts=counts,
        generated_at=iso(now),
        stale_after=stale_after,
        tls_warn_days=tls_warn_days,
        incidents=incident_rows[:50],
        run=latest.run or RunInfo(),
        silent_regions=sorted(region for region, record in (latest.probes or {}).items() if record.silent_since),
    )
