"""A monitors file end to end: the scheduled handler against moto in server mode (S3, SNS to SQS, SSM) and
loopback origins and a webhook receiver whose answers the tests flip between runs."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from fanfetch.monitoring.targets import LAST_GOOD_KEY, MonitorsInvalid
from fanfetch.settings import get_settings

from tests.conftest import ThreadedOrigin
from tests.functional.test_monitoring import BUCKET, Answers, Aws, emf_documents, scheduled_run

SECRET = "hook-secret-value"
TARGETS_KEY = "targets/monitors.yaml"


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: what it was sent, and the status it answers with."""

    status: int = 204
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            self.posts.append((dict(request.headers), await request.read()))
            return web.Response(status=self.status)

        app = web.Application()
        app.router.add_post("/hook", receive)
        return app


@pytest.fixture
def sites() -> Iterator[tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver]]:
    answers = Answers({"/shop": (200, b"<p>Add to cart</p>"), "/health": (200, b'{"status": "UP"}')})
    receiver = Receiver()
    with ThreadedOrigin(answers.app()) as origin, ThreadedOrigin(receiver.app()) as hooks:
        yield origin, answers, hooks, receiver


def monitors_file(origin: ThreadedOrigin, hooks: ThreadedOrigin, extra: str = "") -> str:
    return f"""# yaml-language-server: $schema=../docs/monitors.schema.json
defaults:
  failures_before_down: 2
  notify: [ops, hook]
  options: {{timeout: 5, retries: 0}}
channels:
  ops: {{type: sns}}
  hook: {{type: webhook, url: "{hooks.url("/hook")}", secret_ssm: /fanfetch/hook-secret}}
{extra}
targets:
  - name: shop-home
    url: {origin.url("/shop")}
    expect: {{status: [200], body_contains: "Add to cart"}}
  - name: health
    url: {origin.url("/health")}
    expect: {{json: {{status: "UP"}}}}
"""


@pytest.fixture
def monitors(aws: Aws, monitor_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("TARGETS_S3_URI", f"s3://{BUCKET}/{TARGETS_KEY}")
    get_settings.cache_clear()
    aws.client("ssm").put_parameter(Name="/fanfetch/hook-secret", Value=SECRET, Type="SecureString")
    yield aws
    get_settings.cache_clear()


def put_file(aws: Aws, text: str) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key=TARGETS_KEY, Body=text.encode())


def test_a_keyword_that_disappears_is_down_on_the_second_failing_run_with_one_alert_and_a_signed_webhook(
    monitors: Aws,
    sites: tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver],
    capfd: pytest.CaptureFixture[str],
) -> None:
    origin, answers, hooks, receiver = sites
    put_file(monitors, monitors_file(origin, hooks))

    # Given both targets pass on the first run
    first = scheduled_run("run-1")
    assert [(r["name"], r["state"]) for r in first["results"]] == [("shop-home", "up"), ("health", "up")]
    assert monitors.alerts() == [] and receiver.posts == []

    # When the keyword disappears, the first failing run is only pending
    answers.by_path["/shop"] = (200, b"<p>Sold out</p>")
    second = scheduled_run("run-2")
    shop = second["results"][0]
    assert (shop["state"], shop["seen"], shop["pending"]) == ("up", "down", "failing: 1 of 2")
    assert shop["reason"] == 'body_contains "Add to cart" not found'
    assert monitors.alerts() == [] and receiver.posts == []

    # Then the second failing run takes it down, with one alert on each channel
    third = scheduled_run("run-3")
    assert (third["results"][0]["state"], third["results"][0]["event"]) == ("down", "down")
    (alert,) = monitors.alerts()
    assert alert["Subject"] == "fanfetch: 1 down"
    assert "shop-home" in alert["Message"] and 'body_contains "Add to cart" not found' in alert["Message"]
    assert f"Run document: s3://{BUCKET}/runs/" in alert["Message"]
    (headers, body) = receiver.posts[0]
    assert len(receiver.posts) == 1
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Fanfetch-Signature"], expected)
    sent = json.loads(body)
    assert sent["run"]["request_id"] == "run-3" and sent["run"]["document"].startswith(f"s3://{BUCKET}/runs/")
    (event,) = sent["events"]
    assert {k: event[k] for k in ("name", "state", "previous", "reason")} == {
        "name": "shop-home",
        "state": "down",
        "previous": "up",
        "reason": 'body_contains "Add to cart" not found',
    }

    # And a fourth run, still down, is quiet; UrlsDown counted the debounced state of each run
    scheduled_run("run-4")
    counts = [d["UrlsDown"] for d in emf_documents(capfd.readouterr().out) if "UrlsDown" in d]
    assert counts == [[0.0], [0.0], [1.0], [1.0]]
    assert monitors.alerts() == [] and len(receiver.posts) == 1
    latest = json.loads(monitors.read("latest.json"))
    assert latest["urls"]["shop-home"]["state"] == "down" and latest["urls"]["health"]["state"] == "up"
    # The incident opened with the state, on the second failing run; uptime counts every check that failed
    (incident,) = json.loads(monitors.read("incidents.json"))["targets"]["shop-home"]
    assert incident["first_run"].endswith("Z-run-3.json") and incident["end"] is None
    status = json.loads(monitors.read("status.json"))
    shop_status = next(t for t in status["targets"] if t["name"] == "shop-home")
    assert shop_status["state"] == "down" and shop_status["uptime"]["24h"] == 0.25


def test_a_target_in_maintenance_raises_no_alert_and_is_not_counted_down(
    monitors: Aws, sites: tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver], capfd: pytest.CaptureFixture[str]
) -> None:
    origin, answers, hooks, receiver = sites
    window = '  - {name: migration, targets: ["shop-*"], start: "2000-01-01T00:00:00Z", end: "2999-01-01T00:00:00Z"}'
    put_file(monitors, monitors_file(origin, hooks, "maintenance:\n" + window))
    answers.by_path["/shop"] = (503, b"maintenance")

    for run in ("run-1", "run-2", "run-3"):
        response = scheduled_run(run)

    shop = response["results"][0]
    assert (shop["state"], shop["maintenance"]) == ("down", "migration")
    assert monitors.alerts() == [] and receiver.posts == []
    assert json.loads(monitors.read("latest.json"))["urls"]["shop-home"]["maintenance"] == "migration"
    counts = [d for d in emf_documents(capfd.readouterr().out) if "UrlsDown" in d]
    assert [d["UrlsDown"] for d in counts] == [[0.0], [0.0], [0.0]]
    # and neither counts against its uptime nor opens an incident
    status = json.loads(monitors.read("status.json"))
    shop_status = next(t for t in status["targets"] if t["name"] == "shop-home")
    assert shop_status["uptime"]["24h"] is None
    assert "shop-home" not in json.loads(monitors.read("incidents.json"))["targets"]


def test_a_broken_file_keeps_monitoring_with_the_last_good_configuration_and_alerts_once(
    monitors: Aws, sites: tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver]
) -> None:
    origin, _, hooks, receiver = sites
    put_file(monitors, monitors_file(origin, hooks))
    scheduled_run("run-1")
    assert LAST_GOOD_KEY in monitors.object_keys()

    # When someone pushes a file with a typo in a URL
    put_file(monitors, monitors_file(origin, hooks).replace(f"url: {origin.url('/health')}", "url: health.local"))
    second = scheduled_run("run-2")

    # Then both targets are still monitored, and every channel hears once what is wrong, naming the target
    assert [r["name"] for r in second["results"]] == ["shop-home", "health"]
    assert "targets[1] (health).url: 'health.local' is not an http" in second["monitor"]["config_error"]
    (alert,) = monitors.alerts()
    assert alert["Subject"] == "fanfetch: configuration invalid"
    assert "configuration invalid: " in alert["Message"] and "targets[1] (health).url" in alert["Message"]
    assert len(receiver.posts) == 1 and json.loads(receiver.posts[0][1])["run"]["config_error"]
    assert b"Configuration invalid" in monitors.read("status.html")

    # And the next run, with the same broken file, says nothing new
    third = scheduled_run("run-3")
    assert third["monitor"]["config_error"] and monitors.alerts() == [] and len(receiver.posts) == 1


def test_a_broken_file_with_no_last_good_configuration_fails_the_invocation(
    monitors: Aws, sites: tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver]
) -> None:
    origin, _, hooks, _ = sites
    put_file(monitors, monitors_file(origin, hooks).replace("failures_before_down: 2", "failures_before_down: two"))
    # Raised out of the handler: Lambda retries the async invocation, then the failed-invocations queue and alarm
    with pytest.raises(MonitorsInvalid, match=r"defaults\.failures_before_down"):
        scheduled_run("run-1")
    assert "latest.json" not in monitors.object_keys()


def test_an_alert_the_webhook_refuses_is_kept_pending_and_delivered_by_the_next_run(
    monitors: Aws, sites: tuple[ThreadedOrigin, Answers, ThreadedOrigin, Receiver]
) -> None:
    origin, answers, hooks, receiver = sites
    put_file(monitors, monitors_file(origin, hooks).replace("failures_before_down: 2", "failures_before_down: 1"))
    answers.by_path["/health"] = (200, b'{"status": "DOWN"}')
    receiver.status = 500

    # When the receiver fails on the run that takes a target down
    first = scheduled_run("run-1")
    assert first["results"][1]["reason"] == 'json status: expected "UP", got "DOWN"'
    assert any("kept for the next run" in error for error in first["monitor"]["errors"])
    (pending,) = json.loads(monitors.read("latest.json"))["pending"]
    assert pending["channel"] == "hook" and "answered 500" in pending["error"]
    assert len(monitors.alerts()) == 1  # the topic took its copy
    channels = first["monitor"]["alert"]["channels"]
    assert channels["hook"] == {"delivered": False, "message_id": None} and channels["ops"]["delivered"] is True

    # Then the next run delivers it, and nothing is pending any more
    receiver.status = 204
    second = scheduled_run("run-2")
    assert second["monitor"]["pending"] == 0 and second["monitor"]["errors"] == []
    assert [json.loads(body)["events"][0]["name"] for _, body in receiver.posts] == ["health", "health"]
    assert "pending" not in json.loads(monitors.read("latest.json"))  # nothing is stored as null
