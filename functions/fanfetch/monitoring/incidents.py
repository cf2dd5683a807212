"""Incidents: each period a target spent down or degraded, opened and closed by the states of successive runs.

Append-only per target and bounded (the last INCIDENTS_KEPT): a run can only extend the open incident, close it,
or open one, so a run that merges again after a lost conditional write gives the same document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fanfetch.monitoring.state import StoredDocument, iso, parse_iso

INCIDENTS_KEY = "incidents.json"
INCIDENTS_KEPT = 100
BAD_STATES = ("down", "degraded")


class Incident(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: str  # down or degraded
    reason: str | None = None
    start: str
    end: str | None = None  # None while it lasts
    duration_s: float | None = None
    first_run: str | None = None
    last_run: str | None = None


class IncidentsDocument(StoredDocument):
    targets: dict[str, list[Incident]] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """A target's state in one run, as incidents count it."""

    name: str
    state: str
    reason: str | None


def _close(incident: Incident, at: datetime) -> Incident:
    duration = (at - parse_iso(incident.start)).total_seconds()
    return incident.model_copy(update={"end": iso(at), "duration_s": max(0.0, duration)})


def record(document: IncidentsDocument, seen: list[Seen], at: datetime, run: str | None) -> IncidentsDocument:
    """The incidents after a run that finished at `at`. A state other than down or degraded (up, maintenance)
    closes what is open, except unknown, which changes nothing; a run already recorded as an incident's last
    changes nothing."""
    targets = {name: list(incidents) for name, incidents in document.targets.items()}
    for target in seen:
        history = targets.setdefault(target.name, [])
        current = history[-1] if history and history[-1].end is None else None
        if current is not None and run is not None and current.last_run == run:
            continue  # this run is already in it
        if target.state == "unknown":
            continue  # too few probe regions to say: what is open stays open, nothing new opens
        if current is not None and current.state == target.state:
            history[-1] = current.model_copy(update={"last_run": run, "reason": target.reason or current.reason})
            continue
        if current is not None:
            history[-1] = _close(current, at)
        if target.state in BAD_STATES:
            history.append(
                Incident(state=target.state, reason=target.reason, start=iso(at), first_run=run, last_run=run)
            )
        del history[:-INCIDENTS_KEPT]
    return IncidentsDocument(targets={name: history for name, history in targets.items() if history})
