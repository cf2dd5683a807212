"""`make regions-demo`: one monitor probed from three regions, decided by a quorum, offline.

The real handler runs as each region's scheduled function would: AWS_REGION and AWS_DEFAULT_REGION set per run, its
settings and AWS clients made again, against one moto server (127.0.0.1) standing in for the home region's bucket
and alert topic, with an SQS queue subscribed so the alerts can be read back. A loopback site fails the requests
whose User-Agent names chosen regions (the default User-Agent is `fanfetch/<version> (+region <region>)`).

The demo's clock moves five minutes per round and ends about now, so the page's ages read right. Eight rounds show
a dissenting region, the one alert when a second region agrees, a quiet round, the recovery, and a region that
stops running, reported once.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from tools.localaws import LocalAws, moto_server, stored_bytes
from tools.processes import app_in_thread

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".regions-demo"
BUCKET = "fanfetch-regions-demo-results"
HOME = "us-east-1"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PERIOD = timedelta(minutes=5)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MONITORS = """# yaml-language-server: $schema=../docs/monitors.schema.json
defaults:
  failures_before_down: 1
  successes_before_up: 1
  notify: [ops]
  options: {{timeout: 5, retries: 0}}
channels:
  ops: {{type: sns}}
targets:
  - name: shop
    url: {base}/shop
    expect: {{status: [200]}}
"""


@dataclass
class Round:
    """One schedule period: what the site does and which regions run."""

    failing: frozenset[str] = frozenset()
    running: tuple[str, ...] = REGIONS
    note: str = ""


ROUNDS = (
    Round(note="every region sees the site up"),
    Round(frozenset({"eu-west-1"}), note="the site answers 503 to eu-west-1's probes only"),
    Round(frozenset({"eu-west-1", "ap-southeast-2"}), note="ap-southeast-2's probes fail too"),
    Round(frozenset({"eu-west-1", "ap-southeast-2"}), note="nothing changes"),
    Round(note="the site is fixed everywhere"),
    Round(running=REGIONS[:2], note="ap-southeast-2's runs stop: its probe stack's schedule is off, say"),
    Round(running=REGIONS[:2]),
    Round(running=REGIONS[:2]),
)


@dataclass
class RegionalSite:
    """Answers 200, or 503 to a probe whose User-Agent names a region in `failing`; keeps the agents it saw."""

    failing: frozenset[str] = frozenset()
    agents: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        async def shop(request: web.Request) -> web.Response:
            agent = request.headers.get("User-Agent", "")
            self.agents.add(agent)
            if any(f"(+region {region})" in agent for region in self.failing):
                return web.Response(status=503, text="unavailable from your region")
            return web.Response(text="<h1>shop</h1>", content_type="text/html")

        app = web.Application()
        app.router.add_get("/shop", shop)
        return app


class Context:
    """The parts of a Lambda context the handler reads."""

    function_version = "$LATEST"
    memory_limit_in_mb = 512
    log_stream_name = "demo"

    def __init__(self, region: str, request_id: str) -> None:
        self.function_name = f"fanfetch-{region}"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:fanfetch-{region}"
        self.log_group_name = f"/aws/lambda/fanfetch-{region}"
        self.aws_request_id = request_id
        self._end = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def _print_run(region: str, at: datetime, response: dict[str, Any]) -> None:
    (result,) = response["results"]
    seen = result["seen"] + (f" (HTTP {result['status']})" if result["seen"] != "up" and result["status"] else "")
    if result["pending"]:
        seen += f", {result['pending']}"
    event = f" [{result['event']}]" if result["event"] else ""
    print(f"  {at:%H:%M:%S} {region:<15} saw {seen:<15} quorum: shop {result['state']}{event}")
    views = result.get("quorum", {}).get("regions", {})
    dissenting = [name for name, view in views.items() if view["dissenting"]]
    stale = [name for name, view in views.items() if not view["fresh"]]
    notes = [result["reason"]] if result["event"] and result["reason"] else []
    if dissenting:
        notes.append("dissenting: " + ", ".join(dissenting))
    if stale:
        notes.append("not counted: " + ", ".join(stale))
    alert = response.get("monitor", {}).get("alert") or {}
    for key, label in (("regions_silent", "silent"), ("regions_back", "back")):
        if alert.get(key):
            notes.append(f"this run reports region(s) {label}: {', '.join(alert[key])}")
    for note in notes:
        print(f"  {'':<24} {note}")


def _print_alerts(aws: LocalAws, queue: str) -> int:
    alerts = aws.take_alerts(queue)
    for subject, message in alerts:
        print(f"  SNS alert: {subject}")
        print("    " + message.strip().replace("\n", "\n    "))
    if not alerts:
        print("  SNS alert: none")
    return len(alerts)


def demo_start(now: datetime) -> datetime:
    """The first round's time: the rounds end at about `now`, so the page's "checked ... ago" reads right."""
    last = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    return last - (len(ROUNDS) - 1) * PERIOD


def run_as(region: str, handler: Handler, event: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The handler as `region`'s function runs it: that region's environment, settings and AWS clients."""
    from fanfetch import store
    from fanfetch.settings import get_settings

    os.environ.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    get_settings.cache_clear()
    store.reset_clients()
    captured = io.StringIO()  # the EMF metrics lines each run prints
    with contextlib.redirect_stdout(captured):
        return handler({**event, "region": region}, Context(region, request_id))


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    site = RegionalSite()
    with moto_server() as aws, app_in_thread(site.app()) as base:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="targets/monitors.yaml", Body=MONITORS.format(base=base).encode())
        topic, queue = aws.alert_topic("fanfetch-regions-demo-alerts")
        os.environ.update(
            aws.monitor_environment(BUCKET, "targets/monitors.yaml", topic),
            HOME_REGION=HOME,
            MONITOR_REGIONS=",".join(REGIONS),
            MONITOR_SCHEDULE="rate(5 minutes)",
        )

        sys.path.insert(0, str(ROOT / "functions"))
        from fanfetch import service
        from fanfetch.handler import lambda_handler

        first = demo_start(datetime.now(UTC))
        now = first
        service.wall_clock = lambda: now  # type: ignore[assignment]  # the demo's clock: five minutes a round
        event = json.loads((ROOT / "events" / "schedule.json").read_text())

        print(f"One target, shop ({base}/shop), probed from {', '.join(REGIONS)} every 5 minutes;")
        print(f"home region {HOME}: S3 and SNS are moto at {aws.endpoint}. Quorum: 2 of 3 regions. Times UTC.")
        print("Each line is one region's scheduled run: what that region saw, then the quorum's state of shop.")
        for number, plan in enumerate(ROUNDS, start=1):
            start = first + (number - 1) * PERIOD
            site.failing = plan.failing
            print(f"\nRound {number} at {start:%H:%M}" + (f" ({plan.note})" if plan.note else ""))
            for index, region in enumerate(plan.running):
                now = start + timedelta(seconds=5 * index)
                response = run_as(region, lambda_handler, event, f"{region}-{number}")
                _print_run(region, now, response)
            _print_alerts(aws, queue)

        print("\nThe site told the probes apart by their User-Agent:")
        for agent in sorted(site.agents):
            print(f"  {agent}")

        OUT.mkdir(exist_ok=True)
        for key in ("status.html", "status.json", "latest.json"):
            (OUT / key).write_bytes(stored_bytes(s3, BUCKET, key))
        status = json.loads((OUT / "status.json").read_text())
        (target,) = status["targets"]
        print(f"\nstatus.json: shop is {target['state']}, quorum {target['quorum']}; per region:")
        for region, view in target["regions"].items():
            print(f"  {region:<15} {view['state']:<5} fresh={view['fresh']} dissenting={view['dissenting']}")
        for region, view in status["regions"].items():
            if view["silent"]:
                print(f"  {region} is silent: no run since {view['last_run']}")
        print(f"\nStatus page: {OUT / 'status.html'} (open it in a browser); also {OUT / 'status.json'}")
        print("and latest.json, with each region's verdict under targets[...].regions. Deployed, the page is:")
        print("  aws s3 presign s3://<ResultsBucketName>/status.html --expires-in 3600")


if __name__ == "__main__":
    main()
