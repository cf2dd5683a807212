"""A monitor end to end at steady state: N loopback targets over many hosts, scheduled runs of the real handler,
each in a fresh process, against a moto server; what each run took and what the bucket holds after it.

Used by `make bench ARGS="--only monitor-runs"` (bench/run.py); `python -m bench.monitor_runs N RUNS` prints the
runs of one size as JSON lines, for a quick look or a profile.
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "fanfetch-results"
TARGETS_KEY = "targets/urls.txt"
HOSTS = 50  # loopback ports, each a host to fanfetch's per-host limit
# Runs whose figures are shown one by one; the medians are over the last MEDIAN_OF runs
SHOWN_RUNS = (1, 10, 50)
MEDIAN_OF = 10
SIZED_KEYS = ("latest.json", "status.html", "status.json", "history/days.json", "incidents.json")


def target_urls(ports: list[int], count: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/bytes/2048?target={i}" for i in range(count)]


def seed_history(s3: Any, targets: list[str], today: datetime) -> None:
    """Steady state before the first run: yesterday's rollup (288 runs, every target up in 10-25 ms) and 89 closed
    days in history/days.json, as a monitor that has run every 5 minutes for 90 days has them."""
    sys.path.insert(0, str(ROOT / "functions"))
    from fanfetch.monitoring.rollups import (
        CLOSED_DAYS_KEY,
        LATENCY_BOUNDS_MS,
        ClosedDays,
        DayRollup,
        TargetDay,
        fold,
        rollup_key,
    )

    yesterday = (today - timedelta(days=1)).date()
    latency = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    latency[1] = 288
    day = TargetDay(checks=[12] * 24, up=[12] * 24, latency=latency)
    runs = [f"runs/{yesterday:%Y/%m/%d}/{5 * i // 60:02d}{5 * i % 60:02d}00Z-seed-{i}.json" for i in range(288)]
    rollup = DayRollup(day=yesterday, runs=runs, targets=dict.fromkeys(targets, day))
    closed = fold(ClosedDays(), lambda day: rollup.model_copy(update={"day": day}), yesterday - timedelta(days=1))
    s3.put_object(Bucket=BUCKET, Key=rollup_key(yesterday), Body=json.dumps(rollup.dump()).encode())
    s3.put_object(Bucket=BUCKET, Key=CLOSED_DAYS_KEY, Body=json.dumps(closed.dump()).encode())


def object_sizes(s3: Any, today: str) -> dict[str, int]:
    """Stored sizes: the page and status.json decompressed (their gzip size under `<key> gz`)."""
    sizes: dict[str, int] = {}
    for key in (*SIZED_KEYS, f"history/{today}.json"):
        try:
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            continue
        name = "day rollup" if key.startswith("history/2") else key
        if body[:2] == b"\x1f\x8b":
            sizes[f"{name} gz"] = len(body)
            body = gzip.decompress(body)
        sizes[name] = len(body)
    return sizes


@contextmanager
def monitor_world(count: int) -> Iterator[tuple[dict[str, str], Any, str]]:
    """Origins on HOSTS ports, a moto server with the bucket, the targets file and seeded history; the
    environment a run needs, the S3 client and the page's local copy path."""
    import boto3

    from bench.run import free_ports, handler_environment, moto_s3, origins

    ports = free_ports(HOSTS)
    with origins(ports), moto_s3(BUCKET) as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        targets = target_urls(ports, count)
        s3.put_object(Bucket=BUCKET, Key=TARGETS_KEY, Body="\n".join(targets).encode())
        seed_history(s3, targets, datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
        env = handler_environment(
            endpoint,
            RESULTS_BUCKET=BUCKET,
            TARGETS_S3_URI=f"s3://{BUCKET}/{TARGETS_KEY}",
            POWERTOOLS_METRICS_NAMESPACE="fanfetch",
        )
        yield env, s3, endpoint


def one_run(env: dict[str, str], number: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.monitor_run", f"bench-run-{number:03d}"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"monitor run {number} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["run"] = number
    return figures


def runs_of(
    count: int, runs: int, page_dir: Path | None = None, profile_last: str | None = None
) -> list[dict[str, Any]]:
    """`runs` scheduled runs over `count` targets, each in a fresh process; per run its figures and the sizes of
    what the bucket holds after it. The last run's page is left in page_dir; with profile_last, a cProfile of
    the last run is written there."""
    figures: list[dict[str, Any]] = []
    with monitor_world(count) as (env, s3, _):
        for number in range(1, runs + 1):
            profiled = {"BENCH_PROFILE": profile_last} if profile_last and number == runs else {}
            run = one_run({**env, **profiled}, number)
            if run["errors"] or run["ok"] != count:
                raise SystemExit(f"monitor run {number} was not clean: {run}")
            run["bytes"] = object_sizes(s3, f"{datetime.now(UTC):%Y/%m/%d}")
            figures.append(run)
        if page_dir is not None:
            body = s3.get_object(Bucket=BUCKET, Key="status.html")["Body"].read()
            (page_dir / "status.html").write_bytes(gzip.decompress(body))
    return figures


def medians(figures: list[dict[str, Any]], name: str) -> float:
    return statistics.median(run[name] for run in figures[-MEDIAN_OF:])


if __name__ == "__main__":
    for run in runs_of(int(sys.argv[1]), int(sys.argv[2]), profile_last=os.environ.get("PROFILE_LAST")):
        print(json.dumps(run), flush=True)
