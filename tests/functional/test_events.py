"""Every sample in events/ (what `sam local invoke -e` is given) gets an answer from the handler, never an exception."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fanfetch.handler import lambda_handler

from tests.conftest import EVENTS, FakeContext, load_event
from tests.unit.conftest import BUCKET
from tests.unit.conftest import aws as aws  # a fixture


@pytest.fixture
def job_bucket(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from fanfetch.settings import get_settings

    monkeypatch.setenv("RESULTS_BUCKET", BUCKET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


SAMPLES = sorted(path.name for path in EVENTS.glob("*.json"))
# Samples that are refusals on purpose, or need configuration the test environment does not have.
REFUSED = {"invalid.json": "invalid_request", "schedule.json": "invalid_request", "api-jobs-post.json": "not_found"}


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_event_gets_an_answer(name: str, request: pytest.FixtureRequest) -> None:
    if name == "job-chunk.json":  # the job function writes its results to the results bucket
        request.getfixturevalue("job_bucket")
    # Offline, the sample URLs fail as results (dns); a short Lambda deadline bounds the call whatever they do.
    response = lambda_handler(load_event(name), FakeContext(remaining_s=5))
    if name == "job-chunk.json":
        assert response["part"].startswith(f"s3://{BUCKET}/jobs/") and response["total"] == 2
        return
    body = json.loads(response["body"]) if "statusCode" in response else response
    if "statusCode" in response:
        assert response["statusCode"] < 500
    if name in REFUSED:
        assert body["error"]["type"] == REFUSED[name]
    else:
        assert len(body["results"]) == body["summary"]["total"] >= 1
