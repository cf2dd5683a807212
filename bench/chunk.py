"""`python -m bench.chunk EVENT_FILE`: one job chunk through the real handler in a fresh process, as the job
function runs it (its results written to its part in S3), printed as JSON: wall and CPU seconds, peak RSS, the
handler's answer and the part's size.

The environment names the results bucket, an S3 endpoint on loopback (a moto server) and the job function's
MAX_URLS; the Lambda context gives the job function's timeout and memory.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from bench.context import BenchContext

JOB_FUNCTION_TIMEOUT_S = 240.0


def main() -> None:
    event = json.loads(Path(sys.argv[1]).read_text())
    # Imported before the clock starts: a warm environment has them loaded (cold starts are priced apart).
    import boto3
    from fanfetch.engine import make_ssl_context
    from fanfetch.handler import lambda_handler

    make_ssl_context()
    context = BenchContext(
        "fanfetch-job-fetch", "bench-chunk", int(os.environ["BENCH_MEMORY_MB"]), JOB_FUNCTION_TIMEOUT_S
    )
    cpu_before = time.process_time()
    started = time.perf_counter()
    answer = lambda_handler(event, context)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    bucket, _, key = answer["part"].removeprefix("s3://").partition("/")
    part = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    failures: dict[str, int] = {}
    for line in part.splitlines():
        error = json.loads(line).get("error")
        if error:
            failures[error["type"]] = failures.get(error["type"], 0) + 1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": peak_kb / 1024,
                "answer": answer,
                "part_bytes": len(part),
                "failures": failures,
            }
        )
    )


if __name__ == "__main__":
    main()
