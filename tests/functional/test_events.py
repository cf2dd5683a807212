"""Every sample in events/ (what `sam local invoke -e` is given) gets an answer from the handler, never an exception."""

from __future__ import annotations

import json

import pytest
from fanfetch.handler import lambda_handler

from tests.conftest import EVENTS, FakeContext, load_event

SAMPLES = sorted(path.name for path in EVENTS.glob("*.json"))
# Samples that are refusals on purpose, or need configuration the test environment does not have.
REFUSED = {"invalid.json": "invalid_request", "schedule.json": "invalid_request", "api-jobs-post.json": "not_found"}


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_event_gets_an_answer(name: str) -> None:
    # Offline, the sample URLs fail as results (dns); a short Lambda deadline bounds the call whatever they do.
    response = lambda_handler(load_event(name), FakeContext(remaining_s=5))
    body = json.loads(response["body"]) if "statusCode" in response else response
    if "statusCode" in response:
        assert response["statusCode"] < 500
    if name in REFUSED:
        assert body["error"]["type"] == REFUSED[name]
    else:
        assert len(body["results"]) == body["summary"]["total"] >= 1
