"""`make cost`: docs/cost.md is what the committed bench figures and list prices give, and the arithmetic holds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import cost


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _figures() -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(cost.FIGURES.read_text())
    return figures


def test_cost_page_is_what_make_cost_writes_from_the_committed_figures() -> None:
    assert cost.PAGE.read_text() == cost.render(_figures(), cost.template_settings())


def test_cost_of_a_million_urls_is_at_most_ten_cents_with_the_committed_figures() -> None:
    _, total, _ = cost.price(_figures(), cost.template_settings())
    assert total <= 0.10


def test_cost_lambda_time_follows_the_measured_chunk() -> None:
    settings = {"architecture": "arm64", "job_concurrency": 20}
    figures = {**_figures(), "wall_s": 10.0, "cpu_s": 0.0, "memory_mb": 1769, "urls_per_chunk": 2000}
    lines, total, derived = cost.price(figures, settings)
    # 500 chunks x 10 s x 1769/1024 GB at the arm64 price
    assert derived["chunks"] == 500 and derived["chunk_s"] == 10.0
    assert lines[0].dollars == pytest.approx(500 * 10.0 * 1769 / 1024 * 0.0000133334)
    assert total == pytest.approx(sum(line.dollars for line in lines))
    # CPU time counts at Lambda's share of a vCPU: at 884.5 MB, one CPU second costs two wall seconds
    _, _, derived = cost.price({**figures, "cpu_s": 1.0, "memory_mb": 884.5}, settings)
    assert derived["chunk_s"] == pytest.approx(11.0)


def test_cost_of_a_monitor_grows_with_its_regions_and_only_probes_cross_regions() -> None:
    settings = {"architecture": "arm64", "job_concurrency": 20}
    figures = {
        "targets": 1000,
        "memory_mb": 1769,  # a whole vCPU: the CPU time adds nothing
        "wall_s": 10.0,
        "cpu_s": 2.0,
        "requests": {"s3.PutObject": 6, "s3.GetObject": 6, "bytes_sent": 1e6, "bytes_received": 1e6},
    }
    one, one_total = cost.monitor_price(figures, settings, cost.Monitor(1, 1000, 300))
    three, three_total = cost.monitor_price(figures, settings, cost.Monitor(3, 1000, 300))
    runs = 30 * 86400 / 300  # 8,640 a month per region
    assert one[0].dollars == pytest.approx(runs * 10.0 * 1769 / 1024 * 0.0000133334)
    assert three[0].dollars == pytest.approx(3 * one[0].dollars)
    # One region moves nothing between regions; with three, the two probes' runs move 2 MB each
    assert one[-1].dollars == 0
    assert three[-1].dollars == pytest.approx(2 * runs * 2e6 / 1e9 * 0.02)
    assert three_total == pytest.approx(sum(line.dollars for line in three)) and three_total > 3 * one_total
    # Twice the targets: twice a run's time and bytes; half as many: never below the measured run
    double, _ = cost.monitor_price(figures, settings, cost.Monitor(1, 2000, 300))
    half, _ = cost.monitor_price(figures, settings, cost.Monitor(1, 500, 300))
    assert double[0].dollars == pytest.approx(2 * one[0].dollars) and half[0].dollars == one[0].dollars
