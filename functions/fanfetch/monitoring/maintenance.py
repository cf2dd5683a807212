"""Maintenance windows: (windows, target, now) -> the window a target is in, if any; cron read in the window's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from fanfetch.monitoring.config import Maintenance

_NAMES = {
    3: {
        m: i
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
        )
    },
    4: {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
# Longest recurring window looked back over, in minutes: a window is found by its start within its duration.
MAX_WINDOW_MINUTES = 31 * 24 * 60


def _value(text: str, field: int) -> int:
    names = _NAMES.get(field, {})
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _field(text: str, field: int) -> frozenset[int]:
    low_bound, high_bound = _BOUNDS[field]
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"step {step_text!r} is not a positive number")
        if spec == "*":
            low, high = low_bound, high_bound
        elif "-" in spec:
            first, _, last = spec.partition("-")
            low, high = _value(first, field), _value(last, field)
        else:
            low = high = _value(spec, field)
            if step:
                high = high_bound
        if not (low_bound <= low <= high <= high_bound):
            raise ValueError(f"{part!r} is outside {low_bound}-{high_bound}")
        values.update(range(low, high + 1, step or 1))
    if field == 4 and 7 in values:
        values = (values - {7}) | {0}  # 7 is Sunday too
    return frozenset(values)


Cron = tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int], frozenset[int], bool, bool]


def parse_cron(text: str) -> Cron:
    """Five fields: minute hour day-of-month month day-of-week (names like SUN and JAN allowed). ValueError."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"cron {text!r} needs 5 fields (minute hour day-of-month month day-of-week)")
    try:
        minute, hour, dom, month, dow = (_field(part, index) for index, part in enumerate(fields))
    except ValueError as exc:
        raise ValueError(f"cron {text!r}: {exc}") from None
    return minute, hour, dom, month, dow, fields[2] != "*", fields[4] != "*"


def cron_matches(cron: Cron, local: datetime) -> bool:
    minute, hour, dom, month, dow, dom_set, dow_set = cron
    if local.minute not in minute or local.hour not in hour or local.month not in month:
        return False
    day_ok, weekday_ok = local.day in dom, (local.isoweekday() % 7) in dow
    # As cron does: with both day fields restricted, either one may match.
    return (day_ok or weekday_ok) if dom_set and dow_set else (day_ok and weekday_ok)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_active(window: Maintenance, now: datetime) -> bool:
    """Whether `now` is inside the window. A recurring window starts at each minute its cron names on the wall
    clock of its time zone (a time a DST change skips does not occur; one it repeats starts twice)."""
    if window.start is not None and window.end is not None:
        return parse_moment(window.start) <= now < parse_moment(window.end)
    if window.cron is None or window.duration is None:
        return False
    from fanfetch.monitoring.config import seconds_of

    cron = parse_cron(window.cron)
    zone = ZoneInfo(window.timezone)
    minutes = min(int(seconds_of(window.duration) // 60), MAX_WINDOW_MINUTES)
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    return any(cron_matches(cron, (start - timedelta(minutes=back)).astimezone(zone)) for back in range(minutes))


def applies(window: Maintenance, name: str) -> bool:
    return window.targets is None or any(fnmatchcase(name, pattern) for pattern in window.targets)


def active_window(windows: Sequence[Maintenance], name: str, now: datetime) -> str | None:
    """The name of the first window that holds the target `name` at `now`, or None."""
    for window in windows:
        if applies(window, name) and window_active(window, now):
            return window.name
    return None
