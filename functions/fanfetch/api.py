"""HTTP routes for API Gateway (HTTP API payload v2 and REST v1 proxy), with Powertools validation and OpenAPI.

Imported only for API events: the event handler is heavy, and direct, scheduled and batch invocations never need it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from fanfetch import __version__, jobs
from fanfetch.jobs import JOB_ID_PATTERN, JobAccepted, JobRequest
from fanfetch.models import FetchRequest, FetchResponse
from fanfetch.settings import Settings
from fanfetch.sources import (
    InvalidRequest,
    Source,
    check_limits,
    http_body,
    invalid_from,
    query_request,
    validation_details,
)


# Error models document the API's refusals; they live here, off the import path of non-API invocations.
class ErrorDetail(BaseModel):
    field: str
    message: str


class ApiError(BaseModel):
    type: Literal["invalid_request", "not_found", "method_not_allowed"]
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every refusal: a 4xx from the API, or the return value of a direct invocation."""

    error: ApiError


# The route functions call back into the handler to run the fetch, so the routes stay free of runtime details.
RunFetch = Callable[[FetchRequest], dict[str, Any]]


def _error(refusal: InvalidRequest) -> Response[Any]:
    """A refusal as the resolver's response (routes and exception handlers)."""
    return Response(
        status_code=refusal.status, content_type="application/json", body=refusal.as_body(), headers=refusal.headers
    )


def _raw_error(refusal: InvalidRequest) -> dict[str, Any]:
    """A refusal as a proxy integration response, for events refused before they reach the resolver."""
    return {
        "statusCode": refusal.status,
        "headers": {"Content-Type": "application/json", **refusal.headers},
        "body": json.dumps(refusal.as_body()),
        "isBase64Encoded": False,
    }


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] == "body" and len(loc) > 1 and loc[1] == "request":
            loc = loc[2:] or ["body"]
        elif loc and loc[0] in ("body", "query"):
            loc = loc[1:] or [loc[0]]
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            message = f"not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"
            loc = ["body"]
        details.append({"field": ".".join(loc) or "request", "message": message})
    return details


def _json(description: str, model: type) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


ROUTES = {"/fetch": "GET, POST", "/jobs": "POST", "/jobs/{id}": "GET", "/openapi": "GET"}
RESPONSES: dict[int, Any] = {
    200: _json("One result per URL, in input order; failed URLs are results too", FetchResponse),
    400: _json("The request breaks a limit or cannot be decoded", ErrorResponse),
    413: _json("The body is larger than MAX_BODY_BYTES", ErrorResponse),
    422: _json("The request does not match the schema; details name each field", ErrorResponse),
}

NO_JOB = _json("No such job, or jobs are not enabled here", ErrorResponse)
JOB_RESPONSES: dict[int, Any] = {
    **{status: answer for status, answer in RESPONSES.items() if status != 200},
    202: _json("The job started; GET status_url for its progress", JobAccepted),
    404: NO_JOB,
}
STATUS_RESPONSES: dict[int, Any] = {
    200: {"description": "Status, progress and, once finished, summary"},
    404: NO_JOB,
    422: RESPONSES[422],
}


def _build(resolver: ApiGatewayResolver) -> ApiGatewayResolver:
    """The same routes on a v1 or v2 resolver; `handle` puts settings, the fetch runner and the raw query in context."""

    @resolver.post("/fetch", summary="Fetch the URLs in the JSON body", responses=RESPONSES)
    def post_fetch(request: Annotated[FetchRequest, Body()]) -> dict[str, Any]:
        check_limits(request, resolver.context["settings"])
        run: RunFetch = resolver.context["run"]
        return run(request)

    @resolver.get("/fetch", summary="Fetch the URLs given as repeated `url` query parameters", responses=RESPONSES)
    def get_fetch(url: Annotated[list[str], Query(description="A URL to fetch; repeat for more")]) -> dict[str, Any]:
        # Read from the raw query string: HTTP API joins repeated values with commas, which would split
        # URLs that contain one. Options may be given as further parameters, e.g. &timeout=5.
        run: RunFetch = resolver.context["run"]
        return run(query_request(resolver.context["query"], resolver.context["settings"]))

    # Jobs: lists beyond one invocation (jobs.py); boto3 is imported only when one of these routes runs.
    @resolver.post("/jobs", summary="Start a job over a URL list of any size", responses=JOB_RESPONSES)
    def post_jobs(request: Annotated[JobRequest, Body()]) -> Response[Any]:
        accepted = jobs.submit(request, resolver.context["settings"])
        location = f"/jobs/{accepted['job_id']}"
        body = {"job_id": accepted["job_id"], "status_url": location, "urls": accepted["urls"]}
        return Response(202, "application/json", body, headers={"Location": location})

    @resolver.get(
        "/jobs/<job_id>", summary="A job's status, progress and, once finished, summary", responses=STATUS_RESPONSES
    )
    def get_job(
        job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job_id POST /jobs gave")],
    ) -> dict[str, Any]:
        return jobs.status(job_id, resolver.context["settings"])

    @resolver.get("/openapi", include_in_schema=False)
    def openapi() -> Response[str]:
        # The JSON document only: Powertools' Swagger UI page is 1.6 MB of HTML and assets.
        schema = resolver.get_openapi_json_schema(
            title="fanfetch", version=__version__, description="Fetch many URLs concurrently, one result per URL"
        )
        return Response(status_code=200, content_type="application/json", body=schema)

    @resolver.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response[Any]:
        return _error(invalid_from(_validation_details(exc), status=422))

    @resolver.exception_handler(InvalidRequest)
    def refused(exc: InvalidRequest) -> Response[Any]:
        return _error(exc)

    @resolver.not_found
    def not_found(exc: Exception) -> Response[Any]:
        return _error(
            InvalidRequest("no such route: use POST /fetch or GET /fetch?url=...", status=404, kind="not_found")
        )

    return resolver


_resolvers: dict[Source, ApiGatewayResolver] = {}


def resolver_for(source: Source) -> ApiGatewayResolver:
    if source not in _resolvers:
        if source is Source.API_V2:
            _resolvers[source] = _build(APIGatewayHttpResolver(enable_validation=True))
        else:
            _resolvers[source] = _build(APIGatewayRestResolver(enable_validation=True))
    return _resolvers[source]


def _raw_query(event: Mapping[str, Any], source: Source) -> dict[str, list[str]]:
    if source is Source.API_V2:
        return parse_qs(event.get("rawQueryString") or "", keep_blank_values=True)
    return {name: list(values) for name, values in (event.get("multiValueQueryStringParameters") or {}).items()}


def _check_method(event: Mapping[str, Any], source: Source) -> None:
    """405 for a known path asked with another method (API Gateway would route only ours, a local server any)."""
    http = event.get("requestContext", {}).get("http", {}) if source is Source.API_V2 else {}
    method = http.get("method") if isinstance(http, Mapping) else None
    path = event.get("rawPath") if source is Source.API_V2 else event.get("path")
    if source is Source.API_V1:
        method = event.get("httpMethod")
    allowed = ROUTES.get(path) or ROUTES.get(path.rsplit("/", 1)[0] + "/{id}") if isinstance(path, str) else None
    if allowed and isinstance(method, str) and method.upper() not in allowed.split(", "):
        raise InvalidRequest(
            f"method {method} is not allowed here: use {allowed}",
            status=405,
            kind="method_not_allowed",
            headers={"Allow": allowed},
        )


def _envelope(event: Mapping[str, Any], source: Source) -> dict[str, Any]:
    """The event's documented envelope fields, validated: what API Gateway would never send is refused,
    and keys from the other payload version are dropped, before the resolver can trip over them."""
    model = APIGatewayProxyEventV2Model if source is Source.API_V2 else APIGatewayProxyEventModel
    try:
        model.model_validate(event)
    except ValidationError as exc:
        details = validation_details(exc)
        raise InvalidRequest(
            f"malformed API Gateway event: {details[0]['field']}: {details[0]['message']}", details
        ) from None
    known = {field.alias or name for name, field in model.model_fields.items()}
    return {key: value for key, value in event.items() if key in known}


def _json_typed(headers: object, multi: bool = False) -> dict[str, Any]:
    kept = (
        {k: v for k, v in headers.items() if str(k).lower() != "content-type"} if isinstance(headers, Mapping) else {}
    )
    kept["content-type"] = ["application/json"] if multi else "application/json"
    return kept


def handle(
    event: Mapping[str, Any], context: LambdaContext, source: Source, settings: Settings, run: RunFetch
) -> dict[str, Any]:
    """Answer one API Gateway event; every refusal is a JSON 4xx, never an exception."""
    resolver = resolver_for(source)
    try:
        _check_method(event, source)
        event = _envelope(event, source)
        # Powertools would raise on a bad base64 or non-UTF-8 body; refuse those here with a clear 400.
        body = http_body(event, settings)
    except InvalidRequest as exc:
        return _raw_error(exc)
    # /fetch takes JSON whatever the declared type (curl -d sends a form type): a body that is not JSON
    # is then refused as such, rather than parsed as a form.
    normalized = {**event, "body": body, "isBase64Encoded": False, "headers": _json_typed(event.get("headers"))}
    if isinstance(event.get("multiValueHeaders"), Mapping):
        normalized["multiValueHeaders"] = {
            **_json_typed(event["multiValueHeaders"], multi=True),
        }
    resolver.append_context(settings=settings, run=run, query=_raw_query(event, source))
    try:
        return resolver.resolve(normalized, context)
    finally:
        resolver.clear_context()
