"""The status page as text: escaping, rows and sparklines (the rendered DOM is checked in Chromium)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fanfetch.models import FetchError, UrlResult
from fanfetch.monitoring import judge, transitions, views
from fanfetch.monitoring.render import page
from fanfetch.monitoring.state import HistoryPoint, LatestDocument, RunInfo, iso, parse_iso

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
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert 'href="javascript:' not in html


def test_render_is_self_contained() -> None:
    html = render(_latest(), T0 + timedelta(hours=3))
    assert "<link" not in html and "src=" not in html.replace("&lt;img src=x", "")
    assert "@import" not in html and "url(" not in html
    assert html.count('<tr class="row') == 2
    assert "3.0 h" in html  # time in state


def test_sparkline_has_one_tick_per_run_and_a_point_per_latency() -> None:
    history: list[HistoryPoint] = [{"ok": True, "ms": 10}, {"ok": False, "ms": None}, {"ok": True, "ms": 30}]
    line = views.sparkline(history)
    assert len(line.points.split()) == 3
    assert [ok for _, _, ok in line.ticks] == [True, False, True]
    assert views.sparkline([]).points == ""


def test_size_and_duration_read_as_people_write_them() -> None:
    assert [views.size(v) for v in (None, 512, 2048, 3 * 1024 * 1024)] == ["-", "512 B", "2.0 KB", "3.0 MB"]
    assert [views.duration(s) for s in (30, 600, 3 * 3600, 3 * 86400)] == ["30 s", "10 min", "3.0 h", "3.0 days"]


def test_sample_latest_json_in_docs_renders_and_compares() -> None:
    import json
    from pathlib import Path

    sample = LatestDocument.read(json.loads((Path(__file__).resolve().parents[2] / "docs" / "latest.json").read_text()))
    assert sample.updated_at is not None
    html = render(sample, parse_iso(sample.updated_at))
    assert html.count('<tr class="row') == len(sample.urls) == 5
    url, entry = next(iter(sample.urls.items()))
    again = UrlResult(url=url, status=entry.status, bytes=entry.bytes, elapsed_ms=1.0)
    assert again.ok == entry.ok
    comparison = _compare([again], sample, T0 + timedelta(days=1), RunInfo(at="x"))
    assert comparison.verdicts[0].change == "unchanged"
