"""`fanfetch fetch URL... | --file F` and `fanfetch job submit F --wait | job status ID`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fanfetch_client.api import ApiError, Client, Stack, find_stack

FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanfetch", description=__doc__)
    parser.add_argument("--stack", default="fanfetch", help="CloudFormation stack name (default: fanfetch)")
    parser.add_argument("--api-url", help="the API's base URL instead of the stack's output")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="fetch URLs now (POST /fetch) and print a table")
    fetch.add_argument("urls", nargs="*", metavar="URL")
    fetch.add_argument("--file", type=Path, help="a file with one URL per line")
    fetch.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    job = commands.add_parser("job", help="jobs of any size (POST /jobs, GET /jobs/ID)")
    job_commands = job.add_subparsers(dest="job_command", required=True)
    submit = job_commands.add_parser("submit", help="start a job from a file: text lines, JSON list or CSV")
    submit.add_argument("file", type=Path)
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends, then its summary")
    submit.add_argument("--interval", type=float, default=2.0, help="seconds between status checks")
    status = job_commands.add_parser("status", help="where a job stands")
    status.add_argument("job_id")
    return parser


def results_table(response: dict[str, Any]) -> Table:
    table = Table("url", "status", "bytes", "ms", "error")
    for result in response["results"]:
        error = result.get("error") or {}
        table.add_row(
            result["url"],
            str(result.get("status") or ""),
            str(result.get("bytes") if result.get("bytes") is not None else ""),
            f"{result.get('elapsed_ms', 0):.0f}",
            f"{error.get('type', '')} {error.get('message', '')}".strip(),
        )
    summary = response["summary"]
    table.caption = f"{summary['ok']} ok, {summary['failed']} failed, {summary['bytes']} bytes"
    return table


def summary_table(status: dict[str, Any]) -> Table:
    table = Table("", "", title=f"job {status['job_id']}: {status['status']}")
    summary = status.get("summary") or {}
    for name in ("urls", "ok", "failed", "bytes"):
        if name in summary:
            table.add_row(name, str(summary[name]))
    for kind, count in (summary.get("failures") or {}).items():
        table.add_row(f"failed: {kind}", str(count))
    for kind, count in (summary.get("chunk_failures") or {}).items():
        table.add_row(f"chunks failed: {kind}", str(count))
    for name, where in (status.get("results") or {}).items():
        table.add_row(name, where)
    return table


def progress_line(status: dict[str, Any]) -> str:
    chunks, urls = status["progress"]["chunks"], status["progress"]["urls"]
    approximate = "~" if urls.get("estimated") else ""
    return (
        f"{status['status']}: chunks {chunks['done']}/{chunks['total']} ({chunks['failed']} failed), "
        f"URLs {approximate}{urls['done']}/{urls['total']} ({approximate}{urls['failed']} failed)"
    )


def wait(client: Client, job_id: str, console: Console, interval: float) -> dict[str, Any]:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        done = progress.add_task("URLs done", total=None)
        failed = progress.add_task("URLs failed", total=None)
        while True:
            status = client.status(job_id)
            urls = status["progress"]["urls"]
            progress.update(done, completed=urls["done"], total=urls["total"])
            progress.update(failed, completed=urls["failed"], total=urls["total"])
            if status["status"] in FINISHED and (status.get("summary") or status["status"] != "SUCCEEDED"):
                return status
            time.sleep(interval)


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console()
    try:
        stack = Stack(api_url=args.api_url.rstrip("/")) if args.api_url else find_stack(args.stack, args.region)
        client = Client(stack, region=args.region)
        if args.command == "fetch":
            urls = list(args.urls)
            if args.file:
                urls += [line.strip() for line in args.file.read_text().splitlines() if line.strip()]
            if not urls:
                console.print("give URLs or --file")
                return 2
            response = client.fetch(urls)
            console.print_json(json.dumps(response)) if args.json else console.print(results_table(response))
            return 0 if response["summary"]["failed"] == 0 else 1
        if args.job_command == "submit":
            accepted = client.submit(args.file)
            console.print(f"job {accepted['job_id']} started: {accepted.get('urls', '?')} URLs")
            if not args.wait:
                return 0
            status = wait(client, accepted["job_id"], console, args.interval)
            console.print(summary_table(status))
            return 0 if status["status"] == "SUCCEEDED" else 1
        status = client.status(args.job_id)
        console.print(progress_line(status))
        if status.get("summary"):
            console.print(summary_table(status))
        return 0
    except ApiError as exc:
        console.print(f"[red]refused[/red] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
