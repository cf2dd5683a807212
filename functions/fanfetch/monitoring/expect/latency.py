"""Latency expectations: an answer slower than max_latency_ms is degraded, not down."""

from __future__ import annotations

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def check(max_latency_ms: float, seen: Observation) -> Check:
    if seen.elapsed_ms > max_latency_ms:
        return failed("max_latency_ms", f"latency {seen.elapsed_ms:.0f} ms > {max_latency_ms:g} ms", "degraded")
    return passed("max_latency_ms")
