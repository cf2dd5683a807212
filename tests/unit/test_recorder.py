"""record_run against moto in-process: overlapping runs, what a direct run keeps, the metrics each run emits, and
the time its sink calls may take."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fanfetch import store
from fanfetch.errors import SinkError
from fanfetch.models import FetchError, FetchRequest, FetchResponse, FetchSummary, TlsInfo, UrlResult
from fanfetch.monitoring import publisher, runner
from fanfetch.monitoring.publisher import unzipped
from fanfetch.settings import Settings

from tests.unit.conftest import BUCKET

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def payload(*urls: str, ok: bool = True, tls_days: float | None = None) -> FetchResponse:
    tls = TlsInfo(days_left=tls_days) if tls_days is not None else None
    error = None if ok else FetchError(type="http", message="status 500")
    results = [
        UrlResult(url=u, status=200 if ok else 500, bytes=10, elapsed_ms=5.0, tls=tls, error=error) for u in urls
    ]
    summary = FetchSummary(
        total=len(urls),
        ok=len(urls) if ok else 0,
        failed=0 if ok else len(urls),
        bytes=10 * len(urls),
        elapsed_ms=5.0,
    )
    return FetchResponse(results=results, summary=summary)


def record_run(
    request: FetchRequest, response: FetchResponse, settings: Settings, request_id: str, scheduled: bool
) -> dict[str, Any]:
    return runner.record_run(request, response, settings, request_id, scheduled, NOW)


def request(*urls: str, store_run: bool = False) -> FetchRequest:
    return FetchRequest.model_validate({"urls": list(urls), "options": {"store": store_run}})


def emf(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_overlapping_runs_both_land_in_latest_json(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given run B reads latest.json, and run A writes it before B writes back (both asked with store: true:
    # a scheduled run would leave only its own targets)
    settings = Settings(RESULTS_BUCKET=BUCKET)
    real_read = store.read_object
    reads: list[str] = []

    def read_then_let_a_finish(bucket: str, key: str, timeout: float, attempts: int) -> store.StoredObject | None:
        stored = real_read(bucket, key, timeout, attempts)
        reads.append(key)
        if len(reads) == 1:
            monkeypatch.setattr(store, "read_object", real_read)
            a = request("https://a.test/", store_run=True)
            record_run(a, payload("https://a.test/"), settings, "run-a", False)
        return stored

    monkeypatch.setattr(store, "read_object", read_then_let_a_finish)
    # When B records its run
    b = request("https://b.test/", store_run=True)
    response = record_run(b, payload("https://b.test/"), settings, "run-b", False)
    # Then B's first write lost the race, B merged again, and both URLs are in latest.json
    latest = json.loads(aws.get_object(Bucket=BUCKET, Key="latest.json")["Body"].read())
    assert set(latest["urls"]) == {"https://a.test/", "https://b.test/"}
    assert response["monitor"]["errors"] == []
    assert response["results"][0]["change"] == "new"


def test_a_direct_run_keeps_nothing_and_emits_no_monitor_metrics(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(RESULTS_BUCKET=BUCKET)
    response = record_run(
        request("https://a.test/"), payload("https://a.test/", ok=False, tls_days=3), settings, "r", False
    )
    assert "monitor" not in response and "change" not in response["results"][0]
    assert "Contents" not in aws.list_objects_v2(Bucket=BUCKET)
    (document,) = emf(capsys.readouterr().out)
    assert document["UrlsFailed"] == [1]
    assert "UrlsDown" not in document and "MinTlsDaysLeft" not in document


def test_store_without_a_bucket_says_so_in_the_response() -> None:
    response = record_run(
        request("https://a.test/", store_run=True), payload("https://a.test/"), Settings(), "r", False
    )
    assert response["monitor"]["errors"] == ["store: true needs RESULTS_BUCKET to be set"]


def test_monitor_runs_emit_down_and_tls_metrics_and_per_url_metrics_only_when_configured(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = ("https://a.test/", "https://b.test/")
    record_run(request(*urls), payload(*urls, tls_days=40.5), Settings(AWS_LAMBDA_FUNCTION_NAME="fn"), "r1", True)
    (document,) = emf(capsys.readouterr().out)
    assert document["UrlsDown"] == [0] and document["MinTlsDaysLeft"] == [40.5]
    assert [set(names) for names in document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]] == [{"service", "function"}]
    assert document["function"] == "fn"

    settings = Settings(AWS_LAMBDA_FUNCTION_NAME="fn", URL_METRICS=True)
    record_run(request(*urls), payload(*urls), settings, "r2", True)
    documents = emf(capsys.readouterr().out)
    per_url = [d for d in documents if "url" in d]
    assert [d["url"] for d in per_url] == list(urls)
    assert all(d["UrlUp"] == [1] for d in per_url)
    assert [set(n) for n in per_url[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]] == [
        {"service", "function", "url"}
    ]


def test_sink_reserve_is_kept_only_for_monitor_runs_with_a_bucket() -> None:
    with_bucket = Settings(RESULTS_BUCKET=BUCKET, SINK_TIMEOUT_SECONDS=2)
    assert runner.sink_reserve_seconds(request("https://a.test/"), with_bucket, scheduled=True) == 10
    assert runner.sink_reserve_seconds(request("https://a.test/"), with_bucket, scheduled=False) == 0
    assert runner.sink_reserve_seconds(request("https://a.test/"), Settings(), scheduled=True) == 0


def test_an_unreachable_s3_endpoint_keeps_the_results_and_names_the_sink(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an endpoint where nothing listens (port 9, discard, is closed on loopback)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store.reset_clients()
    settings = Settings(RESULTS_BUCKET=BUCKET, SINK_TIMEOUT_SECONDS=1)
    try:
        response = record_run(request("https://a.test/"), payload("https://a.test/"), settings, "r", True)
    finally:
        store.reset_clients()
    assert response["results"][0]["ok"] is True
    (error,) = response["monitor"]["errors"]
    assert error.startswith(f"s3://{BUCKET}/latest.json:") and "127.0.0.1:9" in error
    assert emf(capsys.readouterr().out)[0]["UrlsDown"] == [0]


def test_sink_clock_gives_each_call_its_timeout_and_tries_while_time_is_plenty() -> None:
    assert store.CallClock(3.0).limit("s3://b/k") == (3.0, store.MAX_ATTEMPTS)
    plenty = store.CallClock(3.0, until=time.monotonic() + 60)
    assert plenty.limit("s3://b/k") == (3.0, store.MAX_ATTEMPTS)


def test_sink_clock_shortens_a_call_to_one_try_that_ends_by_the_deadline() -> None:
    # Given 2 s left: one try whose connect and read share them, on a quarter-second grid
    timeout, attempts = store.CallClock(3.0, until=time.monotonic() + 2.0).limit("s3://b/k")
    assert attempts == 1
    assert timeout in (0.75, 1.0)  # 1.0 unless the clock moved between the two readings


def test_sink_clock_refuses_a_call_when_no_time_is_left() -> None:
    clock = store.CallClock(3.0, until=time.monotonic() + 0.3)
    with pytest.raises(SinkError, match=r"s3://b/k: skipped: no time left before the deadline"):
        clock.limit("s3://b/k")


@pytest.mark.parametrize(
    "latest",
    [
        {"urls": {"https://old.test/": {"state": "up", "since": "2026-01-01T00:00:00.5Z"}}},
        {"urls": {"https://old.test/": {"state": "up", "since": "2026-01-01T00:00:00+00:00"}}},
        {"urls": [{"url": "https://a.test/"}]},
        {"urls": "x"},
        {"urls": {"https://a.test/": {"state": "down", "history": 5, "elapsed_ms": "12", "tls_days_left": "9"}}},
        {"urls": {"https://a.test/": {"state": "sideways", "last_change": [1], "since": 7, "checked_at": None}}},
        {"urls": {"https://a.test/": {"history": [5, {"ok": "yes", "ms": "fast"}], "bytes": True}}},
    ],
)
def test_an_odd_latest_json_does_not_stop_the_run(aws: Any, latest: dict[str, Any]) -> None:
    # Given a latest.json written by someone else, with fields of other shapes
    aws.put_object(Bucket=BUCKET, Key="latest.json", Body=json.dumps(latest).encode())
    settings = Settings(RESULTS_BUCKET=BUCKET)

    # When two runs are recorded
    for run in ("r1", "r2"):
        response = record_run(request("https://a.test/"), payload("https://a.test/"), settings, run, True)
        # Then each keeps its results, latest.json and its page, with no error
        assert response["monitor"]["errors"] == []
        published = {"rollup", "incidents", "status_json", "badges"}
        assert set(response["monitor"]["stored"]) == {"latest", "run", "status_page", *published}
        assert response["results"][0]["state"] == "up"
    stored = json.loads(aws.get_object(Bucket=BUCKET, Key="latest.json")["Body"].read())
    assert stored["urls"]["https://a.test/"]["state"] == "up"
    assert stored["run"]["request_id"] == "r2" and len(stored["recent_runs"]) >= 1


def test_a_bug_while_keeping_the_run_still_returns_the_results(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanfetch.monitoring import transitions

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(transitions, "compare_run", broken)
    response = record_run(
        request("https://a.test/"), payload("https://a.test/"), Settings(RESULTS_BUCKET=BUCKET), "r", True
    )
    assert response["results"][0]["ok"] is True
    assert response["monitor"]["errors"] == ["keeping the run failed (a bug in fanfetch, logged with its traceback)"]


def test_a_run_that_cannot_merge_into_latest_json_still_keeps_its_run_document(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given overlapping runs that change latest.json before every write of this one
    from fanfetch.errors import WriteConflict

    real_write = store.write_object

    def always_beaten(bucket: str, key: str, *args: Any, **kwargs: Any) -> str:
        if key == "latest.json":
            raise WriteConflict(f"s3://{bucket}/{key}")
        return real_write(bucket, key, *args, **kwargs)

    monkeypatch.setattr(store, "write_object", always_beaten)
    monkeypatch.setattr(runner, "_pause_before_merging_again", lambda attempt, clock: None)
    response = record_run(
        request("https://a.test/"), payload("https://a.test/"), Settings(RESULTS_BUCKET=BUCKET), "r", True
    )
    # Then the run says so, and its run document is kept; the page, which shows latest.json, is not rewritten
    (error,) = response["monitor"]["errors"]
    assert error == f"s3://{BUCKET}/latest.json: still changing after 5 attempts; this run's state is not in it"
    assert set(response["monitor"]["stored"]) == {"run"}
    assert response["results"][0]["change"] == "new"


def test_metrics_state_page_and_alert_all_show_the_judges_verdict(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a judge that calls every URL down, whatever was fetched
    import boto3
    from fanfetch.monitoring import judge

    monkeypatch.setattr(judge, "judge", lambda seen, expect=None: judge.Verdict(seen, "down", "judged down"))
    topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
    settings = Settings(RESULTS_BUCKET=BUCKET, ALERT_TOPIC_ARN=topic, URL_METRICS=True)

    # When a run of a URL that answered 200 is recorded
    response = record_run(request("https://a.test/"), payload("https://a.test/"), settings, "r", True)

    # Then the metrics, the response, latest.json, the page and the alert all say down
    documents = emf(capsys.readouterr().out)
    assert documents[0]["UrlsDown"] == [1] and documents[0]["UrlsFailed"] == [0]
    assert [d["UrlUp"] for d in documents if "url" in d] == [[0]]
    assert response["results"][0]["ok"] is True and response["results"][0]["state"] == "down"
    latest = json.loads(aws.get_object(Bucket=BUCKET, Key="latest.json")["Body"].read())
    assert latest["urls"]["https://a.test/"]["state"] == "down"
    stored = aws.get_object(Bucket=BUCKET, Key="status.html")
    assert stored["ContentEncoding"] == "gzip" and stored["ContentType"] == "text/html; charset=utf-8"
    page = unzipped(stored["Body"].read()).decode()
    assert 'data-state="down"' in page and 'data-state="up"' not in page
    assert response["monitor"]["alert"]["went_down"] == ["https://a.test/"]
    assert response["monitor"]["alert"]["message_id"]


def test_pending_alerts_are_bounded_and_dropped_for_channels_no_longer_configured(aws: Any) -> None:
    from fanfetch.monitoring.config import MonitorConfig, SnsChannel
    from fanfetch.monitoring.state import LatestDocument, PendingDelivery, RunInfo
    from fanfetch.monitoring.targets import Plan
    from fanfetch.monitoring.transitions import RunComparison

    # Given 60 pending alerts for a channel that is gone and one for the topic, with no topic configured
    latest = LatestDocument(
        pending=[PendingDelivery(channel="gone", subject="s", text="t")] * 60
        + [PendingDelivery(channel="ops", subject="s", text="t")] * 60
    )
    plan = Plan(MonitorConfig((), {"ops": SnsChannel(type="sns")}, ()), request("https://a.test/"))
    comparison = RunComparison(verdicts=[], latest=latest)
    errors: list[str] = []
    clock = store.CallClock(2.0, None)

    # When the run delivers
    _, pending = runner._announce(comparison, plan, RunInfo(), "s3://b/k", Settings(), clock, errors, "now")

    # Then the gone channel's are dropped, and at most MAX_PENDING of the rest are kept, the run saying so
    assert len(pending) == runner.MAX_PENDING and {p.channel for p in pending} == {"ops"}
    assert errors.count("pending alert dropped: channel gone is no longer in the monitors file") == 60
    assert f"10 pending alert(s) dropped, oldest first (at most {runner.MAX_PENDING})" in errors


def test_badges_are_written_a_bounded_number_of_targets_per_run_until_all_are_and_then_only_when_they_change(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three targets and runs that write the badges of at most two
    monkeypatch.setattr(publisher, "BADGE_TARGETS_PER_RUN", 2)
    targets = [{"name": f"t{n}", "state": "up", "uptime": {"30d": 1.0}} for n in range(3)]
    clock = store.CallClock(3.0)

    def badge_keys() -> set[str]:
        listing = aws.list_objects_v2(Bucket=BUCKET, Prefix="badges/")
        return {item["Key"] for item in listing.get("Contents", [])}

    # When the first run publishes them, then the second
    publisher._write_badges(BUCKET, targets, clock)
    assert badge_keys() == {"badges/t0.svg", "badges/t0-uptime.svg", "badges/t1.svg", "badges/t1-uptime.svg"}
    publisher._write_badges(BUCKET, targets, clock)
    # Then the third target's badges follow in the second run, and the record knows all three
    assert len(badge_keys()) == 6
    written = json.loads(aws.get_object(Bucket=BUCKET, Key=publisher.BADGES_WRITTEN_KEY)["Body"].read())["badges"]
    assert set(written) == {"t0", "t1", "t2"}

    # When nothing changed, a run writes no badge; when t1 goes down and t2 leaves, only t1's are written again
    puts: list[str] = []
    real_write = store.write_object

    def counting_write(bucket: str, key: str, *args: Any, **kwargs: Any) -> str:
        puts.append(key)
        return real_write(bucket, key, *args, **kwargs)

    monkeypatch.setattr(store, "write_object", counting_write)
    publisher._write_badges(BUCKET, targets, clock)
    assert puts == []
    publisher._write_badges(BUCKET, [targets[0], {**targets[1], "state": "down"}], clock)
    assert sorted(puts) == ["badges/t1-uptime.svg", "badges/t1.svg", publisher.BADGES_WRITTEN_KEY]
    written = json.loads(aws.get_object(Bucket=BUCKET, Key=publisher.BADGES_WRITTEN_KEY)["Body"].read())["badges"]
    assert set(written) == {"t0", "t1"}
    assert b">down<" in aws.get_object(Bucket=BUCKET, Key="badges/t1.svg")["Body"].read()
