"""The error hierarchy: one status per class, one body shape built from the response model."""

from __future__ import annotations

import json

import pytest
from fanfetch.errors import (
    ErrorDetail,
    ErrorResponse,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Refusal,
    SchemaMismatch,
    proxy_response,
    status_of,
)


@pytest.mark.parametrize(
    ("refusal", "status", "kind"),
    [
        (InvalidRequest("urls: too many"), 400, "invalid_request"),
        (PayloadTooLarge("body: too large"), 413, "invalid_request"),
        (SchemaMismatch("urls: missing"), 422, "invalid_request"),
        (NotFound("no such route"), 404, "not_found"),
        (MethodNotAllowed("PUT", "GET, POST"), 405, "method_not_allowed"),
    ],
)
def test_refusal_status_and_type_follow_the_class(refusal: Refusal, status: int, kind: str) -> None:
    assert status_of(refusal) == status
    assert refusal.as_body()["error"]["type"] == kind
    ErrorResponse.model_validate(refusal.as_body())


def test_proxy_response_carries_allow_when_method_not_allowed() -> None:
    response = proxy_response(MethodNotAllowed("PUT", "GET, POST"))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, POST"
    assert json.loads(response["body"])["error"]["message"] == "method PUT is not allowed here: use GET, POST"


def test_schema_mismatch_names_the_first_field_and_counts_the_rest() -> None:
    details = [ErrorDetail(field="urls", message="missing"), ErrorDetail(field="options.timeout", message="> 0")]
    refusal = SchemaMismatch.from_details(details)
    assert refusal.message == "urls: missing (and 1 more)"
    assert refusal.as_body()["error"]["details"] == [d.model_dump() for d in details]


def test_refusal_body_has_no_details_key_when_there_are_none() -> None:
    assert InvalidRequest("bad").as_body() == {"error": {"type": "invalid_request", "message": "bad"}}
