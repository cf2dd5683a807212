"""`make monitor-demo`: scheduled runs against moto (server mode) and a loopback origin that changes between runs.

Offline: S3 and SNS are moto on 127.0.0.1, the monitored site is a local aiohttp app. Prints each run's verdicts,
the alert, what was stored and where the status page is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from tools.localaws import FAKE_CREDENTIALS, moto_server, stored_bytes
from tools.processes import app_in_thread

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".monitor-demo"
BUCKET = "fanfetch-demo-results"


class Site:
    """A small web site whose pages change when `break_things` is called."""

    def __init__(self) -> None:
        self.broken = False
        self.random = random.Random(7)

    async def _delay(self, low: float, high: float) -> None:
        await asyncio.sleep(self.random.uniform(low, high))

    def app(self) -> web.Application:
        async def home(request: web.Request) -> web.Response:
            await self._delay(0.01, 0.04)
            return web.Response(text="<h1>home</h1>" + "x" * 14_000, content_type="text/html")

        async def health(request: web.Request) -> web.Response:
            await self._delay(0.005, 0.02)
            return web.Response(status=503 if self.broken else 200, text="unavailable" if self.broken else "ok")

        async def pricing(request: web.Request) -> web.Response:
            await self._delay(0.02, 0.06)
            return web.Response(text="plan " * (900 if self.broken else 800), content_type="text/html")

        async def blog(request: web.Request) -> web.Response:
            await self._delay(0.12, 0.3)
            return web.Response(text="post " * 5000, content_type="text/html")

        async def gone(request: web.Request) -> web.Response:
            return web.Response(status=404, text="not found")

        app = web.Application()
        for path, route in (("/", home), ("/health", health), ("/pricing", pricing), ("/blog", blog), ("/old", gone)):
            app.router.add_get(path, route)
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


def _changes(result: dict[str, Any]) -> str:
    parts = []
    for name, value in result.get("changes", {}).items():
        if isinstance(value, dict):
            parts.append(f"{name} {value['from']} -> {value['to']}")
        else:
            parts.append(f"{name} {value:+d}")
    return ", ".join(parts)


def _print_run(number: int, response: dict[str, Any], emf: list[dict[str, Any]]) -> None:
    summary = response["summary"]
    print(
        f"\nRun {number}: {summary['total']} URLs, {summary['ok']} ok, went down {summary['went_down']}, "
        f"recovered {summary['recovered']}, changed {summary['changed']}"
    )
    for result in response["results"]:
        status = result["status"] if result["status"] is not None else "-"
        print(f"  {result['state']:<5} {status!s:<4} {result['change']:<9} {result['url']:<36} {_changes(result)}")
    metrics = {name: values for document in emf for name, values in document.items() if not name.startswith("_")}
    shown = {name: metrics[name] for name in ("UrlsFetched", "UrlsDown", "MinTlsDaysLeft") if name in metrics}
    print("  EMF metrics: " + ", ".join(f"{k}={sum(v) if isinstance(v, list) else v:g}" for k, v in shown.items()))
    print(f"  stored: {response['monitor']['stored'].get('run')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="scheduled runs; the site changes before the last one")
    parser.add_argument("--screenshot", type=Path, help="also write a PNG of the status page (needs chromium)")
    args = parser.parse_args()

    site = Site()
    with moto_server() as aws, app_in_thread(site.app()) as base:
        endpoint = aws.endpoint
        urls = [f"{base}/", f"{base}/health", f"{base}/pricing", f"{base}/blog", f"{base}/old"]
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        topic, queue = aws.alert_topic("fanfetch-demo-alerts")
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=FAKE_CREDENTIALS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=FAKE_CREDENTIALS["aws_secret_access_key"],
            AWS_DEFAULT_REGION=FAKE_CREDENTIALS["region_name"],
            POWERTOOLS_LOG_LEVEL="ERROR",
            ALLOWED_NETWORKS="127.0.0.0/8",
            ALLOWED_PORTS="1-65535",
            RESULTS_BUCKET=BUCKET,
            MONITOR_URLS=",".join(urls),
            ALERT_TOPIC_ARN=topic,
        )

        sys.path.insert(0, str(ROOT / "functions"))
        from fanfetch.handler import lambda_handler

        event = json.loads((ROOT / "events" / "schedule.json").read_text())
        print(f"Monitoring {len(urls)} URLs on {base}; S3 and SNS are moto at {endpoint}")
        for number in range(1, args.runs + 1):
            if number == args.runs and args.runs > 1:
                site.broken = True
                print("\n(the site changes: /health answers 503, /pricing grows)")
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                response = lambda_handler(event, Context(f"demo-run-{number}"))
            emf = [json.loads(line) for line in captured.getvalue().splitlines() if '"_aws"' in line]
            _print_run(number, response, emf)
            alerts = aws.take_alerts(queue)
            for subject, message in alerts:
                print(f"  SNS alert: {subject}")
                print("    " + message.strip().replace("\n", "\n    "))
            if not alerts:
                print("  SNS alert: none")

        print(f"\nIn s3://{BUCKET}/: " + ", ".join(aws.keys(BUCKET)))
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
