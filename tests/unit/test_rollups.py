"""Day rollups: runs counted once, merged in any order, and uptime and latency across day boundaries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fanfetch.monitoring.rollups import Check, DayRollup, add_run, daily_uptime, merge, rollup_key, uptime

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _runs(start: datetime, outcomes: list[str], every: timedelta = timedelta(minutes=5)) -> dict[date, DayRollup]:
    rollups: dict[date, DayRollup] = {}
    for index, outcome in enumerate(outcomes):
        at = start + index * every
        rollups[at.date()] = add_run(rollups.get(at.date()), f"run-{index}", at, [Check("shop", outcome, 120.0)])
    return rollups


def test_add_run_counts_a_run_once_whatever_the_retries() -> None:
    rollup = add_run(None, "r1", NOON, [Check("shop", "down", 40.0), Check("api", "up", 8.0)])
    again = add_run(rollup, "r1", NOON, [Check("shop", "down", 40.0)])
    assert again == rollup
    assert rollup.targets["shop"].checks[12] == rollup.targets["shop"].down[12] == 1
    assert rollup.targets["api"].up[12] == 1
    assert rollup_key(rollup.day) == "history/2026/12/07.json"
    # a check inside a maintenance window is not counted at all
    assert add_run(rollup, "r2", NOON, [Check("shop", "maintenance", 5.0)]).targets["shop"] == rollup.targets["shop"]


def test_runs_added_in_either_order_and_merged_rollups_agree() -> None:
    a, b, c = ("a", [Check("shop", "up", 10.0)]), ("b", [Check("shop", "down", None)]), ("c", [Check("x", "up", 3.0)])
    one = add_run(add_run(add_run(None, *a[:1], NOON, a[1]), b[0], NOON, b[1]), c[0], NOON, c[1])
    other = add_run(add_run(add_run(None, c[0], NOON, c[1]), a[0], NOON, a[1]), b[0], NOON, b[1])
    assert one.targets == other.targets and sorted(one.runs) == sorted(other.runs)
    merged = merge(
        add_run(None, "a", NOON, a[1]), merge(add_run(None, "b", NOON, b[1]), add_run(None, "c", NOON, c[1]))
    )
    assert merged.targets == one.targets


def test_uptime_is_the_share_of_checks_not_down_over_every_window() -> None:
    # Given ten runs, three of them down
    rollups = _runs(NOON, ["up", "down", "up", "up", "down", "up", "up", "down", "up", "up"])
    # Then every window that holds them says 70%
    result = uptime("shop", rollups, NOON + timedelta(hours=1))
    assert result.windows == {"24h": 0.7, "7d": 0.7, "30d": 0.7, "90d": 0.7}
    assert result.p50_ms == result.p95_ms == 150.0  # 120 ms falls in the (100, 150] bucket
    assert uptime("nobody", rollups, NOON).windows == {"24h": None, "7d": None, "30d": None, "90d": None}


def test_the_24_hour_window_crosses_midnight_and_leaves_older_hours_out() -> None:
    # Given a bad hour two days ago and a run each hour from 22:00 yesterday to 02:00 today, one down at 23:00
    rollups = _runs(datetime(2026, 12, 5, 10, tzinfo=UTC), ["down"] * 12)
    late = _runs(datetime(2026, 12, 6, 22, tzinfo=UTC), ["up", "down", "up", "up", "up"], every=timedelta(hours=1))
    rollups.update(late)
    now = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    result = uptime("shop", rollups, now)
    # Then 24 hours hold the five recent runs only, and 7 days hold all seventeen
    assert result.windows["24h"] == pytest.approx(4 / 5)
    assert result.windows["7d"] == pytest.approx(4 / 17)
    cells = daily_uptime("shop", rollups, now.date(), days=3)
    assert cells == [(date(2026, 12, 5), 0.0), (date(2026, 12, 6), 0.5), (date(2026, 12, 7), 1.0)]


def test_a_rollup_that_cannot_be_read_starts_the_day_afresh() -> None:
    day = NOON.date()
    assert DayRollup.read({"day": "not a day"}, day) == DayRollup(day=day)
    assert DayRollup.read(add_run(None, "r", NOON - timedelta(days=1), []).dump(), day) == DayRollup(day=day)
    stored = add_run(None, "r", NOON, [Check("shop", "up", 1.0)])
    assert DayRollup.read(stored.dump(), day) == stored


def test_closed_days_fold_once_a_day_and_keep_89_days() -> None:
    from fanfetch.monitoring.rollups import CLOSED_DAYS, ClosedDays, History, fold

    # Given a rollup for each of the last 100 days, one down check of three on each
    first = NOON.date() - timedelta(days=100)
    days = {
        first + timedelta(days=n): add_run(None, f"r{n}", NOON - timedelta(days=100 - n), [Check("shop", "up", 1.0)])
        for n in range(100)
    }
    for day, rollup in days.items():
        at = datetime.combine(day, NOON.timetz())
        days[day] = add_run(
            add_run(rollup, "b", at, [Check("shop", "up", 1.0)]), "c", at, [Check("shop", "down", None)]
        )
    reads: list[date] = []

    def read_day(day: date) -> DayRollup | None:
        reads.append(day)
        return days.get(day)

    # When the summary is folded up to yesterday, and again
    yesterday = NOON.date() - timedelta(days=1)
    summary = fold(ClosedDays(), read_day, yesterday)
    assert fold(summary, read_day, yesterday) is summary
    assert len(reads) == CLOSED_DAYS  # each closed day read once, the older ones never
    # Then the next day reads only the day that closed
    reads.clear()
    moved = fold(summary, read_day, NOON.date())
    assert reads == [NOON.date()] and moved.through == NOON.date()
    # and a page's 90-day uptime comes from it: 2 of 3 checks up on every day
    history = History({}, moved)
    assert uptime("shop", history, NOON + timedelta(days=1)).windows["90d"] == pytest.approx(2 / 3)
    assert len(daily_uptime("shop", history, NOON.date() + timedelta(days=1))) == 90
    assert ClosedDays.read({"through": "no"}) == ClosedDays()
    # and it is stored compactly and read back as it was, from its bytes as from a list earlier versions wrote
    stored = moved.dump()
    assert isinstance(stored["targets"]["shop"], str)
    assert ClosedDays.read(json.dumps(stored).encode()) == moved
    as_list = {**stored, "targets": {"shop": list(moved.targets["shop"])}}
    assert ClosedDays.read(as_list) == moved


@pytest.mark.parametrize(
    "series",
    ["not base64!", "AAAA", [1, 2], [-1] * 178, [True] * 178, [2**40] * 178, {"a": 1}, None],
)
def test_a_closed_days_series_of_another_shape_starts_the_summary_afresh(series: object) -> None:
    from fanfetch.monitoring.rollups import ClosedDays

    # A summary is rebuilt from the rollups when it cannot be read: a series of the wrong length would put each
    # day's counts under another day
    assert ClosedDays.read({"through": "2026-12-06", "targets": {"shop": series}}) == ClosedDays()
