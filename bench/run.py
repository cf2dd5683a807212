"""`make bench`: fanfetch's engine against the naive gather loop, side by side in one run, on loopback origins.

Scenarios (issue targets in brackets; `--only` picks some, e.g. `make bench ARGS="--only longtail"`):
  a         5000 x 1 KB from nginx (one worker), concurrency 100, per_host 100   [wall <= 0.6x naive,
            feature overhead <= 1.15x floor]
  b         1000 x 10 KB with 50 ms latency from an aiohttp origin process       [wall <= 0.7x naive]
  c         100 x 5 MB from nginx                                                 [peak RSS <= 100 MB]
  cold      importing the built handler vs importing aiohttp alone               [<= 1.2x]
  longtail  1000 x 10 KB closer to the internet: log-normal latency (median 100 ms, p99 3 s, the same per URL in
            every run), 1% of URLs accept and never answer, 1% reset the connection; the naive loop (30 s total
            timeout) beside fanfetch with its defaults and with a deadline of 3 s and of 10 s, per_host 100
  chunk     one job chunk through the handler, as the job function runs it: the long-tail mix over 50 hosts,
            planned with the job defaults, its results written to S3 (a moto server); wall seconds and
            GB-seconds per 1,000 URLs at the job function's memory, saved to bench/results/chunk.json for `make cost`
  monitor-regions  a monitor of 1,000 targets probed from three regions (the scheduled handler per region, moto
            and loopback origins): a run's wall and CPU time and its S3 and SNS requests, medians, saved to
            bench/results/monitor-regions.json for `make cost`
  monitor-scale  a monitor of 100, 1,000 and 5,000 targets at steady state: the sizes of what it keeps and
            writes, the time to work out its page and status.json, peak RSS, and the page's load time in headless
            Chromium from a file                                                 [5,000: page <= 1.5 MB, load <= 1.5 s]
  monitor-runs  the same end to end: 100, 1,000 and 5,000 loopback targets over 50 hosts, 50 scheduled runs of the
            real handler against a moto server (history of 90 days seeded), each run a fresh process; per run wall
            time, monitor.sink_ms and peak RSS (runs 1, 10, 50 and the median of the last 10), sizes after run 50,
            and the last page's load time in Chromium                [5,000: RSS <= 200 MB, run <= 5 s, load <= 1.5 s]
A featureless streaming loop ("floor") runs beside a, b and c, to show what aiohttp itself costs per request.
Each client run is a fresh process; runs alternate between implementations; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tools.processes import free_port, serving, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build" / "FanfetchFunction"
SCENARIOS = ("a", "b", "c", "cold", "longtail", "chunk", "monitor-scale", "monitor-runs", "monitor-regions")
FLOOR_OVERHEAD_LIMIT = 1.15
LONGTAIL_URLS = 1000
LONGTAIL_SEED = 1
LONGTAIL_MEDIAN_MS = 100.0
LONGTAIL_P99_MS = 3000.0
CHUNK_HOSTS = 50
CHUNK_LIST_URLS = 20_000  # planned as a job would be; the first chunk is the one measured
CHUNK_FIGURES = ROOT / "bench" / "results" / "chunk.json"
REGIONS_FIGURES = ROOT / "bench" / "results" / "monitor-regions.json"
REGIONS_TARGETS = 1000
REGIONS_HOSTS = 50
MERGE_CHUNKS = 20  # the aggregate step is timed over this many copies of the measured chunk
# Label: (client, its options). fanfetch gets per_host 100 from the client: one origin stands in for many hosts.
LONGTAIL_CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "naive, 30 s total timeout": ("naive", ("--total-timeout", "30")),
    "fanfetch, defaults": ("fanfetch", ()),
    "fanfetch, deadline 3": ("fanfetch", ("--deadline", "3")),
    "fanfetch, deadline 10": ("fanfetch", ("--deadline", "10")),
}
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log stderr crit;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    sendfile on;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {dir}/www;
    }}
}}
"""


@contextmanager
def nginx() -> Iterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is needed for scenarios a and c: apt-get install nginx-light")
    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)  # nginx workers drop root and must read the files
        www = Path(directory) / "www"
        www.mkdir(mode=0o755)
        (www / "1k.bin").write_bytes(b"k" * 1024)
        (www / "5m.bin").write_bytes(b"m" * 5 * 1024 * 1024)
        port = free_port()
        conf = Path(directory) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=directory, port=port))
        with serving([binary, "-p", directory, "-c", str(conf), "-e", "stderr"], port):
            yield port


@contextmanager
def slow_origin() -> Iterator[int]:
    """tools.origin in its own process, killed at the end: a graceful stop would wait a minute for /hang handlers.

    Its log is dropped: clients that give up on a response (timeouts, deadlines, a raising gather) make it log
    every write to a closed connection.
    """
    port = free_port()
    command = [sys.executable, "-m", "tools.origin", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.kill()
        process.wait()


def client(impl: str, urls: list[str], options: Sequence[str] = ()) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as handle:
        handle.write("\n".join(urls))
        handle.flush()
        command = [sys.executable, "-m", "bench.client", impl, handle.name, *options]
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}"}
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{impl} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def import_time(module: str) -> float:
    """Seconds to import a module from the built artifact alone (no site-packages), in a fresh interpreter."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(BUILD_DIR)!r}); t = time.perf_counter(); import {module}; "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, **template_environment(), "AWS_DEFAULT_REGION": "us-east-1"}
    output = subprocess.run([sys.executable, "-S", "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(output.stdout)


def template_environment() -> dict[str, str]:
    """The function's literal environment variables from template.yaml, so imports run as they do in Lambda."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {name: str(value) for name, value in variables.items() if isinstance(value, (str, int))}


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def alternating(labels: Sequence[str], round_: int) -> list[str]:
    """Every other round runs the clients in reverse order, so none always runs first on a warmer machine."""
    return list(labels) if round_ % 2 == 0 else list(reversed(labels))


def scenario_list(text: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in text.split(","))
    unknown = names - set(SCENARIOS)
    if unknown:
        known = ", ".join(SCENARIOS)
        raise argparse.ArgumentTypeError(f"unknown scenario {', '.join(sorted(unknown))}; known: {known}")
    return names


def longtail_urls(ports: Sequence[int], count: int = LONGTAIL_URLS) -> tuple[list[str], list[int]]:
    """The long-tailed URL list and its latencies in ms, the same in every run and for every client.

    The latencies are the log-normal's quantiles at (k + 0.5) / n, shuffled with a fixed seed: a draw of 980 would
    put its own p99 anywhere between about 2 and 4 s, the quantiles keep the median and p99 where they are asked.
    """
    rng = random.Random(LONGTAIL_SEED)
    broken = count // 100
    kinds = ["hang"] * broken + ["reset"] * broken + ["latency"] * (count - 2 * broken)
    rng.shuffle(kinds)
    sigma = math.log(LONGTAIL_P99_MS / LONGTAIL_MEDIAN_MS) / statistics.NormalDist().inv_cdf(0.99)
    log_normal = statistics.NormalDist(math.log(LONGTAIL_MEDIAN_MS), sigma)
    count = kinds.count("latency")
    delays = [round(math.exp(log_normal.inv_cdf((k + 0.5) / count))) for k in range(count)]
    rng.shuffle(delays)
    urls: list[str] = []
    next_delay = iter(delays)
    for index, kind in enumerate(kinds):
        port = ports[index % len(ports)]
        if kind == "latency":
            urls.append(f"http://127.0.0.1:{port}/bytes/10240?delay_ms={next(next_delay)}&i={index}")
        else:  # tools.origin: /hang reads the request and never answers, /reset answers it with a TCP RST
            urls.append(f"http://127.0.0.1:{port}/{kind}?i={index}")
    return urls, delays


def loopback_runs(name: str, urls: list[str], rounds: int, uvloop: bool) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {"naive": [], "floor": [], "fanfetch": []}
    for round_ in range(rounds):
        for impl in alternating(list(runs), round_):
            run = client(impl, urls, ("--uvloop",) if uvloop and impl == "fanfetch" else ())
            if run["ok"] != len(urls):
                problem = run["raised"] or run["failures"]
                raise SystemExit(f"{name}: {impl} answered {run['ok']} of {len(urls)} URLs: {problem}")
            runs[impl].append(run)
    sizes = {run["bytes"] for impl_runs in runs.values() for run in impl_runs}
    if len(sizes) != 1:
        raise SystemExit(f"{name}: the implementations read different byte counts {sizes}")
    return runs


Row = tuple[str, str, float, float, float, str, str, str]


def loopback_rows(name: str, runs: dict[str, list[dict[str, Any]]]) -> list[Row]:
    targets = {"a": ("wall_s", 0.6), "b": ("wall_s", 0.7), "c": ("peak_rss_mb", None)}
    key, limit = targets[name[0]]
    rows: list[Row] = []
    for metric in ("wall_s", "cpu_s", "peak_rss_mb"):
        base, least, ours = (median_of(runs[impl], metric) for impl in ("naive", "floor", "fanfetch"))
        wanted = []
        if metric == key and limit is not None:
            wanted.append(f"<= {limit}x naive: {verdict(ours / base <= limit)}")
        if metric == "wall_s" and name.startswith("a"):
            wanted.append(f"<= {FLOOR_OVERHEAD_LIMIT}x floor: {verdict(ours / least <= FLOOR_OVERHEAD_LIMIT)}")
        if metric == "peak_rss_mb" and name.startswith("c"):
            wanted.append(f"<= 100 MB: {verdict(ours <= 100)}")
        rows.append((name, metric, base, least, ours, f"{ours / base:.2f}x", f"{ours / least:.2f}x", "; ".join(wanted)))
    return rows


def floor_spread(name: str, runs: dict[str, list[dict[str, Any]]]) -> str:
    """fanfetch/floor wall time round by round: how far the noise moves the ratio."""
    pairs = zip(runs["fanfetch"], runs["floor"], strict=True)
    ratios = sorted(ours["wall_s"] / least["wall_s"] for ours, least in pairs)
    return f"{name}: fanfetch/floor wall time per round {ratios[0]:.2f}x to {ratios[-1]:.2f}x"


def longtail_runs(port: int, rounds: int) -> tuple[dict[str, list[dict[str, Any]]], list[int]]:
    urls, delays = longtail_urls([port])
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in LONGTAIL_CLIENTS}
    for round_ in range(rounds):
        for label in alternating(list(runs), round_):
            impl, options = LONGTAIL_CLIENTS[label]
            runs[label].append(client(impl, urls, options))
    return runs, delays


def what_failed(run: dict[str, Any]) -> str:
    if run["raised"]:
        return f"raised {run['raised'].split(':')[0]} after {run['answered_before_raise']} answers, lost them all"
    failures: dict[str, int] = run["failures"]
    return ", ".join(f"{kind} {count}" for kind, count in sorted(failures.items(), key=lambda item: -item[1]))


def cell_text(cell: object) -> str:
    if isinstance(cell, float):
        return "" if math.isnan(cell) else f"{cell:.3f}"
    return str(cell)


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = [tuple(header), *(tuple(cell_text(c) for c in row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def print_longtail(runs: dict[str, list[dict[str, Any]]], delays: list[int], rounds: int) -> None:
    percentiles = statistics.quantiles(delays, n=100)
    print(
        f"\nlongtail: {LONGTAIL_URLS} URLs, medians of {rounds} runs; latency per URL (seed {LONGTAIL_SEED}): "
        f"median {statistics.median(delays):.0f} ms, p99 {percentiles[98]:.0f} ms, max {max(delays)} ms, "
        f"{sum(delay > 3000 for delay in delays)} over 3 s, {sum(delay > 10000 for delay in delays)} over 10 s; "
        f"{LONGTAIL_URLS // 100} hang, {LONGTAIL_URLS // 100} reset"
    )
    rows = []
    for label, label_runs in runs.items():
        ok = sorted(run["ok"] for run in label_runs)
        by_wall = sorted(label_runs, key=lambda run: run["wall_s"])
        rows.append(
            (
                label,
                median_of(label_runs, "wall_s"),
                by_wall[-1]["wall_s"],
                f"{statistics.median(ok):g}" + (f" ({ok[0]}-{ok[-1]})" if ok[0] != ok[-1] else ""),
                f"{median_of(label_runs, 'lost'):g}",
                what_failed(by_wall[(len(by_wall) - 1) // 2]),
            )
        )
    print_table(("client", "wall s", "slowest s", "ok", "lost", "failures in the median run"), rows)


def job_memory_mb() -> int:
    """The job function's memory in template.yaml (its own, else the Globals')."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    own = template["Resources"]["JobFetchFunction"]["Properties"].get("MemorySize")
    return int(own or template["Globals"]["Function"]["MemorySize"])


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: free_port() may give a port twice, and one process cannot listen on it twice."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


@contextmanager
def origins(ports: Sequence[int]) -> Iterator[None]:
    """bench.origins on every port, killed at the end (a graceful stop would wait for its /hang handlers)."""
    # Its log is dropped: a client that gives up on a response (a timeout) makes it log the closed connection.
    command = [sys.executable, "-m", "bench.origins", *map(str, ports)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        for port in ports:
            wait_for_port(port)
        yield
    finally:
        process.kill()
        process.wait()


@contextmanager
def moto_s3(bucket: str) -> Iterator[str]:
    """A moto server on loopback with the bucket made; its endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # `make bench` sets them; nothing here may reach AWS
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()


def handler_environment(endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a process that runs the handler against the moto server at `endpoint` and loopback
    origins, with the results bucket moto_s3 made; `extra` adds to it."""
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}",
        "RESULTS_BUCKET": "fanfetch-results",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MAX_URLS": "5000",
        "ALLOWED_NETWORKS": "127.0.0.0/8",
        "ALLOWED_PORTS": "1-65535",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        **extra,
    }


def chunk_event(ports: Sequence[int]) -> dict[str, Any]:
    """The first chunk of a long-tail list planned with the job defaults, as POST /jobs writes it."""
    sys.path.insert(0, str(ROOT / "functions"))
    from fanfetch.jobs.lists import chunk_options
    from fanfetch.jobs.plan import chunk_lines, plan_chunks
    from fanfetch.models import FetchOptions
    from fanfetch.settings import Settings

    urls, _ = longtail_urls(ports, CHUNK_LIST_URLS)
    settings = Settings()
    options = chunk_options(FetchOptions(), settings)
    first = next(plan_chunks(urls, options, settings.JOB_CHUNK_SECONDS, settings.JOB_CHUNK_MAX_URLS))
    line = next(chunk_lines([first], options, "20261207T000000Z-benchchunk01"))
    event: dict[str, Any] = json.loads(line)
    return event


def chunk_runs(rounds: int) -> dict[str, Any]:
    """One chunk, `rounds` times, each in a fresh process; the medians and what they cost per 1,000 URLs."""
    ports = free_ports(CHUNK_HOSTS)
    memory_mb = job_memory_mb()
    runs: list[dict[str, Any]] = []
    with origins(ports), moto_s3("fanfetch-results") as endpoint, tempfile.TemporaryDirectory() as work:
        event = chunk_event(ports)
        event_path = Path(work) / "chunk.json"
        event_path.write_text(json.dumps(event))
        env = handler_environment(endpoint, BENCH_MEMORY_MB=str(memory_mb))
        for _ in range(rounds):
            command = [sys.executable, "-m", "bench.chunk", str(event_path)]
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
            if done.returncode:
                raise SystemExit(f"chunk run failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        # The aggregate step, over a job of MERGE_CHUNKS copies of the chunk's part, once
        command = [sys.executable, "-m", "bench.merge", str(event_path), str(MERGE_CHUNKS)]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"merge run failed:\n{done.stderr[-3000:]}")
        merge = json.loads(done.stdout.strip().splitlines()[-1])
    urls = len(event["urls"])
    wall = median_of(runs, "wall_s")
    return {
        "urls_per_chunk": urls,
        "hosts": CHUNK_HOSTS,
        "memory_mb": memory_mb,
        "rounds": rounds,
        "wall_s": round(wall, 3),
        "wall_s_slowest": round(max(run["wall_s"] for run in runs), 3),
        "cpu_s": round(median_of(runs, "cpu_s"), 3),
        "peak_rss_mb": round(median_of(runs, "peak_rss_mb"), 1),
        "gb_s_per_1000_urls": round(wall * memory_mb / 1024 * 1000 / urls, 4),
        "part_bytes_per_url": round(statistics.median(run["part_bytes"] for run in runs) / urls, 1),
        "failures": runs[len(runs) // 2]["failures"],
        "deadline_hit": any(run["answer"]["deadline_hit"] for run in runs),
        "merge_urls": merge["urls"],
        "merge_s_per_1000_urls": round(merge["wall_s"] * 1000 / merge["urls"], 4),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
    }


def monitor_regions_runs(rounds: int) -> dict[str, Any]:
    """A monitor of REGIONS_TARGETS targets (the long-tail latencies, every target answering) probed from three
    regions: `rounds` rounds of three runs in one warm process, against a moto server and loopback origins; the
    medians of a run's wall and CPU time and of its S3 and SNS requests, for `make cost`."""
    import boto3

    ports = free_ports(REGIONS_HOSTS)
    # Every target answers: the list's hanging and resetting URLs are left out
    urls = [url for url in longtail_urls(ports, REGIONS_TARGETS * 102 // 100)[0] if "delay_ms" in url]
    urls = urls[:REGIONS_TARGETS]
    with origins(ports), moto_s3("fanfetch-results") as endpoint:
        sns = boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1")
        topic = sns.create_topic(Name="fanfetch-alerts")["TopicArn"]
        env = handler_environment(
            endpoint,
            ALERT_TOPIC_ARN=topic,
            HOME_REGION="us-east-1",
            MONITOR_REGIONS="us-east-1,eu-west-1,ap-southeast-2",
            MONITOR_SCHEDULE="rate(5 minutes)",
            MONITOR_URLS=",".join(urls),
        )
        command = [sys.executable, "-m", "bench.monitor_regions", str(rounds)]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"monitor runs failed:\n{done.stderr[-3000:]}")
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    steady = [run for run in runs if run["round"] > 0] or runs  # the first round creates every document
    requests: dict[str, float] = {}
    for name in sorted({name for run in steady for name in run["requests"]}):
        requests[name] = statistics.median(run["requests"].get(name, 0) for run in steady)
    return {
        "targets": len(urls),
        "regions": 3,
        "rounds": rounds,
        "memory_mb": 512,
        "wall_s": round(median_of(steady, "wall_s"), 3),
        "cpu_s": round(median_of(steady, "cpu_s"), 3),
        "fetch_s": round(median_of(steady, "fetch_s"), 3),
        "sink_s": round(median_of(steady, "sink_s"), 3),
        "failed": statistics.median(run["total"] - run["ok"] for run in steady),
        "sink_errors": sorted({error for run in steady for error in run["errors"]}),
        "requests": requests,
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
    }


MONITOR_SIZES = (100, 1000, 5000)


def page_load_seconds(page: Path) -> float:
    """Seconds from navigation to the load event of the page, from a file, in Debian's chromium."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        tab = browser.new_page()
        started = time.perf_counter()
        tab.goto(page.as_uri(), wait_until="load")
        took = time.perf_counter() - started
        browser.close()
    return took


def monitor_scale_rows(rounds: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}"}
    for count in MONITOR_SIZES:
        runs, loads = [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as work:
                command = [sys.executable, "-m", "bench.monitor_scale", str(count), work]
                done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise SystemExit(f"monitor-scale run failed:\n{done.stderr[-3000:]}")
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                loads.append(page_load_seconds(Path(work) / "status.html"))
        sizes = runs[0]["bytes"]
        rows.append(
            (
                f"{count:,}",
                f"{sizes['latest_json'] / 1e6:.2f}",
                f"{sizes['day_rollup'] / 1e6:.2f}",
                f"{sizes['days_json'] / 1e6:.2f}",
                f"{sizes['status_json'] / 1e6:.2f} ({sizes['status_json_gz'] / 1e3:.0f} KB gz)",
                f"{sizes['page'] / 1e6:.2f} ({sizes['page_gz'] / 1e3:.0f} KB gz)",
                f"{statistics.median(run['compute_s'] for run in runs):.2f}",
                f"{statistics.median(loads):.2f}",
                f"{statistics.median(run['peak_rss_mb'] for run in runs):.0f}",
            )
        )
    return rows


MONITOR_RUNS = 50


def monitor_runs_rows(rounds: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Per size: figures of runs 1, 10 and 50 and the medians of the last runs; sizes after the last run."""
    from bench.monitor_runs import MEDIAN_OF, SHOWN_RUNS, medians, runs_of

    timing: list[tuple[object, ...]] = []
    sizes: list[tuple[object, ...]] = []
    for count in MONITOR_SIZES:
        with tempfile.TemporaryDirectory() as work:
            figures = runs_of(count, MONITOR_RUNS, Path(work))
            load = statistics.median(page_load_seconds(Path(work) / "status.html") for _ in range(rounds))
        for number in SHOWN_RUNS:
            run = figures[number - 1]
            timing.append(
                (
                    f"{count:,}",
                    f"run {number}",
                    f"{run['wall_s']:.2f}",
                    f"{run['fetch_ms'] / 1000:.2f}",
                    f"{run['sink_ms'] / 1000:.2f}",
                    f"{run['peak_rss_mb']:.0f}",
                )
            )
        timing.append(
            (
                f"{count:,}",
                f"median of runs {MONITOR_RUNS - MEDIAN_OF + 1}-{MONITOR_RUNS}",
                f"{medians(figures, 'wall_s'):.2f}",
                f"{medians(figures, 'fetch_ms') / 1000:.2f}",
                f"{medians(figures, 'sink_ms') / 1000:.2f}",
                f"{medians(figures, 'peak_rss_mb'):.0f}",
            )
        )
        last = figures[-1]["bytes"]
        sizes.append(
            (
                f"{count:,}",
                f"{last['latest.json'] / 1e6:.2f}",
                f"{last['day rollup'] / 1e6:.2f}",
                f"{last['history/days.json'] / 1e6:.2f}",
                f"{last['status.json'] / 1e6:.2f} ({last['status.json gz'] / 1e3:.0f} KB gz)",
                f"{last['status.html'] / 1e6:.2f} ({last['status.html gz'] / 1e3:.0f} KB gz)",
                f"{load:.2f}",
            )
        )
    return timing, sizes


def print_chunk(figures: dict[str, Any]) -> None:
    print(
        f"\nchunk: {figures['urls_per_chunk']} URLs over {figures['hosts']} hosts (long-tail mix), job defaults, "
        f"{figures['memory_mb']} MB; medians of {figures['rounds']} runs"
    )
    rows = [
        ("wall s", figures["wall_s"]),
        ("slowest wall s", figures["wall_s_slowest"]),
        ("CPU s", figures["cpu_s"]),
        ("peak RSS MB", figures["peak_rss_mb"]),
        ("GB-s per 1,000 URLs", figures["gb_s_per_1000_urls"]),
        ("part bytes per URL", figures["part_bytes_per_url"]),
        ("failures (median run)", ", ".join(f"{k} {v}" for k, v in sorted(figures["failures"].items()))),
        ("any URL cut by the deadline", figures["deadline_hit"]),
        (f"aggregate s per 1,000 URLs ({figures['merge_urls']} URLs)", figures["merge_s_per_1000_urls"]),
    ]
    print_table(("metric", "value"), rows)
    print(f"saved to {CHUNK_FIGURES.relative_to(ROOT)}; `make cost` prices a million URLs from it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs per implementation and scenario (default 5)")
    parser.add_argument("--uvloop", action="store_true", help="run fanfetch on uvloop instead of asyncio's loop")
    parser.add_argument(
        "--only", type=scenario_list, default=frozenset(SCENARIOS), help=f"comma-separated, from {','.join(SCENARIOS)}"
    )
    args = parser.parse_args()
    selected: frozenset[str] = args.only

    rows: list[Row] = []
    notes: list[str] = []
    longtail: tuple[dict[str, list[dict[str, Any]]], list[int]] | None = None
    with ExitStack() as stack:
        static_port = stack.enter_context(nginx()) if selected & {"a", "c"} else 0
        origin_port = stack.enter_context(slow_origin()) if selected & {"b", "longtail"} else 0
        scenarios = {
            "a 5000 x 1 KB": lambda: [f"http://127.0.0.1:{static_port}/1k.bin?i={i}" for i in range(5000)],
            "b 1000 x 10 KB, 50 ms": lambda: [
                f"http://127.0.0.1:{origin_port}/bytes/10240?delay_ms=50&i={i}" for i in range(1000)
            ],
            "c 100 x 5 MB": lambda: [f"http://127.0.0.1:{static_port}/5m.bin?i={i}" for i in range(100)],
        }
        for name, make_urls in scenarios.items():
            if name[0] in selected:
                runs = loopback_runs(name, make_urls(), args.rounds, args.uvloop)
                rows.extend(loopback_rows(name, runs))
                if name.startswith("a"):
                    notes.append(floor_spread(name, runs))
        if "longtail" in selected:
            longtail = longtail_runs(origin_port, args.rounds)
    if "monitor-scale" in selected:
        scale = monitor_scale_rows(args.rounds)
        print(
            f"\nmonitor-scale: steady state (50 runs today, a day and 89 closed days before), medians of {args.rounds}"
        )
        header = (
            "targets",
            "latest.json MB",
            "day rollup MB",
            "days.json MB",
            "status.json MB",
            "page MB",
            "page+status s",
            "page load s",
            "peak RSS MB",
        )
        print_table(header, scale)
    if "monitor-runs" in selected:
        timing, sizes = monitor_runs_rows(args.rounds)
        print(
            f"\nmonitor-runs: {MONITOR_RUNS} scheduled runs end to end (handler, 50 loopback hosts, moto server), "
            "each a fresh process; run = wall s of the handler, fetch = summary.elapsed_ms, sinks = monitor.sink_ms"
        )
        print_table(("targets", "run", "run s", "fetch s", "sinks s", "peak RSS MB"), timing)
        print(f"after run {MONITOR_RUNS} (page load: median of {args.rounds} in Chromium, from a file)")
        header = ("targets", "latest.json MB", "day rollup MB", "days.json MB", "status.json MB", "page MB", "load s")
        print_table(header, sizes)
    if "monitor-regions" in selected:
        regional = monitor_regions_runs(args.rounds)
        REGIONS_FIGURES.parent.mkdir(exist_ok=True)
        REGIONS_FIGURES.write_text(json.dumps(regional, indent=2) + "\n")
        print(f"\nmonitor-regions: {json.dumps(regional, indent=2)}\nsaved to {REGIONS_FIGURES.relative_to(ROOT)}")
    chunk: dict[str, Any] | None = None
    if "chunk" in selected:
        chunk = chunk_runs(args.rounds)
        CHUNK_FIGURES.parent.mkdir(exist_ok=True)
        CHUNK_FIGURES.write_text(json.dumps(chunk, indent=2) + "\n")

    if "cold" in selected and (BUILD_DIR / "fanfetch" / "handler.py").exists():
        cold: dict[str, list[float]] = {"aiohttp": [], "fanfetch.handler": []}
        for _ in range(max(7, args.rounds * 2)):
            for module in cold:
                cold[module].append(import_time(module))
        base, ours = statistics.median(cold["aiohttp"]), statistics.median(cold["fanfetch.handler"])
        target = f"<= 1.2x: {verdict(ours / base <= 1.2)}"
        rows.append(("cold start (import)", "seconds", base, math.nan, ours, f"{ours / base:.2f}x", "", target))
    elif "cold" in selected:
        print("no build in .aws-sam: run `make build` to measure the cold start", file=sys.stderr)

    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"\nmedians of {args.rounds} runs; fanfetch on {loop}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    if rows:
        print("vs naive, vs floor = fanfetch / naive, fanfetch / floor; floor = a featureless streaming loop")
        header = ("scenario", "metric", "naive", "floor", "fanfetch", "vs naive", "vs floor", "target")
        print_table(header, rows)
        for note in notes:
            print(note)
    if longtail is not None:
        print_longtail(*longtail, rounds=args.rounds)
    if chunk is not None:
        print_chunk(chunk)


if __name__ == "__main__":
    main()
