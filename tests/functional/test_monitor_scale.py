"""A monitor of 5,000 targets stays light: scheduled runs of the real handler over 5,000 loopback targets, against
a moto server (the real botocore HTTP path), until every bounded structure is at its cap; then one more run grows
none of what a run rewrites. Times and memory are the benchmark's (`make bench ARGS="--only monitor-runs"`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from fanfetch.monitoring.state import RECENT_RUNS
from fanfetch.settings import get_settings

from tests.conftest import ThreadedOrigin
from tests.functional.test_monitoring import BUCKET, Aws, scheduled_run

TARGETS = 5000
LATEST_LIMIT = 5_000_000
PAGE_LIMIT = 1_500_000
# Measured values (latencies, time in state) may be written a character longer in one run than in the one before
SLACK = 0.01


def shape(value: Any) -> Any:
    """A document's structure: its keys and list lengths, every number as 0 and every string as ""."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str):
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0
    return value


@pytest.fixture(scope="module")
def many_targets() -> Iterator[ThreadedOrigin]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=b"ok " + request.match_info["n"].encode())

    app = web.Application()
    app.router.add_get("/t/{n}", answer)
    with ThreadedOrigin(app) as server:
        yield server


def sizes_and_documents(aws: Aws, rollup_key: str) -> tuple[dict[str, int], dict[str, Any]]:
    bodies = {
        "latest.json": aws.read("latest.json"),
        "day rollup": aws.read(rollup_key),
        "status.json": aws.read("status.json"),
        "status.html": aws.read("status.html"),
    }
    documents = {name: json.loads(body) for name, body in bodies.items() if name != "status.html"}
    return {name: len(body) for name, body in bodies.items()}, documents


def test_a_monitor_of_5000_targets_stays_within_its_sizes_and_a_further_run_grows_nothing(
    monitor_env: None, aws: Aws, many_targets: ThreadedOrigin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5,000 targets in a targets file (one loopback origin, so per_host is raised to what many hosts allow)
    urls = [many_targets.url(f"/t/{n}") for n in range(TARGETS)]
    request = {"urls": urls, "options": {"per_host": 100}}
    aws.client("s3").put_object(Bucket=BUCKET, Key="targets/monitors.json", Body=json.dumps(request).encode())
    monkeypatch.setenv("TARGETS_S3_URI", f"s3://{BUCKET}/targets/monitors.json")
    monkeypatch.setenv("MAX_URLS", str(TARGETS))
    get_settings.cache_clear()

    # When scheduled runs bring every bounded structure to its cap (the run times kept in latest.json)
    for number in range(1, RECENT_RUNS + 1):
        response = scheduled_run(f"scale-{number}")
        assert response["summary"]["ok"] == TARGETS
        assert response["monitor"]["errors"] == []
    rollup_key = response["monitor"]["stored"]["rollup"].removeprefix(f"s3://{BUCKET}/")
    sizes, documents = sizes_and_documents(aws, rollup_key)

    # Then latest.json and the page are within their limits, and latest.json holds every target and the capped runs
    assert sizes["latest.json"] <= LATEST_LIMIT
    assert sizes["status.html"] <= PAGE_LIMIT
    entries = documents["latest.json"]["urls"]
    assert len(entries) == TARGETS
    assert len(documents["latest.json"]["recent_runs"]) == RECENT_RUNS
    assert len(documents["status.json"]["targets"]) == TARGETS
    assert "runs/" not in json.dumps(documents["status.json"])  # the page's figures come from the rollups

    # When one more run happens
    further = scheduled_run("scale-further")
    assert further["monitor"]["errors"] == []
    if further["monitor"]["stored"]["rollup"] != f"s3://{BUCKET}/{rollup_key}":
        pytest.skip("the further run fell on the next UTC day: its rollup starts afresh")
    after, documents_after = sizes_and_documents(aws, rollup_key)

    # Then latest.json and status.json keep their structure: the same entries, fields and list lengths
    for name in ("latest.json", "status.json"):
        assert shape(documents_after[name]) == shape(documents[name]), name
    # and the day rollup gains only this run's id (a day holds at most a day of runs); its targets keep their shape
    rollup_before, rollup_after = documents["day rollup"], documents_after["day rollup"]
    run_key = further["monitor"]["stored"]["run"].removeprefix(f"s3://{BUCKET}/")
    assert rollup_after["runs"] == [*rollup_before["runs"], run_key]
    assert shape(rollup_after["targets"]) == shape(rollup_before["targets"])
    # and no size grows beyond what a wider number or time in the text takes
    for name, size in sizes.items():
        grown = after[name] - size
        assert grown <= size * SLACK, f"{name} grew by {grown} bytes"
    assert after["latest.json"] <= LATEST_LIMIT and after["status.html"] <= PAGE_LIMIT
