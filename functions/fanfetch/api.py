"""HTTP routes for API Gateway (HTTP API payload v2 and REST v1 proxy), with Powertools validation and OpenAPI.

Imported only for API events: the event handler is heavy, and direct, scheduled and batch invocations never need it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from fanfetch import __version__, jobs, service, store
from fanfetch.errors import (
    ErrorDetail,
    ErrorResponse,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    Refusal,
    SchemaMismatch,
    ServiceUnavailable,
    SinkError,
    status_of,
)
from fanfetch.jobs import JobAccepted, JobRequest
from fanfetch.models import JOB_ID_PATTERN, FetchOptions, FetchRequest, FetchResponse
from fanfetch.observability import logger
from fanfetch.settings import get_settings
from fanfetch.sources import LIST_OPTIONS, Source, check_limits, http_body, query_request, validation_details

ROUTES = {"/fetch": "GET, POST", "/jobs": "POST", "/jobs/{id}": "GET", "/openapi": "GET"}
# Bodies with fewer brackets than this cannot nest deeply enough to break the JSON parser; only others are parsed
# twice. A request body holds one list and one options object, so an ordinary body has a handful.
NESTING_CHECK_FROM = 500


def _json(description: str, model: type) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


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
UNAVAILABLE = _json("S3 or Step Functions failed; try again later", ErrorResponse)
JOB_RESPONSES[503] = UNAVAILABLE
STATUS_RESPONSES: dict[int, Any] = {
    200: {"description": "Status, progress and, once finished, summary"},
    404: NO_JOB,
    422: RESPONSES[422],
    503: UNAVAILABLE,
}

router = Router()


# When the invocation began, set by `handle` for the route it resolves. Not the router's context: a router
# included in two resolvers reads the context of the last one only.
_invocation_started: ContextVar[float] = ContextVar("invocation_started")


def _started() -> float:
    return _invocation_started.get(time.monotonic())


def _answer_by() -> float:
    """When a route must have its answer ready (monotonic): before API Gateway's 29 s and Lambda's time run out."""
    budget = service.fetch_budget(router.lambda_context, get_settings(), _started(), behind_api=True)
    return time.monotonic() + budget


@router.post("/fetch", summary="Fetch the URLs in the JSON body", responses=RESPONSES)
def post_fetch(request: Annotated[FetchRequest, Body()]) -> dict[str, Any]:
    # `step_functions` and `job` shape a job chunk's answer; behind the API the answer is the results, in the body.
    request = request.model_copy(update={"step_functions": False, "job": None})
    settings = get_settings()
    check_limits(request, settings)
    return service.run(request, router.lambda_context, _started(), settings, behind_api=True)


@router.get("/fetch", summary="Fetch the URLs given as repeated `url` query parameters", responses=RESPONSES)
def get_fetch() -> dict[str, Any]:
    # Validated once, by the request model: the parameters are documented in `openapi_document`, not declared
    # here. Read from the raw query string: HTTP API joins repeated values with commas, which would split URLs.
    event = router.current_event
    if isinstance(event, APIGatewayProxyEventV2):
        params = parse_qs(event.raw_query_string or "", keep_blank_values=True)
    else:
        params = {name: list(values) for name, values in (event.multi_value_query_string_parameters or {}).items()}
    settings = get_settings()
    request = query_request(params, settings)
    return service.run(request, router.lambda_context, _started(), settings, behind_api=True)


# Jobs: lists beyond one invocation (jobs.py); boto3 is imported only when one of these routes runs.
@router.post("/jobs", summary="Start a job over a URL list of any size", responses=JOB_RESPONSES)
def post_jobs(request: Annotated[JobRequest, Body()]) -> Response[Any]:
    with store.calls_until(_answer_by()):
        accepted = jobs.submit(request, get_settings())
    location = f"/jobs/{accepted['job_id']}"
    body = JobAccepted(job_id=accepted["job_id"], status_url=location, urls=accepted["urls"]).model_dump()
    return Response(202, "application/json", body, headers={"Location": location})


@router.get(
    "/jobs/<job_id>", summary="A job's status, progress and, once finished, summary", responses=STATUS_RESPONSES
)
def get_job(
    job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job_id POST /jobs gave")],
) -> dict[str, Any]:
    with store.calls_until(_answer_by()):
        return jobs.status(job_id, get_settings())


@router.get("/openapi", include_in_schema=False)
def openapi() -> Response[str]:
    # The JSON document only: Powertools' Swagger UI page is 1.6 MB of HTML and assets.
    return Response(status_code=200, content_type="application/json", body=json.dumps(openapi_document()))


def _refusal_response(refusal: Refusal) -> Response[Any]:
    return Response(
        status_code=status_of(refusal),
        content_type="application/json",
        body=refusal.as_body(),
        headers=refusal.headers,
    )


def _validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
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
        details.append(ErrorDetail(field=".".join(loc) or "request", message=message))
    return details


@router.exception_handler(RequestValidationError)
def invalid(exc: RequestValidationError) -> Response[Any]:
    return _refusal_response(SchemaMismatch.from_details(_validation_details(exc)))


@router.exception_handler(Refusal)
def refused(exc: Refusal) -> Response[Any]:
    return _refusal_response(exc)


@router.exception_handler(SinkError)
def unavailable(exc: SinkError) -> Response[Any]:
    # S3 or Step Functions failed under a job route: a JSON 503 the caller can retry, never a Lambda error.
    logger.error("job route failed on AWS", extra={"sink": exc.sink, "reason": exc.message})
    return _refusal_response(ServiceUnavailable(f"jobs are unavailable for now: {exc}"))


@router.exception_handler(NotFoundError)
def not_found(exc: NotFoundError) -> Response[Any]:
    return _refusal_response(
        NotFound("no such route: use POST /fetch, GET /fetch?url=..., POST /jobs or GET /jobs/{id}")
    )


def _resolver(resolver: ApiGatewayResolver) -> ApiGatewayResolver:
    resolver.include_router(router)
    return resolver


RESOLVERS: dict[Source, ApiGatewayResolver] = {
    Source.API_V2: _resolver(APIGatewayHttpResolver(enable_validation=True)),
    Source.API_V1: _resolver(APIGatewayRestResolver(enable_validation=True)),
}


def _query_parameters() -> list[dict[str, Any]]:
    """GET /fetch's parameters, from the request model: `url` repeated, then each option that a query can carry."""
    option_schemas = FetchOptions.model_json_schema()["properties"]
    parameters: list[dict[str, Any]] = [
        {
            "name": "url",
            "in": "query",
            "required": True,
            "description": "A URL to fetch; repeat for more",
            "schema": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "style": "form",
            "explode": True,
        }
    ]
    for name, schema in option_schemas.items():
        if name == "headers":
            continue
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
        if name in LIST_OPTIONS:
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the routes, the same for both payload versions."""
    schema = RESOLVERS[Source.API_V2].get_openapi_json_schema(
        title="fanfetch", version=__version__, description="Fetch many URLs concurrently, one result per URL"
    )
    document: dict[str, Any] = json.loads(schema)
    document["paths"]["/fetch"]["get"]["parameters"] = _query_parameters()
    return document


def _route_path(event: Mapping[str, Any], source: Source) -> object:
    """The path the routes see: a v2 event's rawPath carries its stage unless the stage is `$default`."""
    if source is Source.API_V1:
        return event.get("path")
    path = event.get("rawPath")
    context = event.get("requestContext")
    stage = context.get("stage") if isinstance(context, Mapping) else None
    if isinstance(path, str) and isinstance(stage, str) and stage != "$default" and path.startswith(f"/{stage}/"):
        return path[len(stage) + 1 :]
    return path


def _check_path(event: Mapping[str, Any], source: Source) -> None:
    # The resolver matches routes with `$`, which also matches before a final newline: "/fetch\n" would be /fetch.
    path = _route_path(event, source)
    if isinstance(path, str) and any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise NotFound(f"no such route: {path!r}")


def _check_method(event: Mapping[str, Any], source: Source) -> None:
    """405 for a known path asked with another method (API Gateway would route only ours, a local server any)."""
    http = event.get("requestContext", {}).get("http", {}) if source is Source.API_V2 else {}
    method = http.get("method") if isinstance(http, Mapping) else None
    path = _route_path(event, source)
    if source is Source.API_V1:
        method = event.get("httpMethod")
    allowed = (ROUTES.get(path) or ROUTES.get(path.rsplit("/", 1)[0] + "/{id}")) if isinstance(path, str) else None
    if allowed and isinstance(method, str) and method.upper() not in allowed.split(", "):
        raise MethodNotAllowed(method, allowed)


def _envelope(event: Mapping[str, Any], source: Source) -> dict[str, Any]:
    """The event's documented envelope fields, validated: what API Gateway would never send is refused,
    and keys from the other payload version are dropped, before the resolver can trip over them."""
    model = APIGatewayProxyEventV2Model if source is Source.API_V2 else APIGatewayProxyEventModel
    try:
        model.model_validate(event)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details[0]
        raise InvalidRequest(f"malformed API Gateway event: {first.field}: {first.message}", details) from None
    known = {field.alias or name for name, field in model.model_fields.items()}
    return {key: value for key, value in event.items() if key in known}


def _check_nesting(body: str) -> None:
    """Refuse a body nested too deeply for Python's JSON parser, which raises RecursionError (not a decode error
    that the resolver's validation reports) a few thousand levels down."""
    if body.count("[") + body.count("{") < NESTING_CHECK_FROM:
        return
    try:
        json.loads(body)
    except RecursionError:
        raise InvalidRequest("body: not valid JSON (nested too deeply)") from None
    except ValueError:
        return  # not JSON at all: the resolver's validation says so, with the parser's message


def _json_typed(headers: object, multi: bool = False) -> dict[str, Any]:
    kept = (
        {k: v for k, v in headers.items() if str(k).lower() != "content-type"} if isinstance(headers, Mapping) else {}
    )
    kept["content-type"] = ["application/json"] if multi else "application/json"
    return kept


def handle(event: Mapping[str, Any], context: LambdaContext, source: Source, started: float) -> dict[str, Any]:
    """Answer one API Gateway event. Refusals before routing raise (the handler renders them); refusals inside a
    route are rendered by the exception handlers above. Either way a JSON 4xx, never a 5xx."""
    _check_path(event, source)
    _check_method(event, source)
    event = _envelope(event, source)
    # Powertools would raise on a bad base64 or non-UTF-8 body; refuse those here with a clear 400.
    body = http_body(event, get_settings())
    _check_nesting(body)
    # /fetch takes JSON whatever the declared type (curl -d sends a form type): a body that is not JSON
    # is then refused as such, rather than parsed as a form.
    normalized = {**event, "body": body, "isBase64Encoded": False, "headers": _json_typed(event.get("headers"))}
    if isinstance(event.get("multiValueHeaders"), Mapping):
        normalized["multiValueHeaders"] = _json_typed(event["multiValueHeaders"], multi=True)
    token = _invocation_started.set(started)
    try:
        return RESOLVERS[source].resolve(normalized, context)
    finally:
        _invocation_started.reset(token)
