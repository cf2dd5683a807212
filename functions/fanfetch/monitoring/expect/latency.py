"""Latency expectations: an answer slower than max_latency_ms is degraded, not down."""

from __future__ import annotations

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def check(max_latency_ms: float, seen: Observation) -> Check:
    # The answering attempt's own time when known, as the page's percentiles use: a retry is not slowness.
    took = seen.answer_ms if seen.answer_ms is not None else seen.elapsed_ms
    if took > max_latency_ms:
        return failed("max_latency_ms", f"latency {took:.0f} ms > {max_latency_ms:g} ms", "degraded")
    return passed("max_latency_ms")
