"""`make jobs-demo`: a job of 20,000 URLs end to end, offline, driven by the `fanfetch` client.

A moto server stands in for S3 and Step Functions; its interpreter runs the shipped state machine and each chunk
runs the real handler (tools/moto_jobs.py). The local API (`make serve`) takes the job; the demo origin answers
the URLs. The client uploads the list, submits it, shows the progress bar and the summary, then downloads the
results. The function's own logs go to .jobs-demo/function.log.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tools.localaws import FAKE_CREDENTIALS, LocalAws, moto_server
from tools.moto_jobs import BUCKET, MOTO_CONFIG, create_state_machine, jobs_in_moto
from tools.processes import app_in_thread, free_port, serving

ROOT = Path(__file__).resolve().parent.parent
# Options every chunk is fetched with: the origin is on this machine, so more in flight and no retries.
JOB_FLAGS = ["--concurrency", "100", "--per-host", "100", "--retries", "0", "--timeout", "10"]


def url_list(base: str, count: int) -> list[str]:
    """`count` URLs on the origin: bodies of 0-96 bytes, and every 1,000th a 404, so the summary has failures."""
    return [f"{base}/status/404?n={i}" if i % 1000 == 999 else f"{base}/bytes/{i % 97}?n={i}" for i in range(count)]


def configure_moto(endpoint: str) -> None:
    """Step Functions that run their state machines, and Lambda without Docker (moto's configuration API)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config", data=json.dumps(MOTO_CONFIG).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).close()


def client(api: str, *args: str, env: dict[str, str]) -> int:
    """Run the `fanfetch` client (this checkout's) in its own process, showing the command as a user types it."""
    command = ["--api-url", api, "--no-sign", "--bucket", BUCKET, *args]
    print(f"\n$ fanfetch {shlex.join(command)}", flush=True)
    return subprocess.run([sys.executable, "-m", "fanfetch_client.cli", *command], env=env, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=20_000, help="URLs in the job (default 20,000)")
    parser.add_argument("--out", type=Path, default=ROOT / ".jobs-demo", help="where the list and results go")
    args = parser.parse_args()
    if args.urls < 1:
        raise SystemExit("jobs-demo: --urls must be at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    logging.getLogger("moto").setLevel(logging.ERROR)  # its notes on what it does not emulate are not news here
    with moto_server() as aws:
        configure_moto(aws.endpoint)
        environment = {
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": FAKE_CREDENTIALS["region_name"],
        }
        # The function, run here, reads these (the logger when imported, the settings on first use).
        os.environ.update(
            environment,
            MOTO_PORT=aws.endpoint.rsplit(":", 1)[1],  # where moto's Step Functions call S3 and Lambda (on localhost)
            JOB_CONCURRENCY="2",  # chunks at once: this machine, not Lambda, runs them
            MAX_URLS="5000",  # a chunk's limit, as the template sets it for the job function
            ALLOWED_NETWORKS="127.0.0.0/8",  # the job's chunks fetch the origin on this machine
            ALLOWED_PORTS="1-65535",
            POWERTOOLS_LOG_LEVEL="ERROR",
        )
        sys.path.insert(0, str(ROOT / "functions"))
        with jobs_in_moto():
            aws.client("s3").create_bucket(Bucket=BUCKET)
            os.environ.update(
                RESULTS_BUCKET=BUCKET, JOBS_STATE_MACHINE_ARN=create_state_machine(aws.client("stepfunctions"))
            )
            _run_job(aws, args.urls, args.out, environment, started)


def _run_job(aws: LocalAws, count: int, out_dir: Path, environment: dict[str, str], started: float) -> None:
    from tools.serve import make_app  # loads the function: after its environment is set

    port = free_port()
    origin = [sys.executable, "-m", "tools.origin", "--port", str(port)]
    log = (out_dir / "function.log").open("w")
    with (
        serving(origin, port, cwd=ROOT, stderr=subprocess.DEVNULL),
        app_in_thread(make_app()) as api,
        log,
        contextlib.redirect_stdout(log),  # the function's logs and metrics, from every thread
    ):
        listed = out_dir / "urls.txt"
        listed.write_text("\n".join(url_list(f"http://127.0.0.1:{port}", count)) + "\n")
        out = sys.__stdout__
        assert out is not None
        print(f"S3 and Step Functions: moto at {aws.endpoint}; local API: {api}; origin: 127.0.0.1:{port}", file=out)
        client_env = {
            **os.environ,
            **environment,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "client"), os.environ.get("PYTHONPATH", "")]),
        }
        with contextlib.redirect_stdout(out):
            submitted = client(api, "job", "submit", str(listed), "--wait", "--interval", "1", *JOB_FLAGS,
                               env=client_env)  # fmt: skip
            if submitted != 0:
                raise SystemExit(f"jobs-demo: the job did not succeed (fanfetch exit status {submitted})")
            job_id = _last_job(aws)
            results = out_dir / "results.csv"
            if client(api, "job", "results", job_id, "-o", str(results), env=client_env) != 0:
                raise SystemExit("jobs-demo: the results could not be downloaded")
            _show(results, time.monotonic() - started)


def _last_job(aws: LocalAws) -> str:
    """The id of the job just run: the newest execution of the state machine (the client printed it too)."""
    sfn = aws.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    return str(max(executions, key=lambda execution: execution["startDate"])["name"])


def _show(results: Path, elapsed_s: float) -> None:
    with results.open(newline="") as rows:
        read = list(csv.DictReader(rows))
    failed = [row for row in read if row["ok"] != "true"]
    print(f"\n{len(read)} results in {results}: {len(read) - len(failed)} ok, {len(failed)} failed")
    for row in failed[:3]:
        print(f"  {row['url']}  {row['status']}  {row['error_type']}: {row['error_message']}")
    print(f"jobs-demo took {elapsed_s:.0f} s")


if __name__ == "__main__":
    main()
