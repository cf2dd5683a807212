"""JSON expectations: each JMESPath expression must give the expected value in the body read as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jmespath

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.expect.body import text_of
from fanfetch.monitoring.observation import Observation

SHOWN_CHARS = 80


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _same(got: Any, expected: Any) -> bool:
    # JSON's true is not 1: equal values of different JSON types do not pass.
    return bool(got == expected) and isinstance(got, bool) == isinstance(expected, bool)


def check(spec: Mapping[str, Any], seen: Observation) -> Check:
    text = text_of(seen)
    if text is None:
        return failed("json", "json: no body was read")
    if not seen.body_complete:
        return failed("json", f"json: the body is larger than the {len(seen.body or b'')} bytes read")
    try:
        document = json.loads(text)
    except ValueError as exc:
        return failed("json", f"json: the body is not JSON ({exc.args[0] if exc.args else exc})")
    for expression, expected in spec.items():
        got = jmespath.search(expression, document)
        if not _same(got, expected):
            return failed("json", f"json {expression}: expected {_shown(expected)}, got {_shown(got)}")
    return passed("json")
