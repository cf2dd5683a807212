"""Certificate expectations: fewer than min_tls_days left is degraded."""

from __future__ import annotations

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def check(min_tls_days: float, seen: Observation) -> Check:
    if seen.tls_days_left is None:
        if seen.url.lower().startswith("https://"):
            return failed("min_tls_days", "certificate: no certificate was seen", "degraded")
        return passed("min_tls_days")  # nothing to judge on plain http
    if seen.tls_days_left < min_tls_days:
        return failed("min_tls_days", f"certificate: {seen.tls_days_left:.1f} days left < {min_tls_days:g}", "degraded")
    return passed("min_tls_days")
