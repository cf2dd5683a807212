"""The fanfetch client against the local API (tools/serve.py, as `make serve`) with jobs in moto."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest
from aiohttp import web
from fanfetch import jobs
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
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    code = main(list(argv), console=console)
    return code, out.getvalue()


def test_client_prints_a_table_when_fetching_urls(local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin) -> None:
    code, text = _run("fetch", "--output", "table", threaded_origin.url("/bytes/7"), threaded_origin.url("/status/404"))
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


# --- Failures: one line on stderr, exit code 2, never a traceback ------------------------------------------------


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Runs the client, expects it to refuse, and gives back its one line on stderr."""
    code, text = _run(*argv)
    captured = capsys.readouterr()
    assert code == 2, text
    assert text == "" and captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fanfetch: "), captured.err
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.mark.usefixtures("fake_credentials")
def test_client_says_it_cannot_reach_the_api_when_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    api_url = f"http://127.0.0.1:{_closed_port()}"
    line = _fails(capsys, "--api-url", api_url, "fetch", "https://example.com/")
    assert line == f"fanfetch: cannot reach {api_url}: Connection refused"


@pytest.mark.usefixtures("fake_credentials")
def test_client_says_cloudformation_is_unreachable_when_no_endpoint_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    line = _fails(capsys, "fetch", "https://example.com/")
    assert line.startswith("fanfetch: cannot read stack 'fanfetch' from CloudFormation: ")
    assert endpoint in line


@pytest.mark.usefixtures("job_world")
@pytest.mark.parametrize("stack", ["fanfetch", "nope"])
def test_client_says_the_stack_is_not_found_when_it_does_not_exist(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _fails(capsys, "--stack", stack, "fetch", "https://example.com/")
    assert line.startswith(f"fanfetch: stack '{stack}' not found in us-east-1 (aws cloudformation describe-stacks")


def test_client_says_no_such_file_when_the_url_list_is_missing(
    local_api: ThreadedOrigin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    assert _fails(capsys, "fetch", "--file", str(missing)) == f"fanfetch: no such file: {missing}"
    assert _fails(capsys, "job", "submit", str(missing)) == f"fanfetch: no such file: {missing}"  # via the bucket
    api_url = f"http://127.0.0.1:{local_api.port}"
    assert _fails(capsys, "--api-url", api_url, "job", "submit", str(missing)) == f"fanfetch: no such file: {missing}"


def test_client_quotes_the_job_id_when_it_holds_a_space(
    local_api: ThreadedOrigin, capsys: pytest.CaptureFixture[str]
) -> None:
    # The API's own refusal comes back, where an unquoted space made an invalid request line
    line = _fails(capsys, "job", "status", "a b")
    assert line.startswith("fanfetch: HTTP 422 from the API: ") and "job_id" in line


def _gateway(status: int, body: str, content_type: str = "text/html") -> web.Application:
    """A stand-in for a gateway in front of the API that answers every request with the same page."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize("status", [502, 504])
def test_client_shows_the_start_of_the_body_when_an_error_is_not_json(
    status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    page = "<html>\n<head><title>Gateway Timeout</title></head>\n<body>" + "x" * 300 + "</body></html>"
    with ThreadedOrigin(_gateway(status, page)) as gateway:
        line = _fails(capsys, "--api-url", f"http://127.0.0.1:{gateway.port}", "job", "status", "some-job")
    assert line.startswith(f"fanfetch: HTTP {status} from the API: <html> <head><title>Gateway Timeout</title>")
    assert len(line) < 260  # the body's first 200 characters, not all of it


@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("<html>sign in</html>", "text/html", "is not JSON: <html>sign in</html>"),
        ('["not", "fanfetch"]', "application/json", 'is not a JSON object: ["not", "fanfetch"]'),
    ],
    ids=["html", "json-list"],
)
def test_client_says_so_when_a_success_is_not_the_apis_json(
    body: str, content_type: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedOrigin(_gateway(200, body, content_type)) as gateway:
        line = _fails(capsys, "--api-url", f"http://127.0.0.1:{gateway.port}", "fetch", "https://example.com/")
    assert line == f"fanfetch: HTTP 200 from the API {problem}"


def test_client_reports_the_apis_refusal_on_stderr(
    local_api: ThreadedOrigin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _fails(capsys, "job", "status", "nope") == "fanfetch: HTTP 404 from the API: no job 'nope'"


# --- --api-url as the stack's FetchApiUrl output ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/fetch", "/fetch/"])
def test_client_fetches_when_the_api_url_is_given_with_or_without_fetch(
    suffix: str, local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin
) -> None:
    api_url = f"http://127.0.0.1:{local_api.port}{suffix}"
    code, text = _run("--api-url", api_url, "fetch", threaded_origin.url("/bytes/5"), "--json")
    assert code == 0, text
    assert json.loads(text)["results"][0]["bytes"] == 5


# --- Inline job lists (no stack bucket) are read as the API reads a source -----------------------------------------


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("urls.json", '[\n  "{a}",\n  "{b}"\n]\n'),
        ("records.json", '[{{"url": "{a}", "note": "first"}}, {{"url": "{b}"}}]'),
        ("urls.csv", "name,URL\r\nfirst,{a}\r\nsecond,{b}\r\n"),
        ("urls.txt", "\ufeff# two URLs, one host\r\n{a}\r\n\r\n  {b}  \r\n"),
    ],
    ids=["json-strings", "json-records", "csv", "text-bom-comments"],
)
def test_client_sends_only_the_urls_of_an_inline_job_list(
    name: str,
    template: str,
    local_api: ThreadedOrigin,
    job_world: JobWorld,
    threaded_origin: ThreadedOrigin,
    tmp_path: Path,
) -> None:
    # Given a list in one of the formats the API reads, and no bucket to upload it to (--api-url)
    urls = [threaded_origin.url("/bytes/3"), threaded_origin.url("/bytes/4")]
    listed = tmp_path / name
    listed.write_text(template.format(a=urls[0], b=urls[1]))
    api_url = f"http://127.0.0.1:{local_api.port}"
    # When it is submitted inline
    code, text = _run("--api-url", api_url, "job", "submit", str(listed))
    assert code == 0, text
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    job_world.wait(jobs.execution_arn(job_world.state_machine_arn, job_id))
    # Then the job holds exactly its two URLs, in order, and both were fetched
    assert "started: 2 URLs" in text
    results = job_world.read_lines(jobs.job_keys(job_id)["results_key"])
    assert [result["url"] for result in results] == urls
    code, status_text = _run("--api-url", api_url, "job", "status", job_id)
    assert code == 0
    assert "URLs 2/2 (0 failed)" in status_text


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("urls.csv", "name,link\nfirst,https://example.com/\n", "none is named 'url'"),
        ("urls.txt", "name,link\nfirst,https://example.com/\n", "none is named 'url'"),
        ("urls.json", '["https://example.com/",', "starts with '[' but is not a JSON list"),
        (
            "urls.json",
            '["https://example.com/", 7]',
            "item 1 is neither a URL string nor an object with a string 'url'",
        ),
        ("urls.txt", "# nothing yet\n\n", "no URLs"),
    ],
    ids=["csv-without-url", "csv-looking-txt", "broken-json", "json-number", "empty"],
)
def test_client_refuses_an_inline_job_list_it_cannot_read(
    name: str, content: str, problem: str, local_api: ThreadedOrigin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = tmp_path / name
    listed.write_text(content)
    line = _fails(capsys, "--api-url", f"http://127.0.0.1:{local_api.port}", "job", "submit", str(listed))
    assert line.startswith(f"fanfetch: {listed}: ")
    assert problem in line


# --- The results table at 80 columns -------------------------------------------------------------------------------


def test_client_table_shows_whole_urls_at_80_columns(
    local_api: ThreadedOrigin, threaded_origin: ThreadedOrigin
) -> None:
    # Given two long URLs on one host that differ only at their end, one of them failing with a message
    urls = [
        threaded_origin.url(f"/bytes/{size}?label=a-long-query-string-so-the-url-is-wider-than-half") for size in (1, 2)
    ]
    urls.append(threaded_origin.url("/status/404?label=a-long-query-string-so-the-url-is-wider-than-half"))
    console = Console(record=True, width=80, force_terminal=True)
    # When the table is drawn on an 80-column terminal
    code = main(["fetch", *urls], console=console)
    text = console.export_text()
    # Then every URL can be read whole from its column, however it is wrapped
    assert code == 1
    assert max(len(line) for line in text.splitlines()) <= 80
    url_column = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.count("│") >= 2)
    for url in urls:
        assert url in url_column, text


def test_client_job_status_exits_1_and_says_why_when_the_job_was_stopped(
    local_api: ThreadedOrigin, job_world: JobWorld, threaded_origin: ThreadedOrigin, tmp_path: Path
) -> None:
    # Given a job whose only URL hangs, stopped by hand once its map runs
    listed = tmp_path / "urls.txt"
    listed.write_text(threaded_origin.url("/hang") + "\n")
    api_url = f"http://127.0.0.1:{local_api.port}"
    code, text = _run("--api-url", api_url, "job", "submit", str(listed))
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    arn = jobs.execution_arn(job_world.state_machine_arn, job_id)
    job_world.stop(arn)
    # When its status is asked for
    code, status_text = _run("--api-url", api_url, "job", "status", job_id)
    # Then the exit status says it did not succeed, the reason is shown, and no result file is named
    assert code == 1
    assert "ABORTED" in status_text and "stopped before it finished" in status_text
    assert "results.jsonl" not in status_text
