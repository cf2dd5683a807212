"""Debouncing, reminders and maintenance as pure functions of the previous state, the verdicts and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import judge, state, transitions
from fanfetch.monitoring.config import Maintenance
from fanfetch.monitoring.maintenance import active_window, parse_cron, window_active
from fanfetch.monitoring.state import LatestDocument, RunInfo
from fanfetch.monitoring.transitions import Rule

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
RULE = Rule(failures_before_down=2, successes_before_up=2, remind_every_s=3600)


def result(ok: bool) -> UrlResult:
    if ok:
        return UrlResult(url="https://a.test/", status=200, bytes=1, elapsed_ms=5.0)
    return UrlResult(url="https://a.test/", error=FetchError("connect", "refused"), elapsed_ms=5.0)


def runs(outcomes: str, rule: Rule = RULE, every: timedelta = timedelta(minutes=10)) -> list[transitions.UrlVerdict]:
    """One verdict per character: `+` a passing run, `-` a failing one, each `every` after the last."""
    latest: LatestDocument | None = None
    seen = []
    for index, outcome in enumerate(outcomes):
        at = T0 + index * every
        verdicts = judge.judge_all([result(outcome == "+")], names=["shop"])
        comparison = transitions.compare_run(verdicts, latest, at, RunInfo(at=state.iso(at)), 14, [rule])
        latest = comparison.latest
        seen.append(comparison.verdicts[0])
    return seen


def test_one_failing_run_is_pending_and_the_second_goes_down_with_one_event() -> None:
    first, second, third = runs("+--")[0], *runs("+--")[1:]
    assert (first.state, first.event) == ("up", None)
    assert (second.state, second.event, second.pending) == ("up", None, "failing: 1 of 2")
    assert (third.state, third.event, third.reason) == ("down", "down", "connect: refused")


def test_a_failure_between_passes_resets_the_count() -> None:
    assert [v.state for v in runs("+-+-+")] == ["up"] * 5
    assert [v.event for v in runs("+-+-+")] == [None] * 5


def test_recovery_waits_for_successes_in_a_row_and_says_how_long_it_was_down() -> None:
    verdicts = runs("+--++")
    assert (verdicts[3].state, verdicts[3].pending, verdicts[3].event) == ("down", "recovering: 1 of 2", None)
    assert (verdicts[4].state, verdicts[4].event, verdicts[4].previous) == ("up", "recovered", "down")
    assert verdicts[4].duration_s == 20 * 60  # down at 12:20, up again at 12:40


def test_a_target_that_stays_down_is_reminded_every_interval_with_how_long_so_far() -> None:
    verdicts = runs("--" + "-" * 13)  # down at 12:10, then every 10 minutes until 14:20
    reminders = [(index, v.duration_s) for index, v in enumerate(verdicts) if v.event == "reminder"]
    assert [v.event for v in verdicts].count("down") == 1
    assert reminders == [(7, 3600.0), (13, 7200.0)]


def test_without_remind_every_a_down_target_is_announced_once() -> None:
    verdicts = runs("-" * 20, Rule(failures_before_down=1))
    assert [v.event for v in verdicts] == ["down"] + [None] * 19


def test_degraded_is_announced_and_recovers_to_up() -> None:
    slow = Rule(failures_before_down=2)
    latest = None
    events = []
    for index, elapsed in enumerate([5.0, 900.0, 900.0, 5.0]):
        at = T0 + timedelta(minutes=index)
        observed = judge.judge(
            judge.observe(UrlResult(url="https://a.test/", status=200, bytes=1, elapsed_ms=elapsed), "shop"),
            judge.Expect(max_latency_ms=800),
        )
        comparison = transitions.compare_run([observed], latest, at, RunInfo(), 14, [slow])
        latest = comparison.latest
        events.append((comparison.verdicts[0].state, comparison.verdicts[0].event))
    assert events == [("up", None), ("degraded", "degraded"), ("degraded", None), ("up", "recovered")]
    assert latest is not None and latest.urls["shop"].reason is None


def test_a_target_in_maintenance_keeps_its_state_but_raises_no_alert() -> None:
    held = Rule(failures_before_down=1, maintenance="deploys")
    verdicts = judge.judge_all([result(False)], names=["shop"])
    comparison = transitions.compare_run(verdicts, None, T0, RunInfo(), 14, [held])
    verdict = comparison.verdicts[0]
    assert (verdict.state, verdict.event, verdict.maintenance) == ("down", "down", "deploys")
    assert comparison.alerts == [] and comparison.down == 0
    assert comparison.latest.urls["shop"].maintenance == "deploys"


def test_state_is_kept_under_the_target_name_with_its_counters() -> None:
    verdicts = runs("+-")
    assert verdicts[-1].failing == 1
    judged = judge.judge_all([result(False)], names=["shop"])
    latest = transitions.compare_run(judged, None, T0, RunInfo(), 14, [RULE]).latest
    entry = latest.urls["shop"]
    assert (entry.url, entry.failing, entry.passing, entry.pending, entry.seen) == (
        "https://a.test/",
        1,
        0,
        "failing: 1 of 2",
        "down",
    )


def window(**spec: object) -> Maintenance:
    return Maintenance.model_validate({"name": "w", **spec})


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        # Sunday 2 am Berlin is 01:00 UTC in winter (CET, +1) ...
        (datetime(2026, 1, 4, 0, 59, tzinfo=UTC), False),
        (datetime(2026, 1, 4, 1, 0, tzinfo=UTC), True),
        (datetime(2026, 1, 4, 2, 59, tzinfo=UTC), True),
        (datetime(2026, 1, 4, 3, 0, tzinfo=UTC), False),
        # ... and 00:00 UTC in summer (CEST, +2)
        (datetime(2026, 7, 5, 0, 0, tzinfo=UTC), True),
        (datetime(2026, 7, 5, 1, 59, tzinfo=UTC), True),
        (datetime(2026, 7, 5, 2, 0, tzinfo=UTC), False),
        # a Monday is not a Sunday
        (datetime(2026, 7, 6, 0, 30, tzinfo=UTC), False),
    ],
)
def test_a_cron_window_follows_its_time_zone_across_dst(moment: datetime, active: bool) -> None:
    deploys = window(cron="0 2 * * SUN", duration="2h", timezone="Europe/Berlin")
    assert window_active(deploys, moment) is active


def test_a_cron_time_the_spring_change_skips_does_not_occur_and_one_it_repeats_starts_twice() -> None:
    nightly = window(cron="30 2 * * *", duration="10m", timezone="Europe/Berlin")
    # 29 March 2026: clocks go from 02:00 to 03:00, so 02:30 never happens
    assert not any(
        window_active(nightly, datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=m)) for m in range(180)
    )
    # 25 October 2026: 02:30 happens at 00:30 and at 01:30 UTC
    assert window_active(nightly, datetime(2026, 10, 25, 0, 35, tzinfo=UTC))
    assert window_active(nightly, datetime(2026, 10, 25, 1, 35, tzinfo=UTC))
    assert not window_active(nightly, datetime(2026, 10, 25, 1, 5, tzinfo=UTC))


def test_a_one_off_window_is_half_open_and_targets_match_by_glob() -> None:
    migration = window(start="2026-12-24T22:00:00Z", end="2026-12-25T02:00:00+00:00", targets=["shop-*"])
    assert active_window([migration], "shop-home", datetime(2026, 12, 24, 22, 0, tzinfo=UTC)) == "w"
    assert active_window([migration], "blog", datetime(2026, 12, 24, 23, 0, tzinfo=UTC)) is None
    assert active_window([migration], "shop-home", datetime(2026, 12, 25, 2, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 2 * *", "needs 5 fields"),
        ("61 * * * *", "outside 0-59"),
        ("0 2 * * FUNDAY", "is not a number"),
        ("*/0 * * * *", "not a positive number"),
    ],
)
def test_a_bad_cron_is_refused_naming_the_problem(cron: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_cron(cron)


def test_cron_steps_lists_and_ranges() -> None:
    minute, hour, dom, month, dow, dom_set, dow_set = parse_cron("*/15 9-17 1,15 * MON-FRI")
    assert minute == {0, 15, 30, 45} and hour == set(range(9, 18)) and dom == {1, 15}
    assert month == set(range(1, 13)) and dow == {1, 2, 3, 4, 5} and dom_set and dow_set
    assert parse_cron("0 0 * * 7")[4] == {0}
