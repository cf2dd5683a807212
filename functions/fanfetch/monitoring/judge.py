"""An observation's health: the one verdict the metrics, the stored state, the page and the alert all use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fanfetch.models import UrlResult
from fanfetch.monitoring.observation import Observation, observe
from fanfetch.monitoring.state import Health


@dataclass(frozen=True, slots=True)
class Verdict:
    """What was seen of one URL and the health the judge gave it."""

    seen: Observation
    health: Health


def health(seen: Observation) -> Health:
    """Up when the fetch succeeded (a status in `ok_status`, the body read, no error); down otherwise."""
    return "up" if seen.ok else "down"


def judge_all(results: Sequence[UrlResult]) -> list[Verdict]:
    """One verdict per result, in order: judged once per run, then shown by every sink."""
    verdicts = []
    for result in results:
        seen = observe(result)
        verdicts.append(Verdict(seen, health(seen)))
    return verdicts
