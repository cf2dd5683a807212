"""An observation's health: the one verdict the metrics, the stored state, the page and the alert all use."""

from __future__ import annotations

from fanfetch.monitoring.observation import Observation
from fanfetch.monitoring.state import Health


def health(seen: Observation) -> Health:
    """Up when the fetch succeeded (a status in `ok_status`, the body read, no error); down otherwise."""
    return "up" if seen.ok else "down"
