"""The fanfetch client against the local API (tools/serve.py, as `make serve`) with jobs in moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fanfetch_client.cli import main
from rich.console import Console

from tests.conftest import ThreadedOrigin
from tests.functional.jobs_harness import BUCKET, JobWorld
from tools.serve import make_app

STACK_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"FetchApiUrl": {"Value": "{api}/fetch"}, "ResultsBucketName": {"Value": BUCKET}},
}


@pytest.fixture
def local_api(job_world: JobWorld) -> ThreadedOrigin:
    import boto3

    with ThreadedOrigin(make_app()) as api:
        template = json.dumps(STACK_TEMPLATE).replace("{api}", f"http://127.0.0.1:{api.port}")
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="fanfetch", TemplateBody=template
        )
        yield api


def _run(*argv: str) -> tuple[int, str]:
    console = Console(record=True, width=200, force_terminal=False)
    code = main(list(argv), console=console)
    return code, console.export_text()


def test_client_prints_a_table_when_fetching_urls(local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin) -> None:
    code, text = _run("fetch", threaded_origin.url("/bytes/7"), threaded_origin.url("/status/404"))
    assert code == 1  # one URL failed
    assert "404" in text and "http" in text
    assert "1 ok, 1 failed" in text


def test_client_prints_json_when_asked(
    local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin, tmp_path: Path
) -> None:
    listed = tmp_path / "urls.txt"
    listed.write_text(f"{threaded_origin.url('/bytes/3')}\n")
    code, text = _run("fetch", "--file", str(listed), "--json")
    assert code == 0
    assert json.loads(text)["results"][0]["bytes"] == 3


def test_client_submits_a_job_waits_and_shows_the_summary(
    local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin, tmp_path: Path
) -> None:
    # Given a CSV list, which the client uploads to the stack's bucket and the API reads from there
    listed = tmp_path / "urls.csv"
    listed.write_text("url\n" + "".join(f"{threaded_origin.url(f'/bytes/{i}')}\n" for i in range(12)))
    code, text = _run("job", "submit", str(listed), "--wait", "--interval", "0.2")
    assert code == 0, text
    assert "SUCCEEDED" in text
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    code, status_text = _run("job", "status", job_id)
    assert code == 0
    assert "URLs 12/12 (0 failed)" in status_text
    assert f"s3://{BUCKET}/jobs/{job_id}/results.jsonl" in status_text


def test_client_reports_the_apis_refusal(local_api: ThreadedOrigin) -> None:
    code, text = _run("job", "status", "nope")
    assert code == 2
    assert "404" in text
