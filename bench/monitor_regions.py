"""`python -m bench.monitor_regions ROUNDS`: a monitor probed from three regions, run as each region's function
would run it (the scheduled handler, AWS_REGION set), ROUNDS rounds of three runs, in one process as a warm
function would; printed as JSON per run: wall and CPU seconds, the S3 and SNS requests it made and the bytes it
sent and received (what crosses regions when the function runs away from the bucket).

The environment names the targets (MONITOR_URLS), the results bucket and topic, and a moto server on loopback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.context import BenchContext

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
FUNCTION_TIMEOUT_S = 60.0


def main() -> None:
    rounds = int(sys.argv[1])
    # Imported before the clock starts: a warm environment has them loaded (cold starts are priced apart).
    import boto3
    from fanfetch import store
    from fanfetch.engine import make_ssl_context
    from fanfetch.handler import lambda_handler
    from fanfetch.settings import get_settings

    make_ssl_context()
    requests: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        # before-send.<service>.<Operation>
        _, service, operation = event_name.split(".", 2)
        requests[f"{service}.{operation}"] += 1

    def sent(params: dict[str, Any], **_: Any) -> None:
        body = params.get("Body")
        if isinstance(body, bytes | bytearray):
            requests["bytes_sent"] += len(body)

    def received(parsed: dict[str, Any] | None = None, **_: Any) -> None:
        requests["bytes_received"] += int((parsed or {}).get("ContentLength") or 0)

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-send", count)
    boto3.DEFAULT_SESSION.events.register("after-call.s3.GetObject", received)
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.s3.PutObject", sent)
    event = json.loads((Path(__file__).resolve().parent.parent / "events" / "schedule.json").read_text())
    runs = []
    for round_ in range(rounds):
        for region in REGIONS:
            os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
            get_settings.cache_clear()
            store.reset_clients()
            requests.clear()
            cpu_before = time.process_time()
            started = time.perf_counter()
            answer = lambda_handler(event, BenchContext("fanfetch", f"{region}-{round_}", 512, FUNCTION_TIMEOUT_S))
            wall = time.perf_counter() - started
            summary = answer["summary"]
            runs.append(
                {
                    "region": region,
                    "round": round_,
                    "wall_s": round(wall, 3),
                    "cpu_s": round(time.process_time() - cpu_before, 3),
                    "fetch_s": round(summary["elapsed_ms"] / 1000, 3),
                    "sink_s": round(answer["monitor"].get("sink_ms", 0) / 1000, 3),
                    "ok": summary["ok"],
                    "total": summary["total"],
                    "errors": answer["monitor"]["errors"],
                    "requests": dict(requests),
                }
            )
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
