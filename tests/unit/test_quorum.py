"""The quorum rule, and runs of several regions compared against one latest.json: fresh, silent and unknown
regions, ties, one event per change of the quorum's state, dissent and silence told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import judge
from fanfetch.monitoring.quorum import RegionVerdict, decide, default_quorum
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso
from fanfetch.monitoring.transitions import IMMEDIATE, Regional, Rule, RunComparison, compare_run

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
URL = "https://shop.example/health"


def said(region: str, state: str, minutes_ago: float = 0) -> RegionVerdict:
    return RegionVerdict(region, state, iso(NOW - timedelta(minutes=minutes_ago)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("regions", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_the_default_quorum_is_a_majority(regions: int, quorum: int) -> None:
    assert default_quorum(regions) == quorum


@pytest.mark.parametrize(
    ("states", "expected", "dissenting"),
    [
        (("up", "up", "up"), "up", []),
        (("down", "up", "up"), "up", ["us-east-1"]),
        (("down", "down", "up"), "down", ["ap-southeast-2"]),
        (("degraded", "degraded", "up"), "degraded", ["ap-southeast-2"]),
        # Not up in two regions, one of them down: degraded is what two agree on
        (("down", "degraded", "up"), "degraded", ["us-east-1", "ap-southeast-2"]),
        (("down", "down", "down"), "down", []),
    ],
)
def test_a_quorum_of_fresh_regions_decides(states: tuple[str, ...], expected: str, dissenting: list[str]) -> None:
    verdicts = {region: said(region, state) for region, state in zip(REGIONS, states, strict=True)}
    decided = decide(verdicts, REGIONS, 2, NOW, 600)
    assert decided.state == expected
    assert decided.dissenting == dissenting
    assert decided.silent == []


def test_a_stale_verdict_is_silent_and_does_not_count() -> None:
    # Given two regions saw it down, but one of them ran last 11 minutes ago with a 10-minute freshness
    verdicts = {
        "us-east-1": said("us-east-1", "down"),
        "eu-west-1": said("eu-west-1", "down", minutes_ago=11),
        "ap-southeast-2": said("ap-southeast-2", "up"),
    }
    decided = decide(verdicts, REGIONS, 2, NOW, 600)
    # Then only one fresh region says down: no quorum for down, and two fresh regions make the state known
    assert decided.state == "up"
    assert decided.silent == ["eu-west-1"]
    assert decided.explain() == ""


def test_fewer_fresh_regions_than_the_quorum_is_unknown_not_up() -> None:
    verdicts = {"us-east-1": said("us-east-1", "up"), "eu-west-1": said("eu-west-1", "up", minutes_ago=30)}
    decided = decide(verdicts, REGIONS, 2, NOW, 600)
    assert decided.state == "unknown"
    assert decided.silent == ["eu-west-1", "ap-southeast-2"]
    # A region never heard of has no state; nobody dissents from an unknown state
    assert [view.state for view in decided.regions] == ["up", "up", None]
    assert decided.dissenting == []
    assert decided.explain() == "unknown: 1 of 3 regions fresh, quorum 2"


def test_a_tie_under_a_small_quorum_goes_to_the_worse_state() -> None:
    regions = ("a", "b", "c", "d")
    verdicts = {"a": said("a", "down"), "b": said("b", "down"), "c": said("c", "up"), "d": said("d", "up")}
    decided = decide(verdicts, regions, 2, NOW, 600)
    assert decided.state == "down"
    assert decided.dissenting == ["c", "d"]
    assert decided.explain() == "down in a, b (2 of 4 regions, quorum 2)"


def test_without_a_known_period_every_verdict_is_fresh() -> None:
    verdicts = {"us-east-1": said("us-east-1", "down", minutes_ago=600), "eu-west-1": said("eu-west-1", "down")}
    assert decide(verdicts, REGIONS, 2, NOW, None).state == "down"


# Runs of several regions against one latest.json


def verdict_of(ok: bool) -> judge.Verdict:
    error = None if ok else FetchError(type="connect", message="refused")
    result = UrlResult(url=URL, status=200 if ok else None, bytes=10, elapsed_ms=12.0, error=error)
    return judge.judge_all([result])[0]


class Regions:
    """Runs of each region in turn against the same latest.json, as the home bucket holds it."""

    def __init__(self, rule: Rule = IMMEDIATE, period_s: float | None = 300) -> None:
        self.latest: LatestDocument | None = None
        self.rule = rule
        self.period_s = period_s
        self.clock = NOW

    def run(self, region: str, ok: bool, after_s: float = 10) -> RunComparison:
        self.clock += timedelta(seconds=after_s)
        regional = Regional(region, REGIONS, 2, self.period_s)
        info = RunInfo(request_id=f"{region}-{self.clock:%H%M%S}", at=iso(self.clock))
        comparison = compare_run([verdict_of(ok)], self.latest, self.clock, info, 14, [self.rule], regional)
        self.latest = LatestDocument.read(comparison.latest.dump())  # as stored and read back
        return comparison

    def round(self, failing: set[str], spacing_s: float = 100) -> list[RunComparison]:
        return [self.run(region, region not in failing, spacing_s) for region in REGIONS]


def events(comparisons: list[RunComparison]) -> list[str | None]:
    return [c.verdicts[0].event for c in comparisons]


def test_one_failing_region_makes_no_news_and_is_shown_dissenting() -> None:
    monitor = Regions()
    monitor.round(failing=set())
    runs = monitor.round(failing={"eu-west-1"})
    assert events(runs) == [None, None, None]
    last = runs[-1].verdicts[0]
    assert last.state == "up"
    assert last.quorum is not None and last.quorum.dissenting == ["eu-west-1"]
    assert monitor.latest is not None
    entry = monitor.latest.urls[URL]
    assert entry.regions is not None and entry.regions["eu-west-1"].state == "down"


def test_two_failing_regions_make_one_event_and_the_next_round_none() -> None:
    monitor = Regions()
    monitor.round(failing=set())
    # The second failing region's run is the one whose write changes the quorum's state
    assert events(monitor.round(failing={"us-east-1", "eu-west-1"})) == [None, "down", None]
    assert monitor.latest is not None
    entry = monitor.latest.urls[URL]
    assert entry.state == "down"
    assert entry.reason == "down in us-east-1, eu-west-1 (2 of 3 regions, quorum 2): connect: refused"
    assert events(monitor.round(failing={"us-east-1", "eu-west-1"})) == [None, None, None]
    # Recovery: one region up again leaves two down until the next; then one recovered event
    assert events(monitor.round(failing=set())) == ["recovered", None, None]


def test_debouncing_applies_per_region_before_the_quorum() -> None:
    monitor = Regions(rule=Rule(failures_before_down=2))
    monitor.round(failing=set())
    first = monitor.round(failing={"us-east-1", "eu-west-1"})
    # One failing run per region is only pending in each region: no region is down yet
    assert events(first) == [None, None, None]
    assert first[0].verdicts[0].pending == "failing: 1 of 2"
    assert events(monitor.round(failing={"us-east-1", "eu-west-1"})) == [None, "down", None]


def test_reminders_follow_the_quorum_state_once_per_interval() -> None:
    monitor = Regions(rule=Rule(remind_every_s=3600))
    monitor.round(failing=set())
    monitor.round(failing=set(REGIONS))
    reminders = []
    for _ in range(14):  # 14 rounds of 5 minutes: 70 minutes down
        reminders += [e for e in events(monitor.round(failing=set(REGIONS))) if e == "reminder"]
    assert reminders == ["reminder"]


def test_a_region_that_stops_is_reported_silent_once_and_back_once() -> None:
    monitor = Regions()
    monitor.round(failing=set())
    monitor.round(failing=set())
    # Given ap-southeast-2 stops running: after two periods the next run reports it silent, and only once
    told = []
    for _ in range(4):
        for region in REGIONS[:2]:
            told += [(s.region, s.event) for s in monitor.run(region, True, 150).silences]
    assert told == [("ap-southeast-2", "silent")]
    assert monitor.latest is not None
    # The two regions still running are a quorum: the target stays known and up
    assert monitor.latest.urls[URL].state == "up"
    # When it runs again it says so, once
    back = monitor.run("ap-southeast-2", True, 10)
    assert [(s.region, s.event) for s in back.silences] == [("ap-southeast-2", "resumed")]
    assert monitor.run("us-east-1", True, 10).silences == []


def test_too_few_fresh_regions_is_unknown_and_a_return_to_the_known_state_is_no_news() -> None:
    monitor = Regions()
    monitor.round(failing=set(REGIONS))
    down = monitor.round(failing=set(REGIONS))
    assert [v.verdicts[0].state for v in down] == ["down", "down", "down"]
    # Only us-east-1 runs for 20 minutes: the others go stale, the target is unknown, and no event is sent
    alone = [monitor.run("us-east-1", False, 300) for _ in range(4)]
    assert alone[-1].verdicts[0].state == "unknown" and events(alone) == [None] * 4
    assert alone[-1].verdicts[0].reason == "unknown: 1 of 3 regions fresh, quorum 2"
    # When the others run again and still see it down, that is no new down event, and it is down since it first was
    assert events(monitor.round(failing=set(REGIONS), spacing_s=10)) == [None, None, None]
    assert monitor.latest is not None and monitor.latest.urls[URL].state == "down"
    assert monitor.latest.urls[URL].since == down[1].verdicts[0].since


def test_regions_are_debounced_apart_even_when_runs_interleave_out_of_order() -> None:
    # Given a region's entry written by a newer run of that region (an overlapping invocation finished first)
    monitor = Regions()
    monitor.round(failing=set())
    assert monitor.latest is not None
    stored = monitor.latest.urls[URL].regions
    assert stored is not None
    checked = stored["eu-west-1"].checked_at
    # When an older run of eu-west-1 comes in late, it does not overwrite the newer entry
    monitor.clock -= timedelta(seconds=150)
    monitor.run("eu-west-1", False, 0)
    again = monitor.latest.urls[URL].regions
    assert again is not None and again["eu-west-1"].checked_at == checked and again["eu-west-1"].state == "up"
