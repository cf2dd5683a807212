"""`make invoke EVENT=...`: invoke the built function through the runtime emulator and print the response."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.emulator import RuntimeEmulator


def render_table(response: Any) -> str:
    """A readable table of a fetch response (API responses are unwrapped from their body)."""
    if isinstance(response, dict) and "statusCode" in response:
        response = json.loads(response.get("body") or "{}")
    if not isinstance(response, dict) or "results" not in response:
        return json.dumps(response, indent=2)
    rows = [("status", "bytes", "ms", "attempts", "result", "url")]
    for result in response["results"]:
        error = result.get("error")
        outcome = "ok" if result["ok"] else f"{error['type']}: {error['message']}" if error else "failed"
        rows.append(
            (
                str(result.get("status") or "-"),
                str(result.get("bytes") if result.get("bytes") is not None else "-"),
                f"{result.get('elapsed_ms', 0):.0f}",
                str(result.get("attempts", 0)),
                outcome[:60],
                result["url"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)) for row in rows]
    summary = response["summary"]
    lines.append(
        f"\n{summary['ok']}/{summary['total']} ok, {summary['failed']} failed, "
        f"{summary['bytes']} bytes in {summary['elapsed_ms']:.0f} ms"
        + (" (deadline reached)" if summary.get("deadline_hit") else "")
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("event", type=Path, help="an event file, e.g. events/direct.json")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="function environment")
    parser.add_argument("--json", action="store_true", help="print the raw response instead of a table")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    event = json.loads(args.event.read_text())
    with RuntimeEmulator(env=env) as function:
        response = function.invoke(event)
    print(json.dumps(response, indent=2) if args.json else render_table(response))


if __name__ == "__main__":
    main()
