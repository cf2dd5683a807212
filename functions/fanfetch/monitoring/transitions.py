"""A run's verdicts against the previous latest.json: what changed, debounced transitions between up, degraded
and down and since when, reminders, the once-only certificate warning, and the next latest.json."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from fanfetch.monitoring.judge import Verdict
from fanfetch.monitoring.observation import Observation
from fanfetch.monitoring.quorum import QuorumVerdict, RegionVerdict, Silence, decide, fresh_window, is_fresh
from fanfetch.monitoring.state import (
    RECENT_RUNS,
    SCHEMA_VERSION,
    Health,
    LatestDocument,
    ProbeRecord,
    RunInfo,
    State,
    UrlState,
    iso,
    parse_iso,
)

Change = Literal["new", "unchanged", "changed"]
# Entries no run has checked for this long leave latest.json whatever run writes it (see compare_run).
STALE_ENTRY_DAYS = 7
Event = Literal["down", "degraded", "recovered", "reminder"]


@dataclass(frozen=True, slots=True)
class Rule:
    """How one target's verdicts become its state: runs in a row before a change, reminders, maintenance."""

    failures_before_down: int = 1
    successes_before_up: int = 1
    remind_every_s: float | None = None
    maintenance: str | None = None  # the window the target is in this run
    url: str | None = None
    group: str | None = None
    notify: tuple[str, ...] = ()


IMMEDIATE = Rule()


@dataclass(frozen=True, slots=True)
class Regional:
    """A monitor probed from several regions: this run's region, every probing region, how many must agree, and
    the schedule's period when it is known (else it is read from this region's own runs)."""

    region: str
    regions: tuple[str, ...]
    quorum: int
    period_s: float | None = None


@dataclass(slots=True)
class UrlVerdict:
    """One URL's health this run, compared with its previous check."""

    url: str
    change: Change
    changes: dict[str, Any]
    state: State
    since: str
    seconds_in_state: float
    tls_days_left: float | None = None
    tls_warning: bool = False
    error: str | None = None
    name: str = ""
    seen: Health = "up"
    previous: State | None = None
    reason: str = ""
    event: Event | None = None
    # For a recovery, how long the target was down; for a reminder, how long it has been down so far.
    duration_s: float | None = None
    pending: str | None = None
    failing: int = 0
    passing: int = 0
    reminded: bool = False
    maintenance: str | None = None
    notify: tuple[str, ...] = ()
    # Several probe regions: the quorum's verdict, with each region's part in it.
    quorum: QuorumVerdict | None = None

    @property
    def went_down(self) -> bool:
        return self.event == "down"

    @property
    def recovered(self) -> bool:
        return self.event == "recovered"

    @property
    def alerted(self) -> bool:
        """Whether this verdict is news for the channels: an event outside maintenance."""
        return self.event is not None and self.maintenance is None


@dataclass(slots=True)
class RunComparison:
    """A run compared with the previous latest.json: a verdict per result and the next latest.json."""

    verdicts: list[UrlVerdict]
    latest: LatestDocument
    went_down: int = 0
    recovered: int = 0
    changed: int = 0
    tls_expiring: list[UrlVerdict] = field(default_factory=list)
    # Whether the targets file's problem is new this run (set by the runner).
    config_news: bool = False
    # Several probe regions: regions that fell silent or came back this run.
    silences: list[Silence] = field(default_factory=list)

    @property
    def alerts(self) -> list[UrlVerdict]:
        return [verdict for verdict in self.verdicts if verdict.alerted]

    @property
    def should_alert(self) -> bool:
        return bool(self.alerts or self.tls_expiring)

    @property
    def down(self) -> int:
        """Targets down and not in maintenance: what UrlsDown counts."""
        return sum(v.state == "down" and v.maintenance is None for v in self.verdicts)

    @property
    def degraded(self) -> int:
        return sum(v.state == "degraded" and v.maintenance is None for v in self.verdicts)


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
    before: UrlState | None,
    seen: Observation,
    health: Health,
    started: datetime,
    tls_warn_days: float,
    rule: Rule = IMMEDIATE,
    reason: str = "",
) -> UrlVerdict:
    """The verdict of one target: new, unchanged or changed; its debounced state and the event it makes, if any;
    a reminder when it stays down; the TLS warning."""
    previous = before.state if before is not None else None
    verdict = UrlVerdict(
        url=seen.url,
        change="new",
        changes={},
        state=health,
        since=iso(started),
        seconds_in_state=0.0,
        tls_days_left=seen.tls_days_left,
        error=seen.error,
        name=seen.label,
        seen=health,
        previous=previous,
        reason=reason,
        maintenance=rule.maintenance,
        notify=rule.notify,
    )
    if before is not None:
        verdict.changes = differences(before, seen)
        verdict.change = "changed" if verdict.changes else "unchanged"
    failing = (before.failing or 0) if before is not None else 0
    passing = (before.passing or 0) if before is not None else 0
    failing, passing = (failing + 1, 0) if health == "down" else (0, passing + 1)
    verdict.failing, verdict.passing = failing, passing
    # A target never seen before counts as up until its failures say otherwise.
    confirmed: Health = previous if previous is not None and previous != "unknown" else "up"
    if health == "down":
        if confirmed != "down" and failing < rule.failures_before_down:
            verdict.state = confirmed
            verdict.pending = f"failing: {failing} of {rule.failures_before_down}"
        elif confirmed != "down":
            verdict.event = "down"
    elif confirmed == "down" and passing < rule.successes_before_up:
        verdict.state = "down"
        verdict.pending = f"recovering: {passing} of {rule.successes_before_up}"
    elif confirmed == "down" or (confirmed == "degraded" and health == "up"):
        verdict.event = "recovered"
    elif confirmed == "up" and health == "degraded":
        verdict.event = "degraded"
    down_since = before.since if before is not None and previous == "down" else None
    if previous == verdict.state and before is not None and before.since is not None:
        verdict.since = before.since
        verdict.seconds_in_state = max(0.0, (started - parse_iso(before.since)).total_seconds())
    if verdict.event == "recovered" and down_since is not None:
        verdict.duration_s = max(0.0, (started - parse_iso(down_since)).total_seconds())
    if verdict.state == "down" and verdict.event is None and before is not None and rule.remind_every_s:
        last = before.last_reminder or before.since
        if last is not None and (started - parse_iso(last)).total_seconds() >= rule.remind_every_s:
            verdict.event = "reminder"
            verdict.duration_s = verdict.seconds_in_state
    if verdict.state != "up" and not verdict.reason and before is not None and verdict.state == previous:
        verdict.reason = before.reason or ""
    # Announced once when a certificate crosses the threshold, again only after it was renewed.
    verdict.tls_warning = _under_threshold(seen, tls_warn_days) and not (before is not None and before.tls_warned)
    return verdict


def _under_threshold(seen: Observation, tls_warn_days: float) -> bool:
    return seen.tls_days_left is not None and seen.tls_days_left < tls_warn_days


def next_state(
    before: UrlState | None,
    seen: Observation,
    verdict: UrlVerdict,
    now: str,
    tls_warn_days: float,
    group: str | None = None,
    regions: dict[str, UrlState] | None = None,
    known: Health | None = None,
    known_since: str | None = None,
) -> UrlState:
    """The URL's entry in the next latest.json. With `regions` (several probe regions) the counters live in each
    region's entry, not in the target's."""
    last_reminder = before.last_reminder if before is not None and verdict.event != "down" else None
    if verdict.event == "reminder" and verdict.maintenance is None:
        last_reminder = now
    per_region: dict[str, Any] = (
        {"regions": regions, **({"known": known, "known_since": known_since} if known is not None else {})}
        if regions is not None
        else {"failing": verdict.failing, "passing": verdict.passing, "pending": verdict.pending}
    )
    return UrlState(
        **per_region,
        url=seen.url,
        group=group,
        reason=verdict.reason or None,
        seen=verdict.seen,
        last_reminder=last_reminder if verdict.state == "down" else None,
        maintenance=verdict.maintenance,
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
    )


def compare_run(
    verdicts: Sequence[Verdict],
    previous: LatestDocument | None,
    started: datetime,
    run: RunInfo,
    tls_warn_days: float,
    rules: Sequence[Rule] | None = None,
    regional: Regional | None = None,
) -> RunComparison:
    """Compare each judged observation with its entry in the previous latest.json and build the next one.

    `rules` go with the verdicts, one each; without them every verdict counts at once. Entries are keyed by the
    target's name (its URL for a plain list). A scheduled run checks the whole configuration, so the entries of
    targets it did not check (removed from it) leave latest.json. A direct or API run with `store: true` (a
    schedule's own Input arrives as one) checks what it was asked: it keeps the other entries, except those
    nobody checked for STALE_ENTRY_DAYS. An entry written by a newer run (an overlapping invocation that
    finished first) is kept: this run's verdict is still reported, but it does not overwrite fresher state, and
    a run older than the document's run removes nothing. With `regional`, each verdict is debounced as this
    region's and the target's state is the quorum's (see `regional_verdict`).
    """
    now = iso(started)
    urls = dict(previous.urls) if previous is not None else {}
    comparison = RunComparison(verdicts=[], latest=LatestDocument())
    probes: dict[str, ProbeRecord] | None = None
    fresh_for_s: float | None = None
    if regional is not None:
        probes, comparison.silences, fresh_for_s = _probe_runs(previous, regional, started)
    for index, judged in enumerate(verdicts):
        seen = judged.seen
        rule = rules[index] if rules is not None else IMMEDIATE
        before = urls.get(seen.label)
        if regional is not None:
            verdict, entry = regional_verdict(before, judged, started, tls_warn_days, rule, regional, fresh_for_s)
        else:
            verdict = transition(before, seen, judged.health, started, tls_warn_days, rule, judged.reason)
            entry = None
            if before is None or (before.checked_at or "") <= now:  # else written by a newer run
                entry = next_state(before, seen, verdict, now, tls_warn_days, rule.group)
        comparison.verdicts.append(verdict)
        comparison.went_down += verdict.went_down
        comparison.recovered += verdict.recovered
        comparison.changed += verdict.change == "changed"
        if verdict.tls_warning:
            comparison.tls_expiring.append(verdict)
        if entry is not None:
            urls[seen.label] = entry
    newest_run = previous.run if previous is not None else None
    keep_previous_run = newest_run is not None and (newest_run.at or "") > now
    if not keep_previous_run:
        checked = {judged.seen.label for judged in verdicts}
        if run.scheduled:
            urls = {name: entry for name, entry in urls.items() if name in checked}
        else:
            oldest = iso(started - timedelta(days=STALE_ENTRY_DAYS))
            urls = {n: e for n, e in urls.items() if n in checked or (e.checked_at or "") >= oldest}
    recent_runs = (previous.recent_runs if previous is not None else None) or []
    comparison.latest = LatestDocument(
        version=SCHEMA_VERSION,
        updated_at=now,
        run=newest_run if keep_previous_run else run,
        # A set: overlapping runs that started in the same second count once
        recent_runs=sorted({*recent_runs, now})[-RECENT_RUNS:],
        urls=urls,
    )
    if probes is not None:
        comparison.latest.probes = probes
    if previous is not None:
        # Carried over; the runner settles them after delivering.
        if previous.pending is not None:
            comparison.latest.pending = list(previous.pending)
        if previous.config_error is not None:
            comparison.latest.config_error = previous.config_error
    return comparison


def _probe_runs(
    previous: LatestDocument | None, regional: Regional, started: datetime
) -> tuple[dict[str, ProbeRecord], list[Silence], float | None]:
    """Each region's runs with this one counted, the regions that fell silent or came back (told once), and how
    long a verdict stays fresh: two periods of the schedule, or of this region's own last two runs."""
    now = iso(started)
    probes = {region: record.model_copy() for region, record in ((previous.probes if previous else None) or {}).items()}
    own = probes.get(regional.region) or ProbeRecord()
    period_s = regional.period_s
    if period_s is None and own.last_run is not None:
        period_s = max(0.0, (started - parse_iso(own.last_run)).total_seconds()) or None
    fresh_for_s = fresh_window(period_s)
    silences: list[Silence] = []
    if own.silent_since is not None:
        silences.append(Silence(regional.region, "resumed", own.last_run))
    if own.last_run is None or own.last_run <= now:
        own = ProbeRecord(last_run=now, previous_run=own.last_run)
    probes[regional.region] = own
    for region in regional.regions:
        if region == regional.region:
            continue
        record = probes.get(region) or ProbeRecord(expected_since=now)
        if record.silent_since is None and not is_fresh(record.last_run or record.expected_since, started, fresh_for_s):
            silences.append(Silence(region, "silent", record.last_run))
            record = record.model_copy(update={"silent_since": now})
        probes[region] = record
    return probes, silences, fresh_for_s


# What a region keeps of its own: its debounced state and counters, and its last check.
REGION_FIELDS = (
    "state", "since", "seen", "reason", "failing", "passing", "pending", "checked_at", "elapsed_ms", "ok", "status",
    "bytes", "sha256", "maintenance",
)  # fmt: skip


def _region_entry(state: UrlState) -> UrlState:
    return UrlState(**{name: getattr(state, name) for name in REGION_FIELDS if getattr(state, name) is not None})


def regional_verdict(
    before: UrlState | None,
    judged: Verdict,
    started: datetime,
    tls_warn_days: float,
    rule: Rule,
    regional: Regional,
    fresh_for_s: float | None,
) -> tuple[UrlVerdict, UrlState]:
    """One target seen from one of several regions: the verdict is debounced (expectations, runs in a row,
    maintenance) as this region's own, then the target's state is what a quorum of the fresh regions says.
    Events and reminders follow that state, so a region that disagrees alone makes no news. An unknown state
    (too few fresh regions) makes none either, and a return to the last known state is no change."""
    now = iso(started)
    seen = judged.seen
    own_before = (before.regions or {}).get(regional.region) if before is not None else None
    own_rule = replace(rule, remind_every_s=None)  # reminders follow the quorum's state
    own = transition(own_before, seen, judged.health, started, tls_warn_days, own_rule, judged.reason)
    regions = dict((before.regions or {}) if before is not None else {})
    if own_before is None or (own_before.checked_at or "") <= now:  # else a newer run of this region wrote it
        regions[regional.region] = _region_entry(next_state(own_before, seen, own, now, tls_warn_days))
    said = {
        region: RegionVerdict(region, entry.state, entry.checked_at, entry.reason or "", entry.elapsed_ms)
        for region, entry in regions.items()
        if entry.state is not None and entry.state != "unknown" and entry.checked_at is not None
    }
    decided = decide(said, regional.regions, regional.quorum, started, fresh_for_s)
    # While unknown, the entry keeps the state last known; the quorum is judged against that one
    known: Health | None = None
    known_since: str | None = None
    if before is not None:
        known = before.known if before.state == "unknown" else before.state
        known_since = before.known_since if before.state == "unknown" else before.since
    target_before = replace(before, state=known, since=known_since) if before is not None else None
    if decided.state == "unknown":
        verdict = transition(target_before, seen, known or "up", started, tls_warn_days, IMMEDIATE, "")
        verdict.state, verdict.event, verdict.duration_s = "unknown", None, None
        verdict.since = before.since if before is not None and before.state == "unknown" and before.since else now
        verdict.seconds_in_state = max(0.0, (started - parse_iso(verdict.since)).total_seconds())
        verdict.reason = decided.explain()
    else:
        cause = next((said[region].reason for region in decided.agreeing() if said[region].reason), "")
        reason = f"{decided.explain()}: {cause}" if cause else decided.explain()
        target_rule = Rule(remind_every_s=rule.remind_every_s, maintenance=rule.maintenance, notify=rule.notify)
        verdict = transition(target_before, seen, decided.state, started, tls_warn_days, target_rule, reason)
        known = known_since = None
    # What this region saw, as it saw it: its own changes, its raw health and any change still pending
    verdict.change, verdict.changes = own.change, own.changes
    verdict.seen, verdict.pending = own.seen, own.pending
    verdict.quorum = decided
    if decided.state == "up":
        verdict.error = None  # a region's failure the quorum outvoted is its own, shown with that region
    entry = next_state(
        target_before, seen, verdict, now, tls_warn_days, rule.group, regions, known=known, known_since=known_since
    )
    return verdict, entry
