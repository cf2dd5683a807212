"""Lambda entry point: event in, one call into the service, response out."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fanfetch import service
from fanfetch.errors import InvalidRequest, Refusal, TargetsUnavailable, proxy_response
from fanfetch.observability import logger
from fanfetch.settings import get_settings
from fanfetch.sources import API_SOURCES, Source, detect

if TYPE_CHECKING:  # only a type: importing it at run time costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

# API Gateway's request id (v1 and v2), else the EventBridge event id; direct invocations have neither.
CORRELATION_ID_PATH = "requestContext.requestId || id"


@logger.inject_lambda_context(clear_state=True, correlation_id_path=CORRELATION_ID_PATH)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    source: Source | None = None
    try:
        source = detect(event)
        if source in API_SOURCES:
            from fanfetch import api  # heavy; only API events pay for it

            return api.handle(event, context, source, started)
        settings = get_settings()
        request = service.request_for(event, source, settings)
        return service.run(request, context, started, settings, scheduled=source is Source.SCHEDULE)
    except Refusal as refusal:
        logger.warning("refused", extra={"reason": refusal.message, "source": source and source.value})
        if source is Source.SCHEDULE and isinstance(refusal, TargetsUnavailable):
            # Nothing to monitor: the invocation fails, so Lambda retries it, dead-letters it and alarms.
            raise
        if source is Source.DIRECT and event.get("step_functions") is True:
            # A job chunk: Lambda reports the class name as errorType, which a Distributed Map counts and can Catch.
            raise InvalidRequest(refusal.message, refusal.details) from refusal
        return proxy_response(refusal) if source in API_SOURCES else refusal.as_body()
