"""Body expectations: a keyword present or absent, a regular expression; read from the bounded body sample."""

from __future__ import annotations

import re

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation

SHOWN_CHARS = 60


def text_of(seen: Observation) -> str | None:
    """The sample as text, in the charset the answer names (UTF-8 otherwise); None when no body was read."""
    if seen.body is None:
        return None
    charset = "utf-8"
    match = re.search(r"charset=\"?([A-Za-z0-9._-]+)", seen.content_type or "")
    if match:
        charset = match.group(1)
    try:
        return seen.body.decode(charset, errors="replace")
    except LookupError:
        return seen.body.decode("utf-8", errors="replace")


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _scope(seen: Observation) -> str:
    return "" if seen.body_complete else f" in the first {len(seen.body or b'')} bytes"


def check_contains(spec: str, seen: Observation) -> Check:
    text = text_of(seen)
    if text is None:
        return failed("body_contains", f'body_contains "{_shown(spec)}": no body was read')
    if spec in text:
        return passed("body_contains")
    return failed("body_contains", f'body_contains "{_shown(spec)}" not found{_scope(seen)}')


def check_not_contains(spec: str, seen: Observation) -> Check:
    text = text_of(seen)
    if text is None:
        return failed("body_not_contains", f'body_not_contains "{_shown(spec)}": no body was read')
    if spec not in text:
        return passed("body_not_contains")
    return failed("body_not_contains", f'body_not_contains "{_shown(spec)}" found')


def check_matches(spec: str, seen: Observation) -> Check:
    text = text_of(seen)
    if text is None:
        return failed("body_matches", f"body_matches /{_shown(spec)}/: no body was read")
    if re.search(spec, text):
        return passed("body_matches")
    return failed("body_matches", f"body_matches /{_shown(spec)}/ did not match{_scope(seen)}")
