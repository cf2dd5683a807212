"""The status page in headless Chromium (Debian's, driven by Playwright; no browser download): it fits a phone,
says when it is stale, and is complete without JavaScript."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fanfetch.models import UrlResult
from fanfetch.monitoring import judge, transitions, views
from fanfetch.monitoring.published import schedule_period_seconds
from fanfetch.monitoring.render import page
from fanfetch.monitoring.rollups import Check, add_run
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PERIOD = timedelta(minutes=5)
LONG_URL = "https://a-very-long-host-name.shop.example.com/" + "/".join(f"section-{n}" for n in range(12)) + "?q=1"


def _page(tmp_path: Path) -> Path:
    """A page after three runs five minutes apart, of a long URL and a hostile one."""
    urls = [LONG_URL, "https://b.test/<script>document.body.dataset.owned='yes'</script>"]
    latest: LatestDocument | None = None
    rollup = None
    for run in range(3):
        at = T0 + run * PERIOD
        results = [UrlResult(url=url, status=200, bytes=10, elapsed_ms=20.0) for url in urls]
        verdicts = judge.judge_all(results)
        latest = transitions.compare_run(verdicts, latest, at, RunInfo(request_id=f"r{run}", at=iso(at)), 14).latest
        rollup = add_run(rollup, f"r{run}", at, [Check(url, "up", 20.0) for url in urls])
    assert latest is not None and rollup is not None
    now = T0 + 2 * PERIOD
    period = schedule_period_seconds(latest)
    view = views.page_view(latest, now, 14, urls, {now.date(): rollup}, None, period)
    path = tmp_path / "status.html"
    path.write_text(page.render(view))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make check` installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_never_scrolls_sideways(browser: Any, tmp_path: Path, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    view = context.new_page()
    view.clock.install(time=T0 + 2 * PERIOD)
    view.goto(_page(tmp_path).as_uri())
    scroll, client = view.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{scroll} px wide in a {client} px window"
    # The long URL is shown whole, broken at its slashes, with the full URL in a title
    name = view.locator(".name", has_text="section-11").first
    assert name.get_attribute("title") == LONG_URL
    assert view.evaluate("document.body.dataset.owned") is None  # the hostile target ran nothing
    context.close()


@pytest.mark.parametrize(
    ("read_after", "stale"), [(PERIOD, False), (2 * PERIOD - timedelta(seconds=5), False), (3 * PERIOD, True)]
)
def test_the_page_says_it_is_stale_only_two_periods_after_it_was_written(
    browser: Any, tmp_path: Path, read_after: timedelta, stale: bool
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800})
    view = context.new_page()
    # Read `read_after` after the page was written (at T0 + 2 periods)
    view.clock.install(time=T0 + 2 * PERIOD + read_after)
    view.goto(_page(tmp_path).as_uri())
    banner = view.locator("#stale")
    assert banner.is_visible() is stale
    if stale:
        assert "has not run since 2026-12-07T12:10:00Z" in banner.inner_text()
    # and times are relative to when it is read
    assert "ago" in view.locator("time[data-relative]").first.inner_text()
    context.close()


def test_without_javascript_the_page_is_complete_with_absolute_times_and_no_banner(
    browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 800})
    view = context.new_page()
    view.goto(_page(tmp_path).as_uri())
    assert not view.locator("#stale").is_visible()
    assert view.locator("time[data-relative]").first.inner_text() == "2026-12-07T12:00:00Z"  # up since
    assert view.locator("section.target").count() == 2
    context.close()
