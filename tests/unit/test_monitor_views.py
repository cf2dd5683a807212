"""What the page shows of monitors: names with their URLs, groups, pending counts, maintenance, the config banner."""

from __future__ import annotations

from datetime import UTC, datetime

from fanfetch.monitoring.render import page
from fanfetch.monitoring.state import LatestDocument
from fanfetch.monitoring.views import page_view

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_page_shows_groups_pending_counts_maintenance_reasons_and_the_config_banner() -> None:
    latest = LatestDocument.read(
        {
            "urls": {
                "shop-home": {
                    "state": "up",
                    "url": "https://shop.test/",
                    "group": "Shop",
                    "pending": "failing: 1 of 2",
                    "reason": 'body_contains "Add to cart" not found',
                },
                "shop-api": {
                    "state": "down",
                    "url": "https://shop.test/api",
                    "group": "Shop",
                    "maintenance": "deploys",
                },
                "https://blog.test/": {"state": "degraded", "reason": "latency 900 ms > 800 ms"},
            },
            "config_error": {"message": "s3://b/targets/monitors.yaml: targets[1] (x).url: 'x' is not an http"},
        }
    )
    view = page_view(latest, NOW, 14)
    assert [(g.name, [r.name for r in g.rows]) for g in view.groups] == [
        (None, ["https://blog.test/"]),
        ("Shop", ["shop-api", "shop-home"]),
    ]
    home = next(r for r in view.rows if r.name == "shop-home")
    api = next(r for r in view.rows if r.name == "shop-api")
    assert (home.url, home.href, home.note, home.error) == (
        "https://shop.test/",
        "https://shop.test/",
        "failing: 1 of 2",
        'body_contains "Add to cart" not found',
    )
    assert (api.state, api.maintenance) == ("maintenance", "deploys")
    assert view.counts["maintenance"] == 1 and view.counts["down"] == 0 and view.counts["degraded"] == 1
    html = page.render(view)
    assert "Configuration invalid, the last good configuration is in use" in html
    assert "failing: 1 of 2" in html and "maintenance: deploys" in html and "<h2>Shop</h2>" in html
