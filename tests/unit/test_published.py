"""status.json and badges: natural order, no internals, badges that parse as SVG and stay small."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta

import pytest
from fanfetch.monitoring.published import (
    badge_keys,
    badges_for,
    natural_key,
    percent,
    schedule_period_seconds,
    slug,
    status_document,
)
from fanfetch.monitoring.render import badges
from fanfetch.monitoring.rollups import Check, add_run
from fanfetch.monitoring.state import LatestDocument

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def test_natural_order_puts_page_2_before_page_10() -> None:
    names = ["https://a.test/page/10", "https://a.test/page/2", "https://a.test/Page/1", "https://a.test/"]
    assert sorted(names, key=natural_key) == [
        "https://a.test/",
        "https://a.test/Page/1",
        "https://a.test/page/2",
        "https://a.test/page/10",
    ]
    # Digits that are not decimal (superscripts) sort as text, and do not stop the sort
    assert sorted(["x²", "²", "x10", "x9"], key=natural_key) == ["x9", "x10", "x²", "²"]


def test_slugs_are_safe_keys_and_never_shared() -> None:
    assert slug("shop-home") == "shop-home"
    assert slug("https://shop.test/a b") != slug("https://shop.test/a-b")
    assert slug("../../etc").startswith("etc-")
    assert badge_keys("shop-home") == ("badges/shop-home.svg", "badges/shop-home-uptime.svg")


@pytest.mark.parametrize(("share", "text"), [(1.0, "100%"), (0.9995, "99.95%"), (0.7, "70%"), (None, "n/a")])
def test_percent_reads_as_people_write_uptime(share: float | None, text: str) -> None:
    assert percent(share) == text


def _latest() -> LatestDocument:
    runs = [(NOW - timedelta(minutes=5 * n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(3)]
    return LatestDocument.read(
        {
            "recent_runs": runs[::-1],
            "urls": {
                "https://shop.test/": {"state": "down", "since": "2026-12-07T11:50:00Z"},
                "https://old.test/": {"state": "up"},
            },
        }
    )


def test_status_document_covers_only_current_targets_and_holds_no_internals() -> None:
    rollups = {NOW.date(): add_run(None, "r1", NOW, [Check("https://shop.test/", "down", 30.0)])}
    document = status_document(_latest(), rollups, ["https://shop.test/"], NOW)
    (target,) = document["targets"]
    assert target["name"] == "https://shop.test/" and target["state"] == "down"
    assert target["uptime"] == {"24h": 0.0, "7d": 0.0, "30d": 0.0, "90d": 0.0}
    assert document["period_s"] == 300
    text = json.dumps(document)
    assert "runs/" not in text and "s3://" not in text and "old.test" not in text
    assert schedule_period_seconds(LatestDocument()) is None


def test_badges_parse_as_svg_stay_under_2_kb_and_escape_the_name() -> None:
    target = {"name": 'shop <script>alert("x")</script> & co', "state": "up", "uptime": {"30d": 0.9995}}
    for made in badges_for(target):
        svg = badges.render(made)
        assert len(svg.encode()) < 2048
        root = ElementTree.fromstring(svg)  # noqa: S314 - our own output; it parses, so the name was escaped
        assert root.tag == f"{SVG}svg"
        assert "<script>" not in svg
        title = root.find(f"{SVG}title")
        assert title is not None and title.text is not None and title.text.startswith("shop <script>")
    state, uptime_badge = badges_for(target)
    assert state.message == "up" and uptime_badge.message == "99.95% (30d)"


def test_equal_badge_digests_mean_equal_badges() -> None:
    from fanfetch.monitoring.publisher import badge_digest

    # Every state, and shares on both sides of each colour's threshold and of the text's rounding
    shares = [None, 0.0, 0.5, 0.94999, 0.95, 0.98999, 0.99, 0.99899, 0.999, 0.99999, 1.0]
    states = ["up", "degraded", "down", "maintenance", "unknown", None]
    seen: dict[str, tuple[object, ...]] = {}
    for state in states:
        for share in shares:
            target = {"name": "shop", "state": state, "uptime": {"30d": share}}
            drawn = badges_for(target)
            assert seen.setdefault(badge_digest(target), drawn) == drawn, (state, share)
    assert len(set(seen.values())) == len(seen)  # and different badges, different digests
