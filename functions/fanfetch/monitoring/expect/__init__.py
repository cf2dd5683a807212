"""Expectations: one small module per kind, each check(spec, observation) -> Check(ok, reason, severity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["down", "degraded"]


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation's verdict: whether it held, and what was seen when it did not."""

    kind: str
    ok: bool
    reason: str = ""
    severity: Severity = "down"


def passed(kind: str) -> Check:
    return Check(kind, True)


def failed(kind: str, reason: str, severity: Severity = "down") -> Check:
    return Check(kind, False, reason, severity)
