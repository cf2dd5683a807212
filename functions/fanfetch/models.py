"""Request, options, per-URL result and summary models: the contract of every event source."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    computed_field,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from fanfetch import __version__

# Lambda allows 1,024 file descriptors; keep room for DNS, logging and the runtime itself.
MAX_CONCURRENCY = 512
DEFAULT_USER_AGENT = f"fanfetch/{__version__}"

ErrorType = Literal[
    "invalid_url",
    "blocked",
    "dns",
    "connect",
    "tls",
    "timeout",
    "deadline",
    "redirects",
    "protocol",
    "http",
    "internal",
]


def _whole_number(value: object) -> object:
    # Strict mode refuses "5" and true for integers, and would refuse 5.0 too; JSON calls 5.0 an integer.
    return int(value) if isinstance(value, float) and value.is_integer() else value


WHOLE = BeforeValidator(_whole_number)
StatusCode = Annotated[int, Field(ge=100, le=599), WHOLE]
# RFC 9110 field names are tokens; values may not carry line breaks or NUL (no header injection).
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", max_length=256)]
# Case-insensitive without inline flags, which JSON Schema regexes lack.
RESERVED_HEADERS_PATTERN = (
    "^("
    + "|".join(
        "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in name)
        for name in ("host", "content-length", "transfer-encoding", "connection", "accept-encoding", "user-agent")
    )
    + ")$"
)
# RFC 9110 field values: visible characters, spaces and tabs; no other control character (no CR, LF or NUL,
# so no header injection, and nothing aiohttp would refuse only when it writes the request).
FIELD_VALUE_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"
HeaderValue = Annotated[str, StringConstraints(pattern=FIELD_VALUE_PATTERN, max_length=8192)]


class _Strict(BaseModel):
    # Strict: a JSON document means what it says ("5" is not 5, false is not 0). Query strings,
    # where everything is text, are validated with strict=False (sources.query_request).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class FetchOptions(_Strict):
    """How to fetch; every field has a default, so `{}` is a valid value."""

    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY), WHOLE] = 100
    per_host: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY), WHOLE] = 10
    per_host_interval: Annotated[float, Field(ge=0, le=60)] = 0.0
    deadline: Annotated[
        float | None,
        Field(gt=0, le=900, description="Seconds the whole call may take; unfinished URLs are marked `deadline`."),
    ] = None
    timeout: Annotated[float, Field(gt=0, le=900)] = 10.0
    connect_timeout: Annotated[float, Field(gt=0, le=900)] = 5.0
    max_bytes: Annotated[int, Field(ge=0), WHOLE] | None = None
    max_redirects: Annotated[int, Field(ge=0, le=30), WHOLE] = 10
    retries: Annotated[int, Field(ge=0, le=10), WHOLE] = 2
    method: Literal["GET", "HEAD"] = "GET"
    headers: Annotated[
        dict[HeaderName, HeaderValue],
        # pydantic states the key pattern as patternProperties, which lets other keys through in JSON Schema
        Field(
            max_length=50,
            json_schema_extra={
                "additionalProperties": False,
                "propertyNames": {"maxLength": 256, "not": {"pattern": RESERVED_HEADERS_PATTERN}},
            },
        ),
    ] = Field(default_factory=dict)
    user_agent: Annotated[str, Field(min_length=1, max_length=512, pattern=FIELD_VALUE_PATTERN)] = DEFAULT_USER_AGENT
    hash: bool = False
    ok_status: Annotated[
        list[StatusCode], Field(min_length=2, max_length=2, description="Inclusive range of accepted statuses.")
    ] = Field(default_factory=lambda: [200, 399])
    store: bool = Field(
        default=False,
        description="Keep this run in RESULTS_BUCKET, compare it with the last one and alert, as a scheduled run does.",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("ok_status")
    @classmethod
    def _ordered_range(cls, value: list[int]) -> list[int]:
        return sorted(value)  # [399, 200] names the same range as [200, 399]

    @field_validator("headers")
    @classmethod
    def _settable_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() == "user-agent":
                raise ValueError(f"header {name!r} is set by fanfetch: use the user_agent option")
            if name.lower() == "accept-encoding":
                raise ValueError(
                    f"header {name!r} is set by fanfetch, which asks only for what it decodes (gzip, deflate)"
                )
            if re.match(RESERVED_HEADERS_PATTERN, name):
                raise ValueError(f"header {name!r} is set by fanfetch and cannot be overridden")
        return value


# A job id is a Step Functions execution name; a chunk is its line number in the job's input.
JOB_ID_PATTERN = r"^[0-9A-Za-z_-]{1,80}$"


class JobChunk(_Strict):
    """Which chunk of which job a request is: its results go to jobs/<id>/parts/<chunk>.jsonl, not the reply."""

    id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    chunk: Annotated[int, Field(ge=0), WHOLE]


class FetchRequest(_Strict):
    """What every event source is mapped onto."""

    urls: Annotated[list[str], Field(min_length=1)]
    options: FetchOptions = Field(default_factory=FetchOptions)
    # Set by job chunks (jobs.py): a Step Functions task must fail with a named error it can count and Catch,
    # and its output must fit the 256 KiB a state may carry.
    step_functions: bool = Field(
        default=False,
        description="Refusals raise InvalidRequest (Lambda's errorType) instead of returning {'error': ...}, "
        "and the response is fitted into 256 KiB. For Step Functions tasks; ignored behind the API.",
    )
    job: JobChunk | None = Field(
        default=None,
        description="Set by a job's map: the results are written to the results bucket as this chunk's part, "
        "and the reply is a small count of them. Refused behind the API.",
    )


@dataclass(slots=True)
class FetchError:
    type: ErrorType
    message: str


@dataclass(slots=True)
class RedirectHop:
    url: str
    status: int


@dataclass(slots=True)
class Timings:
    """Milliseconds of the final attempt; null where a phase did not happen (a reused connection)."""

    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None
    total: float | None = None


@dataclass(slots=True)
class TlsInfo:
    version: str | None = None
    not_after: str | None = None
    days_left: float | None = None
    issuer: str | None = None


@dataclass(slots=True)
class BodySample:
    """The start of a decoded body and every response header, kept for a caller that asked to inspect them."""

    limit: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    complete: bool = False  # the whole body fitted in `limit`


# Results are plain dataclasses: the engine builds thousands per second and pydantic still
# derives their JSON schema and serializes them (see `dump_response`).
@dataclass(slots=True)
class UrlResult:
    url: str
    status: int | None = None
    bytes: int | None = None
    wire_bytes: int | None = None
    content_length: int | None = None
    truncated: bool = False
    sha256: str | None = None
    elapsed_ms: float = 0.0
    final_url: str | None = None
    content_type: str | None = None
    attempts: int = 0
    redirects: list[RedirectHop] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    tls: TlsInfo | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: FetchError | None = None
    # Only with `inspect_bytes`; never part of a response.
    sample: Annotated[BodySample | None, Field(exclude=True), SkipJsonSchema()] = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when the final status is in `ok_status`, the body was read and nothing failed."""
        # Derived, never stored: the engine records an `http` error for a status outside `ok_status` and an
        # error for a body it could not read, so "a status and no error" says all of that.
        return self.error is None and self.status is not None


@dataclass(slots=True)
class FetchSummary:
    total: int
    ok: int
    failed: int
    bytes: int
    elapsed_ms: float
    deadline_hit: bool = False
    trimmed: bool = False


@dataclass(slots=True)
class FetchResponse:
    results: list[UrlResult]
    summary: FetchSummary


_RESPONSE_ADAPTER: TypeAdapter[FetchResponse] | None = None


def dump_response(response: FetchResponse) -> dict[str, Any]:
    """The response as JSON-ready dicts (the adapter is built on first use, off the import path)."""
    global _RESPONSE_ADAPTER
    if _RESPONSE_ADAPTER is None:
        _RESPONSE_ADAPTER = TypeAdapter(FetchResponse)
    dumped: dict[str, Any] = _RESPONSE_ADAPTER.dump_python(response, mode="json")
    return dumped
