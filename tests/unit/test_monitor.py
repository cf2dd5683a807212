"""Monitoring as pure functions: targets, run keys, comparison with latest.json, alerts; no AWS involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fanfetch.errors import InvalidRequest
from fanfetch.models import FetchError, FetchResponse, FetchSummary, TlsInfo, UrlResult, dump_response
from fanfetch.monitoring import judge, runner, state, transitions
from fanfetch.monitoring.alerts.channels import sns
from fanfetch.monitoring.alerts.message import alert_message
from fanfetch.monitoring.state import LatestDocument, RunInfo
from fanfetch.monitoring.targets import parse_targets

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
RUN = RunInfo(request_id="r1", at="2026-11-26T12:00:00Z", key="runs/x.json")


def result(
    url: str = "https://a.test/", ok: bool = True, status: int | None = 200, size: int = 100, **extra: Any
) -> UrlResult:
    error = None if ok else FetchError(type="http", message=f"status {status}")
    return UrlResult(url=url, status=status, bytes=size, elapsed_ms=12.5, error=error, **extra)


def compare(
    results: list[UrlResult],
    previous: LatestDocument | dict[str, Any] | None,
    at: datetime = T0,
    warn: float = 14,
    scheduled: bool | None = None,
) -> transitions.RunComparison:
    if isinstance(previous, dict):
        previous = LatestDocument.read(previous)
    run = RUN.model_copy(update={"at": state.iso(at), "scheduled": scheduled})
    return transitions.compare_run(judge.judge_all(results), previous, at, run, warn)


def alert(comparison: transitions.RunComparison) -> tuple[str, str]:
    message = alert_message(comparison, RUN, 14, sns.LIMITS)
    return message.subject, message.text


def test_parse_targets_reads_text_lines_skipping_blanks_and_comments() -> None:
    text = "# checked every 5 minutes\nhttps://a.test/\n\n  https://b.test/x  \n"
    assert parse_targets(text) == {"urls": ["https://a.test/", "https://b.test/x"]}


def test_parse_targets_reads_a_json_list_and_a_json_request() -> None:
    assert parse_targets('["https://a.test/"]') == {"urls": ["https://a.test/"]}
    request = '{"urls": ["https://a.test/"], "options": {"hash": true}}'
    assert parse_targets(request) == {"urls": ["https://a.test/"], "options": {"hash": True}}


def test_parse_targets_refuses_broken_json_with_the_reason() -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_targets('{"urls": [')


def test_run_key_is_date_partitioned_and_safe() -> None:
    assert state.run_key(T0, "c6af9ac6-7b61") == "runs/2026/11/26/120000Z-c6af9ac6-7b61.json"
    assert state.run_key(T0, "../../x") == "runs/2026/11/26/120000Z-x.json"


def test_compare_marks_every_url_new_on_the_first_run_and_announces_only_down_ones() -> None:
    comparison = compare([result(), result("https://b.test/", ok=False, status=503)], None)
    assert [v.change for v in comparison.verdicts] == ["new", "new"]
    assert [v.state for v in comparison.verdicts] == ["up", "down"]
    assert [v.url for v in comparison.alerts] == ["https://b.test/"]
    assert comparison.went_down == 1
    assert comparison.latest.urls["https://a.test/"].since == "2026-11-26T12:00:00Z"


def test_compare_reports_what_changed_and_the_transition() -> None:
    first = compare([result(size=100)], None).latest
    later = T0 + timedelta(minutes=5)
    comparison = compare([result(ok=False, status=500, size=40)], first, at=later)
    (verdict,) = comparison.verdicts
    assert verdict.change == "changed"
    assert verdict.changes == {"status": {"from": 200, "to": 500}, "ok": {"from": True, "to": False}, "bytes": -60}
    assert verdict.went_down and not verdict.recovered
    assert (verdict.state, verdict.since, verdict.seconds_in_state) == ("down", state.iso(later), 0.0)
    assert (comparison.went_down, comparison.changed) == (1, 1)


def test_compare_does_not_announce_a_url_that_stays_down_and_counts_time_in_state() -> None:
    first = compare([result(ok=False, status=500)], None).latest
    comparison = compare([result(ok=False, status=500)], first, at=T0 + timedelta(minutes=10))
    (verdict,) = comparison.verdicts
    assert verdict.change == "unchanged"
    assert not comparison.should_alert
    assert verdict.since == state.iso(T0)
    assert verdict.seconds_in_state == 600


def test_compare_announces_a_recovery() -> None:
    down = compare([result(ok=False, status=500)], None).latest
    comparison = compare([result()], down, at=T0 + timedelta(minutes=5))
    assert [v.url for v in comparison.alerts if v.recovered] == ["https://a.test/"]
    assert comparison.recovered == 1


def test_compare_reports_a_new_hash_only_when_both_runs_hashed() -> None:
    first = compare([result(sha256="aa")], None).latest
    assert compare([result(sha256="bb")], first).verdicts[0].changes == {"sha256": {"from": "aa", "to": "bb"}}
    assert compare([result(sha256=None)], first).verdicts[0].change == "unchanged"


def test_compare_warns_once_for_a_certificate_under_the_threshold_until_it_is_renewed() -> None:
    expiring = result(tls=TlsInfo(days_left=5.5))
    first = compare([expiring], None)
    assert [v.url for v in first.tls_expiring] == ["https://a.test/"]
    second = compare([expiring], first.latest, at=T0 + timedelta(hours=1))
    assert second.tls_expiring == []
    renewed = compare([result(tls=TlsInfo(days_left=90))], second.latest, at=T0 + timedelta(hours=2))
    again = compare([expiring], renewed.latest, at=T0 + timedelta(hours=3))
    assert len(again.tls_expiring) == 1


def test_compare_keeps_urls_this_run_did_not_check_and_bounds_the_recent_runs() -> None:
    latest = compare([result("https://other.test/")], None).latest
    for step in range(state.RECENT_RUNS + 5):
        latest = compare([result()], latest, at=T0 + timedelta(minutes=step + 1)).latest
    assert set(latest.urls) == {"https://other.test/", "https://a.test/"}
    # The last RECENT_RUNS run times, oldest first, one per run
    assert latest.recent_runs == [state.iso(T0 + timedelta(minutes=step + 1)) for step in range(5, 11)]


def test_compare_drops_the_entries_of_targets_a_scheduled_run_no_longer_checks() -> None:
    # Given a monitor of three targets, then a configuration without the second
    a, b, c = (result(f"https://{name}.test/") for name in "abc")
    latest = compare([a, b, c], None, scheduled=True).latest
    # When the next scheduled run checks the two that are left
    after = compare([a, c], latest, at=T0 + timedelta(minutes=5), scheduled=True).latest
    # Then latest.json holds only their entries
    assert set(after.urls) == {"https://a.test/", "https://c.test/"}


def test_compare_keeps_other_entries_for_a_stored_direct_run_until_nobody_checked_them_for_a_week() -> None:
    # Given a monitor's entries, and later a direct run with store: true of one URL
    a, b = result("https://a.test/"), result("https://b.test/")
    latest = compare([a, b], None, scheduled=True).latest
    ad_hoc = compare([result("https://x.test/")], latest, at=T0 + timedelta(days=1)).latest
    # Then the monitor's entries stay beside it
    assert set(ad_hoc.urls) == {"https://a.test/", "https://b.test/", "https://x.test/"}
    # When a direct run comes after nobody checked a and b for more than STALE_ENTRY_DAYS
    later = T0 + timedelta(days=transitions.STALE_ENTRY_DAYS, hours=1)
    assert set(compare([result("https://x.test/")], ad_hoc, at=later).latest.urls) == {"https://x.test/"}


def test_compare_of_a_scheduled_run_older_than_latest_json_removes_nothing() -> None:
    # Given latest.json written by a newer run that checked a and b
    a, b = result("https://a.test/"), result("https://b.test/")
    newer = compare([a, b], None, at=T0 + timedelta(minutes=5), scheduled=True).latest
    # When an overlapping run that started earlier, with only a, merges after it
    older = compare([a], newer, at=T0, scheduled=True).latest
    # Then b's entry stays: the newer run's configuration decides
    assert set(older.urls) == {"https://a.test/", "https://b.test/"}


def test_compare_does_not_overwrite_an_entry_written_by_a_newer_overlapping_run() -> None:
    newer = compare([result(size=7)], None, at=T0 + timedelta(minutes=1)).latest
    comparison = compare([result(size=5)], newer, at=T0)
    assert comparison.latest.urls["https://a.test/"].bytes == 7
    assert comparison.latest.run is not None and comparison.latest.run.at == state.iso(T0 + timedelta(minutes=1))


def test_annotate_adds_change_and_state_per_result_and_counts_to_the_summary() -> None:
    first = compare([result(), result("https://b.test/")], None).latest
    results = [result(ok=False, status=502), result("https://b.test/", size=120)]
    payload = dump_response(FetchResponse(results, FetchSummary(total=2, ok=1, failed=1, bytes=220, elapsed_ms=1)))
    payload["summary"] = {"total": 2}
    comparison = compare(results, first, at=T0 + timedelta(minutes=1))
    runner.annotate(payload, comparison)
    a, b = payload["results"]
    assert (a["change"], a["state"], b["change"], b["state"]) == ("changed", "down", "changed", "up")
    assert b["changes"] == {"bytes": 20}
    assert b["state_seconds"] == 60
    assert payload["summary"] | {"total": 2} == {
        "total": 2,
        "went_down": 1,
        "recovered": 0,
        "changed": 2,
        "down": 1,
        "degraded": 0,
    }


def test_alert_message_lists_down_recovered_and_expiring_certificates() -> None:
    first = compare([result(), result("https://b.test/", ok=False, status=500)], None).latest
    comparison = compare(
        [
            result(ok=False, status=503),
            result("https://b.test/"),
            result("https://c.test/", tls=TlsInfo(days_left=3.2)),
        ],
        first,
        at=T0 + timedelta(minutes=5),
    )
    subject, text = alert(comparison)
    assert subject == "fanfetch: 1 down, 1 recovered, 1 certificate(s) expiring"
    assert "DOWN\n  https://a.test/ - status 503" in text
    assert "RECOVERED\n  https://b.test/" in text
    assert "https://c.test/ - 3.2 days left" in text


def test_alert_message_of_a_large_outage_fits_sns_and_counts_what_it_leaves_out() -> None:
    # Given 2,000 long URLs that were up and all go down, and 500 that recover
    urls = [f"https://a.test/{'x' * 400}/{n}" for n in range(2000)]
    back = [f"https://b.test/{n}" for n in range(500)]
    first = compare([result(url) for url in urls] + [result(url, ok=False) for url in back], None).latest
    comparison = compare(
        [result(url, ok=False, status=503) for url in urls] + [result(url) for url in back],
        first,
        at=T0 + timedelta(minutes=5),
    )

    # When the alert is written
    subject, text = alert(comparison)

    # Then it stays under SNS's 256 KiB, says how many it left out, and still names the run document
    assert subject == "fanfetch: 2000 down, 500 recovered"
    assert len(text.encode()) <= sns.LIMITS.text_bytes
    shown = text.count("https://a.test/")
    assert 0 < shown < 2000
    assert f"  ... and {2000 - shown} more (see the run document)" in text
    assert "RECOVERED" in text and text.rstrip().endswith("Run document: runs/x.json")


def test_parse_targets_reads_what_a_job_source_may_be() -> None:
    expected = {"urls": ["https://a.test/", "https://b.test/"]}
    assert parse_targets("\ufeffhttps://a.test/\nhttps://b.test/\n") == expected
    assert parse_targets("name,url\nA,https://a.test/\nB,https://b.test/\n") == expected
    assert parse_targets('[{"url": "https://a.test/"}, "https://b.test/"]') == expected
    assert parse_targets('\ufeff{"urls": ["https://a.test/"]}') == {"urls": ["https://a.test/"]}


def test_parse_targets_refuses_csv_without_a_url_column() -> None:
    with pytest.raises(InvalidRequest, match="targets: reads as CSV with columns name, link, but none is named 'url'"):
        parse_targets("name,link\nA,https://a.test/\n")


@pytest.mark.parametrize(
    "entry",
    [
        {"state": "up", "since": "2026-11-26T11:00:00.250Z"},
        {"state": "up", "since": "2026-11-26T12:00:00+01:00"},
        {"state": "up", "since": "2026-11-26T11:00:00"},
    ],
)
def test_compare_run_reads_times_other_writers_wrote(entry: dict[str, Any]) -> None:
    comparison = compare([result()], {"urls": {"https://a.test/": entry}})
    assert comparison.verdicts[0].since == "2026-11-26T11:00:00Z"
    assert comparison.verdicts[0].seconds_in_state == pytest.approx(3600, abs=1)
