"""`make monitor-demo`: a monitors file checked by scheduled runs against moto (server mode), a loopback site that
changes between runs, and a loopback webhook receiver.

Offline: S3, SNS (delivered to SQS) and SSM are moto on 127.0.0.1. The demo's clock moves ten minutes per run, so
seven runs show an expectation failing, the debounce (down on the second failing run), one alert on SNS and one
signed webhook POST, a reminder while the target stays down, and the recovery with how long it was down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from aiohttp import web

from tools.localaws import moto_server, stored_bytes
from tools.processes import app_in_thread

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".monitor-demo"
BUCKET = "fanfetch-demo-results"
SECRET = "demo-hook-secret"  # noqa: S105 - the demo signs with it and checks the signature
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)
MONITORS = """# yaml-language-server: $schema=../docs/monitors.schema.json
defaults:
  failures_before_down: 2
  successes_before_up: 1
  remind_every: 30m
  notify: [ops, hook]
  options: {{timeout: 5, retries: 0}}
channels:
  ops: {{type: sns}}
  hook: {{type: webhook, url: "{hook}", secret_ssm: /fanfetch/hook-secret}}
targets:
  - name: shop-home
    url: {base}/
    expect: {{status: [200], body_contains: "Add to cart"}}
  - name: shop-api
    url: {base}/health
    expect: {{json: {{status: "UP"}}, headers: {{content-type: "application/json*"}}}}
  - name: blog
    url: {base}/blog
    expect: {{max_latency_ms: 100}}
"""


class Site:
    """A small shop whose home page loses its "Add to cart" button from run 2 to run 6."""

    def __init__(self) -> None:
        self.sold_out = False

    def app(self) -> web.Application:
        async def home(request: web.Request) -> web.Response:
            button = "Sold out" if self.sold_out else "<button>Add to cart</button>"
            return web.Response(text=f"<h1>shop</h1>{button}", content_type="text/html")

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "UP"})

        async def blog(request: web.Request) -> web.Response:
            await asyncio.sleep(0.15)  # slower than its max_latency_ms: degraded, not down
            return web.Response(text="post " * 500, content_type="text/html")

        app = web.Application()
        for path, route in (("/", home), ("/health", health), ("/blog", blog)):
            app.router.add_get(path, route)
        return app


class Receiver:
    """A webhook receiver that checks each POST's signature."""

    def __init__(self) -> None:
        self.posts: list[tuple[bool, dict[str, Any]]] = []

    def app(self) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            body = await request.read()
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(request.headers.get("X-Fanfetch-Signature", ""), expected)
            self.posts.append((signed, json.loads(body)))
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", receive)
        return app


class Context:
    """The parts of a Lambda context the handler reads."""

    function_name = "fanfetch-demo"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fanfetch-demo"
    log_group_name = "/aws/lambda/fanfetch-demo"
    log_stream_name = "demo"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self._end = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def demo_clock(moment: datetime) -> type[datetime]:
    """A datetime whose now() is `moment`: the service reads the run's time from it."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return cls.fromtimestamp(moment.timestamp(), tz)

    return Clock


def _print_run(number: int, at: datetime, response: dict[str, Any], emf: list[dict[str, Any]]) -> None:
    summary = response["summary"]
    print(f"\nRun {number} at {at:%H:%M}: {summary['down']} down, {summary['degraded']} degraded")
    for result in response["results"]:
        note = result["pending"] or result["reason"] or ""
        event = f"[{result['event']}]" if result["event"] else ""
        print(f"  {result['name']:<10} {result['state']:<9} {event:<12} {note}")
    metrics = {name: values for document in emf for name, values in document.items() if not name.startswith("_")}
    shown = {name: metrics[name] for name in ("UrlsDown", "UrlsDegraded") if name in metrics}
    print("  EMF metrics: " + ", ".join(f"{k}={sum(v) if isinstance(v, list) else v:g}" for k, v in shown.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screenshot", type=Path, help="also write a PNG of the status page (needs chromium)")
    args = parser.parse_args()

    site, receiver = Site(), Receiver()
    with moto_server() as aws, app_in_thread(site.app()) as base, app_in_thread(receiver.app()) as hooks:
        endpoint = aws.endpoint
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        monitors = MONITORS.format(base=base, hook=f"{hooks}/hook")
        s3.put_object(Bucket=BUCKET, Key="targets/monitors.yaml", Body=monitors.encode())
        aws.client("ssm").put_parameter(Name="/fanfetch/hook-secret", Value=SECRET, Type="SecureString")
        topic, queue = aws.alert_topic("fanfetch-demo-alerts")
        os.environ.update(aws.monitor_environment(BUCKET, "targets/monitors.yaml", topic))

        sys.path.insert(0, str(ROOT / "functions"))
        from fanfetch import service
        from fanfetch.handler import lambda_handler

        event = json.loads((ROOT / "events" / "schedule.json").read_text())
        print(f"Monitors file: s3://{BUCKET}/targets/monitors.yaml (3 targets on {base})")
        print(f"Webhook receiver: {hooks}/hook; S3, SNS and SSM are moto at {endpoint}")
        print("Each run is ten minutes after the last (the demo's clock).")
        for number in range(1, 8):
            at = START + (number - 1) * STEP
            site.sold_out = 2 <= number <= 6
            if number == 2:
                print("\n(the shop's home page loses its 'Add to cart' button)")
            if number == 7:
                print("\n(the button is back)")

            clock = demo_clock(at)

            captured = io.StringIO()
            posts_before = len(receiver.posts)
            with contextlib.redirect_stdout(captured), mock.patch.object(service, "datetime", clock):
                response = lambda_handler(event, Context(f"demo-run-{number}"))
            emf = [json.loads(line) for line in captured.getvalue().splitlines() if '"_aws"' in line]
            _print_run(number, at, response, emf)
            alerts = aws.take_alerts(queue)
            for subject, message in alerts:
                print(f"  SNS alert: {subject}")
                print("    " + message.strip().replace("\n", "\n    "))
            if not alerts:
                print("  SNS alert: none")
            for signed, post in receiver.posts[posts_before:]:
                events = ", ".join(f"{e['name']} {e['event']}" for e in post["events"])
                print(f"  webhook POST: signature {'verified' if signed else 'WRONG'}; events: {events}")

        keys = aws.keys(BUCKET)
        print(f"\nIn s3://{BUCKET}/: " + ", ".join(key for key in keys if not key.startswith("runs/")) + ", runs/...")
        OUT.mkdir(exist_ok=True)
        page = OUT / "status.html"
        for key in ("status.html", "status.json", "latest.json"):
            (OUT / key).write_bytes(stored_bytes(s3, BUCKET, key))
        for key in aws.keys(BUCKET):
            if key.startswith("badges/"):
                (OUT / key).parent.mkdir(exist_ok=True)
                (OUT / key).write_bytes(stored_bytes(s3, BUCKET, key))
        print(
            f"Status page: {page} (open it in a browser); deployed, it is: "
            f"aws s3 presign s3://<ResultsBucketName>/status.html --expires-in 3600"
        )
        if args.screenshot:
            chromium = shutil.which("chromium")
            if not chromium:
                sys.exit("chromium is not installed (apt-get install chromium)")
            subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--user-data-dir={OUT / 'profile'}",
                    f"--screenshot={args.screenshot.resolve()}",
                    "--window-size=1280,520",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            print(f"Screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
