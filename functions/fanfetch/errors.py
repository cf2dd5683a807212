"""Every way fanfetch refuses or fails an invocation, as one hierarchy; the class decides the HTTP status.

    FanfetchError
    ├── InvalidRequest            400  the caller sent something fanfetch cannot act on
    │   ├── PayloadTooLarge       413  the body passes MAX_BODY_BYTES
    │   └── SchemaMismatch        422  the request does not match the schema
    ├── NotFound                  404  no such route, or no such job
    ├── MethodNotAllowed          405  a known route asked with another method (carries `Allow`)
    ├── TargetsUnavailable        502  a raw schedule's TARGETS_S3_URI cannot be read (never an API answer)
    ├── ServiceUnavailable        503  an AWS service a job route needs failed; nothing the caller did wrong
    ├── ConfigurationError             the function's environment is wrong: an operator problem, never rendered
    ├── TargetFailure                  one URL cannot be fetched; it becomes that URL's `error`, never the call's
    │   ├── DestinationBlocked         `blocked`: the guard refuses the address, port or scheme
    │   ├── InvalidTarget              `invalid_url`: the URL cannot be a request target
    │   ├── RedirectError              `redirects`: a loop, an overlong chain or an unusable Location
    │   └── Undecodable                a content coding fanfetch did not ask for (the body's size stays unknown)
    ├── SinkError                      an AWS sink (S3, SNS, Step Functions) failed; the results are still returned
    │   ├── NoSuchObject               the object or execution asked for is not there
    │   └── AccessDenied               the function's role may not make the call (also a PermissionError)
    └── WriteConflict                  a conditional S3 write lost to another writer; the caller reads again

These and aiohttp's own exceptions map onto `models.ErrorType` in `engine/failures.py`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

RefusalType = Literal["invalid_request", "not_found", "method_not_allowed", "targets_unavailable", "unavailable"]


class ErrorDetail(BaseModel):
    field: str
    message: str


class ApiError(BaseModel):
    type: RefusalType
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every refusal: the body of an API 4xx, or the return value of a direct invocation."""

    error: ApiError


class FanfetchError(Exception):
    """Base of everything fanfetch raises on purpose."""


class ConfigurationError(FanfetchError):
    """The function's environment is misconfigured: the invocation fails and the log names the variable."""


class TargetFailure(FanfetchError):
    """One URL cannot be fetched; the engine turns it into that URL's result."""


class DestinationBlocked(TargetFailure):
    """A destination the guard refuses; deliberately not an OSError, so aiohttp passes it through untouched."""


class InvalidTarget(TargetFailure, ValueError):
    """A URL that cannot be fetched at all (bad scheme, no host, not parseable)."""


class RedirectError(TargetFailure):
    """A redirect loop, an overlong chain or an unusable Location."""


class Undecodable(TargetFailure):
    """A content coding fanfetch did not ask for and cannot decode."""


class SinkError(FanfetchError):
    """An AWS sink (S3, SNS) failed; the message names the sink and what it said."""

    def __init__(self, sink: str, message: str) -> None:
        super().__init__(f"{sink}: {message}")
        self.sink = sink
        self.message = message


class NoSuchObject(SinkError):
    """The object, bucket or execution a call names does not exist; callers that expect absence return None."""


class AccessDenied(SinkError, PermissionError):
    """The function's role may not make the call. Also a PermissionError, as callers have always caught it."""


class WriteConflict(FanfetchError):
    """A conditional write lost to another writer: the object changed since it was read."""


class Refusal(FanfetchError):
    """A request fanfetch answers with an error body instead of results."""

    type: RefusalType = "invalid_request"

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def to_model(self) -> ErrorResponse:
        return ErrorResponse(error=ApiError(type=self.type, message=self.message, details=self.details))

    def as_body(self) -> dict[str, Any]:
        """The one shape of every refusal; `details` only when there are some."""
        return self.to_model().model_dump(exclude_defaults=True)


class InvalidRequest(Refusal):
    """The caller sent something fanfetch cannot act on; the message names the field."""


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than MAX_BODY_BYTES."""


class SchemaMismatch(InvalidRequest):
    """The request does not match the schema; `details` name each field."""

    @classmethod
    def from_details(cls, details: list[ErrorDetail]) -> SchemaMismatch:
        first = details[0] if details else ErrorDetail(field="request", message="invalid")
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        return cls(f"{first.field}: {first.message}{more}", details)


class NotFound(Refusal):
    type = "not_found"


class MethodNotAllowed(Refusal):
    type = "method_not_allowed"

    def __init__(self, method: str, allowed: str) -> None:
        super().__init__(f"method {method} is not allowed here: use {allowed}")
        self.allowed = allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": self.allowed}


class TargetsUnavailable(Refusal):
    """The monitor's target list could not be read: there is nothing to fetch, so the run says why instead."""

    type = "targets_unavailable"


class ServiceUnavailable(Refusal):
    """S3 or Step Functions failed under a job route: the caller may try again later."""

    type = "unavailable"


# Checked in order, most specific first.
STATUS_BY_CLASS: tuple[tuple[type[Refusal], int], ...] = (
    (PayloadTooLarge, 413),
    (SchemaMismatch, 422),
    (InvalidRequest, 400),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (TargetsUnavailable, 502),
    (ServiceUnavailable, 503),
)


def status_of(refusal: Refusal) -> int:
    return next(status for cls, status in STATUS_BY_CLASS if isinstance(refusal, cls))


def proxy_response(refusal: Refusal) -> dict[str, Any]:
    """A refusal as an API Gateway proxy integration response."""
    return {
        "statusCode": status_of(refusal),
        "headers": {"Content-Type": "application/json", **refusal.headers},
        "body": json.dumps(refusal.as_body()),
        "isBase64Encoded": False,
    }
