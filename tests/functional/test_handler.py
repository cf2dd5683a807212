"""lambda_handler end to end for every event source in events/, against a loopback origin in a thread."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fanfetch.handler import lambda_handler

from tests.conftest import FakeContext, ThreadedOrigin, load_event
from tests.unit.conftest import BUCKET
from tests.unit.conftest import aws as aws  # a fixture

pytestmark = pytest.mark.usefixtures("open_loopback")


def _body(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {k: v[0] for k, v in response["multiValueHeaders"].items()}
    assert headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response["body"])
    return body


def _api_post(payload: object, **changes: Any) -> dict[str, Any]:
    event = load_event("api-post.json")
    event["body"] = payload if isinstance(payload, str) else json.dumps(payload)
    event.update(changes)
    return event


def test_handler_fetches_when_invoked_directly(threaded_origin: ThreadedOrigin) -> None:
    event = load_event("direct.json")
    event["urls"] = [threaded_origin.url("/bytes/10"), threaded_origin.url("/status/404")]
    response = lambda_handler(event, FakeContext())
    assert [r["bytes"] for r in response["results"]] == [10, len("status 404")]
    assert response["summary"] == {**response["summary"], "total": 2, "ok": 1, "failed": 1}
    assert response["results"][1]["error"]["type"] == "http"


def test_handler_fetches_when_event_is_a_schedule_with_input(threaded_origin: ThreadedOrigin) -> None:
    event = load_event("schedule-input.json")
    event["urls"] = [threaded_origin.url("/")]
    response = lambda_handler(event, FakeContext())
    assert response["summary"]["ok"] == 1


def test_handler_uses_monitor_urls_when_event_is_a_raw_schedule(
    threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fanfetch.settings import get_settings

    monkeypatch.setenv("MONITOR_URLS", f"{threaded_origin.url('/bytes/1')},\n{threaded_origin.url('/bytes/2')}")
    get_settings.cache_clear()
    response = lambda_handler(load_event("schedule.json"), FakeContext())
    assert [r["bytes"] for r in response["results"]] == [1, 2]


def test_handler_refuses_raw_schedule_when_monitor_urls_is_unset() -> None:
    response = lambda_handler(load_event("schedule.json"), FakeContext())
    assert response["error"]["type"] == "invalid_request"
    assert "MONITOR_URLS" in response["error"]["message"]


def test_handler_fetches_items_when_event_is_a_distributed_map_batch(threaded_origin: ThreadedOrigin) -> None:
    event = load_event("batch.json")
    event["Items"] = [threaded_origin.url("/bytes/3"), {"url": threaded_origin.url("/bytes/4"), "id": "row-2"}]
    response = lambda_handler(event, FakeContext())
    assert [r["bytes"] for r in response["results"]] == [3, 4]


def test_handler_answers_json_when_api_v2_post(threaded_origin: ThreadedOrigin) -> None:
    response = lambda_handler(_api_post({"urls": [threaded_origin.url("/bytes/5")]}), FakeContext())
    assert response["statusCode"] == 200
    assert _body(response)["results"][0]["bytes"] == 5


def test_handler_answers_when_caller_is_iam_authorized(threaded_origin: ThreadedOrigin) -> None:
    # The deployed API requires IAM: API Gateway adds the caller's identity to the request context.
    event = _api_post({"urls": [threaded_origin.url("/bytes/4")]})
    event["requestContext"]["authorizer"] = {
        "iam": {
            "accessKey": "AKIAIOSFODNN7EXAMPLE",
            "accountId": "111122223333",
            "callerId": "AIDACKCEVSQ6C2EXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:iam::111122223333:user/example-user",
            "userId": "AIDACKCEVSQ6C2EXAMPLE",
        }
    }
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert _body(response)["results"][0]["bytes"] == 4


def test_handler_decodes_base64_body_when_rest_v1_post(threaded_origin: ThreadedOrigin) -> None:
    event = load_event("rest-post.json")
    event["body"] = base64.b64encode(json.dumps({"urls": [threaded_origin.url("/bytes/6")]}).encode()).decode()
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert _body(response)["results"][0]["bytes"] == 6


def test_handler_reads_repeated_urls_when_api_v2_get(threaded_origin: ThreadedOrigin) -> None:
    # Given two URLs, one with a comma that HTTP API's joined queryStringParameters would split
    from urllib.parse import urlencode

    urls = [threaded_origin.url("/bytes/7"), threaded_origin.url("/bytes/8?x=1,2")]
    event = load_event("api-get.json")
    event["rawQueryString"] = urlencode([("url", urls[0]), ("url", urls[1]), ("timeout", "5")])
    event["queryStringParameters"] = {"url": ",".join(urls), "timeout": "5"}
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert [r["url"] for r in _body(response)["results"]] == urls


def test_handler_reads_multi_value_query_when_rest_v1_get(threaded_origin: ThreadedOrigin) -> None:
    event = load_event("rest-post.json")
    urls = [threaded_origin.url("/bytes/1"), threaded_origin.url("/bytes/2")]
    event.update(httpMethod="GET", body=None, isBase64Encoded=False)
    event["requestContext"]["httpMethod"] = "GET"
    event["queryStringParameters"] = {"url": urls[1]}
    event["multiValueQueryStringParameters"] = {"url": urls}
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert [r["bytes"] for r in _body(response)["results"]] == [1, 2]


@pytest.mark.parametrize(
    ("event_changes", "status", "names"),
    [
        ({"body": "{not json"}, 422, "body"),
        ({"body": json.dumps({"urls": []})}, 422, "urls"),
        ({"body": json.dumps({"urls": ["http://a/"], "options": {"timeout": -1}})}, 422, "options.timeout"),
        ({"body": json.dumps({"urls": ["http://a/"], "options": {"nope": 1}})}, 422, "options.nope"),
        ({"body": json.dumps({"urls": "http://a/"})}, 422, "urls"),
        ({"body": "", "isBase64Encoded": False}, 422, "body"),
        ({"body": "!!!not base64", "isBase64Encoded": True}, 400, "base64"),
        ({"body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True}, 400, "UTF-8"),
        ({"body": json.dumps({"urls": ["http://a/"] * 1001})}, 400, "MAX_URLS"),
    ],
)
def test_handler_answers_4xx_naming_the_problem_when_api_input_is_bad(
    event_changes: dict[str, Any], status: int, names: str
) -> None:
    event = _api_post({}, **event_changes)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == status
    error = _body(response)["error"]
    assert error["type"] == "invalid_request"
    assert names in error["message"]


def test_handler_answers_422_when_get_has_no_url() -> None:
    event = load_event("api-get.json")
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 422
    assert "url" in _body(response)["error"]["message"]


def test_handler_answers_404_json_when_route_is_unknown() -> None:
    event = _api_post({"urls": ["http://a/"]})
    event["rawPath"] = "/nope"
    event["requestContext"]["http"]["path"] = "/nope"
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 404
    assert _body(response)["error"]["type"] == "not_found"


def test_handler_returns_error_naming_fields_when_direct_input_is_bad() -> None:
    response = lambda_handler(load_event("invalid.json"), FakeContext())
    fields = {detail["field"] for detail in response["error"]["details"]}
    assert fields == {"urls", "options.concurrency", "options.colour"}


@pytest.mark.parametrize("event", [[1, 2], "urls", None, 7, {"hello": "world"}, {"Items": "x"}, {"Items": [3]}])
def test_handler_returns_error_when_event_shape_is_unknown(event: Any) -> None:
    response = lambda_handler(event, FakeContext())
    assert response["error"]["type"] == "invalid_request"


def test_handler_returns_partial_results_when_lambda_time_runs_out(threaded_origin: ThreadedOrigin) -> None:
    # Given 2.5 s left in the invocation and URLs of which some hang
    event = {
        "urls": [threaded_origin.url("/bytes/1"), threaded_origin.url("/hang"), threaded_origin.url("/bytes/2")],
        "options": {"timeout": 60},
    }
    started = time.monotonic()

    # When the handler runs
    response = lambda_handler(event, FakeContext(remaining_s=2.5))

    # Then it returns before Lambda's deadline with the finished results and the hung one marked
    assert time.monotonic() - started < 2.5
    assert [r["ok"] for r in response["results"]] == [True, False, True]
    assert response["results"][1]["error"]["type"] == "deadline"
    assert response["summary"]["deadline_hit"] is True


def test_handler_caps_api_budget_at_api_gateway_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from fanfetch.service import fetch_budget
    from fanfetch.settings import load_settings

    settings = load_settings({"API_TIMEOUT_SECONDS": "29", "DEADLINE_MARGIN_SECONDS": "0.5"})
    started = time.monotonic()
    assert fetch_budget(FakeContext(remaining_s=900), settings, started, behind_api=True) == pytest.approx(
        28.5, abs=0.1
    )
    assert fetch_budget(FakeContext(remaining_s=900), settings, started, behind_api=False) == pytest.approx(
        899.5, abs=0.1
    )
    assert fetch_budget(FakeContext(remaining_s=0.2), settings, started, behind_api=False) == 0.0


def test_handler_trims_detail_rather_than_lose_results_when_response_is_too_large(
    threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given long URLs that redirect, and a response limit they overflow
    from fanfetch import service

    long_tail = "x" * 1500
    urls = [threaded_origin.url(f"/redirect/2?{i}{long_tail}") for i in range(40)]
    monkeypatch.setattr(service, "RESPONSE_LIMIT_BYTES", 30_000)

    # When fetched
    response = lambda_handler({"urls": urls}, FakeContext())

    # Then every result is still there, marked trimmed, within the limit
    assert response["summary"]["trimmed"] is True
    assert response["summary"]["ok"] == 40 and len(response["results"]) == 40
    assert all(r["redirects"] == [] and r["headers"] == {} for r in response["results"])
    assert len(json.dumps(response)) <= 30_000


def test_fit_response_leaves_small_responses_untouched() -> None:
    from fanfetch.service import fit_response

    payload = {"results": [{"url": "http://a/", "redirects": [{"url": "http://b/", "status": 301}]}], "summary": {}}
    assert fit_response(payload, 10_000) == {
        "results": [{"url": "http://a/", "redirects": [{"url": "http://b/", "status": 301}]}],
        "summary": {},
    }


def test_handler_returns_every_result_within_the_deadline_option_when_urls_hang(
    threaded_origin: ThreadedOrigin,
) -> None:
    # Given hanging URLs among quick ones, a long timeout, plenty of Lambda time and a 2 s deadline
    urls = [threaded_origin.url("/hang") if i % 10 == 0 else threaded_origin.url(f"/bytes/{i}") for i in range(50)]
    event = {"urls": urls, "options": {"deadline": 2, "timeout": 60}}
    started = time.monotonic()

    # When the handler runs
    response = lambda_handler(event, FakeContext(remaining_s=300))

    # Then it answers within 2.5 s with one result per URL, the hung ones marked deadline
    assert time.monotonic() - started < 2.5
    results = response["results"]
    assert [r["url"] for r in results] == urls
    assert {r["error"]["type"] for i, r in enumerate(results) if i % 10 == 0} == {"deadline"}
    assert all(r["ok"] for i, r in enumerate(results) if i % 10)


def test_handler_applies_the_deadline_option_when_api_v2_get(threaded_origin: ThreadedOrigin) -> None:
    from urllib.parse import urlencode

    event = load_event("api-get.json")
    event["rawQueryString"] = urlencode([("url", threaded_origin.url("/hang")), ("deadline", "1"), ("timeout", "30")])
    started = time.monotonic()
    response = lambda_handler(event, FakeContext())
    assert time.monotonic() - started < 1.5
    assert response["statusCode"] == 200
    assert _body(response)["results"][0]["error"]["type"] == "deadline"


@pytest.mark.parametrize("value", ["0", "-1", "abc", "901", ""])
def test_handler_answers_422_naming_deadline_when_get_deadline_is_bad(value: str) -> None:
    from urllib.parse import urlencode

    event = load_event("api-get.json")
    event["rawQueryString"] = urlencode([("url", "https://example.com/"), ("deadline", value)])
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 422
    error = _body(response)["error"]
    assert error["type"] == "invalid_request"
    assert error["details"][0]["field"] == "options.deadline"


def test_handler_reads_repeated_list_options_when_api_v2_get(threaded_origin: ThreadedOrigin) -> None:
    from urllib.parse import urlencode

    event = load_event("api-get.json")
    query = [("url", threaded_origin.url("/status/404")), ("ok_status", "400"), ("ok_status", "404")]
    event["rawQueryString"] = urlencode(query)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert _body(response)["results"][0]["ok"] is True


def test_handler_answers_405_with_allow_when_method_is_wrong() -> None:
    event = _api_post({"urls": ["http://a/"]})
    event["requestContext"]["http"]["method"] = "DELETE"
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, POST"
    assert _body(response)["error"]["type"] == "method_not_allowed"


def test_handler_answers_405_when_a_named_stage_prefixes_the_path() -> None:
    event = _api_post({"urls": ["http://a/"]}, rawPath="/prod/fetch")
    event["requestContext"].update(stage="prod", http={**event["requestContext"]["http"], "method": "DELETE"})
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, POST"


@pytest.mark.parametrize("path", ["/fetch\n", "/fetch\r", "/fetch\x00", "/jobs\n"])
def test_handler_answers_404_when_the_path_holds_a_control_character(path: str) -> None:
    response = lambda_handler(_api_post({"urls": ["http://a/"]}, rawPath=path), FakeContext())
    assert response["statusCode"] == 404
    assert _body(response)["error"]["type"] == "not_found"


@pytest.mark.parametrize("sample", ["api-post.json", "rest-post.json"])
def test_handler_answers_400_when_the_body_is_nested_too_deeply_for_json(sample: str) -> None:
    event = load_event(sample)
    event.update(body="[" * 20_000 + "]" * 20_000, isBase64Encoded=False)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 400
    assert _body(response)["error"]["message"] == "body: not valid JSON (nested too deeply)"


def test_handler_ignores_step_functions_in_a_post_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a POST with more URLs than a job chunk may hold, each refused without a connection
    from fanfetch.settings import get_settings

    monkeypatch.setenv("MAX_URLS", "1000")
    get_settings.cache_clear()
    urls = [f"http://bad host/{n}" for n in range(600)]
    response = lambda_handler(_api_post({"urls": urls, "step_functions": True}), FakeContext())
    get_settings.cache_clear()
    # Then the API's limits apply, not a job chunk's
    assert response["statusCode"] == 200
    body = _body(response)
    assert body["summary"]["total"] == 600 and not body["summary"].get("trimmed")
    assert {r["error"]["type"] for r in body["results"]} == {"invalid_url"}


def test_handler_answers_400_naming_the_field_when_api_envelope_is_malformed() -> None:
    event = _api_post({"urls": ["http://a/"]})
    event["requestContext"]["http"]["method"] = 7
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 400
    assert "requestContext.http.method" in _body(response)["error"]["message"]


def test_openapi_documents_every_get_option_including_deadline() -> None:
    from fanfetch.api import openapi_document
    from fanfetch.models import FetchOptions

    parameters = {p["name"]: p for p in openapi_document()["paths"]["/fetch"]["get"]["parameters"]}
    assert set(parameters) == {"url"} | (set(FetchOptions.model_fields) - {"headers"})
    assert parameters["deadline"]["schema"]["anyOf"][0]["exclusiveMinimum"] == 0
    assert parameters["url"]["required"] is True


def test_handler_raises_invalid_request_when_a_step_functions_chunk_is_refused() -> None:
    # A job chunk must fail its child with a named error (Lambda's errorType is the class name)
    from fanfetch.sources import InvalidRequest

    event = {**load_event("job-chunk.json"), "options": {"timeout": 0}}
    with pytest.raises(InvalidRequest, match=r"options\.timeout"):
        lambda_handler(event, FakeContext())
    del event["step_functions"]
    assert lambda_handler(event, FakeContext())["error"]["type"] == "invalid_request"


def test_handler_writes_a_job_chunks_results_to_its_part_and_answers_with_counts(
    threaded_origin: ThreadedOrigin,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fanfetch.settings import get_settings

    # Given a job chunk of 600 URLs, more than a Step Functions state could carry as results
    monkeypatch.setenv("RESULTS_BUCKET", BUCKET)
    monkeypatch.setenv("MAX_URLS", "5000")
    get_settings.cache_clear()
    urls = [threaded_origin.url(f"/bytes/6?i={i}") for i in range(600)]
    event = {**load_event("job-chunk.json"), "urls": urls, "options": {"retries": 0}}
    # When the job function runs it
    answer = lambda_handler(event, FakeContext())
    # Then the results are in the chunk's part, in order, and the answer only counts them
    key = f"jobs/{event['job']['id']}/parts/00000000.jsonl"
    assert answer == {
        "part": f"s3://{BUCKET}/{key}",
        "total": 600,
        "ok": 600,
        "failed": 0,
        "bytes": 3600,
        "deadline_hit": False,
    }
    lines = aws.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    assert [json.loads(line)["url"] for line in lines] == urls
    get_settings.cache_clear()


def test_handler_still_fetches_within_a_short_deadline_when_the_run_is_stored(
    threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a results bucket (behind a dead loopback endpoint) whose worst-case reserve passes the deadline
    from fanfetch import store
    from fanfetch.settings import get_settings

    monkeypatch.setenv("RESULTS_BUCKET", "fanfetch-results")
    get_settings.cache_clear()
    store.reset_clients()
    event = {"urls": [threaded_origin.url("/bytes/3")], "options": {"deadline": 3, "store": True}}

    # When the run is asked to be stored
    response = lambda_handler(event, FakeContext())

    # Then the URL was still fetched (the sinks' reserve takes at most half of the budget); the sink's failure
    # is reported beside the results
    store.reset_clients()
    assert response["results"][0]["ok"] is True
    assert response["results"][0]["bytes"] == 3
    assert response["monitor"]["errors"]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback endpoint that accepts connections, reads, and never answers: an S3 that hangs."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def _timed_with_fresh_aws_clients(event: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """The handler's answer and the seconds it took, with settings and AWS clients read from the environment
    now and forgotten afterwards."""
    from fanfetch import store
    from fanfetch.settings import get_settings

    get_settings.cache_clear()
    store.reset_clients()
    before = time.monotonic()
    try:
        response = lambda_handler(event, FakeContext())
    finally:
        store.reset_clients()
        get_settings.cache_clear()
    return response, time.monotonic() - before


def test_handler_answers_by_its_deadline_when_the_results_bucket_hangs(
    threaded_origin: ThreadedOrigin, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a results bucket behind an endpoint that never answers, and sink calls allowed 3 s each

    monkeypatch.setenv("RESULTS_BUCKET", "fanfetch-results")
    monkeypatch.setenv("SINK_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    event = {"urls": [threaded_origin.url("/bytes/3")], "options": {"deadline": 3, "store": True}}

    # When a stored run is asked for within 3 s
    response, took = _timed_with_fresh_aws_clients(event)

    # Then it answers by its deadline (not after two tries of each sink call), with the result and the sink named
    assert took < 3.5
    assert response["results"][0]["bytes"] == 3
    (error,) = response["monitor"]["errors"]
    assert error.startswith("s3://fanfetch-results/latest.json:")


@pytest.mark.parametrize(("method", "path"), [("POST", "/jobs"), ("GET", "/jobs/20260101T000000Z-000000000000")])
def test_job_routes_answer_503_in_time_when_aws_hangs(
    method: str, path: str, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 and Step Functions behind an endpoint that never answers, and an API that allows 4 s

    monkeypatch.setenv("RESULTS_BUCKET", "fanfetch-results")
    monkeypatch.setenv("JOBS_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:jobs")
    monkeypatch.setenv("API_TIMEOUT_SECONDS", "4")
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    event = _api_post({"urls": ["https://example.com/"]} if method == "POST" else "", rawPath=path)
    event["requestContext"]["http"].update(method=method, path=path)

    # When a job route is called
    response, took = _timed_with_fresh_aws_clients(event)

    # Then it answers a JSON 503 before the API's limit, not after every call's timeouts
    assert took < 4.5
    assert response["statusCode"] == 503
    assert _body(response)["error"]["type"] == "unavailable"


@pytest.mark.parametrize("sample", ["api-post.json", "rest-post.json"])
def test_api_budget_counts_from_the_start_of_the_invocation(
    sample: str, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an API event, and the budget each route computes recorded
    from fanfetch import service

    seen: list[float] = []
    real_budget = service.fetch_budget

    def recording_budget(context: Any, settings: Any, started: float, behind_api: bool, deadline: Any = None) -> float:
        seen.append(started)
        return real_budget(context, settings, started, behind_api, deadline)

    monkeypatch.setattr(service, "fetch_budget", recording_budget)
    # and work before routing that takes a noticeable time
    from fanfetch import api

    real_envelope = api._envelope

    def slow_envelope(event: Any, source: Any) -> dict[str, Any]:
        time.sleep(0.3)
        return real_envelope(event, source)

    monkeypatch.setattr(api, "_envelope", slow_envelope)
    event = load_event(sample)
    body = json.dumps({"urls": [threaded_origin.url("/bytes/1")]})
    event["body"] = base64.b64encode(body.encode()).decode() if event.get("isBase64Encoded") else body
    before = time.monotonic()

    # When the handler answers it
    lambda_handler(event, FakeContext())

    # Then the route's budget counted from when the handler began (not from the route), for either payload version
    assert len(seen) == 1 and before <= seen[0] <= before + 0.2
