"""Options and results as models: headers fanfetch owns are refused, `ok` is derived and still serialized."""

from __future__ import annotations

import re

import pytest
from fanfetch.models import (
    RESERVED_HEADERS_PATTERN,
    FetchError,
    FetchOptions,
    FetchResponse,
    FetchSummary,
    UrlResult,
    dump_response,
)
from pydantic import TypeAdapter, ValidationError


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("User-Agent", "use the user_agent option"),
        ("user-agent", "use the user_agent option"),
        ("Accept-Encoding", "asks only for what it decodes"),
        ("ACCEPT-ENCODING", "asks only for what it decodes"),
        ("Host", "cannot be overridden"),
    ],
)
def test_options_refuse_headers_when_fanfetch_sets_them(name: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        FetchOptions(headers={name: "br"})
    assert re.match(RESERVED_HEADERS_PATTERN, name)  # the JSON schema refuses them too


def test_options_accept_headers_when_fanfetch_does_not_set_them() -> None:
    assert FetchOptions(headers={"Accept": "text/html", "X-Probe": "1"}).headers["Accept"] == "text/html"
    assert not re.match(RESERVED_HEADERS_PATTERN, "Accept")


@pytest.mark.parametrize(
    ("result", "ok"),
    [
        (UrlResult(url="u", status=200, bytes=10), True),
        (UrlResult(url="u", status=200), True),  # HEAD: no body to read
        (UrlResult(url="u", status=500, error=FetchError("http", "status 500 is outside 200-399")), False),
        (UrlResult(url="u", status=200, error=FetchError("protocol", "body cut short")), False),
        (UrlResult(url="u", error=FetchError("dns", "cannot resolve")), False),
        (UrlResult(url="u"), False),  # never attempted
    ],
)
def test_ok_is_derived_from_status_and_error(result: UrlResult, ok: bool) -> None:
    assert result.ok is ok
    response = FetchResponse(results=[result], summary=FetchSummary(1, int(ok), 1 - int(ok), 0, 0.0))
    assert dump_response(response)["results"][0]["ok"] is ok


def test_ok_is_in_the_response_schema_when_serialized() -> None:
    schema = TypeAdapter(FetchResponse).json_schema(mode="serialization")
    url_result = schema["$defs"]["UrlResult"]
    assert url_result["properties"]["ok"]["type"] == "boolean"
    assert "ok" in url_result["required"]
    assert "internal" in schema["$defs"]["FetchError"]["properties"]["type"]["enum"]
