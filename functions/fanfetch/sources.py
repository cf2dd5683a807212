"""Event shapes (direct, API Gateway v1/v2, EventBridge, Distributed Map) mapped onto one FetchRequest."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import ValidationError

from fanfetch import urllist
from fanfetch.errors import ErrorDetail, InvalidRequest, PayloadTooLarge, SchemaMismatch
from fanfetch.models import FetchRequest
from fanfetch.settings import Settings
from fanfetch.urllist import UrlListError


class Source(Enum):
    DIRECT = "direct"
    API_V2 = "api_v2"
    API_V1 = "api_v1"
    SCHEDULE = "schedule"
    BATCH = "batch"


API_SOURCES = frozenset({Source.API_V1, Source.API_V2})


def detect(event: object) -> Source:
    """Which source sent an event; unknown shapes are refused with what was expected."""
    if not isinstance(event, Mapping):
        raise InvalidRequest(f"the event must be a JSON object, not {type(event).__name__}")
    context = event.get("requestContext")
    if isinstance(context, Mapping):
        if event.get("version") == "2.0" and isinstance(context.get("http"), Mapping):
            return Source.API_V2
        if "httpMethod" in event:
            return Source.API_V1
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return Source.SCHEDULE
    if "Items" in event:
        return Source.BATCH
    if "urls" in event:
        return Source.DIRECT
    raise InvalidRequest(
        "unrecognised event: expected {'urls': [...]}, a Distributed Map batch {'Items': [...]}, "
        "an API Gateway request or an EventBridge scheduled event"
    )


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def validation_details(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[ErrorDetail]:
    return [
        ErrorDetail(field=_location(prefix + tuple(error["loc"])), message=error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]


def build_request(data: object, settings: Settings, strict: bool = True) -> FetchRequest:
    """Validate a request document; the one place where limits that depend on the environment apply."""
    try:
        request = FetchRequest.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise SchemaMismatch.from_details(validation_details(exc)) from None
    check_limits(request, settings)
    return request


# A Step Functions state carries 256 KiB; a result reduced to its outcome is under 400 bytes.
STEP_FUNCTIONS_MAX_URLS = 500


def check_limits(request: FetchRequest, settings: Settings) -> None:
    if len(request.urls) > settings.MAX_URLS:
        raise InvalidRequest(
            f"urls: {len(request.urls)} URLs given; at most {settings.MAX_URLS} are allowed per request (MAX_URLS)",
            [ErrorDetail(field="urls", message=f"at most {settings.MAX_URLS} items")],
        )
    # A job chunk writes its results to S3 and answers with a count, so only other tasks carry their results.
    if request.step_functions and request.job is None and len(request.urls) > STEP_FUNCTIONS_MAX_URLS:
        raise InvalidRequest(
            f"urls: {len(request.urls)} URLs given; a step_functions request holds at most {STEP_FUNCTIONS_MAX_URLS}, "
            "so that its results fit the 256 KiB a state may carry",
            [ErrorDetail(field="urls", message=f"at most {STEP_FUNCTIONS_MAX_URLS} items with step_functions")],
        )


def _refused(exc: UrlListError) -> InvalidRequest:
    return InvalidRequest(str(exc), [ErrorDetail(field=exc.field, message=exc.problem)])


def urls_of(items: list[object], name: str) -> list[str]:
    """The URLs of a list whose items are URL strings or records with a `url` field (see `urllist.urls_of`)."""
    try:
        return urllist.urls_of(items, name)
    except UrlListError as exc:
        raise _refused(exc) from None


def read_url_list(text: str, name: str = "source") -> list[str]:
    """URLs from a JSON list, CSV with a `url` column, or one per line: the reader the client shares
    (`urllist.read_url_list`), its refusals as InvalidRequest."""
    try:
        return urllist.read_url_list(text, name)
    except UrlListError as exc:
        raise _refused(exc) from None


def _batch_request(event: Mapping[str, Any], settings: Settings) -> FetchRequest:
    items = event.get("Items")
    if not isinstance(items, list):
        raise InvalidRequest("Items: must be a list of URLs or of objects with a 'url' field")
    urls = urls_of(items, "Items")
    batch_input = event.get("BatchInput") or {}
    if not isinstance(batch_input, Mapping):
        raise InvalidRequest("BatchInput: must be an object")
    return build_request({"urls": urls, "options": batch_input.get("options", {})}, settings)


def to_request(event: Mapping[str, Any], source: Source, settings: Settings) -> FetchRequest:
    """The FetchRequest of a non-HTTP event (API events go through the HTTP routes)."""
    if source is Source.DIRECT:
        return build_request(dict(event), settings)
    if source is Source.BATCH:
        return _batch_request(event, settings)
    if source is Source.SCHEDULE:
        if not settings.MONITOR_URLS:
            raise InvalidRequest("a scheduled event without Input needs MONITOR_URLS to be set")
        return build_request({"urls": settings.MONITOR_URLS}, settings)
    raise InvalidRequest(f"{source.value} events are answered by the HTTP routes")


def http_body(event: Mapping[str, Any], settings: Settings) -> str:
    """An API event's body as text: base64 undone, size bounded, UTF-8 checked."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise InvalidRequest("body: must be a string")
    if len(body) > settings.MAX_BODY_BYTES * 4 // 3 + 4:
        raise PayloadTooLarge(f"body: larger than {settings.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)")
    try:
        raw = body.encode()
    except UnicodeEncodeError:
        raise InvalidRequest("body: not valid UTF-8 (it contains an unpaired surrogate)") from None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise InvalidRequest("body: isBase64Encoded is true but the body is not valid base64") from None
    if len(raw) > settings.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: larger than {settings.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidRequest("body: not valid UTF-8") from None


def query_request(params: Mapping[str, list[str]], settings: Settings) -> FetchRequest:
    """`GET /fetch?url=...&url=...&timeout=5`: repeated `url`, scalar options as parameters, list options repeated
    (`ok_status=200&ok_status=299`). The one validation of a GET request."""
    options: dict[str, object] = {}
    for name, values in params.items():
        if name == "url":
            continue
        if name == "headers":
            raise InvalidRequest("headers: cannot be set in a query string; use POST /fetch")
        options[name] = values if name in LIST_OPTIONS else values[-1]
    return build_request({"urls": params.get("url", []), "options": options}, settings, strict=False)


# Options that take several values, given as a repeated query parameter.
LIST_OPTIONS = frozenset({"ok_status"})
