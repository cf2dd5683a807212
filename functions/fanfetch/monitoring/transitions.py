"""A run's verdicts against the previous latest.json: what changed, up/down transitions and since when, the
once-only certificate warning, and the next latest.json."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fanfetch.monitoring.judge import Verdict
from fanfetch.monitoring.observation import Observation
from fanfetch.monitoring.state import (
    HISTORY_POINTS,
    SCHEMA_VERSION,
    Health,
    HistoryPoint,
    LatestDocument,
    RunInfo,
    UrlState,
    iso,
    parse_iso,
)

Change = Literal["new", "unchanged", "changed"]


@dataclass(slots=True)
class UrlVerdict:
    """One URL's health this run, compared with its previous check."""

    url: str
    change: Change
    changes: dict[str, Any]
    state: Health
    since: str
    seconds_in_state: float
    went_down: bool = False
    recovered: bool = False
    tls_days_left: float | None = None
    tls_warning: bool = False
    error: str | None = None


@dataclass(slots=True)
class RunComparison:
    """A run compared with the previous latest.json: a verdict per result and the next latest.json."""

    verdicts: list[UrlVerdict]
    latest: LatestDocument
    went_down: int = 0
    recovered: int = 0
    changed: int = 0
    tls_expiring: list[UrlVerdict] = field(default_factory=list)

    @property
    def alerts(self) -> list[UrlVerdict]:
        return [verdict for verdict in self.verdicts if verdict.went_down or verdict.recovered]

    @property
    def should_alert(self) -> bool:
        return bool(self.alerts or self.tls_expiring)


def differences(previous: UrlState, seen: Observation) -> dict[str, Any]:
    """What changed since the previous check: status, ok, size (as a delta) and the body hash when both have one."""
    changes: dict[str, Any] = {}
    if previous.status != seen.status:
        changes["status"] = {"from": previous.status, "to": seen.status}
    if previous.ok != seen.ok:
        changes["ok"] = {"from": previous.ok, "to": seen.ok}
    before, after = previous.bytes, seen.bytes
    if before is not None and after is not None and before != after:
        changes["bytes"] = after - before
    elif (before is None) != (after is None):
        changes["bytes"] = {"from": before, "to": after}
    if previous.sha256 and seen.sha256 and previous.sha256 != seen.sha256:
        changes["sha256"] = {"from": previous.sha256, "to": seen.sha256}
    return changes


def transition(
    before: UrlState | None, seen: Observation, health: Health, started: datetime, tls_warn_days: float
) -> UrlVerdict:
    """The verdict of one URL: new, unchanged or changed; whether it went down or recovered; the TLS warning."""
    verdict = UrlVerdict(
        url=seen.url,
        change="new",
        changes={},
        state=health,
        since=iso(started),
        seconds_in_state=0.0,
        tls_days_left=seen.tls_days_left,
        error=seen.error,
    )
    if before is None:
        # A URL first seen down is news; one first seen up is not.
        verdict.went_down = health == "down"
    else:
        verdict.changes = differences(before, seen)
        verdict.change = "changed" if verdict.changes else "unchanged"
        if before.state == health and before.since is not None:
            verdict.since = before.since
            verdict.seconds_in_state = max(0.0, (started - parse_iso(before.since)).total_seconds())
        else:
            verdict.went_down = health == "down"
            verdict.recovered = health == "up"
    # Announced once when a certificate crosses the threshold, again only after it was renewed.
    verdict.tls_warning = _under_threshold(seen, tls_warn_days) and not (before is not None and before.tls_warned)
    return verdict


def _under_threshold(seen: Observation, tls_warn_days: float) -> bool:
    return seen.tls_days_left is not None and seen.tls_days_left < tls_warn_days


def next_state(
    before: UrlState | None, seen: Observation, verdict: UrlVerdict, now: str, tls_warn_days: float
) -> UrlState:
    """The URL's entry in the next latest.json, its history one point longer and at most HISTORY_POINTS long."""
    history = list((before.history if before is not None else None) or [])[-(HISTORY_POINTS - 1) :]
    point: HistoryPoint = {"at": now, "ok": seen.ok, "status": seen.status, "bytes": seen.bytes, "ms": seen.elapsed_ms}
    history.append(point)
    return UrlState(
        state=verdict.state,
        since=verdict.since,
        checked_at=now,
        ok=seen.ok,
        status=seen.status,
        bytes=seen.bytes,
        sha256=seen.sha256 or (before.sha256 if before is not None else None),
        elapsed_ms=seen.elapsed_ms,
        tls_days_left=seen.tls_days_left,
        tls_warned=_under_threshold(seen, tls_warn_days),
        error=verdict.error,
        last_change=verdict.changes or (before.last_change if before is not None else None) or {},
        history=history,
    )


def compare_run(
    verdicts: Sequence[Verdict],
    previous: LatestDocument | None,
    started: datetime,
    run: RunInfo,
    tls_warn_days: float,
) -> RunComparison:
    """Compare each judged observation with its entry in the previous latest.json and build the next one.

    Entries of URLs this run did not check are kept. An entry written by a newer run (an overlapping
    invocation that finished first) is kept too: this run's verdict is still reported, but it does not
    overwrite fresher state.
    """
    now = iso(started)
    urls = dict(previous.urls) if previous is not None else {}
    comparison = RunComparison(verdicts=[], latest=LatestDocument())
    for judged in verdicts:
        seen = judged.seen
        before = urls.get(seen.url)
        verdict = transition(before, seen, judged.health, started, tls_warn_days)
        comparison.verdicts.append(verdict)
        comparison.went_down += verdict.went_down
        comparison.recovered += verdict.recovered
        comparison.changed += verdict.change == "changed"
        if verdict.tls_warning:
            comparison.tls_expiring.append(verdict)
        if before is not None and (before.checked_at or "") > now:
            continue  # written by a newer run
        urls[seen.url] = next_state(before, seen, verdict, now, tls_warn_days)
    newest_run = previous.run if previous is not None else None
    keep_previous_run = newest_run is not None and (newest_run.at or "") > now
    comparison.latest = LatestDocument(
        version=SCHEMA_VERSION,
        updated_at=now,
        run=newest_run if keep_previous_run else run,
        urls=urls,
    )
    return comparison
