"""Monitoring as pure functions: compare a run with the previous latest.json, up/down state, alerts, stored keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

LATEST_KEY = "latest.json"
STATUS_PAGE_KEY = "status.html"
RUNS_PREFIX = "runs/"
SCHEMA_VERSION = 1
# Points of history kept per URL in latest.json, enough for the status page's sparklines.
HISTORY_POINTS = 48

Change = Literal["new", "unchanged", "changed"]
State = Literal["up", "down"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def run_key(started: datetime, request_id: str) -> str:
    """`runs/YYYY/MM/DD/HHMMSSZ-<request id>.json`: date-partitioned, sorted by time within a day."""
    moment = started.astimezone(UTC)
    safe_id = "".join(c for c in request_id if c.isalnum() or c in "-_") or "run"
    return f"{RUNS_PREFIX}{moment:%Y/%m/%d/%H%M%S}Z-{safe_id}.json"


def parse_targets(text: str) -> dict[str, Any]:
    """Targets kept in S3 as a request document: text lines, a JSON list of URLs, or a JSON request.

    Blank lines and lines starting with `#` are skipped in the text form.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"targets: not valid JSON ({exc})") from None
        if isinstance(data, list):
            return {"urls": data}
        if isinstance(data, dict):
            return data
    urls = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return {"urls": urls}


def _entry_point(result: Mapping[str, Any], at: str) -> dict[str, Any]:
    return {
        "at": at,
        "ok": bool(result.get("ok")),
        "status": result.get("status"),
        "bytes": result.get("bytes"),
        "ms": result.get("elapsed_ms"),
    }


def _tls_days(result: Mapping[str, Any]) -> float | None:
    tls = result.get("tls")
    days = tls.get("days_left") if isinstance(tls, Mapping) else None
    return float(days) if isinstance(days, int | float) else None


def _differences(previous: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """What changed since the previous check: status, ok, size (as a delta) and the body hash when both have one."""
    changes: dict[str, Any] = {}
    for name in ("status", "ok"):
        if previous.get(name) != result.get(name):
            changes[name] = {"from": previous.get(name), "to": result.get(name)}
    before, after = previous.get("bytes"), result.get("bytes")
    if isinstance(before, int) and isinstance(after, int) and before != after:
        changes["bytes"] = after - before
    elif (before is None) != (after is None):
        changes["bytes"] = {"from": before, "to": after}
    old_hash, new_hash = previous.get("sha256"), result.get("sha256")
    if old_hash and new_hash and old_hash != new_hash:
        changes["sha256"] = {"from": old_hash, "to": new_hash}
    return changes


@dataclass(slots=True)
class UrlVerdict:
    """One URL's comparison with its previous check."""

    url: str
    change: Change
    changes: dict[str, Any]
    state: State
    since: str
    seconds_in_state: float
    went_down: bool = False
    recovered: bool = False
    tls_days_left: float | None = None
    tls_warning: bool = False
    error: str | None = None


@dataclass(slots=True)
class RunComparison:
    """A run compared with the previous latest.json: verdicts per result and the next latest.json."""

    verdicts: list[UrlVerdict]
    latest: dict[str, Any]
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


def compare_run(
    results: list[Mapping[str, Any]],
    previous: Mapping[str, Any] | None,
    started: datetime,
    run: Mapping[str, Any],
    tls_warn_days: float,
) -> RunComparison:
    """Compare each result with its entry in the previous latest.json and build the next one.

    Entries of URLs this run did not check are kept. An entry written by a newer run (an overlapping
    invocation that finished first) is kept too: this run's verdict is still reported, but it does not
    overwrite fresher state.
    """
    now = iso(started)
    previous_urls: Mapping[str, Any] = (previous or {}).get("urls") or {}
    urls: dict[str, Any] = {url: dict(entry) for url, entry in previous_urls.items() if isinstance(entry, Mapping)}
    comparison = RunComparison(verdicts=[], latest={})
    for result in results:
        url = str(result.get("url"))
        before = previous_urls.get(url)
        before = before if isinstance(before, Mapping) else None
        state: State = "up" if result.get("ok") else "down"
        tls_days = _tls_days(result)
        error = result.get("error")
        verdict = UrlVerdict(
            url=url,
            change="new",
            changes={},
            state=state,
            since=now,
            seconds_in_state=0.0,
            tls_days_left=tls_days,
            error=str(error.get("message")) if isinstance(error, Mapping) else None,
        )
        already_warned = False
        if before is None:
            # A URL first seen down is news; one first seen up is not.
            verdict.went_down = state == "down"
        else:
            verdict.changes = _differences(before, result)
            verdict.change = "changed" if verdict.changes else "unchanged"
            if before.get("state") == state and isinstance(before.get("since"), str):
                verdict.since = before["since"]
                verdict.seconds_in_state = max(0.0, (started - parse_iso(verdict.since)).total_seconds())
            else:
                verdict.went_down = state == "down"
                verdict.recovered = state == "up"
            already_warned = bool(before.get("tls_warned"))
        warn = tls_days is not None and tls_days < tls_warn_days
        # Announced once when a certificate crosses the threshold, again only after it was renewed.
        verdict.tls_warning = warn and not already_warned
        comparison.verdicts.append(verdict)
        comparison.went_down += verdict.went_down
        comparison.recovered += verdict.recovered
        comparison.changed += verdict.change == "changed"
        if verdict.tls_warning:
            comparison.tls_expiring.append(verdict)

        newer = before is not None and isinstance(before.get("checked_at"), str) and before["checked_at"] > now
        if newer:
            continue
        history = list((before or {}).get("history") or [])[-(HISTORY_POINTS - 1) :]
        history.append(_entry_point(result, now))
        urls[url] = {
            "state": state,
            "since": verdict.since,
            "checked_at": now,
            "ok": bool(result.get("ok")),
            "status": result.get("status"),
            "bytes": result.get("bytes"),
            "sha256": result.get("sha256") or (before or {}).get("sha256"),
            "elapsed_ms": result.get("elapsed_ms"),
            "tls_days_left": tls_days,
            "tls_warned": warn,
            "error": verdict.error,
            "last_change": verdict.changes or (before or {}).get("last_change") or {},
            "history": history,
        }
    newest_run = (previous or {}).get("run")
    keep_previous_run = isinstance(newest_run, Mapping) and str(newest_run.get("at", "")) > now
    comparison.latest = {
        "schema": SCHEMA_VERSION,
        "updated_at": now,
        "run": dict(newest_run) if keep_previous_run and isinstance(newest_run, Mapping) else dict(run),
        "urls": urls,
    }
    return comparison


def annotate(payload: dict[str, Any], comparison: RunComparison) -> dict[str, Any]:
    """Each result gets its change and state; the summary counts went-down, recovered and changed."""
    for result, verdict in zip(payload["results"], comparison.verdicts, strict=True):
        result["change"] = verdict.change
        result["changes"] = verdict.changes
        result["state"] = verdict.state
        result["state_since"] = verdict.since
        result["state_seconds"] = round(verdict.seconds_in_state, 3)
    payload["summary"]["went_down"] = comparison.went_down
    payload["summary"]["recovered"] = comparison.recovered
    payload["summary"]["changed"] = comparison.changed
    return payload


def alert_message(comparison: RunComparison, run: Mapping[str, Any], tls_warn_days: float) -> tuple[str, str]:
    """The SNS subject and text of one run's alert: state changes first, then certificates near expiry."""
    down = [v for v in comparison.alerts if v.went_down]
    up = [v for v in comparison.alerts if v.recovered]
    parts = []
    if down:
        parts.append(f"{len(down)} down")
    if up:
        parts.append(f"{len(up)} recovered")
    if comparison.tls_expiring:
        parts.append(f"{len(comparison.tls_expiring)} certificate(s) expiring")
    # SNS subjects: ASCII, no line breaks, at most 100 characters.
    subject = f"fanfetch: {', '.join(parts)}"[:100]
    lines = [f"fanfetch run {run.get('request_id', '')} at {run.get('at', '')}", ""]
    if down:
        lines.append("DOWN")
        lines += [f"  {v.url} - {v.error or 'not ok'}" for v in down]
        lines.append("")
    if up:
        lines.append("RECOVERED")
        for verdict in up:
            lines.append(f"  {verdict.url}")
        lines.append("")
    if comparison.tls_expiring:
        lines.append(f"CERTIFICATES EXPIRING WITHIN {tls_warn_days:g} DAYS")
        lines += [f"  {v.url} - {v.tls_days_left:.1f} days left" for v in comparison.tls_expiring if v.tls_days_left]
        lines.append("")
    if run.get("key"):
        lines.append(f"Run document: {run['key']}")
    return subject, "\n".join(lines).rstrip() + "\n"


def run_document(payload: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of one run under runs/: who ran it, when, and the results as returned."""
    return {"schema": SCHEMA_VERSION, "run": dict(run), "summary": payload["summary"], "results": payload["results"]}
