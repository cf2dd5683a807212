"""Size expectations: the decoded body's bytes within min_bytes and max_bytes."""

from __future__ import annotations

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def check(min_bytes: int | None, max_bytes: int | None, seen: Observation) -> Check:
    size = seen.bytes
    if size is None:
        return failed("bytes", "size: unknown (the body was not read or not decoded)")
    if min_bytes is not None and size < min_bytes:
        return failed("bytes", f"size {size} bytes < min_bytes {min_bytes}")
    if max_bytes is not None and size > max_bytes:
        return failed("bytes", f"size {size} bytes > max_bytes {max_bytes}")
    return passed("bytes")
