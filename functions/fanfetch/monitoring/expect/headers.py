"""Header expectations: each named header must be present and its value match a glob (* and ?), ignoring case."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from fanfetch.monitoring.expect import Check, failed, passed
from fanfetch.monitoring.observation import Observation


def check(spec: Mapping[str, str], seen: Observation) -> Check:
    for name, pattern in spec.items():
        value = seen.headers.get(name.lower())
        if value is None:
            return failed("headers", f"header {name}: missing")
        if not fnmatchcase(value.lower(), pattern.lower()):
            return failed("headers", f'header {name}: "{value}" does not match "{pattern}"')
    return passed("headers")
