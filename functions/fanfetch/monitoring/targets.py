"""The monitor's targets file at TARGETS_S3_URI: read, parsed and validated here, refused once naming the file."""

from __future__ import annotations

import json
from typing import Any

from fanfetch import store
from fanfetch.errors import InvalidRequest, SinkError, TargetsUnavailable
from fanfetch.models import FetchRequest
from fanfetch.observability import logger
from fanfetch.settings import Settings
from fanfetch.sources import build_request, read_url_list


def parse_targets(text: str) -> dict[str, Any]:
    """Targets as a request document: a JSON request, or a URL list as a job's source may be (text lines, a JSON
    list of URLs or of objects with `url`, CSV with a `url` column). InvalidRequest when unreadable."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"targets: not valid JSON ({exc})") from None
        if isinstance(data, dict):
            return data
    return {"urls": read_url_list(stripped, "targets")}


def load_request(settings: Settings) -> FetchRequest:
    """The request kept at TARGETS_S3_URI. TargetsUnavailable when it cannot be read; InvalidRequest (or the
    subclass the request model raised) naming the file when it is not a valid request."""
    uri = settings.TARGETS_S3_URI
    try:
        text = store.read_text(uri, settings.SINK_TIMEOUT_SECONDS)
    except SinkError as exc:
        logger.error("targets unavailable", extra={"sink": "targets", "uri": uri, "reason": str(exc)})
        raise TargetsUnavailable(f"targets could not be read from TARGETS_S3_URI: {exc}") from None
    try:
        return build_request(parse_targets(text), settings)
    except InvalidRequest as exc:  # SchemaMismatch and PayloadTooLarge are refusals of this kind
        # Name the file: the operator fixes it there, not in the event.
        raise type(exc)(f"TARGETS_S3_URI {uri}: {exc.message}", exc.details) from None
