"""Several probe regions, one state: each region's debounced verdict per target, and the state a quorum of the
regions with a fresh verdict agrees on. Pure: the clock and the regions' records are parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fanfetch.monitoring.state import Health, State, parse_iso

# A region's verdict counts while it is at most this many schedule periods old; older, the region is silent.
FRESH_PERIODS = 2
NOT_UP: tuple[Health, ...] = ("degraded", "down")


@dataclass(frozen=True, slots=True)
class RegionVerdict:
    """What one region last said of a target: its debounced state, when, why, and how long the answer took."""

    region: str
    state: Health
    checked_at: str
    reason: str = ""
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class RegionView:
    """A region's verdict as the quorum counted it: fresh or silent, and whether it disagrees with the quorum."""

    region: str
    state: Health | None  # None: the region never judged this target
    fresh: bool
    dissenting: bool
    checked_at: str | None = None
    reason: str = ""
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class QuorumVerdict:
    """A target's state by quorum, and every expected region's part in it."""

    state: State
    quorum: int
    regions: tuple[RegionView, ...]

    @property
    def fresh(self) -> list[str]:
        return [view.region for view in self.regions if view.fresh]

    @property
    def silent(self) -> list[str]:
        return [view.region for view in self.regions if not view.fresh]

    @property
    def dissenting(self) -> list[str]:
        return [view.region for view in self.regions if view.dissenting]

    def agreeing(self) -> list[str]:
        """The fresh regions whose verdict made the state: those that saw it down (or not up, for degraded)."""
        wanted: tuple[Health, ...] = ("down",) if self.state == "down" else NOT_UP if self.state == "degraded" else ()
        return [view.region for view in self.regions if view.fresh and view.state in wanted]

    def explain(self) -> str:
        """Which regions agree, for a reason line: 'down in eu-west-1, us-east-1 (2 of 3 regions, quorum 2)'."""
        if self.state == "unknown":
            return f"unknown: {len(self.fresh)} of {len(self.regions)} regions fresh, quorum {self.quorum}"
        agreeing = self.agreeing()
        if not agreeing:
            return ""
        counted = f"{len(agreeing)} of {len(self.regions)} regions, quorum {self.quorum}"
        return f"{self.state} in {', '.join(agreeing)} ({counted})"


def default_quorum(regions: int) -> int:
    """A majority: 2 of 2 or 3, 3 of 4 or 5."""
    return regions // 2 + 1


def is_fresh(checked_at: str | None, now: datetime, fresh_for_s: float | None) -> bool:
    """Whether a verdict from `checked_at` still counts at `now`; with no known period every verdict does."""
    if checked_at is None:
        return False
    if fresh_for_s is None:
        return True
    try:
        age = (now - parse_iso(checked_at)).total_seconds()
    except ValueError:
        return False
    return age <= fresh_for_s


def decide(
    verdicts: Mapping[str, RegionVerdict],
    regions: Sequence[str],
    quorum: int,
    now: datetime,
    fresh_for_s: float | None,
) -> QuorumVerdict:
    """Down when at least `quorum` fresh regions say down; degraded when at least `quorum` say degraded or down;
    up when at least `quorum` are fresh and neither holds; unknown when fewer than `quorum` are fresh. When a
    quorum small enough for two states to reach it is set, the worse state wins."""
    fresh = {
        region: verdicts[region]
        for region in regions
        if region in verdicts and is_fresh(verdicts[region].checked_at, now, fresh_for_s)
    }
    down = sum(verdict.state == "down" for verdict in fresh.values())
    not_up = sum(verdict.state in NOT_UP for verdict in fresh.values())
    state: State
    if len(fresh) < quorum:
        state = "unknown"
    elif down >= quorum:
        state = "down"
    elif not_up >= quorum:
        state = "degraded"
    else:
        state = "up"
    views = []
    for region in regions:
        verdict = verdicts.get(region)
        counted = fresh.get(region)
        views.append(
            RegionView(
                region=region,
                state=verdict.state if verdict is not None else None,
                fresh=counted is not None,
                dissenting=counted is not None and state != "unknown" and counted.state != state,
                checked_at=verdict.checked_at if verdict is not None else None,
                reason=verdict.reason if verdict is not None else "",
                latency_ms=verdict.latency_ms if verdict is not None else None,
            )
        )
    return QuorumVerdict(state=state, quorum=quorum, regions=tuple(views))


@dataclass(frozen=True, slots=True)
class Silence:
    """A region whose runs stopped, or that came back: news for the channels, told once."""

    region: str
    event: Literal["silent", "resumed"]
    last_run: str | None


def fresh_window(period_s: float | None) -> float | None:
    return FRESH_PERIODS * period_s if period_s else None
