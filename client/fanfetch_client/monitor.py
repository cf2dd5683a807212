"""`fanfetch monitor status` and `fanfetch monitor history NAME`: a monitor's published status.json and its day
rollups (history/YYYY/MM/DD.json), read from the results bucket."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.table import Table

from fanfetch_client.api import FanfetchError

STATUS_KEY = "status.json"


def read_json(s3: Any, bucket: str, key: str) -> Any:
    """A JSON object from the bucket; None when there is no such key."""
    try:
        stored = s3.get_object(Bucket=bucket, Key=key)
        body = stored["Body"].read()
        if stored.get("ContentEncoding") == "gzip":  # status.json is stored compressed, as S3 serves it to browsers
            body = gzip.decompress(body)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise FanfetchError(f"cannot read s3://{bucket}/{key}: {exc}") from None
    except (BotoCoreError, OSError, EOFError) as exc:
        raise FanfetchError(f"cannot read s3://{bucket}/{key}: {exc}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise FanfetchError(f"s3://{bucket}/{key} is not JSON") from None


def percent(share: object) -> str:
    if not isinstance(share, int | float):
        return "n/a"
    return "100%" if share >= 1 else f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def milliseconds(value: object) -> str:
    return f"{value:.0f} ms" if isinstance(value, int | float) else "-"


def region_cell(regions: Mapping[str, Any]) -> str:
    """Each probe region's part: `eu-west-1 down!` for a region that disagrees with the quorum, `silent` for one
    without a fresh verdict."""
    parts = []
    for region, said in regions.items():
        state = str(said.get("state") or "-") if said.get("fresh") else "silent"
        parts.append(f"{region} {state}{'!' if said.get('dissenting') else ''}")
    return ", ".join(parts)


def status_table(status: Mapping[str, Any]) -> Table:
    targets = status.get("targets", [])
    # A monitor probed from several regions gets a column of what each region said
    regional = any(target.get("regions") for target in targets)
    columns = ["name", "state", "since", "24h", "7d", "30d", "90d", "p50", "p95"]
    table = Table(*columns, *(["regions (! dissenting)"] if regional else []))
    title = f"generated {status.get('generated_at', '?')}"
    silent = [region for region, run in (status.get("regions") or {}).items() if run.get("silent")]
    if silent:
        title += f"; silent regions, not counted: {', '.join(silent)}"
    table.title = title
    for target in targets:
        uptime = target.get("uptime") or {}
        latency = target.get("latency_ms") or {}
        table.add_row(
            str(target.get("name")),
            str(target.get("state") or "-"),
            str(target.get("since") or "-"),
            *(percent(uptime.get(window)) for window in ("24h", "7d", "30d", "90d")),
            milliseconds(latency.get("p50")),
            milliseconds(latency.get("p95")),
            *([region_cell(target.get("regions") or {})] if regional else []),
        )
    return table


def _percentile(counts: Sequence[int], bounds: Sequence[int], share: float) -> float | None:
    total = sum(counts)
    if total == 0:
        return None
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= share * total:
            return float(bounds[index]) if index < len(bounds) else float("inf")
    return None


def history_rows(s3: Any, bucket: str, name: str, days: int, today: date | None = None) -> Iterator[dict[str, Any]]:
    """One row per day, oldest first, from the day rollups: checks, how they ended, uptime and latency."""
    last = today or datetime.now(UTC).date()
    for back in range(days - 1, -1, -1):
        day = last - timedelta(days=back)
        rollup = read_json(s3, bucket, f"history/{day:%Y/%m/%d}.json")
        target = ((rollup or {}).get("targets") or {}).get(name) if isinstance(rollup, dict) else None
        if not isinstance(target, dict):
            yield {
                "day": day.isoformat(),
                "checks": 0,
                "up": 0,
                "degraded": 0,
                "down": 0,
                "uptime": None,
                "p50_ms": None,
                "p95_ms": None,
            }
            continue
        checks, down = sum(target.get("checks", [])), sum(target.get("down", []))
        bounds = rollup.get("latency_bounds_ms") or []
        latency = target.get("latency", [])
        yield {
            "day": day.isoformat(),
            "checks": checks,
            "up": sum(target.get("up", [])),
            "degraded": sum(target.get("degraded", [])),
            "down": down,
            "uptime": (checks - down) / checks if checks else None,
            "p50_ms": _percentile(latency, bounds, 0.5),
            "p95_ms": _percentile(latency, bounds, 0.95),
        }


def history_table(name: str, rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table("day", "checks", "down", "degraded", "uptime", "p50", "p95", title=name)
    for row in rows:
        table.add_row(
            row["day"],
            str(row["checks"]),
            str(row["down"]),
            str(row["degraded"]),
            percent(row["uptime"]),
            milliseconds(row["p50_ms"]),
            milliseconds(row["p95_ms"]),
        )
    return table
