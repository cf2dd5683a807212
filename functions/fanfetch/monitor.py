"""Monitoring as pure functions: compare a run with the previous latest.json, up/down state, alerts, stored keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fanfetch.errors import InvalidRequest
from fanfetch.sources import read_url_list

LATEST_KEY = "latest.json"
STATUS_PAGE_KEY = "status.html"
RUNS_PREFIX = "runs/"
SCHEMA_VERSION = 1
# Points of history kept per URL in latest.json, enough for the status page's sparklines.
HISTORY_POINTS = 48
# SNS takes messages of up to 256 KiB; an alert for a large outage lists what fits and counts the rest.
ALERT_MESSAGE_BYTES = 200_000
ALERT_LINE_CHARS = 400

Change = Literal["new", "unchanged", "changed"]
State = Literal["up", "down"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """A time as `iso` writes it; other ISO 8601 forms (fractions, offsets) are read too. ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# What an entry of latest.json may hold, field by field. latest.json is a file in a bucket: anyone with access to it,
# an older or newer version of fanfetch, or a hand edit may have written it, so a field that does not pass is dropped.
ENTRY_FIELDS: dict[str, Callable[[Any], bool]] = {
    "state": lambda v: v in ("up", "down"),
    "ok": lambda v: isinstance(v, bool),
    "status": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "bytes": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "sha256": lambda v: v is None or isinstance(v, str),
    "elapsed_ms": lambda v: v is None or _is_number(v),
    "tls_days_left": lambda v: v is None or _is_number(v),
    "tls_warned": lambda v: isinstance(v, bool),
    "error": lambda v: v is None or isinstance(v, str),
    "last_change": lambda v: isinstance(v, Mapping),
}


def _moment(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return iso(parse_iso(value))
    except ValueError:
        return None


def clean_entry(entry: object) -> dict[str, Any] | None:
    """A previous latest.json entry with only the fields that have the shape this module writes; None if unusable."""
    if not isinstance(entry, Mapping):
        return None
    clean = {name: entry[name] for name, fits in ENTRY_FIELDS.items() if name in entry and fits(entry[name])}
    for name in ("since", "checked_at"):
        moment = _moment(entry.get(name))
        if moment is not None:
            clean[name] = moment
    history = entry.get("history")
    if isinstance(history, list):
        clean["history"] = [
            {**point, "ok": bool(point.get("ok")), "ms": point.get("ms") if _is_number(point.get("ms")) else None}
            for point in history
            if isinstance(point, Mapping)
        ]
    return clean


def run_key(started: datetime, request_id: str) -> str:
    """`runs/YYYY/MM/DD/HHMMSSZ-<request id>.json`: date-partitioned, sorted by time within a day."""
    moment = started.astimezone(UTC)
    safe_id = "".join(c for c in request_id if c.isalnum() or c in "-_") or "run"
    return f"{RUNS_PREFIX}{moment:%Y/%m/%d/%H%M%S}Z-{safe_id}.json"


def parse_targets(text: str) -> dict[str, Any]:
    """Targets kept in S3 as a request document: a JSON request, or a URL list as a job's source may be (text
    lines, a JSON list of URLs or of objects with `url`, CSV with a `url` column). ValueError when unreadable."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"targets: not valid JSON ({exc})") from None
        if isinstance(data, dict):
            return data
    try:
        return {"urls": read_url_list(stripped, "targets")}
    except InvalidRequest as exc:
        raise ValueError(exc.message) from None


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
    listed = (previous or {}).get("urls")
    urls: dict[str, Any] = {}
    for url, entry in listed.items() if isinstance(listed, Mapping) else ():
        clean = clean_entry(entry)
        if clean is not None:
            urls[str(url)] = clean
    comparison = RunComparison(verdicts=[], latest={})
    for result in results:
        url = str(result.get("url"))
        before = urls.get(url)
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
            if before.get("state") == state and "since" in before:
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

        newer = before is not None and before.get("checked_at", "") > now
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
    header = [f"fanfetch run {run.get('request_id', '')} at {run.get('at', '')}", ""]
    footer = [f"Run document: {run['key']}"] if run.get("key") else []
    sections = [
        ("DOWN", [f"{v.url} - {v.error or 'not ok'}" for v in down]),
        ("RECOVERED", [v.url for v in up]),
        (
            f"CERTIFICATES EXPIRING WITHIN {tls_warn_days:g} DAYS",
            [f"{v.url} - {v.tls_days_left:.1f} days left" for v in comparison.tls_expiring if v.tls_days_left],
        ),
    ]
    budget = ALERT_MESSAGE_BYTES - sum(len(line.encode()) + 1 for line in header + footer)
    lines = list(header)
    for title, items in sections:
        if not items:
            continue
        lines.append(title)
        budget -= len(title) + 2
        for shown, item in enumerate(items):
            line = "  " + (item if len(item) <= ALERT_LINE_CHARS else item[:ALERT_LINE_CHARS] + "...")
            # Keep room for the line that counts what is left out.
            if len(line.encode()) + 1 > budget - 80:
                lines.append(f"  ... and {len(items) - shown} more (see the run document)")
                budget -= 80
                break
            lines.append(line)
            budget -= len(line.encode()) + 1
        lines.append("")
    lines += footer
    return subject, "\n".join(lines).rstrip() + "\n"


def run_document(payload: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of one run under runs/: who ran it, when, and the results as returned."""
    return {"schema": SCHEMA_VERSION, "run": dict(run), "summary": payload["summary"], "results": payload["results"]}
