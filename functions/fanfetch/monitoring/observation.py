"""What a monitor run saw of one target, taken from the engine's UrlResult."""

from __future__ import annotations

from dataclasses import dataclass

from fanfetch.models import UrlResult


@dataclass(frozen=True, slots=True)
class Observation:
    url: str
    ok: bool
    status: int | None
    bytes: int | None
    sha256: str | None
    elapsed_ms: float
    # The answering attempt's own time, without earlier attempts and the waits between them; None without one.
    answer_ms: float | None
    tls_days_left: float | None
    error: str | None


def observe(result: UrlResult) -> Observation:
    return Observation(
        url=result.url,
        ok=result.ok,
        status=result.status,
        bytes=result.bytes,
        sha256=result.sha256,
        elapsed_ms=result.elapsed_ms,
        answer_ms=result.timings.total,
        tls_days_left=result.tls.days_left if result.tls is not None else None,
        error=result.error.message if result.error is not None else None,
    )
