"""Status expectations: a list of codes or an inclusive range; 200-399 when a target says nothing."""

from __future__ import annotations

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def describe(accepted: tuple[int, int] | list[int]) -> str:
    if isinstance(accepted, tuple):
        low, high = accepted
        return f"{low}-{high}" if low != high else str(low)
    return ", ".join(str(code) for code in accepted)


def check(accepted: tuple[int, int] | list[int], seen: Observation) -> Check:
    status = seen.status
    if status is None:
        return failed("status", "status: no answer")
    inside = accepted[0] <= status <= accepted[1] if isinstance(accepted, tuple) else status in accepted
    if inside:
        return passed("status")
    return failed("status", f"status {status}, expected {describe(accepted)}")


def engine_check(seen: Observation) -> Check:
    """Without a `status` expectation the fetch's own `ok_status` decides (200-399 unless the options say)."""
    if seen.status is None:
        return failed("status", "status: no answer")
    if seen.error is not None:
        return failed("status", seen.error)
    return passed("status")
