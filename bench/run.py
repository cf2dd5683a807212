"""`make bench`: fanfetch's engine against the naive gather loop, side by side in one run, on loopback origins.

Scenarios (issue targets in brackets):
  a  5000 x 1 KB from nginx (one worker), concurrency 100, per_host 100   [wall <= 0.6x naive]
  b  1000 x 10 KB with 50 ms latency from an aiohttp origin process       [wall <= 0.7x naive]
  c  100 x 5 MB from nginx                                                 [peak RSS <= 100 MB]
  cold start: importing the built handler vs importing aiohttp alone      [<= 1.2x]
A featureless streaming loop ("floor") runs beside them, to show what aiohttp itself costs per request.
Each client run is a fresh process; runs alternate between implementations; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from tools.processes import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build" / "FanfetchFunction"
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


def slow_origin() -> AbstractContextManager[int]:
    port = free_port()
    return serving([sys.executable, "-m", "tools.origin", "--port", str(port)], port, cwd=ROOT)


def client(impl: str, urls: list[str], uvloop: bool) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as handle:
        handle.write("\n".join(urls))
        handle.flush()
        command = [sys.executable, "-m", "bench.client", impl, handle.name] + (["--uvloop"] if uvloop else [])
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}"}
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{impl} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout)
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


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs per implementation and scenario (default 5)")
    parser.add_argument("--uvloop", action="store_true", help="run fanfetch on uvloop instead of asyncio's loop")
    args = parser.parse_args()

    rows: list[tuple[str, str, float, float, float, str, str]] = []
    with nginx() as static_port, slow_origin() as slow_port:
        scenarios = {
            "a 5000 x 1 KB": [f"http://127.0.0.1:{static_port}/1k.bin?i={i}" for i in range(5000)],
            "b 1000 x 10 KB, 50 ms": [
                f"http://127.0.0.1:{slow_port}/bytes/10240?delay_ms=50&i={i}" for i in range(1000)
            ],
            "c 100 x 5 MB": [f"http://127.0.0.1:{static_port}/5m.bin?i={i}" for i in range(100)],
        }
        targets = {"a": ("wall_s", 0.6), "b": ("wall_s", 0.7), "c": ("peak_rss_mb", None)}
        for name, urls in scenarios.items():
            runs: dict[str, list[dict[str, float]]] = {"naive": [], "floor": [], "fanfetch": []}
            for round_ in range(args.rounds):
                order = list(runs) if round_ % 2 == 0 else list(reversed(runs))
                for impl in order:
                    runs[impl].append(client(impl, urls, uvloop=args.uvloop and impl == "fanfetch"))
            sizes = {run["bytes"] for impl_runs in runs.values() for run in impl_runs}
            if len(sizes) != 1:
                raise SystemExit(f"{name}: the implementations read different byte counts {sizes}")
            key, limit = targets[name[0]]
            for metric in ("wall_s", "cpu_s", "peak_rss_mb"):
                base, ours = median_of(runs["naive"], metric), median_of(runs["fanfetch"], metric)
                least = median_of(runs["floor"], metric)
                target = ""
                if metric == key and limit is not None:
                    target = f"<= {limit}x: {'met' if ours / base <= limit else 'MISSED'}"
                elif metric == "peak_rss_mb" and name.startswith("c"):
                    target = f"<= 100 MB: {'met' if ours <= 100 else 'MISSED'}"
                rows.append((name, metric, base, least, ours, f"{ours / base:.2f}x", target))

    if (BUILD_DIR / "fanfetch" / "handler.py").exists():
        cold = {"aiohttp": [], "fanfetch.handler": []}  # type: dict[str, list[float]]
        for _ in range(max(7, args.rounds * 2)):
            for module in cold:
                cold[module].append(import_time(module))
        base, ours = statistics.median(cold["aiohttp"]), statistics.median(cold["fanfetch.handler"])
        verdict = "met" if ours / base <= 1.2 else "MISSED"
        rows.append(
            ("cold start (import)", "seconds", base, float("nan"), ours, f"{ours / base:.2f}x", f"<= 1.2x: {verdict}")
        )
    else:
        print("no build in .aws-sam: run `make build` to measure the cold start", file=sys.stderr)

    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"\nmedians of {args.rounds} runs; fanfetch on {loop}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    print("ratio = fanfetch / naive; floor = a featureless streaming loop, i.e. aiohttp's own cost")
    header = ("scenario", "metric", "naive", "floor", "fanfetch", "ratio", "target")
    table = [header, *(tuple(f"{c:.3f}" if isinstance(c, float) else c for c in row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
