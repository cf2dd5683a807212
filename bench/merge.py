"""`python -m bench.merge EVENT_FILE CHUNKS`: the aggregate step over a job of CHUNKS copies of one chunk, in a fresh
process, printed as JSON: wall seconds and URLs merged. The chunk's part must be in the bucket (bench.chunk wrote
it); the environment names the bucket and an S3 endpoint on loopback (a moto server).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

JOB_ID = "20261207T000000Z-benchmerge01"


def main() -> None:
    import boto3
    from fanfetch.aggregate import aggregate
    from fanfetch.jobs.plan import chunk_line, job_keys, part_key

    event = json.loads(Path(sys.argv[1]).read_text())
    chunks = int(sys.argv[2])
    bucket = os.environ["RESULTS_BUCKET"]
    s3 = boto3.client("s3")
    part = s3.get_object(Bucket=bucket, Key=part_key(event["job"]["id"], event["job"]["chunk"]))["Body"].read()
    lines = [json.dumps(chunk_line(event["urls"], event["options"], JOB_ID, n)) + "\n" for n in range(chunks)]
    s3.put_object(Bucket=bucket, Key=job_keys(JOB_ID)["input_key"], Body="".join(lines).encode())
    for number in range(chunks):
        s3.put_object(Bucket=bucket, Key=part_key(JOB_ID, number), Body=part)
    started = time.perf_counter()
    merged = aggregate(JOB_ID, bucket)
    wall = time.perf_counter() - started
    print(json.dumps({"wall_s": wall, "urls": merged["urls"]}))


if __name__ == "__main__":
    main()
