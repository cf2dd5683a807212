"""`make invoke EVENT=...`: invoke the built function through the runtime emulator and print the response."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.emulator import RuntimeEmulator


def render_table(response: Any) -> str:
    """A readable table of a fetch response (API responses are unwrapped from their body). A monitor run also
    shows each URL's state and change, the alert and where the run was stored."""
    if isinstance(response, dict) and "statusCode" in response:
        response = json.loads(response.get("body") or "{}")
    if not isinstance(response, dict) or "results" not in response:
        return json.dumps(response, indent=2)
    monitored = any("state" in result for result in response["results"])
    header = ("status", "bytes", "ms", "attempts", *(("state", "change") if monitored else ()), "result", "url")
    rows = [header]
    for result in response["results"]:
        error = result.get("error")
        outcome = "ok" if result["ok"] else f"{error['type']}: {error['message']}" if error else "failed"
        rows.append(
            (
                str(result.get("status") or "-"),
                str(result.get("bytes") if result.get("bytes") is not None else "-"),
                f"{result.get('elapsed_ms', 0):.0f}",
                str(result.get("attempts", 0)),
                *((str(result.get("state") or "-"), str(result.get("change") or "-")) if monitored else ()),
                outcome[:60],
                result["url"],
            )
        )
    last = len(header) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(last)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < last else cell for i, cell in enumerate(row)) for row in rows]
    summary = response["summary"]
    lines.append(
        f"\n{summary['ok']}/{summary['total']} ok, {summary['failed']} failed, "
        f"{summary['bytes']} bytes in {summary['elapsed_ms']:.0f} ms"
        + (" (deadline reached)" if summary.get("deadline_hit") else "")
    )
    if "monitor" in response:
        lines += monitor_lines(response["monitor"])
    return "\n".join(lines)


def monitor_lines(monitor: dict[str, Any]) -> list[str]:
    """What a monitor run kept: stored keys, the alert, and every sink that failed."""
    stored = monitor.get("stored") or {}
    lines = [f"stored {name}: {where}" for name, where in stored.items()] or ["stored: nothing"]
    alert = monitor.get("alert")
    if alert:
        # The lists of targets per kind of news; the channels and a configuration problem have lines of their own.
        parts = [
            f"{name.replace('_', ' ')} {', '.join(urls)}"
            for name, urls in alert.items()
            if urls and isinstance(urls, list)
        ]
        sent = f"sent as {alert['message_id']}" if alert.get("message_id") else "not sent"
        lines.append(f"alert: {'; '.join(parts) or 'none'} ({sent})")
        if alert.get("config_error"):
            lines.append(f"alert: configuration invalid: {alert['config_error']}")
        for channel, delivery in (alert.get("channels") or {}).items():
            taken = "sent" + (f" as {delivery['message_id']}" if delivery.get("message_id") else "")
            lines.append(
                f"channel {channel}: {taken if delivery.get('delivered') else 'not delivered, kept for the next run'}"
            )
    else:
        lines.append("alert: none")
    lines += [f"error: {error}" for error in monitor.get("errors") or []]
    return lines


def parse_env(pairs: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs; a pair without `=` or with an empty name is refused, naming it."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f'invoke: --env {pair!r} is not NAME=VALUE (make invoke ENV="NAME=VALUE ...")')
        env[name.strip()] = value
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("event", type=Path, help="an event file, e.g. events/direct.json")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="function environment")
    parser.add_argument("--json", action="store_true", help="print the raw response instead of a table")
    args = parser.parse_args()
    env = parse_env(args.env)
    try:
        event = json.loads(args.event.read_text())
    except FileNotFoundError:
        raise SystemExit(f"invoke: no such event file: {args.event} (see events/)") from None
    except ValueError as exc:
        raise SystemExit(f"invoke: {args.event} is not JSON: {exc}") from None
    with RuntimeEmulator(env=env) as function:
        response = function.invoke(event)
    print(json.dumps(response, indent=2) if args.json else render_table(response))


if __name__ == "__main__":
    main()
