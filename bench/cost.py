"""`make cost`: what a job of a million URLs costs, from the measured chunk (bench/results/chunk.json, written by
`make bench ARGS="--only chunk"`), and what a monitor probed from N regions costs a month, from the measured runs
(bench/results/monitor-regions.json, `make bench ARGS="--only monitor-regions"`), with template.yaml's settings and
list prices. Writes docs/cost.md; `make cost ARGS="--regions 3 --targets 1000 --period 300"` prints one monitor.

Every figure below is either measured (named so), read from the template or the settings, or a list price; the
assumptions are written into the page beside the table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "bench" / "results" / "chunk.json"
MONITOR_FIGURES = ROOT / "bench" / "results" / "monitor-regions.json"
PAGE = ROOT / "docs" / "cost.md"
URLS = 1_000_000

# us-east-1 list prices (AWS pricing pages for Lambda, Step Functions and S3, as of 2025); check before relying.
LAMBDA_GB_S = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
LAMBDA_REQUEST = 0.20 / 1_000_000
STANDARD_TRANSITION = 0.025 / 1000
EXPRESS_REQUEST = 1.00 / 1_000_000
EXPRESS_GB_S = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024  # billed in 64 MB steps; a child that only invokes a function uses the first
EXPRESS_BILLING_STEP_S = 0.1
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
S3_GB_MONTH = 0.023
SYNTHETICS_CANARY_RUN = 0.0012
INTER_REGION_GB = 0.02  # data transfer between regions, per GB (most pairs; some cost more)
MONTH_S = 30 * 86400

# Assumptions, each stated on the page.
FULL_VCPU_MB = 1769  # Lambda gives one vCPU at 1,769 MB, and a share in proportion below it
COLD_START_S = 1.5  # INIT of a fresh environment (billed since August 2025), imports and runtime start
AGGREGATE_MEMORY_MB = 1769
CHILD_OVERHEAD_S = 0.2  # an EXPRESS child's time around its one Lambda invocation
MULTIPART_PART_BYTES = 8 * 1024 * 1024
INPUT_BYTES_PER_URL = 60  # a URL of about 55 characters, quoted, in input.jsonl
PARENT_TRANSITIONS = 6  # FetchChunks, Aggregate, MapOutcome, Done, start and end
RETENTION_DAYS = 30  # the results bucket's lifecycle rule for jobs/


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str
    dollars: float


def template_settings() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    parameters = template["Parameters"]
    return {
        "architecture": parameters["Architecture"]["Default"],
        "job_concurrency": parameters["JobConcurrency"]["Default"],
    }


def price(figures: dict[str, Any], settings: dict[str, Any]) -> tuple[list[Line], float, dict[str, float]]:
    per_chunk = figures["urls_per_chunk"]
    chunks = math.ceil(URLS / per_chunk)
    memory_gb = figures["memory_mb"] / 1024
    # Measured on a machine with whole cores; in Lambda the same CPU work takes 1/share as long. Counted as if none
    # of it overlapped waiting on the network, which makes this an upper bound.
    share = min(1.0, figures["memory_mb"] / FULL_VCPU_MB)
    chunk_s = figures["wall_s"] + figures["cpu_s"] * (1 / share - 1)
    fetch_gb_s = chunks * chunk_s * memory_gb
    cold_gb_s = settings["job_concurrency"] * COLD_START_S * memory_gb
    gb_s_price = LAMBDA_GB_S[settings["architecture"]]
    aggregate_s = figures["merge_s_per_1000_urls"] * URLS / 1000
    aggregate_gb_s = aggregate_s * AGGREGATE_MEMORY_MB / 1024
    child_s = math.ceil((chunk_s + CHILD_OVERHEAD_S) / EXPRESS_BILLING_STEP_S) * EXPRESS_BILLING_STEP_S
    results_gb = figures["part_bytes_per_url"] * URLS / 1e9
    input_gb = INPUT_BYTES_PER_URL * URLS / 1e9
    multipart_parts = math.ceil(results_gb * 1e9 / MULTIPART_PART_BYTES)
    puts = 1 + chunks + multipart_parts + 2 + 1 + 5  # input, parts, results parts, its create/complete, summary, map
    gets = 1 + chunks + math.ceil(chunks / 1000) + 5  # input (map and aggregate), parts, lists, result files
    lines = [
        Line(
            "Lambda, job function: GB-seconds",
            f"{chunks:,} chunks x {chunk_s:.1f} s x {memory_gb:g} GB = {fetch_gb_s:,.0f} GB-s",
            fetch_gb_s * gb_s_price,
        ),
        Line(
            "Lambda, cold starts",
            f"{settings['job_concurrency']} environments x {COLD_START_S} s x {memory_gb:g} GB = {cold_gb_s:,.0f} GB-s",
            cold_gb_s * gb_s_price,
        ),
        Line("Lambda requests", f"{chunks + 1:,}", (chunks + 1) * LAMBDA_REQUEST),
        Line(
            "Lambda, aggregate",
            f"{aggregate_s:,.0f} s x {AGGREGATE_MEMORY_MB / 1024:.2f} GB = {aggregate_gb_s:,.0f} GB-s",
            aggregate_gb_s * gb_s_price,
        ),
        Line(
            "Step Functions, Standard transitions (one per child started)",
            f"{chunks + PARENT_TRANSITIONS:,}",
            (chunks + PARENT_TRANSITIONS) * STANDARD_TRANSITION,
        ),
        Line(
            "Step Functions, EXPRESS children",
            f"{chunks:,} requests, {chunks:,} x {child_s:.1f} s x 64 MB",
            chunks * EXPRESS_REQUEST + chunks * child_s * EXPRESS_MEMORY_GB * EXPRESS_GB_S,
        ),
        Line("S3 PUT and LIST requests", f"about {puts:,}", puts * S3_PUT),
        Line("S3 GET requests", f"about {gets:,}", gets * S3_GET),
        Line(
            f"S3 storage for {RETENTION_DAYS} days",
            f"results.jsonl {results_gb:.2f} GB, input {input_gb:.2f} GB (parts are deleted once merged)",
            (results_gb + input_gb) * S3_GB_MONTH * RETENTION_DAYS / 30,
        ),
    ]
    total = sum(line.dollars for line in lines)
    derived = {"chunks": chunks, "chunk_s": chunk_s, "share": share, "total": total}
    return lines, total, derived


@dataclass(frozen=True)
class Monitor:
    regions: int
    targets: int
    period_s: float


def monitor_price(figures: dict[str, Any], settings: dict[str, Any], monitor: Monitor) -> tuple[list[Line], float]:
    """A month of a monitor: every region runs every target each period. A run is priced as the measured one,
    scaled by targets over the measured targets (never below one measured run: a run waits for its slowest
    target whatever the list's size), its CPU time at Lambda's share of a vCPU as for a chunk."""
    runs_per_region = MONTH_S / monitor.period_s
    runs = runs_per_region * monitor.regions
    scale = max(1.0, monitor.targets / figures["targets"])
    memory_gb = figures["memory_mb"] / 1024
    share = min(1.0, figures["memory_mb"] / FULL_VCPU_MB)
    run_s = (figures["wall_s"] + figures["cpu_s"] * (1 / share - 1)) * scale
    gb_s = runs * run_s * memory_gb
    requests = figures["requests"]
    puts = requests.get("s3.PutObject", 0) * runs
    gets = requests.get("s3.GetObject", 0) * runs
    moved_gb = (requests.get("bytes_sent", 0) + requests.get("bytes_received", 0)) * scale / 1e9
    # Only the probe regions' runs cross regions: the home region's function sits beside its bucket
    crossing_gb = moved_gb * runs_per_region * (monitor.regions - 1)
    lines = [
        Line(
            "Lambda GB-seconds",
            f"{runs:,.0f} runs x {run_s:.1f} s x {memory_gb:g} GB = {gb_s:,.0f} GB-s",
            gb_s * LAMBDA_GB_S[settings["architecture"]],
        ),
        Line("Lambda requests", f"{runs:,.0f}", runs * LAMBDA_REQUEST),
        Line("S3 PUT requests", f"{puts:,.0f}", puts * S3_PUT),
        Line("S3 GET requests", f"{gets:,.0f}", gets * S3_GET),
        Line("Data between regions", f"{crossing_gb:,.1f} GB", crossing_gb * INTER_REGION_GB),
    ]
    return lines, sum(line.dollars for line in lines)


def monitor_table(figures: dict[str, Any], settings: dict[str, Any]) -> str:
    rows = []
    for regions in range(1, 6):
        monitor = Monitor(regions, figures["targets"], 300)
        lines, total = monitor_price(figures, settings, monitor)
        checks = MONTH_S / monitor.period_s * regions * monitor.targets
        rows.append(
            f"| {regions} | {checks / 1e6:.1f} M | "
            + " | ".join(dollars(line.dollars) for line in lines)
            + f" | **{dollars(total)}** | ${checks * SYNTHETICS_CANARY_RUN:,.0f} |"
        )
    return "\n".join(rows)


def rate(value: float) -> str:
    """A unit price as AWS lists it: $0.0000133334, not 1.33334e-05."""
    return "$" + f"{value:.10f}".rstrip("0").rstrip(".")


def dollars(value: float) -> str:
    return f"${value:.4f}" if value < 0.01 else f"${value:.3f}"


def render(figures: dict[str, Any], settings: dict[str, Any]) -> str:
    lines, total, derived = price(figures, settings)
    rows = "\n".join(f"| {line.item} | {line.quantity} | {dollars(line.dollars)} |" for line in lines)
    failures = ", ".join(f"{kind} {count}" for kind, count in sorted(figures["failures"].items()))
    architecture = settings["architecture"]
    return f"""# What a job costs

Generated by `make cost` from `bench/results/chunk.json` (written by `make bench ARGS="--only chunk"`),
`template.yaml` and list prices. Do not edit by hand: run the bench, then `make cost`.

**About {dollars(total)} per million URLs**, all in.

## Measured

One job chunk through the real handler, as the job function runs it (its results written to S3, a moto server
on loopback), in a fresh process, {figures["rounds"]} runs; medians, on {figures["machine"]}:

- the list: the bench's long-tail mix (log-normal latency, median 100 ms and p99 3 s; 1% of URLs accept and never
  answer, 1% reset the connection) over {figures["hosts"]} hosts, planned as `POST /jobs` plans it with the job
  defaults: {figures["urls_per_chunk"]:,} URLs per chunk;
- wall {figures["wall_s"]} s (slowest {figures["wall_s_slowest"]} s), CPU {figures["cpu_s"]} s, peak RSS
  {figures["peak_rss_mb"]} MB at {figures["memory_mb"]} MB; {figures["gb_s_per_1000_urls"]} GB-s per 1,000 URLs;
- failures in the median run: {failures}; URLs cut by the deadline: {"some" if figures["deadline_hit"] else "none"};
- results: {figures["part_bytes_per_url"]} bytes per URL;
- the aggregate step: {figures["merge_s_per_1000_urls"]} s per 1,000 URLs, over {figures["merge_urls"]:,} URLs.

## A million URLs

| item | quantity | cost |
| --- | --- | --- |
{rows}
| **total** | | **{dollars(total)}** |

## Assumptions

- Prices: us-east-1 list prices as of 2025 (Lambda {architecture} {rate(LAMBDA_GB_S[architecture])}
  per GB-s and $0.20 per million requests; Step Functions Standard $0.025 per 1,000 transitions, EXPRESS $1.00 per
  million requests and {rate(EXPRESS_GB_S)} per GB-s; S3 $0.005 per 1,000 PUT or LIST, $0.0004 per 1,000 GET,
  {rate(S3_GB_MONTH)} per GB-month). Check them on the AWS pricing pages.
- Lambda time: the measured wall time, plus the measured CPU time scaled to the share of a vCPU Lambda gives
  {figures["memory_mb"]} MB ({derived["share"]:.2f} of one at {FULL_VCPU_MB} MB), counted as if none of it
  overlapped waiting on the network: {derived["chunk_s"]:.1f} s per chunk, an upper bound. The template deploys
  {settings["architecture"]}; this I/O-bound chunk is assumed to take the same time there as on the x86_64
  machine that measured it.
- Every chunk is like the measured one: as many URLs, the same mix. Fewer hosts than 50 per chunk make smaller
  chunks (`per_host` bounds each host's share), and so more of them.
- Cold starts: each of the job function's {settings["job_concurrency"]} environments (`JobConcurrency`) starts
  once, {COLD_START_S} s each.
- Step Functions: one Standard transition per child started, {PARENT_TRANSITIONS} for the job's own states; each
  EXPRESS child runs its one invocation plus {CHILD_OVERHEAD_S} s, billed at 64 MB in 100 ms steps.
- S3: results kept {RETENTION_DAYS} days (the bucket's lifecycle rule for `jobs/`); the input at
  {INPUT_BYTES_PER_URL} bytes per URL; the aggregate's time as measured against moto, whose S3 is slower than
  S3's, at {AGGREGATE_MEMORY_MB} MB.
- Not counted: CloudWatch Logs (one log line per chunk), X-Ray traces of the state machine (one per job, inside
  the free tier for most), data transfer out to the fetched sites (none: responses come in), NAT gateways (the
  functions run outside a VPC).

For comparison, CloudWatch Synthetics bills {rate(SYNTHETICS_CANARY_RUN)} per canary run: a million checks as one run
each is ${SYNTHETICS_CANARY_RUN * URLS:,.0f}.
{monitor_section(settings)}"""


def monitor_section(settings: dict[str, Any]) -> str:
    figures = json.loads(MONITOR_FIGURES.read_text())
    requests = figures["requests"]
    moved = (requests.get("bytes_sent", 0) + requests.get("bytes_received", 0)) / 1e6
    return f"""
## A monitor from several regions

A month (30 days) of a monitor of {figures["targets"]:,} targets every 5 minutes, probed from 1 to 5 regions
([regions](regions.md)); `make cost ARGS="--regions N --targets T --period S"` prices another.

| regions | checks | Lambda GB-s | requests | S3 PUT | S3 GET | between regions | total | as Synthetics runs |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{monitor_table(figures, settings)}

Measured by `make bench ARGS="--only monitor-regions"`: the scheduled handler as each of three regions runs it,
{figures["rounds"]} rounds, in one warm process, against a moto server and loopback origins with the bench's
long-tail latencies (median 100 ms, p99 3 s; the slowest target answers after the 10 s timeout, so every run
waits for it, as a real monitor waits for its slowest target); medians of the runs after the first round, on
{figures["machine"]}: wall {figures["wall_s"]} s (the fetch {figures["fetch_s"]} s, keeping the run
{figures["sink_s"]} s), CPU {figures["cpu_s"]} s, {requests.get("s3.PutObject", 0):g} S3 PUT and
{requests.get("s3.GetObject", 0):g} GET per run, {moved:.2f} MB sent and received.

- A run is priced at the function's {figures["memory_mb"]} MB, its CPU time scaled to Lambda's share of a vCPU as
  for a chunk above; a longer list is priced in proportion to the measured one, a shorter one as the measured run.
- Data between regions: only probe regions' runs cross regions, at {rate(INTER_REGION_GB)} per GB (most region
  pairs; some cost more). SNS messages go out only on news and cost nothing at this scale.
- Not counted: EventBridge schedule events (free), CloudWatch Logs (a few lines and one EMF document per run),
  the alarms and the dashboard (home region only, as with one region).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if docs/cost.md differs from what it would write")
    parser.add_argument("--regions", type=int, help="price one monitor probed from this many regions, and stop")
    parser.add_argument("--targets", type=int, default=1000, help="the monitor's targets (default 1000)")
    parser.add_argument("--period", type=float, default=300, help="seconds between runs (default 300)")
    args = parser.parse_args()
    if args.regions is not None:
        monitor = Monitor(args.regions, args.targets, args.period)
        lines, total = monitor_price(json.loads(MONITOR_FIGURES.read_text()), template_settings(), monitor)
        for line in lines:
            print(f"{line.item}: {line.quantity}: {dollars(line.dollars)}")
        shape = f"{args.targets:,} targets every {args.period:g} s from {args.regions} region(s)"
        print(f"a month of {shape}: {dollars(total)}")
        return
    page = render(json.loads(FIGURES.read_text()), template_settings())
    if args.check:
        if PAGE.read_text() != page:
            sys.exit("docs/cost.md is stale: run `make cost`")
        return
    PAGE.write_text(page)
    print(f"{PAGE.relative_to(ROOT)}: {page.splitlines()[5]}")


if __name__ == "__main__":
    main()
