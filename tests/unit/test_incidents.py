"""Incidents open when a target goes down or degraded, close when it recovers, and stay bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fanfetch.monitoring.incidents import INCIDENTS_KEPT, IncidentsDocument, Seen, record

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _run(document: IncidentsDocument, minute: int, state: str, reason: str | None = None) -> IncidentsDocument:
    return record(document, [Seen("shop", state, reason)], START + timedelta(minutes=minute), f"run-{minute}")


def test_an_incident_opens_on_down_and_closes_with_its_duration_on_recovery() -> None:
    document = IncidentsDocument()
    document = _run(document, 0, "up")
    assert document.targets == {}
    document = _run(document, 5, "down", "status 500")
    document = _run(document, 10, "down", "status 503")
    (open_one,) = document.targets["shop"]
    assert (open_one.end, open_one.first_run, open_one.last_run) == (None, "run-5", "run-10")
    document = _run(document, 15, "up")
    (closed,) = document.targets["shop"]
    assert closed.start == "2026-12-07T12:05:00Z" and closed.end == "2026-12-07T12:15:00Z"
    assert closed.duration_s == 600 and closed.reason == "status 503"


def test_a_change_between_down_and_degraded_is_a_new_incident_and_maintenance_closes() -> None:
    document = _run(_run(IncidentsDocument(), 0, "degraded", "latency 900 ms > 800 ms"), 5, "down", "status 500")
    document = _run(document, 10, "maintenance")
    assert [(i.state, i.end is not None) for i in document.targets["shop"]] == [("degraded", True), ("down", True)]


def test_the_same_run_recorded_twice_changes_nothing() -> None:
    once = _run(_run(IncidentsDocument(), 0, "down", "x"), 5, "down", "y")
    assert _run(once, 5, "down", "y") == once


def test_incidents_are_kept_to_the_last_hundred_per_target() -> None:
    document = IncidentsDocument()
    for minute in range(0, 4 * (INCIDENTS_KEPT + 10), 2):
        document = _run(document, minute, "down" if minute % 4 == 0 else "up")
    assert len(document.targets["shop"]) == INCIDENTS_KEPT
    assert IncidentsDocument.read({"targets": {"shop": [{"start": 5}]}}) == IncidentsDocument()
