"""The jobs package without AWS: URL lists, chunk sizing, status and the summary."""

from __future__ import annotations

import json

import pytest
from fanfetch.jobs.lists import JobRequest, validate_job
from fanfetch.jobs.merge import JobSummary, outcome_of, results_without_part
from fanfetch.jobs.plan import CHUNK_INPUT_BYTES, chunk_lines, part_key, plan_chunks
from fanfetch.jobs.progress import job_status
from fanfetch.models import FetchOptions, FetchRequest
from fanfetch.settings import Settings
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
    chunks = list(plan_chunks(urls, options, seconds=30, max_urls=5000))
    assert [url for chunk in chunks for url in chunk] == urls  # every URL once, in order
    for chunk in chunks:
        assert len(chunk) <= 50 * 3  # three waves of 10 s fit in 30 s
        assert max(chunk.count(url) for url in chunk) <= 15
        assert len(json.dumps({"urls": chunk})) < CHUNK_INPUT_BYTES


def test_plan_chunks_fills_a_chunk_up_to_the_waves_that_fit_and_no_further() -> None:
    # Given the job defaults: timeout 10, concurrency 100, per_host 10, and 60 hosts
    options = FetchOptions()
    urls = [f"https://host{i % 60}.test/{i}" for i in range(20_000)]
    # When 180 s are planned for: 18 waves of 100 slots, 180 per host
    chunks = list(plan_chunks(urls, options, seconds=180, max_urls=5000))
    # Then every chunk holds 1,800 URLs, and the worst case (every URL taking its whole timeout) fits
    assert [len(chunk) for chunk in chunks] == [1800] * 11 + [200]
    assert all(len(chunk) / options.concurrency * options.timeout <= 180 for chunk in chunks)
    assert len(next(plan_chunks(urls, options, seconds=180, max_urls=1000))) == 1000


def test_chunk_lines_are_the_direct_invocation_request_numbered_for_their_parts() -> None:
    lines = list(chunk_lines([["https://a.test/"], ["https://b.test/"]], FetchOptions(timeout=3), "job-1"))
    requests = [FetchRequest.model_validate(json.loads(line), strict=True) for line in lines]
    assert all(request.step_functions and request.options.timeout == 3 for request in requests)
    assert [request.job.chunk for request in requests if request.job] == [0, 1]
    assert json.loads(lines[1])["options"] == {"timeout": 3}
    assert part_key("job-1", 1) == "jobs/job-1/parts/00000001.jsonl"
    sample = FetchRequest.model_validate(load_event("job-chunk.json"), strict=True)
    assert sample.step_functions and sample.job is not None


def test_job_request_wants_urls_or_source_and_reads_the_sample_event() -> None:
    assert JobRequest.model_validate_json(load_event("api-jobs-post.json")["body"]).source
    with pytest.raises(ValueError, match="either urls or source"):
        JobRequest.model_validate({"options": {}})


@pytest.mark.parametrize("option", [{"deadline": 5}, {"store": True}, {"store": False}])
def test_validate_job_refuses_options_that_mean_nothing_for_a_job(option: dict[str, object]) -> None:
    request = JobRequest.model_validate({"urls": ["https://a.test/"], "options": option})
    (name,) = option
    with pytest.raises(InvalidRequest, match=rf"options\.{name}: not for jobs"):
        validate_job(["https://a.test/"], request, Settings())


def test_job_status_estimates_urls_from_chunks_while_the_map_runs() -> None:
    execution = {"status": "RUNNING", "input": {"urls": 1000, "chunks": 10, "bucket": "b"}}
    status = job_status("j", execution, {"succeeded": 3, "failed": 1, "running": 2}, None)
    assert status["progress"]["chunks"] == {"total": 10, "done": 4, "failed": 1, "running": 2, "pending": 4}
    assert status["progress"]["urls"] == {"total": 1000, "done": 400, "failed": 100, "estimated": True}
    assert "summary" not in status and "error" not in status


@pytest.mark.parametrize(
    ("state", "error", "cause", "message"),
    [
        ("ABORTED", None, None, "the job was stopped before it finished, so no results were merged"),
        ("TIMED_OUT", None, None, "the job ran out of time before it finished, so no results were merged"),
        ("FAILED", "States.Runtime", "bad path", "bad path; the job failed, so no results were merged"),
    ],
)
def test_job_status_of_a_job_that_did_not_succeed_names_why_and_no_missing_files(
    state: str, error: str | None, cause: str | None, message: str
) -> None:
    execution = {"status": state, "input": {"urls": 10, "chunks": 1, "bucket": "b"}, "error": error, "cause": cause}
    status = job_status("j", execution, None, None)
    assert status["error"] == {"type": error or state, "message": message}
    assert status["summary"] is None and "results" not in status


def test_job_status_of_a_failed_job_with_a_summary_names_its_files() -> None:
    execution = {"status": "FAILED", "input": {"urls": 2, "chunks": 1, "bucket": "b"}, "error": "JobFailed"}
    status = job_status("j", execution, None, {"urls": 2, "failed": 2})
    assert status["error"]["type"] == "JobFailed"
    assert status["results"]["results"] == "s3://b/jobs/j/results.jsonl"


def test_failed_and_missing_chunks_give_one_named_result_per_url() -> None:
    urls = ["https://a.test/", "https://b.test/"]
    record = {
        "Input": json.dumps({"urls": urls, "step_functions": True, "job": {"id": "j", "chunk": 0}}),
        "Status": "FAILED",
        "Error": "InvalidRequest",
        "Cause": json.dumps({"errorType": "InvalidRequest", "errorMessage": "options.timeout: too small"}),
    }
    results, state, error = results_without_part(urls, outcome_of(record))
    assert (state, error) == ("failed", "InvalidRequest")
    assert [r["error"]["message"] for r in results] == ["InvalidRequest: options.timeout: too small"] * 2
    pending, state, _ = results_without_part(urls, outcome_of({"Input": record["Input"], "Status": "PENDING"}))
    assert state == "not_run" and {r["error"]["type"] for r in pending} == {"not_run"}
    missing, state, _ = results_without_part(urls, None)
    assert state == "not_run"
    summary = JobSummary("j")
    summary.add(results, "failed", error)
    summary.add(missing, "not_run")
    assert summary.as_dict()["failures"] == {"chunk_failed": 2, "not_run": 2}
    assert summary.as_dict()["chunks"] == {"total": 2, "succeeded": 0, "failed": 1, "not_run": 1}
