"""When to try a URL again: transient failures only, after full-jitter backoff or the server's Retry-After, and only
while the URL's `timeout`, which all its attempts share, leaves room for another attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from fanfetch.models import FetchError, FetchOptions, UrlResult

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
BACKOFF_BASE = 0.2
BACKOFF_CAP = 10.0
# A retry with a sliver of the timeout left would only turn a 503 or a reset into a timeout.
MIN_SHARE_FOR_RETRY = 0.25


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit also takes "²" and other digits float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retryable(error: FetchError | None, status: int | None) -> bool:
    if error is None:
        return False
    if error.type == "http":
        return status in RETRY_STATUSES
    return error.type in ("connect", "timeout")


def retry_wait(result: UrlResult, options: FetchOptions, timeout_left: float, deadline_left: float) -> float | None:
    """Seconds before the next attempt, or None to stop: retries spent, not retryable, or no room left.

    A hang uses up the whole `timeout`, so it is never retried; quick failures (refused, reset, 429/5xx)
    and connect timeouts shorter than `timeout` are.
    """
    if result.attempts > options.retries or not retryable(result.error, result.status):
        return None
    backoff = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (result.attempts - 1)))
    if result.status in (429, 503):
        asked = retry_after(result.headers.get("retry-after"), datetime.now(UTC))
        if asked is not None:
            backoff = asked
    if timeout_left - backoff < options.timeout * MIN_SHARE_FOR_RETRY:
        return None
    # Only wait if a useful attempt can still start and finish before the deadline.
    if backoff + 0.05 >= deadline_left:
        return None
    return backoff
