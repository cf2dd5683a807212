"""A day's facts per target, summed from its runs: checks and outcomes by hour, and a bounded latency histogram.

A rollup is append-only: adding a run it already holds changes nothing, and merging two rollups adds them, so
overlapping runs merge without loss under conditional writes. Uptime over 24 hours to 90 days and latency
percentiles are computed from at most 91 rollups; runs/ is never read.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from fanfetch.monitoring.state import StoredDocument

ROLLUPS_PREFIX = "history/"
# Upper bounds (ms) of the latency histogram's buckets; the last is open. Percentiles are read as the bucket's
# bound, an over-estimate by at most one bucket (about 1.5x): enough for p50 and p95 on a status page.
LATENCY_BOUNDS_MS = (10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
OUTCOMES = ("up", "degraded", "down")
# A planned outage, and a state too few probe regions could vouch for, count neither for nor against uptime.
NOT_COUNTED = ("maintenance", "unknown")
WINDOWS_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}


def rollup_key(day: date) -> str:
    return f"{ROLLUPS_PREFIX}{day:%Y/%m/%d}.json"


def _zeros(count: int) -> list[int]:
    return [0] * count


def _hours(value: list[int]) -> list[int]:
    return (list(value) + _zeros(24))[:24]


def _buckets(value: list[int]) -> list[int]:
    size = len(LATENCY_BOUNDS_MS) + 1
    return (list(value) + _zeros(size))[:size]


def _region_buckets(value: dict[str, list[int]] | None) -> dict[str, list[int]] | None:
    return None if value is None else {region: _buckets(counts) for region, counts in value.items()}


Hours = Annotated[list[int], AfterValidator(_hours)]
Buckets = Annotated[list[int], AfterValidator(_buckets)]


# A slotted dataclass that pydantic validates, not a model: a rollup holds one per target, and a model's
# per-instance dict and set of fields would cost some 5 MB per rollup at 5,000 targets.
@dataclass(slots=True, kw_only=True)
class TargetDay:
    """One target's day: per hour (UTC) how many checks and how each ended; latency counts per bucket."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    checks: Hours = field(default_factory=lambda: _zeros(24))
    up: Hours = field(default_factory=lambda: _zeros(24))
    degraded: Hours = field(default_factory=lambda: _zeros(24))
    down: Hours = field(default_factory=lambda: _zeros(24))
    latency: Buckets = field(default_factory=lambda: _zeros(len(LATENCY_BOUNDS_MS) + 1))
    # Several probe regions: each region's latency counts per bucket (absent for a single-region monitor).
    regions: Annotated[dict[str, list[int]] | None, AfterValidator(_region_buckets)] = None

    def copy(self) -> TargetDay:
        """A copy whose lists can be counted into without changing this one."""
        return TargetDay(
            checks=list(self.checks),
            up=list(self.up),
            degraded=list(self.degraded),
            down=list(self.down),
            latency=list(self.latency),
            regions={region: list(counts) for region, counts in self.regions.items()}
            if self.regions is not None
            else None,
        )

    def plus(self, other: TargetDay) -> TargetDay:
        regions = None
        if self.regions is not None or other.regions is not None:
            regions = {region: list(counts) for region, counts in (self.regions or {}).items()}
            for region, counts in (other.regions or {}).items():
                mine = regions.get(region)
                regions[region] = [a + b for a, b in zip(mine, counts, strict=True)] if mine else list(counts)

        def summed(mine: list[int], theirs: list[int]) -> list[int]:
            return [a + b for a, b in zip(mine, theirs, strict=True)]

        return TargetDay(
            checks=summed(self.checks, other.checks),
            up=summed(self.up, other.up),
            degraded=summed(self.degraded, other.degraded),
            down=summed(self.down, other.down),
            latency=summed(self.latency, other.latency),
            regions=regions,
        )


class DayRollup(BaseModel):
    """history/YYYY/MM/DD.json: the runs it holds (so a run is added once) and each target's day."""

    model_config = ConfigDict(extra="ignore")

    day: date
    runs: list[str] = Field(default_factory=list)
    targets: dict[str, TargetDay] = Field(default_factory=dict)
    # Written into each file, so a reader (the client's `monitor history`) needs no copy of them
    latency_bounds_ms: list[int] = Field(default_factory=lambda: list(LATENCY_BOUNDS_MS))

    @classmethod
    def read(cls, document: object, day: date) -> DayRollup:
        """A stored rollup, parsed or as its stored bytes; one that cannot be read starts the day afresh rather
        than stopping the run."""
        try:
            # json.loads, not model_validate_json (see StoredDocument.read)
            rollup = cls.model_validate(json.loads(document) if isinstance(document, bytes) else document)
        except ValueError:
            return cls(day=day)
        if rollup.day != day or tuple(rollup.latency_bounds_ms) != LATENCY_BOUNDS_MS:
            return cls(day=day)  # another day, or buckets this version does not count in
        return rollup

    def dump(self) -> dict[str, Any]:
        # Nothing else is ever None: leaving out the absent region counts keeps a single-region day as it was
        return self.model_dump(mode="json", exclude_none=True)

    def dump_json(self) -> bytes:
        """What dump() gives, as compact JSON written straight from the models (no dicts in between: at 5,000
        targets they would cost tens of MB at the run's peak)."""
        return self.model_dump_json(exclude_none=True).encode()


@dataclass(frozen=True, slots=True)
class Check:
    """One target's outcome in one run, as a rollup counts it; `region` when several regions probe it."""

    name: str
    outcome: str  # up, degraded, down; maintenance and unknown are not counted
    latency_ms: float | None
    region: str | None = None


def add_run(rollup: DayRollup | None, run_id: str, at: datetime, checks: Iterable[Check]) -> DayRollup:
    """The day's rollup with this run counted once (`at` gives the day and hour). A run already held is no change."""
    moment = at.astimezone(UTC)
    current = rollup if rollup is not None and rollup.day == moment.date() else DayRollup(day=moment.date())
    if run_id in current.runs:
        return current
    targets = dict(current.targets)
    for check in checks:
        if check.outcome in NOT_COUNTED:
            continue
        before = targets.get(check.name)
        day = before.copy() if before is not None else TargetDay()
        day.checks[moment.hour] += 1
        getattr(day, check.outcome if check.outcome in OUTCOMES else "down")[moment.hour] += 1
        if check.latency_ms is not None:
            bucket = bisect.bisect_left(LATENCY_BOUNDS_MS, check.latency_ms)
            day.latency[bucket] += 1
            if check.region is not None:
                day.regions = day.regions or {}
                day.regions.setdefault(check.region, _zeros(len(LATENCY_BOUNDS_MS) + 1))[bucket] += 1
        targets[check.name] = day
    return DayRollup(day=current.day, runs=[*current.runs, run_id], targets=targets)


def merge(first: DayRollup, second: DayRollup) -> DayRollup:
    """Two rollups of the same day as one: runs held by both count once (the first's counts are kept for them)."""
    if first.day != second.day:
        raise ValueError(f"rollups of different days: {first.day} and {second.day}")
    if set(second.runs) <= set(first.runs):
        return first
    if set(first.runs) <= set(second.runs):
        return second
    if set(first.runs) & set(second.runs):
        raise ValueError("overlapping rollups cannot be merged without their runs; add the runs again instead")
    targets = dict(first.targets)
    for name, day in second.targets.items():
        targets[name] = targets[name].plus(day) if name in targets else day
    return DayRollup(day=first.day, runs=[*first.runs, *second.runs], targets=targets)


@dataclass(frozen=True, slots=True)
class Uptime:
    """A target's share of checks that were not down, per window; None where the window holds no check."""

    windows: dict[str, float | None]
    p50_ms: float | None
    p95_ms: float | None


def _series(value: object) -> array[int]:
    """A target's closed days as machine integers. Stored as base64 of little-endian 32-bit counts: at 5,000
    targets and 89 days, JSON lists would be parsed into some 25 MB of Python ints at a run's peak, and then held
    as 20 MB; the strings take 5 MB and the arrays 4. Lists of whole numbers, as earlier versions wrote, are read
    too."""
    if isinstance(value, array) and value.typecode == "I":
        series = value
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("a series is base64") from exc
        if len(raw) % 4:
            raise ValueError("a series is whole 32-bit counts")
        series = array("I")
        series.frombytes(raw)
        if sys.byteorder == "big":
            series.byteswap()
    elif isinstance(value, list) and all(type(count) is int for count in value):
        try:
            series = array("I", value)
        except OverflowError as exc:
            raise ValueError("a count is negative or too large") from exc
    else:
        raise ValueError("a series is base64 or a list of whole numbers")
    if len(series) != 2 * CLOSED_DAYS:
        raise ValueError(f"a series holds {CLOSED_DAYS} days")
    return series


def _stored_series(series: array[int]) -> str:
    little = series
    if sys.byteorder == "big":
        little = array("I", series)
        little.byteswap()
    return base64.b64encode(little.tobytes()).decode("ascii")


def _zero_series(count: int) -> array[int]:
    return array("I", bytes(4 * count))


Series = Annotated[array[int], PlainValidator(_series), PlainSerializer(_stored_series, return_type=str)]


class ClosedDays(StoredDocument):
    """history/days.json: per target, (checks, down) of each closed day up to `through`, oldest first, flattened
    as [checks, down, checks, down, ...] over CLOSED_DAYS days (stored as base64, see _series). A page reads this
    one file, today's and yesterday's rollups, and never 90 rollups: at 5,000 targets a day's rollup is 1.7 MB."""

    through: date | None = None
    targets: dict[str, Series] = Field(default_factory=dict)

    def totals(self, day: date) -> dict[str, tuple[int, int]]:
        """Each target's (checks, down) on a closed day the summary holds; empty otherwise."""
        if self.through is None or not 0 <= (self.through - day).days < CLOSED_DAYS:
            return {}
        at = 2 * (CLOSED_DAYS - 1 - (self.through - day).days)
        return {name: (series[at], series[at + 1]) for name, series in self.targets.items() if series[at]}


# Closed days kept in history/days.json: with today, the 90 days a page shows.
CLOSED_DAYS = 89


def fold(summary: ClosedDays, read_day: Callable[[date], DayRollup | None], through: date) -> ClosedDays:
    """The summary moved on to end at `through` (the last closed day), each day it had not yet folded read once
    with `read_day`; a summary already there is returned as it is, so folding twice changes nothing."""
    if summary.through is not None and summary.through >= through:
        return summary
    first_new = through - timedelta(days=CLOSED_DAYS - 1)
    if summary.through is not None and summary.through >= first_new:
        first_new = summary.through + timedelta(days=1)
    shift = (through - summary.through).days if summary.through is not None else CLOSED_DAYS
    keep = max(0, CLOSED_DAYS - shift)
    targets = (
        {
            name: series[2 * (CLOSED_DAYS - keep) :] + _zero_series(2 * (CLOSED_DAYS - keep))
            for name, series in summary.targets.items()
        }
        if keep
        else {}
    )
    day = first_new
    while day <= through:
        rollup = read_day(day)
        if rollup is not None:
            at = 2 * (CLOSED_DAYS - 1 - (through - day).days)
            for name, target in rollup.targets.items():
                series = targets.setdefault(name, _zero_series(2 * CLOSED_DAYS))
                series[at], series[at + 1] = sum(target.checks), sum(target.down)
        day += timedelta(days=1)
    # A target with no check left in the window has nothing to show
    return ClosedDays(through=through, targets={name: series for name, series in targets.items() if any(series)})


@dataclass(frozen=True, slots=True)
class Frame:
    """What uptime at one moment reads, looked up once for every target: the 24 hours as (rollup, first hour,
    end hour) spans, the days whose latency counts, and per window (7, 30, 90 days) the day totals of the read
    rollups in it and the slices of history/days.json's series that hold its closed days."""

    hours: list[tuple[DayRollup, int, int]]
    latency_days: list[DayRollup]
    windows: dict[str, tuple[list[dict[str, tuple[int, int]]], list[tuple[int, int]]]]


def _slices(indices: list[int]) -> list[tuple[int, int]]:
    """Series positions of closed days (each the start of a (checks, down) pair) as (start, stop) runs."""
    runs: list[tuple[int, int]] = []
    for at in sorted(indices):
        if runs and runs[-1][1] == at:
            runs[-1] = (runs[-1][0], at + 2)
        else:
            runs.append((at, at + 2))
    return runs


class History:
    """What a page reads of the past: today's and yesterday's rollups (hours, latency) and the closed days'
    totals, with each day's per-target totals worked out once however many targets ask."""

    def __init__(self, rollups: Mapping[date, DayRollup], closed: ClosedDays | None = None) -> None:
        self.rollups = rollups
        self.closed = closed or ClosedDays()
        self._totals: dict[date, dict[str, tuple[int, int]]] = {}
        # The page and status.json ask for the same figures: worked out once per target and moment
        self.figures: dict[tuple[str, datetime], Uptime] = {}
        self._frame: tuple[datetime, Frame] | None = None

    def _closed_at(self, day: date) -> int | None:
        """Where a day's (checks, down) pair sits in each series of history/days.json, if it holds the day."""
        through = self.closed.through
        if through is None or not 0 <= (through - day).days < CLOSED_DAYS:
            return None
        return 2 * (CLOSED_DAYS - 1 - (through - day).days)

    def frame(self, now: datetime) -> Frame:
        """What every target's uptime at `now` reads, looked up once for all of them."""
        if self._frame is None or self._frame[0] != now:
            moment = now.astimezone(UTC)
            today = moment.date()
            # The current hour and the 23 before it: today's hours up to this one, and yesterday's after it
            hours = []
            if (rollup := self.rollups.get(today)) is not None:
                hours.append((rollup, 0, moment.hour + 1))
            if moment.hour < 23 and (rollup := self.rollups.get(today - timedelta(days=1))) is not None:
                hours.append((rollup, moment.hour + 1, 24))
            latency_days = [r for back in (0, 1) if (r := self.rollups.get(today - timedelta(days=back))) is not None]
            windows: dict[str, tuple[list[dict[str, tuple[int, int]]], list[tuple[int, int]]]] = {}
            for label, count in WINDOWS_DAYS.items():
                if label == "24h":
                    continue
                days = [today - timedelta(days=back) for back in range(count)]
                recent = [self.totals(day) for day in days if day in self.rollups]
                closed = [at for day in days if day not in self.rollups and (at := self._closed_at(day)) is not None]
                windows[label] = (recent, _slices(closed))
            self._frame = (now, Frame(hours, latency_days, windows))
        return self._frame[1]

    def day_totals(self, name: str, day: date) -> tuple[int, int] | None:
        """One target's (checks, down) on a day, from its rollup if read, else from the closed days."""
        if day in self.rollups:
            return self.totals(day).get(name)
        at = self._closed_at(day)
        series = self.closed.targets.get(name) if at is not None else None
        if series is None or at is None or not series[at]:
            return None
        return series[at], series[at + 1]

    def totals(self, day: date) -> dict[str, tuple[int, int]]:
        """Each target's (checks, down) on that day, from its rollup if read, else from the closed days."""
        found = self._totals.get(day)
        if found is None:
            rollup = self.rollups.get(day)
            if rollup is not None:
                found = {n: (sum(t.checks), sum(t.down)) for n, t in rollup.targets.items()}
            else:
                found = self.closed.totals(day)
            self._totals[day] = found
        return found


def history_of(rollups: Mapping[date, DayRollup] | History) -> History:
    return rollups if isinstance(rollups, History) else History(rollups)


def _share(checks: int, down: int) -> float | None:
    return None if checks == 0 else (checks - down) / checks


def _percentile(counts: Sequence[int], share: float) -> float | None:
    total = sum(counts)
    if total == 0:
        return None
    wanted, seen = share * total, 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= wanted:
            return float(LATENCY_BOUNDS_MS[index]) if index < len(LATENCY_BOUNDS_MS) else float("inf")
    return None  # unreachable: the counts add up to the total


def uptime(name: str, rollups: Mapping[date, DayRollup] | History, now: datetime) -> Uptime:
    """Uptime over 24 hours (the hours since this hour yesterday) and 7, 30 and 90 days (today and the days
    before), and latency p50/p95 over the last 24 hours, from the day rollups."""
    history = history_of(rollups)
    known = history.figures.get((name, now))
    if known is not None:
        return known
    frame = history.frame(now)
    windows: dict[str, float | None] = {}
    # 24 hours: the current hour and the 23 before it, across midnight
    checks = down = 0
    latency = _zeros(len(LATENCY_BOUNDS_MS) + 1)
    for day, first, end in frame.hours:
        target = day.targets.get(name)
        if target is not None:
            checks += sum(target.checks[first:end])
            down += sum(target.down[first:end])
    for day in frame.latency_days:  # latency is kept per day: today's and yesterday's cover the last 24 hours
        target = day.targets.get(name)
        if target is not None:
            latency = [a + b for a, b in zip(latency, target.latency, strict=True)]
    windows["24h"] = _share(checks, down)
    series = history.closed.targets.get(name)
    for label, (recent, closed) in frame.windows.items():
        checks = down = 0
        for totals in recent:
            if (found := totals.get(name)) is not None:
                checks += found[0]
                down += found[1]
        if series is not None:
            for start, stop in closed:  # [checks, down, checks, down, ...]: one slice sum per run of days
                checks += sum(series[start:stop:2])
                down += sum(series[start + 1 : stop : 2])
        windows[label] = _share(checks, down)
    figures = history.figures[(name, now)] = Uptime(windows, _percentile(latency, 0.5), _percentile(latency, 0.95))
    return figures


def region_latency_p50(name: str, rollups: Mapping[date, DayRollup] | History, now: datetime) -> dict[str, float]:
    """Each probe region's latency p50 for a target over today and yesterday (the last 24 hours, as `uptime`)."""
    history = history_of(rollups)
    today = now.astimezone(UTC).date()
    summed: dict[str, list[int]] = {}
    for day_back in (0, 1):
        day = history.rollups.get(today - timedelta(days=day_back))
        target = day.targets.get(name) if day else None
        for region, counts in ((target.regions if target is not None else None) or {}).items():
            before = summed.get(region)
            summed[region] = [a + b for a, b in zip(before, counts, strict=True)] if before else list(counts)
    found = {region: _percentile(counts, 0.5) for region, counts in summed.items()}
    return {region: p50 for region, p50 in found.items() if p50 is not None}


def daily_uptime(
    name: str, rollups: Mapping[date, DayRollup] | History, today: date, days: int = 90
) -> list[tuple[date, float | None]]:
    """One (day, uptime) per day, oldest first, for the page's 90-day bar and `fanfetch monitor history`."""
    history = history_of(rollups)
    cells = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        totals = history.day_totals(name, day)
        cells.append((day, _share(*totals) if totals else None))
    return cells


CLOSED_DAYS_KEY = f"{ROLLUPS_PREFIX}days.json"
