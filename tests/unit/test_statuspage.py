"""The status page as text: escaping, rows, the day bar and the one pinned script (the DOM is checked in Chromium)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import judge, transitions, views
from fanfetch.monitoring.render import page
from fanfetch.monitoring.state import LatestDocument, RunInfo, iso, parse_iso

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
HOSTILE = "http://a.test/<script>document.title='owned'</script>"


def _compare(
    results: list[UrlResult], previous: LatestDocument | None, at: datetime, run: RunInfo
) -> transitions.RunComparison:
    return transitions.compare_run(judge.judge_all(results), previous, at, run, 14)


def _latest() -> LatestDocument:
    results = [
        UrlResult(
            url=HOSTILE,
            elapsed_ms=3.0,
            error=FetchError(type="connect", message="<img src=x onerror=alert(1)>"),
        ),
        UrlResult(url="javascript:alert(1)", status=200, bytes=2048, elapsed_ms=40.0),
    ]
    return _compare(results, None, T0, RunInfo(request_id="r1", at=iso(T0))).latest


def render(latest: LatestDocument, now: datetime) -> str:
    return page.render(views.page_view(latest, now, 14))


def test_render_escapes_everything_that_comes_from_a_target() -> None:
    html = render(_latest(), T0)
    assert html.count("<script") == 1 and html.count("<script>(function") == 1  # the page's own, and no other
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert 'href="javascript:' not in html


def test_render_is_self_contained() -> None:
    html = render(_latest(), T0 + timedelta(hours=3))
    assert "<link" not in html and "src=" not in html.replace("&lt;img src=x", "")
    assert "@import" not in html and "url(" not in html
    assert html.count('<section class="target row') == 2
    assert '<time datetime="2026-11-26T12:00:00Z" data-relative>2026-11-26T12:00:00Z</time>' in html  # since


def test_the_one_inline_script_is_allowed_by_its_hash_and_nothing_else_runs() -> None:
    html = render(_latest(), T0)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp.group(1)
    assert "unsafe-inline" not in csp.group(1).split("script-src")[1]


def test_a_day_bar_cell_says_its_day_and_uptime_in_words() -> None:
    cells = views.day_cells([(T0.date(), 0.7), (T0.date() + timedelta(days=1), None), (T0.date(), 1.0)])
    assert [(cell.level, cell.title) for cell in cells] == [
        ("bad", "2026-11-26: 70% up"),
        ("none", "2026-11-27: no checks"),
        ("full", "2026-11-26: 100% up"),
    ]


def test_size_and_duration_read_as_people_write_them() -> None:
    assert [views.size(v) for v in (None, 512, 2048, 3 * 1024 * 1024)] == ["-", "512 B", "2.0 KB", "3.0 MB"]
    assert [views.duration(s) for s in (30, 600, 3 * 3600, 3 * 86400)] == ["30 s", "10 min", "3.0 h", "3.0 days"]


def test_sample_latest_json_in_docs_renders_and_compares() -> None:
    import json
    from pathlib import Path

    sample = LatestDocument.read(json.loads((Path(__file__).resolve().parents[2] / "docs" / "latest.json").read_text()))
    assert sample.updated_at is not None
    html = render(sample, parse_iso(sample.updated_at))
    assert html.count('<section class="target row') == len(sample.urls) == 5
    url, entry = next(iter(sample.urls.items()))
    again = UrlResult(url=url, status=entry.status, bytes=entry.bytes, elapsed_ms=1.0)
    assert again.ok == entry.ok
    comparison = _compare([again], sample, T0 + timedelta(days=1), RunInfo(at="x"))
    assert comparison.verdicts[0].change == "unchanged"


def test_a_large_page_shows_cards_for_targets_not_up_and_a_line_for_each_other() -> None:
    # Given 150 targets, two of them down
    down = FetchError(type="http", message="status 500 is outside 200-399")
    results = [
        UrlResult(url=f"https://a.test/page/{i}", status=200, bytes=10, elapsed_ms=5.0, error=None)
        if i not in (7, 70)
        else UrlResult(url=f"https://a.test/page/{i}", status=500, bytes=10, elapsed_ms=5.0, error=down)
        for i in range(150)
    ]
    latest = _compare(results, None, T0, RunInfo(request_id="r1", at=iso(T0))).latest
    html = render(latest, T0)
    # Then the two get cards with their day bars, and the others one line each, in natural order
    assert html.count('<section class="target row') == 2 and html.count('class="bar"') == 2
    lines = re.findall(r'<li class="row up" data-state="up" data-name="([^"]+)"', html)
    assert len(lines) == 148
    assert lines[:3] == ["https://a.test/page/0", "https://a.test/page/1", "https://a.test/page/2"]
    assert "2 down" in html and "148 up" in html
