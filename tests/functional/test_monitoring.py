"""Scheduled monitoring end to end: the handler, loopback origins that change their answers, and moto in server
mode on 127.0.0.1 behind AWS_ENDPOINT_URL, so the real botocore HTTP path carries every S3 and SNS call."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiohttp import web
from fanfetch import store
from fanfetch.handler import lambda_handler
from fanfetch.monitoring.publisher import unzipped
from fanfetch.settings import get_settings
from moto.server import ThreadedMotoServer

from tests.conftest import FakeContext, ThreadedOrigin, load_event

BUCKET = "fanfetch-results"


@dataclass
class Answers:
    """What each origin path answers; a test flips them between runs."""

    by_path: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            status, body = self.by_path.get(request.path, (404, b"no such path"))
            return web.Response(status=status, body=body)

        app = web.Application()
        app.router.add_get("/{name}", answer)
        return app


@dataclass
class Aws:
    endpoint: str
    topic_arn: str
    queue_url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def object_keys(self) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        """An object's bytes, decompressed when it was stored gzip-compressed (the page, status.json)."""
        body: bytes = self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return unzipped(body)

    def alerts(self) -> list[dict[str, Any]]:
        """SNS messages delivered to the test queue since the last call."""
        sqs = self.client("sqs")
        received = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = [json.loads(m["Body"]) for m in received.get("Messages", [])]
        for message in received.get("Messages", []):
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # A fresh account for each test: moto's reset endpoint clears every backend.
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10).close()
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    sns = boto3.client("sns", endpoint_url=moto_server, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    topic_arn = sns.create_topic(Name="fanfetch-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    store.reset_clients()
    yield Aws(moto_server, topic_arn, queue_url)
    store.reset_clients()


@pytest.fixture
def monitor_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("ALLOWED_PORTS", "1-65535")
    monkeypatch.setenv("RESULTS_BUCKET", BUCKET)
    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def error_logs() -> Iterator[list[dict[str, Any]]]:
    """ERROR records of the function's logger (Powertools does not propagate to the root logger)."""
    records: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                records.append({"message": record.getMessage(), **record.__dict__})

    handler = Collect()
    logging.getLogger("fanfetch").addHandler(handler)
    yield records
    logging.getLogger("fanfetch").removeHandler(handler)


def emf_documents(out: str) -> list[dict[str, Any]]:
    documents = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def scheduled_run(run_id: str) -> dict[str, Any]:
    context = FakeContext()
    context.aws_request_id = run_id  # type: ignore[misc]
    response: dict[str, Any] = lambda_handler(load_event("schedule.json"), context)
    return response


@pytest.fixture
def origin() -> Iterator[tuple[ThreadedOrigin, Answers]]:
    answers = Answers({"/a": (200, b"a" * 100), "/b": (200, b"b" * 50)})
    with ThreadedOrigin(answers.app()) as server:
        yield server, answers


def test_three_scheduled_runs_store_compare_and_alert_once(
    monitor_env: None,
    aws: Aws,
    origin: tuple[ThreadedOrigin, Answers],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server, answers = origin
    url_a, url_b = server.url("/a"), server.url("/b")
    monkeypatch.setenv("MONITOR_URLS", f"{url_a},{url_b}")
    get_settings.cache_clear()

    # Given two URLs that answer, when the first scheduled run happens
    first = scheduled_run("run-1")
    # Then both are new and up, and the run, latest.json and the page are in the bucket
    assert [(r["url"], r["change"], r["state"]) for r in first["results"]] == [
        (url_a, "new", "up"),
        (url_b, "new", "up"),
    ]
    keys = aws.object_keys()
    (run_key,) = [key for key in keys if key.startswith("runs/")]
    assert run_key.endswith("Z-run-1.json") and run_key.count("/") == 4
    assert {"latest.json", "status.html"} <= set(keys)
    assert first["monitor"]["stored"] == {
        "latest": f"s3://{BUCKET}/latest.json",
        "run": f"s3://{BUCKET}/{run_key}",
        "status_page": f"s3://{BUCKET}/status.html",
        "rollup": f"s3://{BUCKET}/history/{run_key[5:15]}.json",
        "incidents": f"s3://{BUCKET}/incidents.json",
        "status_json": f"s3://{BUCKET}/status.json",
        "badges": f"s3://{BUCKET}/badges/",
    }
    assert 0 < first["monitor"]["sink_ms"] < 60_000  # what keeping the run took, beside the fetch's elapsed_ms
    assert json.loads(aws.read(run_key))["results"][0]["url"] == url_a
    latest = json.loads(aws.read("latest.json"))
    assert set(latest["urls"]) == {url_a, url_b}
    assert b"<!doctype html>" in aws.read("status.html")
    assert aws.alerts() == []

    # When A starts failing and B changes size
    answers.by_path["/a"] = (503, b"down")
    answers.by_path["/b"] = (200, b"b" * 80)
    second = scheduled_run("run-2")
    # Then the changes are reported and one alert names A as down
    a, b = second["results"]
    assert (a["change"], a["state"], a["changes"]["status"]) == ("changed", "down", {"from": 200, "to": 503})
    assert (b["change"], b["state"], b["changes"]) == ("changed", "up", {"bytes": 30})
    assert (second["summary"]["went_down"], second["summary"]["recovered"], second["summary"]["changed"]) == (1, 0, 2)
    (alert,) = aws.alerts()
    assert alert["Subject"] == "fanfetch: 1 down"
    assert f"DOWN\n  {url_a}" in alert["Message"]
    assert second["monitor"]["alert"]["went_down"] == [url_a]

    # When nothing changes, a third run reports unchanged and sends no alert (A stays down, quietly)
    third = scheduled_run("run-3")
    assert [(r["change"], r["state"]) for r in third["results"]] == [("unchanged", "down"), ("unchanged", "up")]
    assert third["summary"]["went_down"] == 0
    assert third["monitor"]["alert"] is None
    assert aws.alerts() == []
    assert len([key for key in aws.object_keys() if key.startswith("runs/")]) == 3

    # And every run emitted its metrics as EMF, UrlsDown among them
    documents = emf_documents(capfd.readouterr().out)
    down_values = [d["UrlsDown"] for d in documents if "UrlsDown" in d]
    assert down_values == [[0], [1], [1]]  # Powertools writes each metric's values as a list
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "fanfetch" for d in documents)
    assert [d["UrlsFetched"] for d in documents] == [[2], [2], [2]]


def test_a_missing_bucket_is_logged_once_and_the_results_still_return(
    monitor_env: None,
    origin: tuple[ThreadedOrigin, Answers],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    error_logs: list[dict[str, Any]],
) -> None:
    server, _ = origin
    monkeypatch.setenv("MONITOR_URLS", f"{server.url('/a')},{server.url('/b')}")
    monkeypatch.setenv("RESULTS_BUCKET", "no-such-bucket")
    get_settings.cache_clear()

    response = scheduled_run("run-gone")

    assert [r["ok"] for r in response["results"]] == [True, True]
    assert response["monitor"]["stored"] == {}
    (error,) = response["monitor"]["errors"]
    assert "s3://no-such-bucket/latest.json" in error and "NoSuchBucket" in error
    (record,) = error_logs
    assert record["message"].startswith("results bucket failed")
    assert record["sink"] == "results bucket"
    (document,) = emf_documents(capfd.readouterr().out)
    assert document["UrlsFetched"] == [2] and document["UrlsDown"] == [0]


def test_an_alert_topic_that_refuses_is_logged_and_the_run_is_still_kept(
    monitor_env: None,
    aws: Aws,
    origin: tuple[ThreadedOrigin, Answers],
    monkeypatch: pytest.MonkeyPatch,
    error_logs: list[dict[str, Any]],
) -> None:
    server, answers = origin
    answers.by_path["/a"] = (500, b"")
    monkeypatch.setenv("MONITOR_URLS", server.url("/a"))
    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn.replace("fanfetch-alerts", "deleted-topic"))
    get_settings.cache_clear()

    response = scheduled_run("run-topic")

    assert response["results"][0]["state"] == "down"
    assert response["monitor"]["alert"]["message_id"] is None
    assert "deleted-topic" in response["monitor"]["errors"][0]
    assert [r["sink"] for r in error_logs] == ["alert topic"]
    assert "latest.json" in aws.object_keys()


def test_targets_are_read_from_s3_and_a_direct_run_stores_only_when_asked(
    monitor_env: None, aws: Aws, origin: tuple[ThreadedOrigin, Answers], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = origin
    aws.client("s3").put_object(
        Bucket=BUCKET, Key="targets/urls.txt", Body=f"# monitored\n{server.url('/b')}\n".encode()
    )
    monkeypatch.setenv("TARGETS_S3_URI", f"s3://{BUCKET}/targets/urls.txt")
    get_settings.cache_clear()

    scheduled = scheduled_run("run-targets")
    assert [r["url"] for r in scheduled["results"]] == [server.url("/b")]

    # A direct invocation without `store` leaves the bucket alone; with it, the run is kept and located
    before = aws.object_keys()
    plain = lambda_handler({"urls": [server.url("/a")]}, FakeContext())
    assert "monitor" not in plain and aws.object_keys() == before
    stored = lambda_handler({"urls": [server.url("/a")], "options": {"store": True}}, FakeContext())
    assert stored["results"][0]["change"] == "new"
    assert stored["monitor"]["stored"]["run"].startswith(f"s3://{BUCKET}/runs/")
    assert set(json.loads(aws.read("latest.json"))["urls"]) == {server.url("/a"), server.url("/b")}


def test_unreadable_targets_fail_the_scheduled_invocation_with_the_reason(
    monitor_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Raised, not returned: an asynchronous invocation that returns counts as a success, with no retry or alarm.
    from fanfetch.errors import TargetsUnavailable

    monkeypatch.setenv("TARGETS_S3_URI", f"s3://{BUCKET}/targets/missing.txt")
    get_settings.cache_clear()
    with pytest.raises(TargetsUnavailable, match=r"targets/missing\.txt"):
        scheduled_run("run-no-targets")


HOSTILE_PATH = "/a?q=<script>document.body.dataset.owned='yes'</script>"


def _dump_dom(page: Path, tmp_path: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make check` installs it (apt-get install chromium)"
    completed = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return completed.stdout


def test_status_page_renders_every_url_in_chromium_and_runs_no_target_script(
    monitor_env: None,
    aws: Aws,
    origin: tuple[ThreadedOrigin, Answers],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, answers = origin
    hostile = server.url(HOSTILE_PATH)
    monkeypatch.setenv("MONITOR_URLS", f"{server.url('/a')},{server.url('/b')},{hostile}")
    get_settings.cache_clear()
    scheduled_run("page-1")
    answers.by_path["/b"] = (500, b"")
    scheduled_run("page-2")
    page = tmp_path / "status.html"
    page.write_bytes(aws.read("status.html"))

    dom = _dump_dom(page, tmp_path)

    assert "data-owned" not in dom
    assert dom.count("<script") == 1  # the page's own, pinned by its hash
    assert "&lt;script&gt;document.body.dataset.owned" in dom
    rows = dom.split('<section class="target row')[1:]
    assert len(rows) == 3
    assert 'data-state="down"' in rows[0] and server.url("/b") in rows[0].replace("<wbr>", "")  # down first
    assert dom.count('data-state="up"') == 2
    # today's cell: two targets up in both runs, one down in one of two
    assert dom.count('class="bar"') == 3 and dom.count('class="full"') == 2 and dom.count('class="bad"') == 1
    assert "1 down" in dom and "2 up" in dom


def test_ten_runs_with_three_failing_give_70_percent_one_incident_and_badges(
    monitor_env: None, aws: Aws, origin: tuple[ThreadedOrigin, Answers], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, answers = origin
    url_a, url_b = server.url("/a"), server.url("/b")
    monkeypatch.setenv("MONITOR_URLS", url_a)
    get_settings.cache_clear()
    # Given ten scheduled runs, of which the fourth to the sixth find /a answering 500
    for number in range(1, 11):
        answers.by_path["/a"] = (500, b"broken") if number in (4, 5, 6) else (200, b"a" * 100)
        scheduled_run(f"run-{number}")
    # Then status.json gives 70% for every window, with no internals in it
    status = json.loads(aws.read("status.json"))
    (target,) = status["targets"]
    assert target["name"] == url_a and target["state"] == "up"
    assert target["uptime"] == {"24h": 0.7, "7d": 0.7, "30d": 0.7, "90d": 0.7}
    assert "s3://" not in json.dumps(status) and "runs/" not in json.dumps(status)
    # and one incident, closed, with its duration and the runs that saw it
    incidents = json.loads(aws.read("incidents.json"))["targets"][url_a]
    assert [(i["state"], i["end"] is not None) for i in incidents] == [("down", True)]
    assert incidents[0]["duration_s"] >= 0 and incidents[0]["first_run"].endswith("Z-run-4.json")
    assert incidents[0]["last_run"].endswith("Z-run-6.json")
    # and its badges
    badges = [key for key in aws.object_keys() if key.startswith("badges/")]
    assert len(badges) == 2
    assert all(aws.read(key).startswith(b"<svg") for key in badges)
    # and the client reads them back: the status table (exit 0, all up) and the day's history
    code, text = _client("--bucket", BUCKET, "monitor", "status")
    assert code == 0 and url_a in text and text.count("70%") == 4
    code, text = _client("--bucket", BUCKET, "monitor", "history", url_a, "--days", "2", "--csv")
    header, yesterday, today = text.splitlines()
    assert header == "day,checks,up,degraded,down,uptime,p50_ms,p95_ms"
    assert yesterday.split(",")[1] == "0" and today.split(",")[1:6] == ["10", "7", "0", "3", "0.7"]
    # When the configuration drops /a for /b, the published status holds only /b
    monkeypatch.setenv("MONITOR_URLS", url_b)
    get_settings.cache_clear()
    scheduled_run("run-11")
    assert [t["name"] for t in json.loads(aws.read("status.json"))["targets"]] == [url_b]
    answers.by_path["/b"] = (500, b"")
    scheduled_run("run-12")
    code, text = _client("--bucket", BUCKET, "monitor", "status")
    assert code == 1 and "down" in text  # a target is down


def _client(*argv: str) -> tuple[int, str]:
    from fanfetch_client.cli import main
    from rich.console import Console

    out = io.StringIO()
    code = main(list(argv), console=Console(file=out, width=250, force_terminal=False))
    return code, out.getvalue()
