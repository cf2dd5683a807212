"""An observation's health: the one verdict the metrics, the stored state, the page and the alert all use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fanfetch.models import UrlResult
from fanfetch.monitoring.config import Expect
from fanfetch.monitoring.expect import Check, body, headers, json_path, latency, size, status, tls
from fanfetch.monitoring.observation import Observation, observe
from fanfetch.monitoring.state import Health

DEFAULT_EXPECT = Expect()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What was seen of one target, the health the judge gave it, and why."""

    seen: Observation
    health: Health
    reason: str = ""
    checks: tuple[Check, ...] = field(default_factory=tuple)


def checks(expect: Expect, seen: Observation) -> list[Check]:
    """Every expectation the target has, in a fixed order: status, body, JSON, headers, size, latency, TLS."""
    found = [status.check(expect.statuses(), seen) if expect.status is not None else status.engine_check(seen)]
    if expect.body_contains is not None:
        found.append(body.check_contains(expect.body_contains, seen))
    if expect.body_not_contains is not None:
        found.append(body.check_not_contains(expect.body_not_contains, seen))
    if expect.body_matches is not None:
        found.append(body.check_matches(expect.body_matches, seen))
    if expect.json_ is not None:
        found.append(json_path.check(expect.json_, seen))
    if expect.headers is not None:
        found.append(headers.check(expect.headers, seen))
    if expect.min_bytes is not None or expect.max_bytes is not None:
        found.append(size.check(expect.min_bytes, expect.max_bytes, seen))
    if expect.max_latency_ms is not None:
        found.append(latency.check(expect.max_latency_ms, seen))
    if expect.min_tls_days is not None:
        found.append(tls.check(expect.min_tls_days, seen))
    return found


def judge(seen: Observation, expect: Expect = DEFAULT_EXPECT) -> Verdict:
    """Down when the fetch failed or a down-expectation failed; degraded when only latency or the certificate
    did; up otherwise. The reason names each failing expectation and what was seen."""
    if seen.failure is not None:
        return Verdict(seen, "down", seen.failure)
    if seen.error is not None and seen.status is None:
        return Verdict(seen, "down", seen.error)
    found = tuple(checks(expect, seen))
    failing = [check for check in found if not check.ok]
    reason = "; ".join(check.reason for check in failing)
    if any(check.severity == "down" for check in failing):
        return Verdict(seen, "down", reason, found)
    if failing:
        return Verdict(seen, "degraded", reason, found)
    return Verdict(seen, "up", "", found)


def judge_all(
    results: Sequence[UrlResult], expects: Sequence[Expect] | None = None, names: Sequence[str] | None = None
) -> list[Verdict]:
    """One verdict per result, in order: judged once per run, then shown by every sink."""
    verdicts = []
    for index, result in enumerate(results):
        seen = observe(result, names[index] if names is not None else "")
        verdicts.append(judge(seen, expects[index] if expects is not None else DEFAULT_EXPECT))
    return verdicts
