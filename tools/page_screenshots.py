"""`python -m tools.page_screenshots`: the docs' pictures of the status page (desktop and phone) and a badge, from
a sample monitor: 30 days of runs of five targets, one of them down since this morning. Needs Debian's chromium."""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import incidents, judge, published, transitions, views
from fanfetch.monitoring.render import badges, page
from fanfetch.monitoring.rollups import Check, DayRollup, add_run
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TARGETS = {
    "https://shop.example.com/": (200, 85.0),
    "https://shop.example.com/api/health": (200, 12.0),
    "https://blog.example.com/posts/2026/12/a-long-article-title-that-wraps": (200, 240.0),
    "https://docs.example.com/": (200, 40.0),
    "https://status.example.org/legacy/page/10": (500, 8.0),
}


def sample() -> tuple[LatestDocument, dict, incidents.IncidentsDocument]:
    rollups: dict = {}
    latest: LatestDocument | None = None
    history = incidents.IncidentsDocument()
    for hours in range(30 * 24, -1, -6):
        at = NOW - timedelta(hours=hours)
        results = []
        for url, (status, ms) in TARGETS.items():
            broken = (status == 500 and hours < 9) or (url.endswith("/health") and 200 < hours < 215)
            results.append(
                UrlResult(
                    url=url,
                    status=500 if broken else 200,
                    bytes=5120,
                    elapsed_ms=ms,
                    error=FetchError(type="http", message="status 500") if broken else None,
                )
            )
        verdicts = judge.judge_all(results)
        latest = transitions.compare_run(verdicts, latest, at, RunInfo(request_id=f"r{hours}", at=iso(at)), 14).latest
        day: DayRollup | None = rollups.get(at.date())
        rollups[at.date()] = add_run(
            day, f"r{hours}", at, [Check(v.seen.url, v.health, v.seen.elapsed_ms) for v in verdicts]
        )
        history = incidents.record(
            history, [incidents.Seen(v.seen.url, v.health, v.seen.error) for v in verdicts], at, f"r{hours}"
        )
    assert latest is not None
    return latest, rollups, history


def main() -> None:
    latest, rollups, history = sample()
    view = views.page_view(latest, NOW, 14, list(TARGETS), rollups, history, 6 * 3600)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        path = Path(work) / "status.html"
        path.write_text(page.render(view))
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for name, width in (("status.png", 1280), ("status-phone.png", 390)):
            context = browser.new_context(viewport={"width": width, "height": 900})
            tab = context.new_page()
            tab.clock.install(time=NOW + timedelta(minutes=3))
            tab.goto(path.as_uri())
            tab.screenshot(path=DOCS / name, full_page=width == 390)
            context.close()
        browser.close()
    status = published.status_document(latest, rollups, list(TARGETS), NOW)
    (DOCS / "badge-example.svg").write_text(badges.render(published.badges_for(status["targets"][0])[1]) + "\n")
    print("wrote docs/status.png, docs/status-phone.png and docs/badge-example.svg")


if __name__ == "__main__":
    main()
