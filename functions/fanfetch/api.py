"""HTTP routes for API Gateway (HTTP API payload v2 and REST v1 proxy), with Powertools validation and OpenAPI.

Imported only for API events: the event handler is heavy, and direct, scheduled and batch invocations never need it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from fanfetch.models import FetchRequest
from fanfetch.settings import Settings
from fanfetch.sources import InvalidRequest, Source, check_limits, http_body, invalid_from, query_request

# The route functions call back into the handler to run the fetch, so the routes stay free of runtime details.
RunFetch = Callable[[FetchRequest], dict[str, Any]]


def _error(
    status: int, message: str, details: list[dict[str, Any]] | None = None, kind: str = "invalid_request"
) -> Response[Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if details:
        error["details"] = details
    return Response(status_code=status, content_type="application/json", body={"error": error})


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


def _build(resolver: ApiGatewayResolver) -> ApiGatewayResolver:
    """The same routes on a v1 or v2 resolver; `handle` puts settings, the fetch runner and the raw query in context."""

    @resolver.post("/fetch", summary="Fetch the URLs in the JSON body")
    def post_fetch(request: Annotated[FetchRequest, Body()]) -> dict[str, Any]:
        check_limits(request, resolver.context["settings"])
        run: RunFetch = resolver.context["run"]
        return run(request)

    @resolver.get("/fetch", summary="Fetch the URLs given as repeated `url` query parameters")
    def get_fetch(url: Annotated[list[str], Query(description="A URL to fetch; repeat for more")]) -> dict[str, Any]:
        # Read from the raw query string: HTTP API joins repeated values with commas, which would split
        # URLs that contain one. Options may be given as further parameters, e.g. &timeout=5.
        run: RunFetch = resolver.context["run"]
        return run(query_request(resolver.context["query"], resolver.context["settings"]))

    resolver.enable_swagger(path="/openapi", title="fanfetch", description="Fetch many URLs concurrently")

    @resolver.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response[Any]:
        details = _validation_details(exc)
        return _error(422, str(invalid_from(details)), details)

    @resolver.exception_handler(InvalidRequest)
    def refused(exc: InvalidRequest) -> Response[Any]:
        return _error(exc.status, exc.message, exc.details)

    @resolver.not_found
    def not_found(exc: Exception) -> Response[Any]:
        return _error(404, "no such route: use POST /fetch or GET /fetch?url=...", kind="not_found")

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
        # Powertools would raise on a bad base64 or non-UTF-8 body; refuse those here with a clear 400.
        body = http_body(event, settings)
    except InvalidRequest as exc:
        return {
            "statusCode": exc.status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(exc.as_body()),
            "isBase64Encoded": False,
        }
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
