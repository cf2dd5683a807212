"""Hostile input never yields a 5xx or a stack trace: hypothesis on every event shape, schemathesis on `make serve`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import schemathesis
from fanfetch import service
from fanfetch.handler import lambda_handler
from fanfetch.models import FetchResponse, FetchSummary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeContext, ThreadedOrigin, load_event
from tools.serve import make_app

pytestmark = pytest.mark.fuzz

REAL_RUN_FETCH = service.run_fetch
SAMPLES = ["direct.json", "api-post.json", "api-get.json", "rest-post.json", "schedule.json", "batch.json"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
hostile_strings = st.sampled_from(
    [
        "",
        "\x00",
        "http://[::1",
        "http://0x7f.1/",
        "http://2130706433/",
        "javascript:alert(1)",
        "http://\u202etxt.exe/",
        "http://a" + "a" * 5000 + "/",
        "http://user:pass@169.254.169.254/",
        "%%%",
        "http://example.com:99999/",
        "http://ex ample.com/",
        "\ud800",
    ]
)


def _stub_fetch(request: Any, settings: Any, budget: float) -> FetchResponse:
    # Parsing is under test here, not fetching: nothing leaves the process.
    return FetchResponse(
        results=[], summary=FetchSummary(total=len(request.urls), ok=0, failed=0, bytes=0, elapsed_ms=0)
    )


@pytest.fixture(autouse=True)
def _no_fetching() -> Iterator[None]:
    with mock.patch("fanfetch.service.run_fetch", _stub_fetch):
        yield


def _assert_well_formed(response: Any) -> None:
    assert isinstance(response, dict)
    if "statusCode" in response:
        assert 200 <= response["statusCode"] < 500, response
        body = json.loads(response["body"])
        if response["statusCode"] >= 400:
            assert body["error"]["message"], body
    elif "error" in response:
        assert response["error"]["type"] == "invalid_request" and response["error"]["message"]
        assert "Traceback" not in json.dumps(response)
    else:
        assert "results" in response


def _mutate(event: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    target: Any = event
    for key in path[:-1]:
        if not isinstance(target, dict) or key not in target:
            return event
        target = target[key]
    if isinstance(target, dict):
        target[path[-1]] = value
    return event


@FUZZ
@given(event=json_values)
def test_handler_answers_well_formed_when_event_is_arbitrary_json(event: Any) -> None:
    _assert_well_formed(lambda_handler(event, FakeContext()))


@FUZZ
@given(
    name=st.sampled_from(SAMPLES),
    path=st.sampled_from(
        [
            ["urls"],
            ["options"],
            ["body"],
            ["isBase64Encoded"],
            ["rawQueryString"],
            ["headers"],
            ["requestContext"],
            ["requestContext", "http"],
            ["requestContext", "http", "method"],
            ["rawPath"],
            ["httpMethod"],
            ["multiValueQueryStringParameters"],
            ["queryStringParameters"],
            ["Items"],
            ["BatchInput"],
            ["version"],
            ["source"],
        ]
    ),
    value=json_values | hostile_strings,
)
def test_handler_answers_well_formed_when_a_sample_event_field_is_replaced(
    name: str, path: list[str], value: Any
) -> None:
    event = _mutate(load_event(name), path, value)
    _assert_well_formed(lambda_handler(event, FakeContext()))


@FUZZ
@given(
    body=json_values.map(json.dumps) | st.text(max_size=200) | hostile_strings,
    encode=st.booleans(),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
)
def test_api_answers_4xx_json_when_body_is_hostile(body: str, encode: bool, content_type: str) -> None:
    for name in ("api-post.json", "rest-post.json"):
        event = load_event(name)
        raw = body.encode("utf-8", "surrogatepass")
        event["body"] = base64.b64encode(raw).decode() if encode else body
        event["isBase64Encoded"] = encode
        event["headers"] = {"content-type": content_type} if content_type else {}
        _assert_well_formed(lambda_handler(event, FakeContext()))


@FUZZ
@given(urls=st.lists(hostile_strings | st.text(max_size=30), min_size=1, max_size=5))
def test_get_answers_well_formed_when_query_urls_are_hostile(urls: list[str]) -> None:
    from urllib.parse import urlencode

    event = load_event("api-get.json")
    event["rawQueryString"] = urlencode([("url", url.encode("utf-8", "surrogatepass")) for url in urls])
    _assert_well_formed(lambda_handler(event, FakeContext()))


# schemathesis against the schema the local API serves, through `make serve`'s app (with the real engine).


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    with mock.patch.dict("os.environ", {"POWERTOOLS_LOG_LEVEL": "ERROR"}), ThreadedOrigin(make_app()) as server:
        yield server.url("")


def _served_schema() -> dict[str, Any]:
    """The document GET /openapi answers with, produced by the same resolver the API uses."""
    with mock.patch("fanfetch.service.run_fetch", _stub_fetch):
        event = load_event("api-get.json")
        event.update(rawPath="/openapi", rawQueryString="", routeKey="GET /openapi")
        event.pop("queryStringParameters", None)
        event["requestContext"]["http"]["path"] = "/openapi"
        response = lambda_handler(event, FakeContext())
    document: dict[str, Any] = json.loads(response["body"])
    return document


schema = schemathesis.openapi.from_dict(_served_schema())


def test_local_api_serves_the_schema_that_is_fuzzed(local_api: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{local_api}/openapi", timeout=10) as response:
        assert json.loads(response.read()) == _served_schema()


def _real_fetch_with_short_budget(request: Any, settings: Any, budget: float) -> FetchResponse:
    """The real engine, with a budget short enough that a generated URL cannot stall the run."""
    return REAL_RUN_FETCH(request, settings, min(budget, 2.0))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_local_api_conforms_to_its_openapi_schema(case: Any, local_api: str) -> None:
    with mock.patch("fanfetch.service.run_fetch", _real_fetch_with_short_budget):
        response = case.call_and_validate(base_url=local_api)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
