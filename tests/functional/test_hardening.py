"""Inputs that used to pass validation and fail later: control characters, big chunks, job sources, AWS down."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fanfetch.errors import InvalidRequest
from fanfetch.handler import lambda_handler
from fanfetch.settings import get_settings

from tests.conftest import FakeContext, load_event


def _api_post(path: str, payload: object) -> dict[str, Any]:
    event = load_event("api-post.json")
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["routeKey"] = f"POST {path}"
    event["body"] = json.dumps(payload)
    return event


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"user_agent": "a\r\nX-Injected: yes"}, "options.user_agent"),
        ({"user_agent": "a\x00b"}, "options.user_agent"),
        ({"headers": {"X-A": "a\x0bb"}}, "options.headers.X-A"),
        ({"headers": {"X-A": "a\x7fb"}}, "options.headers.X-A"),
    ],
)
def test_control_characters_are_refused_naming_the_option(options: dict[str, Any], field: str) -> None:
    response = lambda_handler({"urls": ["https://example.com/"], "options": options}, FakeContext())
    assert response["error"]["type"] == "invalid_request"
    assert [detail["field"] for detail in response["error"]["details"]] == [field]


def test_a_tab_in_a_header_value_is_allowed() -> None:
    from fanfetch.models import FetchOptions

    assert FetchOptions(headers={"X-A": "a\tb"}).headers == {"X-A": "a\tb"}


def test_step_functions_request_larger_than_a_state_can_carry_fails_by_name() -> None:
    event = {"urls": ["https://example.com/"] * 501, "step_functions": True}
    with pytest.raises(InvalidRequest, match="256 KiB"):
        lambda_handler(event, FakeContext())


@pytest.fixture
def jobs_configured(monkeypatch: pytest.MonkeyPatch) -> Any:
    from fanfetch import store

    monkeypatch.setenv("RESULTS_BUCKET", "fanfetch-results")
    monkeypatch.setenv("JOBS_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:fanout")
    get_settings.cache_clear()
    store.reset_clients()
    yield
    store.reset_clients()
    get_settings.cache_clear()


@pytest.mark.usefixtures("jobs_configured")
def test_job_source_in_the_results_bucket_must_be_an_upload() -> None:
    event = _api_post("/jobs", {"source": "s3://fanfetch-results/jobs/x/input.jsonl"})
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 400
    assert "uploads/" in json.loads(response["body"])["error"]["message"]


@pytest.mark.usefixtures("jobs_configured")
@pytest.mark.parametrize(
    "event",
    [
        _api_post("/jobs", {"urls": ["https://example.com/"]}),
        _api_post("/jobs", {"source": "s3://fanfetch-results/uploads/list.txt"}),
    ],
)
def test_job_routes_answer_json_503_when_aws_is_unreachable(event: dict[str, Any]) -> None:
    # Given S3 and Step Functions behind a dead loopback endpoint (the test environment's AWS_ENDPOINT_URL)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"]["type"] == "unavailable"


@pytest.mark.usefixtures("jobs_configured")
def test_job_status_answers_json_503_when_aws_is_unreachable() -> None:
    event = load_event("api-get.json")
    path = "/jobs/20261126T224045Z-40ded695e3f1"
    event.update(rawPath=path, rawQueryString="", routeKey="GET /jobs/{id}")
    event.pop("queryStringParameters", None)
    event["requestContext"]["http"]["path"] = path
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"]["type"] == "unavailable"
