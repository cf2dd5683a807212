"""What a monitor run saw of one target, taken from the engine's UrlResult."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

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
    # The target's name: its URL for a plain list.
    name: str = ""
    # Why the fetch itself failed (dns, connect, tls, timeout ...); None when an answer came, whatever its status.
    failure: str | None = None
    # Every response header (lower-case names) and the start of the decoded body, when the judge asked for them.
    headers: dict[str, str] = field(default_factory=dict)
    body: builtins.bytes | None = None
    body_complete: bool = False
    content_type: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.url


def observe(result: UrlResult, name: str = "") -> Observation:
    sample = result.sample
    failure = None
    if result.error is not None and result.error.type != "http":
        failure = f"{result.error.type}: {result.error.message}"
    headers = dict(sample.headers) if sample is not None else {k.lower(): v for k, v in result.headers.items()}
    if result.content_type is not None:
        headers.setdefault("content-type", result.content_type)
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
        name=name or result.url,
        failure=failure,
        headers=headers,
        body=bytes(sample.body) if sample is not None else None,
        body_complete=sample.complete if sample is not None else False,
        content_type=result.content_type,
    )
