"""jobs.py without AWS: URL lists, chunk sizing, status and the summary."""

from __future__ import annotations

import json

import pytest
from fanfetch.jobs import (
    CHUNK_INPUT_BYTES,
    JobRequest,
    JobSummary,
    chunk_lines,
    job_status,
    outcome_of,
    plan_chunks,
    results_for,
)
from fanfetch.models import FetchOptions, FetchRequest
from fanfetch.sources import InvalidRequest, read_url_list

from tests.conftest import load_event


@pytest.mark.parametrize(
    "text",
    [
        "https://a.test/\n\n# a comment\nhttps://b.test/\n",
        '["https://a.test/", {"url": "https://b.test/", "id": 2}]',
        "id,URL\n1,https://a.test/\n2,https://b.test/\n",
        "\ufeffurl\nhttps://a.test/\nhttps://b.test/\n",
    ],
)
def test_read_url_list_reads_lines_json_and_csv(text: str) -> None:
    assert read_url_list(text) == ["https://a.test/", "https://b.test/"]


def test_read_url_list_refuses_csv_without_a_url_column() -> None:
    with pytest.raises(InvalidRequest, match=r"source: reads as CSV with columns name, link, but none is named 'url'"):
        read_url_list("name,link\nA,https://a.test/\nB,https://b.test/\n")


def test_read_url_list_keeps_lines_whose_urls_hold_commas() -> None:
    text = "# hosts, in order\nhttps://a.test/?q=1,2\nhttps://b.test/\n"
    assert read_url_list(text) == ["https://a.test/?q=1,2", "https://b.test/"]


def test_read_url_list_names_the_item_when_json_holds_no_url() -> None:
    with pytest.raises(InvalidRequest, match=r"source\.1"):
        read_url_list('["https://a.test/", 5]')


def test_plan_chunks_keeps_each_chunk_inside_time_bytes_and_per_host_bounds() -> None:
    options = FetchOptions(concurrency=50, per_host=5, retries=0, timeout=10)
    urls = [f"https://host{i % 3}.test/{i}" for i in range(100)] + ["https://big.test/" + "x" * 50_000] * 8
    chunks = list(plan_chunks(urls, options, seconds=30))
    assert [url for chunk in chunks for url in chunk] == urls  # every URL once, in order
    for chunk in chunks:
        assert len(chunk) <= 50 * 3  # three waves of 10 s fit in 30 s
        assert max(chunk.count(url) for url in chunk) <= 15
        assert len(json.dumps({"urls": chunk})) < CHUNK_INPUT_BYTES


def test_chunk_lines_are_the_direct_invocation_request_marked_for_step_functions() -> None:
    (line,) = chunk_lines([["https://a.test/"]], FetchOptions(timeout=3))
    request = FetchRequest.model_validate(json.loads(line), strict=True)
    assert request.step_functions and request.options.timeout == 3
    assert json.loads(line)["options"] == {"timeout": 3}
    assert FetchRequest.model_validate(load_event("job-chunk.json"), strict=True).step_functions


def test_job_request_wants_urls_or_source_and_reads_the_sample_event() -> None:
    assert JobRequest.model_validate_json(load_event("api-jobs-post.json")["body"]).source
    with pytest.raises(ValueError, match="either urls or source"):
        JobRequest.model_validate({"options": {}})


def test_job_status_estimates_urls_from_chunks_while_the_map_runs() -> None:
    execution = {"status": "RUNNING", "input": {"urls": 1000, "chunks": 10, "bucket": "b"}}
    status = job_status("j", execution, {"succeeded": 3, "failed": 1, "running": 2}, None)
    assert status["progress"]["chunks"] == {"total": 10, "done": 4, "failed": 1, "running": 2, "pending": 4}
    assert status["progress"]["urls"] == {"total": 1000, "done": 400, "failed": 100, "estimated": True}
    assert "summary" not in status


def test_failed_and_missing_chunks_give_one_named_result_per_url() -> None:
    item = {"urls": ["https://a.test/", "https://b.test/"], "step_functions": True}
    record = {
        "Input": json.dumps(item),
        "Status": "FAILED",
        "Error": "InvalidRequest",
        "Cause": json.dumps({"errorType": "InvalidRequest", "errorMessage": "options.timeout: too small"}),
    }
    results, state, error = results_for(outcome_of(record), item)
    assert (state, error) == ("failed", "InvalidRequest")
    assert [r["error"]["message"] for r in results] == ["InvalidRequest: options.timeout: too small"] * 2
    missing, state, _ = results_for(None, item)
    assert state == "not_run" and {r["error"]["type"] for r in missing} == {"not_run"}
    summary = JobSummary("j")
    summary.add(results, "failed", error)
    summary.add(missing, "not_run")
    assert summary.as_dict()["failures"] == {"chunk_failed": 2, "not_run": 2}
    assert summary.as_dict()["chunks"] == {"total": 2, "succeeded": 0, "failed": 1, "not_run": 1}
