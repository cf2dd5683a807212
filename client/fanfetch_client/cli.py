"""`fanfetch fetch URL... | --file F`, `fanfetch job submit F --wait | job status ID` and
`fanfetch monitors validate F | push F`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from fanfetch_client import monitors
from fanfetch_client.api import Client, FanfetchError, Stack, api_base, find_stack, read_url_list

FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Exit statuses: a URL that failed is an answer (1); a request that could not be made or was refused is not (2).
ALL_OK, SOME_FAILED, NOT_DONE = 0, 1, 2
EXIT_STATUS = (
    "exit status: 0 when every URL was fetched (or the job succeeded), 1 when some URLs failed (or the job did not "
    "succeed), 2 when the request could not be made or was refused; the reason is one line on stderr"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanfetch", description=__doc__, epilog=EXIT_STATUS)
    parser.add_argument("--stack", default="fanfetch", help="CloudFormation stack name (default: fanfetch)")
    parser.add_argument("--api-url", help="the API's URL (the stack's FetchApiUrl output, or its base) instead")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="fetch URLs now (POST /fetch) and print a table")
    fetch.add_argument("urls", nargs="*", metavar="URL")
    fetch.add_argument("--file", type=Path, help="a file of URLs: text lines, JSON list or CSV with a url column")
    fetch.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    job = commands.add_parser("job", help="jobs of any size (POST /jobs, GET /jobs/ID)")
    job_commands = job.add_subparsers(dest="job_command", required=True)
    submit = job_commands.add_parser("submit", help="start a job from a file: text lines, JSON list or CSV")
    submit.add_argument("file", type=Path)
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends, then its summary")
    submit.add_argument("--interval", type=float, default=2.0, help="seconds between status checks")
    status = job_commands.add_parser("status", help="where a job stands")
    status.add_argument("job_id")
    monitor = commands.add_parser("monitors", help="the monitors file: check it offline, upload it")
    monitor_commands = monitor.add_subparsers(dest="monitors_command", required=True)
    check = monitor_commands.add_parser("validate", help="check a monitors file against its schema, offline")
    check.add_argument("file", type=Path)
    upload = monitor_commands.add_parser("push", help="validate, then upload to the stack's targets key")
    upload.add_argument("file", type=Path)
    upload.add_argument(
        "--key", default=monitors.DEFAULT_KEY, help=f"key in the results bucket (default: {monitors.DEFAULT_KEY})"
    )
    return parser


def results_table(response: dict[str, Any]) -> Table:
    # URLs on one host differ at their end: fold them over lines rather than cut them.
    table = Table(Column("url", overflow="fold"), "status", "bytes", "ms", "error")
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
    # The API names result files only once they exist; a job that did not succeed says why.
    for name, where in (status.get("results") or {}).items():
        table.add_row(name, where)
    error = status.get("error") or {}
    if error:
        table.add_row("error", f"{error.get('type', '')}: {error.get('message', '')}".rstrip(": "))
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


def _client(args: argparse.Namespace) -> Client:
    stack = Stack(api_url=api_base(args.api_url)) if args.api_url else find_stack(args.stack, args.region)
    return Client(stack, region=args.region)


def run_monitors(args: argparse.Namespace, console: Console) -> int:
    found = monitors.problems(args.file)
    for problem in found:
        console.print(f"{args.file}: {problem}", markup=False, highlight=False)
    if found:
        if args.monitors_command == "push":
            console.print(f"{len(found)} problem(s); nothing was uploaded")
        return SOME_FAILED
    if args.monitors_command == "validate":
        console.print(f"{args.file}: valid")
        return ALL_OK
    stack = find_stack(args.stack, args.region)
    if not stack.bucket:
        raise FanfetchError(f"stack {args.stack!r} has no ResultsBucketName output")
    if not args.key.startswith("targets/"):
        raise FanfetchError(f"--key must be under targets/, where the function may read: {args.key!r}")
    uri = monitors.push(args.file, stack.bucket, args.key, args.region)
    console.print(f"{args.file}: valid, uploaded to {uri} (the next scheduled run reads it)")
    return ALL_OK


def run(args: argparse.Namespace, console: Console) -> int:
    # Local mistakes (a missing file, no URLs) are reported before any call to AWS or the API.
    if args.command == "monitors":
        return run_monitors(args, console)
    if args.command == "fetch":
        urls = list(args.urls) + (read_url_list(args.file) if args.file else [])
        if not urls:
            raise FanfetchError("no URLs: name them, or give a --file that lists some")
        response = _client(args).fetch(urls)
        console.print_json(json.dumps(response)) if args.json else console.print(results_table(response))
        return ALL_OK if response["summary"]["failed"] == 0 else SOME_FAILED
    if args.job_command == "submit":
        args.file.stat()
        client = _client(args)
        accepted = client.submit(args.file)
        console.print(f"job {accepted['job_id']} started: {accepted.get('urls', '?')} URLs")
        if not args.wait:
            return ALL_OK
        status = wait(client, accepted["job_id"], console, args.interval)
        console.print(summary_table(status))
        return ALL_OK if status["status"] == "SUCCEEDED" else SOME_FAILED
    status = _client(args).status(args.job_id)
    console.print(progress_line(status))
    if status.get("summary") or status.get("error"):
        console.print(summary_table(status))
    # A job still running is no failure yet; one that finished without succeeding is.
    return SOME_FAILED if status["status"] in FINISHED - {"SUCCEEDED"} else ALL_OK


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args, console or Console())
    except FanfetchError as exc:
        problem = str(exc)
    except FileNotFoundError as exc:
        problem = f"no such file: {exc.filename}"
    except OSError as exc:  # a list file that cannot be read (a directory, no permission), or stdout closed
        problem = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
    except (BotoCoreError, ClientError) as exc:  # AWS configuration, e.g. an unknown profile or no region
        problem = f"AWS: {exc}"
    print(f"fanfetch: {problem}", file=sys.stderr)
    return NOT_DONE


if __name__ == "__main__":
    sys.exit(main())
