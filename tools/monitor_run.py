"""`make monitor-run TARGETS=FILE` (or `URLS="..."`): scheduled runs of the built function on your own targets.

The function runs as the `sam build` artifact in the runtime emulator; S3 and SNS are a moto server on 127.0.0.1.
The targets file is uploaded and read through TARGETS_S3_URI, as a deployed monitor reads it. Each run prints the
verdicts (state and change per URL), the alert and the stored keys; the status page is written to .monitor-run/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tools.emulator import RuntimeEmulator
from tools.invoke import parse_env, render_table
from tools.localaws import moto_server, stored_bytes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".monitor-run"
BUCKET = "fanfetch-local-results"
TARGETS_KEY = "targets/targets.txt"
# Local targets (a site on this machine) are allowed; pass ENV="ALLOWED_NETWORKS=" to vet them as a deploy does.
LOCAL_ACCESS = {"ALLOWED_NETWORKS": "127.0.0.0/8", "ALLOWED_PORTS": "1-65535"}


def targets_body(targets: Path | None, urls: list[str]) -> bytes:
    """The targets document to upload: the file as given, or the URLs one per line."""
    if targets is not None and urls:
        raise SystemExit('monitor-run: give TARGETS=FILE or URLS="...", not both')
    if targets is not None:
        try:
            body = sys.stdin.buffer.read() if str(targets) == "-" else targets.read_bytes()
        except FileNotFoundError:
            raise SystemExit(f"monitor-run: no such targets file: {targets}") from None
        except IsADirectoryError:
            raise SystemExit(f"monitor-run: {targets} is a directory, not a targets file") from None
        if not body.strip():
            raise SystemExit(f"monitor-run: {targets} is empty: list one URL per line")
        return body
    if urls:
        return "\n".join(urls).encode()
    raise SystemExit('monitor-run: no targets: make monitor-run TARGETS=FILE, or URLS="https://... https://..."')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=Path, help="a targets file: URL lines, a JSON list or a JSON request")
    parser.add_argument("--url", action="append", default=[], help="a URL to monitor (repeat it)")
    parser.add_argument("--runs", type=int, default=2, help="scheduled runs (default 2)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between runs (default 2)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="function environment")
    args = parser.parse_args()
    if args.runs < 1:
        raise SystemExit("monitor-run: RUNS must be at least 1")
    body = targets_body(args.targets, args.url)
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    with moto_server() as aws:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=TARGETS_KEY, Body=body)
        topic, inbox = aws.alert_topic("fanfetch-local-alerts")
        env = {
            **LOCAL_ACCESS,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "RESULTS_BUCKET": BUCKET,
            "TARGETS_S3_URI": f"s3://{BUCKET}/{TARGETS_KEY}",
            "ALERT_TOPIC_ARN": topic,
            "AWS_ENDPOINT_URL": aws.endpoint,
            **parse_env(args.env),
        }
        print(f"S3 and SNS: moto at {aws.endpoint}; targets: {env['TARGETS_S3_URI']}")
        with RuntimeEmulator(env=env) as function:
            for number in range(1, args.runs + 1):
                if number > 1:
                    time.sleep(args.interval)
                response = function.invoke(event)
                print(f"\nRun {number}:")
                print(render_table(response))
                if "results" not in response:  # a refusal (e.g. a targets file that cannot be read) ends the runs
                    raise SystemExit(1)
                for subject, message in aws.take_alerts(inbox):
                    print(f"SNS message: {subject}\n  " + message.strip().replace("\n", "\n  "))
        print(f"\nIn s3://{BUCKET}/: " + ", ".join(aws.keys(BUCKET)))
        OUT.mkdir(exist_ok=True)
        for key in ("status.html", "status.json", "latest.json"):
            if key in aws.keys(BUCKET):
                (OUT / key).write_bytes(stored_bytes(s3, BUCKET, key))
        if (OUT / "status.html").exists():
            print(f"Status page: {(OUT / 'status.html').relative_to(ROOT)} (open it in a browser)")


if __name__ == "__main__":
    main()
