"""`fanfetch fetch URL... | --file F`, `fanfetch job submit F --wait | job status ID | job results ID`,
`fanfetch monitor status | history NAME | validate F | push F` (`monitors` is the same command)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from fanfetch_client import monitor, monitors
from fanfetch_client.api import Client, FanfetchError, Refused, Stack, api_base, find_stack, read_url_list
from fanfetch_client.output import FORMATS, csv_lines, default_format, show_results, summary_line

FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Exit statuses: a URL that failed is an answer (1); a request that could not be made or was refused is not (2);
# 130 is the shell's own for Ctrl-C.
ALL_OK, SOME_FAILED, NOT_DONE, INTERRUPTED = 0, 1, 2, 130
EXIT_STATUS = (
    "exit status: 0 when every URL was fetched (or the job succeeded), 1 when some URLs failed (or the job did not "
    "succeed), 2 when the request could not be made or was refused (the reason is one line on stderr), 130 when "
    "interrupted"
)
JOB_HINT = "for a longer list start a job instead: fanfetch job submit FILE (its results go to S3)"


class Usage(FanfetchError):
    """A flag the client cannot read; the message names it."""


# --- Fetch options as flags ----------------------------------------------------------------------------------------


def _ok_status(text: str) -> list[int]:
    low, _, high = text.partition("-")
    try:
        return [int(low), int(high or low)]
    except ValueError:
        raise Usage(f"--ok-status {text!r}: expected LOW-HIGH, e.g. 200-299, or one status") from None


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise Usage(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _option(text: str) -> tuple[str, Any]:
    """`key=value`; the value is read as JSON when it is JSON (5, true, [200, 299]), else as text (HEAD)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise Usage(f"--option {text!r}: expected KEY=VALUE, e.g. --option timeout=5")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value


def _option_flags() -> argparse.ArgumentParser:
    """The request options as flags, shared by `fetch` and `job submit`; each is sent only when given."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("request options (the API's defaults apply to those not given)")
    group.add_argument("--timeout", type=float, metavar="S", help="seconds for one URL, all its attempts together")
    group.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once")
    group.add_argument("--per-host", type=int, metavar="N", help="requests in flight to one host")
    group.add_argument("--deadline", type=float, metavar="S", help="seconds the whole call may take")
    group.add_argument("--retries", type=int, metavar="N", help="further attempts on connect errors and 5xx")
    group.add_argument("--method", choices=("GET", "HEAD"), type=str.upper)
    group.add_argument("--hash", action="store_true", default=None, help="add the sha256 of each body")
    group.add_argument("--ok-status", metavar="LOW-HIGH", help="statuses counted as ok, e.g. 200-299")
    group.add_argument("--max-bytes", type=int, metavar="N", help="stop reading a body after N bytes")
    group.add_argument("--user-agent", metavar="TEXT")
    group.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="a request header (repeat it)")
    group.add_argument(
        "--option", action="append", metavar="KEY=VALUE", help="any option by its API name, e.g. per_host_interval=1"
    )
    return flags


FLAG_OPTIONS = (
    "timeout",
    "concurrency",
    "per_host",
    "deadline",
    "retries",
    "method",
    "hash",
    "max_bytes",
    "user_agent",
)


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `options` object of a request from the flags; `--option` comes last and wins."""
    options: dict[str, Any] = {name: getattr(args, name) for name in FLAG_OPTIONS if getattr(args, name) is not None}
    if args.ok_status is not None:
        options["ok_status"] = _ok_status(args.ok_status)
    if args.header:
        options["headers"] = dict(_header(header) for header in args.header)
    options.update(_option(option) for option in args.option or [])
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanfetch", description=__doc__, epilog=EXIT_STATUS)
    parser.add_argument("--stack", default="fanfetch", help="CloudFormation stack name (default: fanfetch)")
    parser.add_argument("--api-url", help="the API's URL (the stack's FetchApiUrl output, or its base) instead")
    parser.add_argument("--bucket", help="with --api-url: the bucket to upload job lists to (ResultsBucketName)")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    parser.add_argument("--no-sign", action="store_true", help="send requests unsigned: a local API (make serve)")
    options = _option_flags()
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", parents=[options], help="fetch URLs now (POST /fetch) and show the results")
    fetch.add_argument("urls", nargs="*", metavar="URL")
    fetch.add_argument("--file", type=Path, help="a file of URLs (text lines, JSON list or CSV); - reads stdin")
    fetch.add_argument(
        "--output", choices=FORMATS, help="table (default on a terminal), lines (default when piped), json, jsonl, csv"
    )
    fetch.add_argument("--json", action="store_const", const="json", dest="output", help="the same as --output json")
    job = commands.add_parser("job", help="jobs of any size (POST /jobs, GET /jobs/ID)")
    job_commands = job.add_subparsers(dest="job_command", required=True)
    submit = job_commands.add_parser("submit", parents=[options], help="start a job from a file of URLs")
    submit.add_argument("file", type=Path, help="text lines, a JSON list or CSV with a url column; - reads stdin")
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends, then its summary")
    submit.add_argument("--interval", type=float, default=2.0, help="seconds between status checks")
    status = job_commands.add_parser("status", help="where a job stands")
    status.add_argument("job_id")
    status.add_argument("--json", action="store_true", help="print the API's JSON")
    results = job_commands.add_parser("results", help="download a finished job's results")
    results.add_argument("job_id")
    results.add_argument("-o", "--out", type=Path, help="write to this file (default: standard output)")
    results.add_argument("--format", choices=("jsonl", "csv"), help="jsonl (default), or csv (the default for *.csv)")
    monitor = commands.add_parser(
        "monitor",
        aliases=["monitors"],
        help="the monitor: its published status and history (S3), and the monitors file (validate, push)",
    )
    monitor_commands = monitor.add_subparsers(dest="monitor_command", required=True)
    monitor_status = monitor_commands.add_parser("status", help="every target's state and uptime (status.json)")
    monitor_status.add_argument("--json", action="store_true", help="print status.json as it is")
    history = monitor_commands.add_parser("history", help="a target's daily uptime and latency (the day rollups)")
    history.add_argument("name", help="the target's name (its URL for a plain URL list)")
    history.add_argument("--days", type=int, default=30, help="days back from today, 1-90 (default 30)")
    history.add_argument("--csv", action="store_true", help="CSV instead of a table")
    check = monitor_commands.add_parser("validate", help="check a monitors file against its schema, offline")
    check.add_argument("file", type=Path)
    upload = monitor_commands.add_parser("push", help="validate a monitors file, then upload it to the targets key")
    upload.add_argument("file", type=Path)
    upload.add_argument(
        "--key", default=monitors.DEFAULT_KEY, help=f"key in the results bucket (default: {monitors.DEFAULT_KEY})"
    )
    return parser


# --- Showing jobs ------------------------------------------------------------------------------------------------


def summary_table(status: dict[str, Any]) -> Table:
    table = Table("", Column("", overflow="fold"), title=f"job {status['job_id']}: {status['status']}")
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


# --- Commands ----------------------------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> Client:
    if args.bucket and not args.api_url:
        raise Usage("--bucket goes with --api-url: with a stack, the client uploads to the stack's own bucket")
    if args.api_url:
        stack = Stack(api_url=api_base(args.api_url), bucket=args.bucket)
    else:
        stack = find_stack(args.stack, args.region)
    return Client(stack, region=args.region, sign=not args.no_sign)


def _same_api(args: argparse.Namespace) -> str:
    """The global flags that reach the same API again, for a command to suggest."""
    if args.api_url:
        return f" --api-url {shlex.quote(args.api_url)}" + (" --no-sign" if args.no_sign else "")
    return "" if args.stack == "fanfetch" else f" --stack {shlex.quote(args.stack)}"


class Interrupted(Exception):
    """Ctrl-C while waiting for a job: the job itself goes on."""


def _fetch(args: argparse.Namespace, console: Console, write: Callable[[str], None]) -> int:
    urls = list(args.urls) + (read_url_list(args.file) if args.file else [])
    if not urls:
        raise FanfetchError("no URLs: name them, or give a --file that lists some (--file - reads stdin)")
    options = request_options(args)
    try:
        response = _client(args).fetch(urls, options)
    except Refused as exc:
        # Too many URLs (MAX_URLS, reported on the `urls` field) or too large a body: a job takes any size.
        if exc.status == 413 or (exc.status == 400 and "urls" in exc.fields):
            raise FanfetchError(f"{exc}; {JOB_HINT}") from None
        raise
    output = args.output or default_format(console)
    show_results(response, output, console, write)
    if output == "lines":
        print(summary_line(response["summary"]), file=sys.stderr)
    return ALL_OK if response["summary"]["failed"] == 0 else SOME_FAILED


def _submit(args: argparse.Namespace, console: Console) -> int:
    if str(args.file) != "-":
        args.file.stat()  # a missing file is reported before any call to AWS or the API
    options = request_options(args)
    client = _client(args)
    try:
        accepted = client.submit(args.file, options)
    except Refused as exc:
        if exc.status == 413 and not client.stack.bucket:
            raise FanfetchError(
                f"{exc}; with --api-url the list is sent inline: add --bucket BUCKET (the stack's ResultsBucketName), "
                "or use --stack, to upload it to S3 and have the API read it from there"
            ) from None
        raise
    job_id = accepted["job_id"]
    console.print(f"job {job_id} started: {accepted.get('urls', '?')} URLs")
    if not args.wait:
        return ALL_OK
    try:
        status = wait(client, job_id, console, args.interval)
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting; job {job_id} keeps running. See where it stands with: "
            f"fanfetch{_same_api(args)} job status {job_id}"
        ) from None
    console.print(summary_table(status))
    return ALL_OK if status["status"] == "SUCCEEDED" else SOME_FAILED


def _results(args: argparse.Namespace, write: Callable[[str], None]) -> int:
    client = _client(args)
    status = client.status(args.job_id)
    location = (status.get("results") or {}).get("results")
    if status["status"] not in FINISHED:
        raise FanfetchError(
            f"job {args.job_id} is {status['status']}: its results are written when it ends "
            f"(fanfetch{_same_api(args)} job status {args.job_id})"
        )
    if not location:
        raise FanfetchError(
            f"job {args.job_id} ended {status['status']} and wrote no results "
            f"(fanfetch{_same_api(args)} job status {args.job_id} says why)"
        )
    output = args.format or ("csv" if args.out is not None and args.out.suffix.lower() == ".csv" else "jsonl")
    lines = (line.decode() + "\n" for line in client.result_lines(location) if line.strip())
    text: Iterable[str] = csv_lines(json.loads(line) for line in lines) if output == "csv" else lines
    count = -1 if output == "csv" else 0  # the CSV header is no result
    if args.out is None:
        for piece in text:
            write(piece)
            count += 1
    else:
        with args.out.open("w", encoding="utf-8") as out:
            for piece in text:
                out.write(piece)
                count += 1
    where = f" to {args.out}" if args.out is not None else ""
    print(f"{max(count, 0)} results of job {args.job_id} ({output}){where}", file=sys.stderr)
    return ALL_OK


def _monitors(args: argparse.Namespace, console: Console) -> int:
    found = monitors.problems(args.file)
    for problem in found:
        console.print(f"{args.file}: {problem}", markup=False, highlight=False)
    if found:
        if args.monitor_command == "push":
            console.print(f"{len(found)} problem(s); nothing was uploaded")
        return SOME_FAILED
    if args.monitor_command == "validate":
        console.print(f"{args.file}: valid", markup=False, highlight=False)
        return ALL_OK
    if not args.key.startswith("targets/"):
        raise Usage(f"--key must be under targets/, where the function may read: {args.key!r}")
    bucket = args.bucket or find_stack(args.stack, args.region).bucket
    if not bucket:
        raise FanfetchError(f"stack {args.stack!r} has no ResultsBucketName output: give --bucket")
    uri = monitors.push(args.file, bucket, args.key, args.region)
    console.print(f"{args.file}: valid, uploaded to {uri} (the next scheduled run reads it)", markup=False)
    return ALL_OK


def _monitor(args: argparse.Namespace, console: Console, write: Callable[[str], None]) -> int:
    """status.json and the day rollups, read from the stack's results bucket (or --bucket)."""
    if args.monitor_command == "history" and not 1 <= args.days <= 90:
        raise Usage(f"--days {args.days}: give 1 to 90 (the rollups are kept 90 days)")
    bucket = args.bucket or find_stack(args.stack, args.region).bucket
    if not bucket:
        raise FanfetchError(f"stack {args.stack!r} has no ResultsBucketName output: give --bucket")
    s3 = boto3.session.Session(region_name=args.region).client("s3")
    if args.monitor_command == "status":
        status = monitor.read_json(s3, bucket, monitor.STATUS_KEY)
        if not isinstance(status, dict):
            raise FanfetchError(f"no s3://{bucket}/{monitor.STATUS_KEY}: has the monitor run since it was deployed?")
        if args.json:
            write(json.dumps(status, indent=2) + "\n")
        else:
            console.print(monitor.status_table(status))
        # Like `fanfetch fetch`: 1 when some target is not up
        states = {target.get("state") for target in status.get("targets", [])}
        return SOME_FAILED if states & {"down", "degraded", "unknown"} else ALL_OK
    rows = list(monitor.history_rows(s3, bucket, args.name, args.days))
    if not any(row["checks"] for row in rows):
        raise FanfetchError(f"no checks of {args.name!r} in the last {args.days} days (names are as status.json gives)")
    if args.csv:
        fields = list(rows[0])
        write(",".join(fields) + "\n")
        for row in rows:
            write(",".join("" if row[f] is None else str(row[f]) for f in fields) + "\n")
    else:
        console.print(monitor.history_table(args.name, rows))
    return ALL_OK


def run(args: argparse.Namespace, console: Console, write: Callable[[str], None]) -> int:
    # Local mistakes (a missing file, no URLs, a bad flag) are reported before any call to AWS or the API.
    if args.command in ("monitor", "monitors"):
        if args.monitor_command in ("validate", "push"):
            return _monitors(args, console)
        return _monitor(args, console, write)
    if args.command == "fetch":
        return _fetch(args, console, write)
    if args.job_command == "submit":
        return _submit(args, console)
    if args.job_command == "results":
        return _results(args, write)
    status = _client(args).status(args.job_id)
    if args.json:
        write(json.dumps(status, indent=2) + "\n")
        return ALL_OK
    console.print(progress_line(status))
    if status.get("summary") or status.get("error"):
        console.print(summary_table(status))
    # A job still running is no failure yet; one that finished without succeeding is.
    return SOME_FAILED if status["status"] in FINISHED - {"SUCCEEDED"} else ALL_OK


def _writer(console: Console) -> Callable[[str], None]:
    """Data formats go to the console's file as they are: no markup, tabs kept, nothing wrapped."""

    def write(text: str) -> None:
        console.file.write(text)

    return write


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console()
    try:
        return run(args, console, _writer(console))
    except Interrupted as exc:
        print(f"fanfetch: {exc}", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("fanfetch: interrupted", file=sys.stderr)
        return INTERRUPTED
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
