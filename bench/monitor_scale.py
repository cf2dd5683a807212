"""`python -m bench.monitor_scale N PAGE_DIR`: what a monitor of N targets keeps and writes at steady state, in a
fresh process, printed as JSON: the sizes of latest.json, a day's rollup, history/days.json, status.json and the
page (plain and gzip), the seconds to compute the page and status.json from them, and the peak RSS.

Steady state: 50 runs five minutes apart over the current day, a full day of rollup before it and 89 closed days,
every target answering. The page is left in PAGE_DIR for the browser to load.
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fanfetch.models import UrlResult
from fanfetch.monitoring import judge, published, transitions, views
from fanfetch.monitoring.render import page
from fanfetch.monitoring.rollups import Check as RollupCheck
from fanfetch.monitoring.rollups import ClosedDays, DayRollup, History, add_run, fold
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso

RUNS = 50
START = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def main() -> None:
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    urls = [f"https://site{i % 50}.example.com/page/{i}" for i in range(count)]
    latest: LatestDocument | None = None
    today: DayRollup | None = None
    for run in range(RUNS):
        at = START + timedelta(minutes=5 * run)
        results = [UrlResult(url=url, status=200, bytes=2048, elapsed_ms=40.0) for url in urls]
        verdicts = judge.judge_all(results)
        latest = transitions.compare_run(verdicts, latest, at, RunInfo(request_id=f"r{run}", at=iso(at)), 14).latest
        today = add_run(today, f"r{run}", at, [RollupCheck(url, "up", 40.0) for url in urls])
    assert latest is not None and today is not None
    yesterday = today.model_copy(update={"day": today.day - timedelta(days=1)})
    closed = fold(ClosedDays(), lambda day: yesterday.model_copy(update={"day": day}), yesterday.day)
    now = START + timedelta(minutes=5 * RUNS)
    # What a run reads back and works out: the documents as stored, then the page and status.json
    stored = {
        "latest_json": json.dumps(latest.dump(), separators=(",", ":")).encode(),
        "day_rollup": json.dumps(today.dump()).encode(),
        "days_json": json.dumps(closed.dump()).encode(),
    }
    started = time.perf_counter()
    history = History({today.day: today, yesterday.day: yesterday}, closed)
    status = json.dumps(published.status_document(latest, history, urls, now), separators=(",", ":")).encode()
    html = page.render(views.page_view(latest, now, 14, urls, history, None, 300)).encode()
    compute_s = time.perf_counter() - started
    (out / "status.html").write_bytes(html)
    sizes = {name: len(body) for name, body in stored.items()}
    sizes.update(
        status_json=len(status),
        status_json_gz=len(gzip.compress(status)),
        page=len(html),
        page_gz=len(gzip.compress(html)),
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"targets": count, "bytes": sizes, "compute_s": compute_s, "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    main()
