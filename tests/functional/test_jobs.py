"""Jobs end to end: POST /jobs, the real state machine in moto, the real handlers per chunk, merged results."""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fanfetch import jobs
from fanfetch.handler import lambda_handler
from fanfetch.models import FetchOptions
from fanfetch.settings import get_settings

from tests.conftest import FakeContext, ThreadedOrigin, load_event
from tests.functional.jobs_harness import BUCKET, JobWorld


def _api(method: str, path: str, payload: object | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event("api-post.json")
    event.update(rawPath=path, routeKey=f"{method} {path}", body=json.dumps(payload) if payload is not None else "")
    event["requestContext"]["http"].update(method=method, path=path)
    response = lambda_handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _run(world: JobWorld, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    status, accepted = _api("POST", "/jobs", payload)
    assert status == 202, accepted
    execution = jobs.execution_arn(world.state_machine_arn, accepted["job_id"])
    world.wait(execution)
    status, body = _api("GET", accepted["status_url"])
    assert status == 200, body
    return accepted, body


def test_job_merges_every_url_once_in_input_order_when_chunks_finish_in_any_order(
    job_world: JobWorld, threaded_origin: ThreadedOrigin
) -> None:
    # Given 45 URLs on one host, every 7th a 404, with a 20 s worst case per URL: one wave of 10 per chunk
    urls = [threaded_origin.url(f"/status/404?n={i}" if i % 7 == 3 else f"/bytes/{i}?n={i}") for i in range(45)]
    options = {"per_host": 10, "retries": 0, "timeout": 20}
    # When the job runs
    accepted, status = _run(job_world, {"urls": urls, "options": options})
    # Then results.jsonl has one line per URL in input order, and the summary counts them by failure type
    assert status["status"] == "SUCCEEDED"
    assert status["progress"]["chunks"]["total"] == 5
    assert status["progress"]["urls"] == {"total": 45, "done": 45, "failed": 6, "estimated": False}
    results = job_world.read_lines(f"jobs/{accepted['job_id']}/results.jsonl")
    assert [result["url"] for result in results] == urls
    assert [result["bytes"] for result in results if result["ok"]] == [i for i in range(45) if i % 7 != 3]
    summary = job_world.read_json(f"jobs/{accepted['job_id']}/summary.json")
    assert summary == status["summary"]
    assert (summary["urls"], summary["ok"], summary["failed"]) == (45, 39, 6)
    assert summary["failures"] == {"http": 6}
    assert summary["bytes"] == sum(i for i in range(45) if i % 7 != 3) + 6 * len("status 404")
    assert summary["chunks"] == {"total": 5, "succeeded": 5, "failed": 0, "not_run": 0}
    assert status["results"]["results"] == f"s3://{BUCKET}/jobs/{accepted['job_id']}/results.jsonl"


def test_job_reads_a_csv_source_from_s3(job_world: JobWorld, threaded_origin: ThreadedOrigin) -> None:
    rows = "\n".join(f"{i},{threaded_origin.url(f'/bytes/{i}')}" for i in range(1, 6))
    job_world.s3.put_object(Bucket=BUCKET, Key="uploads/list.csv", Body=f"id,url\n{rows}\n".encode())
    accepted, status = _run(job_world, {"source": f"s3://{BUCKET}/uploads/list.csv"})
    assert status["summary"]["ok"] == 5
    results = job_world.read_lines(f"jobs/{accepted['job_id']}/results.jsonl")
    assert [result["bytes"] for result in results] == [1, 2, 3, 4, 5]


def test_job_counts_a_refused_chunk_as_a_failed_child_named_invalid_request(
    job_world: JobWorld, threaded_origin: ThreadedOrigin
) -> None:
    # Given a job file written by hand whose second chunk the function refuses (a timeout of 0)
    settings = get_settings()
    chunks = [[threaded_origin.url(f"/bytes/{i}")] for i in range(3)]
    job_id = jobs.new_job_id(datetime.now(UTC))
    lines = list(jobs.chunk_lines(chunks, FetchOptions(retries=0), job_id))
    bad = json.loads(lines[1])
    bad["options"]["timeout"] = 0
    lines[1] = json.dumps(bad).encode() + b"\n"
    job_world.s3.put_object(Bucket=BUCKET, Key=jobs.job_keys(job_id)["input_key"], Body=b"".join(lines))
    document = jobs.execution_input(job_id, BUCKET, 3, 3, settings.JOB_CONCURRENCY, 5.0)
    # When the state machine runs it
    arn = job_world.sfn.start_execution(
        stateMachineArn=job_world.state_machine_arn, name=job_id, input=json.dumps(document)
    )["executionArn"]
    job_world.wait(arn)
    # Then the child failed with the named error, and its URL has a result that says so
    summary = job_world.read_json(f"jobs/{job_id}/summary.json")
    assert summary["chunk_failures"] == {"InvalidRequest": 1}
    assert summary["chunks"] == {"total": 3, "succeeded": 2, "failed": 1, "not_run": 0}
    results = job_world.read_lines(f"jobs/{job_id}/results.jsonl")
    assert [result["ok"] for result in results] == [True, False, True]
    assert results[1]["error"]["type"] == "chunk_failed"
    assert results[1]["error"]["message"].startswith("InvalidRequest: options.timeout")


def test_job_answers_404_when_the_id_names_no_job(job_world: JobWorld) -> None:
    status, body = _api("GET", "/jobs/20260101T000000Z-000000000000")
    assert status == 404
    assert body["error"]["type"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"urls": []}, 422, "urls"),
        ({"urls": ["https://example.com/"], "options": {"timeout": 0}}, 422, "options.timeout"),
        ({"urls": ["https://example.com/"], "source": "s3://bucket/key"}, 422, "body"),
        ({"source": "s3://fanfetch-results/uploads/missing.txt"}, 400, "source"),
        ({"source": "s3://someone-else/list.txt"}, 400, "source"),
        ({"source": "s3://fanfetch-results/uploads/not-utf8.txt"}, 400, "source"),
        ({"source": "s3://fanfetch-results/uploads/names.csv"}, 400, "source"),
    ],
)
def test_jobs_refuses_like_fetch_when_the_request_is_invalid(
    job_world: JobWorld, payload: dict[str, Any], status: int, field: str
) -> None:
    job_world.s3.put_object(Bucket=BUCKET, Key="uploads/not-utf8.txt", Body=b"https://caf\xe9.example/\n")
    job_world.s3.put_object(Bucket=BUCKET, Key="uploads/names.csv", Body=b"name,link\nA,https://a.example/\n")
    answered, body = _api("POST", "/jobs", payload)
    assert answered == status, body
    assert body["error"]["type"] == "invalid_request"
    assert body["error"]["details"][0]["field"].startswith(field) or field in body["error"]["message"]


def test_jobs_refuses_a_source_in_a_listed_bucket_that_does_not_exist(
    job_world: JobWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_SOURCE_BUCKETS", "no-such-bucket")
    get_settings.cache_clear()
    status, body = _api("POST", "/jobs", {"source": "s3://no-such-bucket/list.txt"})
    assert status == 400, body
    assert body["error"]["message"] == "source: no object at s3://no-such-bucket/list.txt"


@pytest.mark.parametrize("summary", [b"{not json", b"[]", b'{"urls": "many"}', b"\xff\xfe"])
def test_job_status_answers_without_a_summary_it_cannot_read(
    job_world: JobWorld, threaded_origin: ThreadedOrigin, summary: bytes
) -> None:
    # Given a finished job whose summary.json was overwritten
    accepted, _ = _run(job_world, {"urls": [threaded_origin.url("/bytes/1")]})
    job_world.s3.put_object(Bucket=BUCKET, Key=f"jobs/{accepted['job_id']}/summary.json", Body=summary)
    # When its status is asked for, then it answers, without the summary
    status, body = _api("GET", accepted["status_url"])
    assert status == 200, body
    assert body["status"] == "SUCCEEDED" and body.get("summary") is None


def test_jobs_not_enabled_names_the_variable_that_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTS_BUCKET", "fanfetch-results")
    monkeypatch.delenv("JOBS_STATE_MACHINE_ARN", raising=False)
    get_settings.cache_clear()
    status, body = _api("POST", "/jobs", {"urls": ["https://example.com/"]})
    get_settings.cache_clear()
    assert status == 404
    assert body["error"]["message"] == "jobs are not enabled here (JOBS_STATE_MACHINE_ARN is unset)"


def test_jobs_refuses_more_urls_than_the_job_limit(job_world: JobWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_MAX_URLS", "3")
    get_settings.cache_clear()
    status, body = _api("POST", "/jobs", {"urls": ["https://example.com/"] * 4})
    assert status == 400
    assert "JOB_MAX_URLS" in body["error"]["message"]


@pytest.mark.timeout(900)
def test_job_of_20000_urls_runs_end_to_end(
    job_world: JobWorld, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One loopback origin in one thread serves every chunk: a few chunks at a time (the map's MaxConcurrency)
    monkeypatch.setenv("JOB_CONCURRENCY", "2")
    get_settings.cache_clear()
    # Given 20,000 URLs, every 1,000th a 404, in chunks of 200 (retries off: a 5 s worst case per URL)
    urls = [
        threaded_origin.url(f"/status/404?n={i}" if i % 1000 == 999 else f"/bytes/{i % 97}?n={i}")
        for i in range(20_000)
    ]
    options = {"concurrency": 100, "per_host": 100, "retries": 0, "timeout": 10}
    # When the job runs
    accepted, status = _run(job_world, {"urls": urls, "options": options})
    # Then every URL has exactly one result, in input order, and the failures are classified
    assert status["status"] == "SUCCEEDED"
    assert status["progress"]["chunks"]["total"] == 67
    results = job_world.read_lines(f"jobs/{accepted['job_id']}/results.jsonl")
    assert [result["url"] for result in results] == urls
    failed = collections.Counter(result["error"]["type"] for result in results if not result["ok"])
    assert failed == {"http": 20}, failed
    summary = status["summary"]
    assert (summary["urls"], summary["ok"], summary["failed"]) == (20_000, 19_980, 20)
    assert summary["failures"] == {"http": 20}
    assert summary["bytes"] == sum(i % 97 for i in range(20_000) if i % 1000 != 999) + 20 * len("status 404")


def test_jobs_clamp_a_callers_max_concurrency_to_the_job_functions_reservation(
    job_world: JobWorld, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_CONCURRENCY", "3")
    get_settings.cache_clear()
    for asked, used in ((1000, 3), (2, 2), (None, 3)):
        payload: dict[str, Any] = {"urls": [threaded_origin.url("/bytes/1")]}
        if asked is not None:
            payload["max_concurrency"] = asked
        status, accepted = _api("POST", "/jobs", payload)
        assert status == 202, accepted
        arn = jobs.execution_arn(job_world.state_machine_arn, accepted["job_id"])
        started = json.loads(job_world.sfn.describe_execution(executionArn=arn)["input"])
        assert started["max_concurrency"] == used
        job_world.wait(arn)


def test_a_stopped_job_says_so_and_names_no_result_files(job_world: JobWorld, threaded_origin: ThreadedOrigin) -> None:
    # Given a job whose only URL hangs
    status, accepted = _api("POST", "/jobs", {"urls": [threaded_origin.url("/hang")], "options": {"timeout": 3}})
    arn = jobs.execution_arn(job_world.state_machine_arn, accepted["job_id"])
    # When it is stopped by hand while its map runs
    job_world.stop(arn, error="Stopped", cause="stopped by its owner")
    status, body = _api("GET", accepted["status_url"])
    # Then its status is ABORTED with the cause, and no result file is named
    assert status == 200
    assert body["status"] == "ABORTED"
    # (moto keeps no cause for a stopped execution; AWS's is put first, as the unit tests show)
    assert body["error"]["message"].endswith("the job was stopped before it finished, so no results were merged")
    assert "results" not in body and body["summary"] is None


def _cut_first_pass(world: JobWorld, chunks: int, first_pass_seconds: float, second_pass_seconds: float) -> None:
    """Give the job's own chunks (numbered below `chunks`) a short Lambda time, a second pass's chunks another."""
    world.children.seconds = lambda payload: (
        first_pass_seconds if payload["job"]["chunk"] < chunks else second_pass_seconds
    )


def test_a_job_fetches_again_the_urls_a_chunks_deadline_cut_short(
    job_world: JobWorld, threaded_origin: ThreadedOrigin
) -> None:
    # Given a job whose first pass runs out of Lambda time (3 s) before three slow URLs (1.5 s each) answer
    slow = {1, 4, 7}
    urls = [threaded_origin.url(f"/bytes/{i}?delay_ms={1500 if i in slow else 0}&n={i}") for i in range(9)]
    _cut_first_pass(job_world, chunks=1, first_pass_seconds=3.0, second_pass_seconds=60.0)
    # When the job runs
    accepted, status = _run(job_world, {"urls": urls, "options": {"retries": 0}})
    # Then the cut URLs were fetched again in a second pass, and none is reported as cut short
    assert status["status"] == "SUCCEEDED"
    results = job_world.read_lines(f"jobs/{accepted['job_id']}/results.jsonl")
    assert [result["url"] for result in results] == urls
    assert [result["bytes"] for result in results] == list(range(9))
    assert status["summary"]["retried"] == 3
    assert status["summary"]["failures"] == {}
    # and the parts of both passes are gone once merged
    parts = job_world.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"jobs/{accepted['job_id']}/parts/")
    assert "Contents" not in parts


def test_a_job_fetches_cut_urls_again_only_once(job_world: JobWorld, threaded_origin: ThreadedOrigin) -> None:
    # Given slow URLs that both passes cut short
    urls = [threaded_origin.url(f"/bytes/{i}?delay_ms={1500 if i % 2 else 0}&n={i}") for i in range(4)]
    _cut_first_pass(job_world, chunks=1, first_pass_seconds=3.0, second_pass_seconds=3.0)
    accepted, status = _run(job_world, {"urls": urls, "options": {"retries": 0}})
    # Then the job ends after the second pass, its cut URLs reported as such
    assert status["status"] == "SUCCEEDED"
    results = job_world.read_lines(f"jobs/{accepted['job_id']}/results.jsonl")
    assert [result["error"]["type"] if result["error"] else "ok" for result in results] == [
        "ok",
        "deadline",
        "ok",
        "deadline",
    ]
    assert status["summary"]["retried"] == 2
