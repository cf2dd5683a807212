"""The client for everyday use, against the local API (tools/serve.py): option flags, standard input, output
formats, unsigned calls, next steps in refusals, job results, and Ctrl-C while waiting for a job."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fanfetch import jobs
from fanfetch.settings import get_settings
from fanfetch_client.cli import main
from rich.console import Console

from tests.conftest import ThreadedOrigin
from tests.functional.jobs_harness import BUCKET, JobWorld
from tools.serve import make_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api(job_world: JobWorld) -> Iterator[str]:
    """The local API, jobs on (moto), as `make serve` runs it; its URL."""
    with ThreadedOrigin(make_app()) as served:
        yield f"http://127.0.0.1:{served.port}"


def _run(*argv: str, terminal: bool = False, width: int = 200) -> tuple[int, str]:
    """The client's exit status and what it printed (as plain text, without a terminal's styles)."""
    out = io.StringIO()
    console = Console(file=out, record=True, width=width, force_terminal=terminal)
    code = main(list(argv), console=console)
    return code, console.export_text() if terminal else out.getvalue()


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


# --- Options as flags, lists on standard input ---------------------------------------------------------------------


def test_client_sends_option_flags_and_option_pairs(api: str, threaded_origin: ThreadedOrigin) -> None:
    # Given flags for hash, ok_status and timeout, and an --option pair for one without a flag
    urls = [threaded_origin.url("/bytes/5"), threaded_origin.url("/status/404")]
    code, text = _run(
        "--api-url", api, "--no-sign", "fetch", *urls, "--hash", "--ok-status", "200-404", "--timeout", "3",
        "--option", "max_bytes=2", "--output", "json",
    )  # fmt: skip
    # Then the API applied each of them
    results = json.loads(text)["results"]
    assert code == 0, text
    assert [r["ok"] for r in results] == [True, True]  # 404 is ok with --ok-status 200-404
    assert results[0]["sha256"] is not None and results[0]["truncated"] is True and results[0]["bytes"] == 2


def test_client_refuses_a_malformed_flag_before_calling_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    for flags, problem in [
        (["--ok-status", "2xx"], "--ok-status '2xx': expected LOW-HIGH"),
        (["--option", "timeout"], "--option 'timeout': expected KEY=VALUE"),
        (["--header", "no-colon"], "--header 'no-colon': expected 'Name: value'"),
    ]:
        code, _ = _run("--api-url", "http://127.0.0.1:9", "--no-sign", "fetch", "https://example.com/", *flags)
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fanfetch: {problem}") and err.count("\n") == 1, err
    # --bucket names where --api-url lists go; with a stack it would be ignored, so it is refused
    code, _ = _run("--bucket", "b", "fetch", "https://example.com/")
    assert code == 2
    assert capsys.readouterr().err.startswith("fanfetch: --bucket goes with --api-url")


def test_client_reads_the_url_list_from_standard_input(
    api: str, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, f"# from a pipe\n{threaded_origin.url('/bytes/3')}\n{threaded_origin.url('/bytes/4')}\n")
    code, text = _run("--api-url", api, "--no-sign", "fetch", "--file", "-", "--output", "jsonl")
    assert code == 0, text
    assert [json.loads(line)["bytes"] for line in text.splitlines()] == [3, 4]


def test_client_submits_a_job_from_standard_input(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, json.dumps([threaded_origin.url("/bytes/1"), threaded_origin.url("/bytes/2")]))
    code, text = _run("--api-url", api, "--no-sign", "job", "submit", "-", "--timeout", "5")
    assert code == 0, text
    assert "started: 2 URLs" in text


# --- Output formats ------------------------------------------------------------------------------------------------


def test_client_prints_plain_lines_when_piped(
    api: str, threaded_origin: ThreadedOrigin, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a console that is not a terminal (a pipe) and no --output
    urls = [threaded_origin.url("/bytes/7"), threaded_origin.url("/status/500")]
    code, text = _run("--api-url", api, "--no-sign", "fetch", *urls, "--retries", "0")
    # Then one tab-separated line per URL, the error's type and message apart, and the summary on stderr
    assert code == 1
    assert text.splitlines()[0].split("\t")[:4] == [urls[0], "200", "7", text.splitlines()[0].split("\t")[3]]
    assert text.splitlines()[0].split("\t")[4] == "ok"
    assert text.splitlines()[1].split("\t")[4:] == ["http", "status 500 is outside 200-399"]
    # (a line of its own: a job another test started may still be logging on stderr from moto's worker thread)
    assert "\n1 ok, 1 failed, " in "\n" + capsys.readouterr().err


def test_client_writes_csv(api: str, threaded_origin: ThreadedOrigin) -> None:
    urls = [threaded_origin.url("/bytes/7"), threaded_origin.url("/status/404")]
    code, text = _run("--api-url", api, "--no-sign", "fetch", *urls, "--output", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert code == 1
    assert [(r["url"], r["ok"], r["status"], r["error_type"]) for r in rows] == [
        (urls[0], "true", "200", ""),
        (urls[1], "false", "404", "http"),
    ]


def test_client_table_wraps_urls_at_slashes_and_keeps_error_type_apart(
    api: str, threaded_origin: ThreadedOrigin
) -> None:
    # Given a URL longer than an 80-column terminal leaves for it
    url = threaded_origin.url("/status/404?" + "&".join(f"label{i}=value{i}" for i in range(8)))
    code, text = _run("--api-url", api, "--no-sign", "fetch", url, "--output", "table", terminal=True, width=80)
    assert code == 1
    lines = [line for line in text.splitlines() if line.count("│") >= 6]
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    url_pieces = [row[0] for row in cells]  # the header row is drawn with other lines
    # Then every line fits, the URL reads whole from its column and each piece ends at / ? or & (but the last)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "".join(url_pieces) == url
    assert len(url_pieces) > 1 and all(piece[-1] in "/?&" for piece in url_pieces[:-1])
    # And the error's type has its own column, apart from the message
    assert cells[0][4] == "http"
    assert "status 404 is outside 200-399" in " ".join(row[5] for row in cells)


# --- Unsigned calls to a local API -------------------------------------------------------------------------------


def test_client_calls_a_local_api_unsigned_without_aws_credentials(
    open_loopback: None, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # Given no AWS credentials or region anywhere
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with ThreadedOrigin(make_app()) as served:
        api = f"http://127.0.0.1:{served.port}"
        # When the client signs, it says what is missing and how to do without
        code, _ = _run("--api-url", api, "fetch", threaded_origin.url("/bytes/3"))
        assert code == 2
        assert "add --no-sign" in capsys.readouterr().err
        # With --no-sign it needs nothing from AWS
        code, text = _run("--api-url", api, "--no-sign", "fetch", threaded_origin.url("/bytes/3"), "--output", "json")
    assert code == 0, text
    assert json.loads(text)["results"][0]["bytes"] == 3


# --- Refusals that have a next step name it ------------------------------------------------------------------------


def _limited(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_client_suggests_a_job_when_a_fetch_has_more_than_max_urls(
    api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _limited(monkeypatch, MAX_URLS="2")
    urls = [f"https://example.com/{i}" for i in range(3)]
    code, _ = _run("--api-url", api, "--no-sign", "fetch", *urls)
    line = capsys.readouterr().err.strip()
    assert code == 2
    assert "at most 2 are allowed per request (MAX_URLS)" in line
    assert line.endswith("; for a longer list start a job instead: fanfetch job submit FILE (its results go to S3)")


def test_client_suggests_a_bucket_when_an_inline_job_list_is_over_the_body_limit(
    api: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _limited(monkeypatch, MAX_BODY_BYTES="1024")
    listed = tmp_path / "urls.txt"
    listed.write_text("".join(f"https://example.com/{i}\n" for i in range(60)))
    code, _ = _run("--api-url", api, "--no-sign", "job", "submit", str(listed))
    line = capsys.readouterr().err.strip()
    assert code == 2
    assert line.startswith("fanfetch: HTTP 413 from the API: body: larger than 1024 bytes (MAX_BODY_BYTES); ")
    assert "add --bucket BUCKET" in line


def test_client_submits_through_a_bucket_given_with_the_api_url(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a list over the body limit, and the bucket named next to --api-url
    _limited(monkeypatch, MAX_BODY_BYTES="1024")
    listed = tmp_path / "urls.txt"
    listed.write_text("".join(f"{threaded_origin.url(f'/bytes/{i}')}\n" for i in range(20)))
    # When submitted, the list is uploaded and the API reads it from S3
    code, text = _run("--api-url", api, "--no-sign", "--bucket", BUCKET, "job", "submit", str(listed))
    assert code == 0, text
    assert "started: 20 URLs" in text


# --- Job results -------------------------------------------------------------------------------------------------


def test_client_downloads_a_finished_jobs_results_as_jsonl_and_csv(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # Given a finished job of three URLs, one failing
    listed = tmp_path / "urls.txt"
    urls = [threaded_origin.url("/bytes/1"), threaded_origin.url("/status/404"), threaded_origin.url("/bytes/3")]
    listed.write_text("\n".join(urls))
    code, text = _run("--api-url", api, "--no-sign", "job", "submit", str(listed))
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    job_world.wait(jobs.execution_arn(job_world.state_machine_arn, job_id))
    capsys.readouterr()
    # When its results are downloaded to standard output, and to a CSV file
    code, text = _run("--api-url", api, "--no-sign", "job", "results", job_id)
    assert code == 0, capsys.readouterr().err
    assert [json.loads(line)["url"] for line in text.splitlines()] == urls
    assert capsys.readouterr().err.strip() == f"3 results of job {job_id} (jsonl)"
    out = tmp_path / "results.csv"
    code, _ = _run("--api-url", api, "--no-sign", "job", "results", job_id, "-o", str(out))
    # Then the CSV has one row per URL, in input order
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert code == 0
    assert [(r["url"], r["ok"], r["error_type"]) for r in rows] == [
        (urls[0], "true", ""), (urls[1], "false", "http"), (urls[2], "true", "")
    ]  # fmt: skip
    assert capsys.readouterr().err.strip() == f"3 results of job {job_id} (csv) to {out}"


def test_client_says_when_a_jobs_results_are_not_written_yet(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    listed = tmp_path / "urls.txt"
    listed.write_text(threaded_origin.url("/bytes/1?delay_ms=3000") + "\n")
    code, text = _run("--api-url", api, "--no-sign", "job", "submit", str(listed))
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    code, _ = _run("--api-url", api, "--no-sign", "job", "results", job_id)
    # The client's own line: moto's map runner may print its warnings on the same stderr
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fanfetch:")]
    assert code == 2
    assert line.startswith(f"fanfetch: job {job_id} is RUNNING: its results are written when it ends")
    job_world.wait(jobs.execution_arn(job_world.state_machine_arn, job_id))


# --- Ctrl-C while waiting ----------------------------------------------------------------------------------------


def test_ctrl_c_while_waiting_names_the_job_and_exits_130(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, tmp_path: Path
) -> None:
    # Given a job that takes a few seconds, submitted by the client in its own process with --wait
    listed = tmp_path / "urls.txt"
    listed.write_text(threaded_origin.url("/bytes/1?delay_ms=4000") + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "client"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "fanfetch_client.cli", "--api-url", api, "--no-sign", "job", "submit",
               str(listed), "--wait", "--interval", "0.2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        started = process.stdout.readline()  # "job ID started: 1 URLs"
        job_id = started.split("job ", 1)[1].split(" ", 1)[0]
        time.sleep(0.5)  # inside the wait loop
        # When Ctrl-C reaches it
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then it exits 130 with the job's id and the command that shows its status, and no traceback
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert f"job {job_id} keeps running" in err
    assert f"fanfetch --api-url {api} --no-sign job status {job_id}" in err
    job_world.wait(jobs.execution_arn(job_world.state_machine_arn, job_id))


def test_client_says_a_stopped_job_wrote_no_results(
    api: str, job_world: JobWorld, threaded_origin: ThreadedOrigin, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # Given a job stopped by hand while its only URL hangs
    listed = tmp_path / "urls.txt"
    listed.write_text(threaded_origin.url("/hang") + "\n")
    code, text = _run("--api-url", api, "--no-sign", "job", "submit", str(listed), "--timeout", "3")
    job_id = text.split("job ", 1)[1].split(" ", 1)[0]
    arn = jobs.execution_arn(job_world.state_machine_arn, job_id)
    job_world.stop(arn, error="Stopped", cause="stopped by its owner")
    capsys.readouterr()
    # When its results are asked for, the client says there are none and where to see why
    code, _ = _run("--api-url", api, "--no-sign", "job", "results", job_id)
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"fanfetch: job {job_id} ended ABORTED and wrote no results "
        f"(fanfetch --api-url {api} --no-sign job status {job_id} says why)"
    )
