"""How results are shown: a table on a terminal, plain lines when piped, or JSON, JSON Lines and CSV to keep."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.table import Column, Table

FORMATS = ("table", "lines", "json", "jsonl", "csv")
CSV_FIELDS = ("url", "ok", "status", "bytes", "elapsed_ms", "attempts", "final_url", "error_type", "error_message")
# Narrowest the url column gets; below this a table is no longer readable and the terminal is too small anyway.
MIN_URL_WIDTH = 24
MIN_MESSAGE_WIDTH = 16
# After these characters a URL may be wrapped: its path, query and parameters stay readable.
_BREAKS = re.compile(r"(?<=[/?&])")


def default_format(console: Console) -> str:
    """A table for a person at a terminal; plain lines for a pipe or a file."""
    return "table" if console.is_terminal else "lines"


def wrap_url(url: str, width: int) -> str:
    """The URL over lines of at most `width`, broken after `/`, `?` or `&`; a longer piece is cut where it must be."""
    lines: list[str] = []
    line = ""
    for piece in _BREAKS.split(url):
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    if line or not lines:
        lines.append(line)
    return "\n".join(lines)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _error(result: Mapping[str, Any]) -> tuple[str, str]:
    error = result.get("error") or {}
    return _cell(error.get("type")), _cell(error.get("message"))


def summary_line(summary: Mapping[str, Any]) -> str:
    line = f"{summary['ok']} ok, {summary['failed']} failed, {summary['bytes']} bytes"
    if summary.get("elapsed_ms") is not None:
        line += f" in {float(summary['elapsed_ms']):.0f} ms"
    return line + (" (deadline reached)" if summary.get("deadline_hit") else "")


def results_table(response: Mapping[str, Any], width: int) -> Table:
    """URLs wrapped at `/` in a column sized to the terminal; the error's type and message in columns of their own."""
    results = response["results"]
    rows = [
        (
            _cell(result.get("status")),
            _cell(result.get("bytes")),
            f"{float(result.get('elapsed_ms') or 0):.0f}",
            *_error(result),
        )
        for result in results
    ]
    headers = ("status", "bytes", "ms", "error")
    fixed = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(4)]
    longest_message = max([len("message")] + [len(row[4]) for row in rows])
    longest_url = max([len("url")] + [len(result["url"]) for result in results])
    # Each of the 6 columns takes its padding (2) and a border (1), plus the table's closing border.
    room = width - sum(fixed) - 6 * 3 - 1
    message_width = min(longest_message, max(MIN_MESSAGE_WIDTH, room // 3))
    url_width = max(MIN_URL_WIDTH, min(longest_url, room - message_width))
    table = Table(
        Column("url", width=url_width, no_wrap=True),
        Column("status", justify="right", no_wrap=True),
        Column("bytes", justify="right", no_wrap=True),
        Column("ms", justify="right", no_wrap=True),
        Column("error", no_wrap=True),
        Column("message", overflow="fold"),
        caption=summary_line(response["summary"]),
    )
    for result, row in zip(results, rows, strict=True):
        table.add_row(wrap_url(result["url"], url_width), *row)
    return table


def plain_line(result: Mapping[str, Any]) -> str:
    """One result as tab-separated fields: url, status, bytes, ms, then `ok` or the error's type and message."""
    error_type, message = _error(result)
    outcome = [error_type, message] if error_type else ["ok" if result.get("ok") else "failed"]
    fields = [
        result["url"],
        _cell(result.get("status")) or "-",
        _cell(result.get("bytes")) or "-",
        f"{float(result.get('elapsed_ms') or 0):.0f}",
        *outcome,
    ]
    return "\t".join(" ".join(field.split()) for field in fields)  # no tab or newline inside a field


def csv_row(result: Mapping[str, Any]) -> dict[str, str]:
    error_type, message = _error(result)
    row = {name: _cell(result.get(name)) for name in CSV_FIELDS[:-2]}
    row["ok"] = "true" if result.get("ok") else "false"
    row.update(error_type=error_type, error_message=message)
    return row


def csv_lines(results: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """CSV text, header first, one line per result."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for result in results:
        writer.writerow(csv_row(result))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def jsonl_lines(results: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for result in results:
        yield json.dumps(result, ensure_ascii=False) + "\n"


def show_results(response: Mapping[str, Any], output: str, console: Console, write: Callable[[str], None]) -> None:
    """Print a fetch response in `output` format: rich formats on the console, text formats through `write`."""
    if output == "table":
        console.print(results_table(response, console.width))
    elif output == "json":
        write(json.dumps(response, ensure_ascii=False, indent=2) + "\n")
    elif output == "jsonl":
        for line in jsonl_lines(response["results"]):
            write(line)
    elif output == "csv":
        for line in csv_lines(response["results"]):
            write(line)
    else:
        for result in response["results"]:
            write(plain_line(result) + "\n")
