"""The status page as text: escaping, rows and sparklines (the rendered DOM is checked in Chromium)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fanfetch import monitor, statuspage

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
HOSTILE = "http://a.test/<script>document.title='owned'</script>"


def _latest() -> dict[str, object]:
    results = [
        {
            "url": HOSTILE,
            "ok": False,
            "status": None,
            "bytes": None,
            "elapsed_ms": 3.0,
            "error": {"type": "connect", "message": "<img src=x onerror=alert(1)>"},
        },
        {"url": "javascript:alert(1)", "ok": True, "status": 200, "bytes": 2048, "elapsed_ms": 40.0},
    ]
    return monitor.compare_run(results, None, T0, {"request_id": "r1", "at": monitor.iso(T0)}, 14).latest


def test_render_escapes_everything_that_comes_from_a_target() -> None:
    page = statuspage.render(_latest(), T0, 14)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img" not in page
    assert 'href="javascript:' not in page


def test_render_is_self_contained() -> None:
    page = statuspage.render(_latest(), T0 + timedelta(hours=3), 14)
    assert "<link" not in page and "src=" not in page.replace("&lt;img src=x", "")
    assert "@import" not in page and "url(" not in page
    assert page.count('<tr class="row') == 2
    assert "3.0 h" in page  # time in state


def test_sparkline_has_one_tick_per_run_and_a_point_per_latency() -> None:
    history = [{"ok": True, "ms": 10}, {"ok": False, "ms": None}, {"ok": True, "ms": 30}]
    line = statuspage.sparkline(history)
    assert len(line.points.split()) == 3
    assert [ok for _, _, ok in line.ticks] == [True, False, True]
    assert statuspage.sparkline([]).points == ""


def test_size_and_duration_read_as_people_write_them() -> None:
    assert [statuspage.size(v) for v in (None, 512, 2048, 3 * 1024 * 1024)] == ["-", "512 B", "2.0 KB", "3.0 MB"]
    assert [statuspage.duration(s) for s in (30, 600, 3 * 3600, 3 * 86400)] == ["30 s", "10 min", "3.0 h", "3.0 days"]


def test_sample_latest_json_in_docs_renders_and_compares() -> None:
    import json
    from pathlib import Path

    sample = json.loads((Path(__file__).resolve().parents[2] / "docs" / "latest.json").read_text())
    page = statuspage.render(sample, monitor.parse_iso(sample["updated_at"]), 14)
    assert page.count('<tr class="row') == len(sample["urls"]) == 5
    url, entry = next(iter(sample["urls"].items()))
    again = {"url": url, "ok": entry["ok"], "status": entry["status"], "bytes": entry["bytes"], "elapsed_ms": 1.0}
    comparison = monitor.compare_run([again], sample, T0 + timedelta(days=1), {"at": "x"}, 14)
    assert comparison.verdicts[0].change == "unchanged"
