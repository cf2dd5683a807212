"""`python -m tools.page_screenshots`: the docs' pictures of the status page (desktop and phone) and a badge, from
a sample monitor: 30 days of runs of five targets, one of them down since this morning; and the page of a monitor
probed from three regions, with one region dissenting. Needs Debian's chromium."""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import incidents, judge, published, transitions, views
from fanfetch.monitoring.quorum import QuorumVerdict
from fanfetch.monitoring.render import badges, page
from fanfetch.monitoring.rollups import Check, DayRollup, add_run
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso
from fanfetch.monitoring.transitions import Regional

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


REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
# What each region sees: the API fails from ap-southeast-2 only (a route problem, not an outage); the legacy page
# fails everywhere since this morning.
REGIONAL_TARGETS = {
    "https://shop.example.com/": {"us-east-1": 60.0, "eu-west-1": 95.0, "ap-southeast-2": 210.0},
    "https://shop.example.com/api/health": {"us-east-1": 12.0, "eu-west-1": 80.0, "ap-southeast-2": None},
    "https://status.example.org/legacy/page/10": {"us-east-1": None, "eu-west-1": None, "ap-southeast-2": None},
}


def regional_sample() -> tuple[LatestDocument, dict, incidents.IncidentsDocument, dict[str, QuorumVerdict]]:
    """Two days of runs every 30 minutes from three regions."""
    rollups: dict = {}
    latest: LatestDocument | None = None
    history = incidents.IncidentsDocument()
    quorums: dict[str, QuorumVerdict] = {}
    for minutes in range(2 * 24 * 60, -1, -30):
        for offset, region in enumerate(REGIONS):
            at = NOW - timedelta(minutes=minutes) + timedelta(seconds=20 * offset - 60)
            results = []
            for url, seen in REGIONAL_TARGETS.items():
                ms = seen[region]
                broken = ms is None and (not url.endswith("/10") or minutes < 9 * 60)
                results.append(
                    UrlResult(
                        url=url,
                        status=503 if broken else 200,
                        bytes=5120,
                        elapsed_ms=ms or 30.0,
                        error=FetchError(type="http", message="status 503") if broken else None,
                    )
                )
            verdicts = judge.judge_all(results)
            info = RunInfo(request_id=f"{region}-{minutes}", at=iso(at))
            comparison = transitions.compare_run(
                verdicts, latest, at, info, 14, None, Regional(region, REGIONS, 2, 1800)
            )
            latest = comparison.latest
            day: DayRollup | None = rollups.get(at.date())
            rollups[at.date()] = add_run(
                day,
                info.request_id or "",
                at,
                [
                    Check(v.url, v.state, result.elapsed_ms, region)
                    for v, result in zip(comparison.verdicts, results, strict=True)
                ],
            )
            history = incidents.record(
                history, [incidents.Seen(v.url, v.state, v.reason) for v in comparison.verdicts], at, info.request_id
            )
            quorums = {v.url: v.quorum for v in comparison.verdicts if v.quorum is not None}
    assert latest is not None
    return latest, rollups, history, quorums


def main() -> None:
    latest, rollups, history = sample()
    view = views.page_view(latest, NOW, 14, list(TARGETS), rollups, history, 6 * 3600)
    latest3, rollups3, history3, quorums = regional_sample()
    regional = views.page_view(latest3, NOW, 14, list(REGIONAL_TARGETS), rollups3, history3, 1800, quorums)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        path = Path(work) / "status.html"
        path.write_text(page.render(view))
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        regional_path = Path(work) / "status-regions.html"
        regional_path.write_text(page.render(regional))
        shots = [("status.png", path, 1280), ("status-phone.png", path, 390)]
        shots += [("status-regions.png", regional_path, 1280), ("status-regions-phone.png", regional_path, 390)]
        for name, source, width in shots:
            context = browser.new_context(viewport={"width": width, "height": 900})
            tab = context.new_page()
            tab.clock.install(time=NOW + timedelta(minutes=3))
            tab.goto(source.as_uri())
            tab.screenshot(path=DOCS / name, full_page=width == 390)
            context.close()
        browser.close()
    status = published.status_document(latest, rollups, list(TARGETS), NOW)
    (DOCS / "badge-example.svg").write_text(badges.render(published.badges_for(status["targets"][0])[1]) + "\n")
    print("wrote the status page pictures (docs/status*.png) and docs/badge-example.svg")


if __name__ == "__main__":
    main()
