"""Request, options, per-URL result and summary models: the contract of every event source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from fanfetch import __version__

# Lambda allows 1,024 file descriptors; keep room for DNS, logging and the runtime itself.
MAX_CONCURRENCY = 512
DEFAULT_USER_AGENT = f"fanfetch/{__version__} (+https://github.com/fanfetch/fanfetch)"

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
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchOptions(_Strict):
    """How to fetch; every field has a default, so `{}` is a valid value."""

    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 100
    per_host: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 10
    per_host_interval: Annotated[float, Field(ge=0, le=60)] = 0.0
    timeout: Annotated[float, Field(gt=0, le=900)] = 10.0
    connect_timeout: Annotated[float, Field(gt=0, le=900)] = 5.0
    max_bytes: Annotated[int, Field(ge=0)] | None = None
    max_redirects: Annotated[int, Field(ge=0, le=30)] = 10
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    method: Literal["GET", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    user_agent: Annotated[str, Field(min_length=1, max_length=512)] = DEFAULT_USER_AGENT
    hash: bool = False
    ok_status: Annotated[tuple[int, int], Field(description="Inclusive range of accepted statuses.")] = (
        200,
        399,
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not name or any(c in name for c in ":\r\n\0 ") or any(c in header for c in "\r\n\0"):
                raise ValueError(f"header {name!r} has a character that is not allowed")
            if name.lower() in {"host", "content-length", "transfer-encoding", "connection"}:
                raise ValueError(f"header {name!r} is set by fanfetch and cannot be overridden")
        if len(value) > 50:
            raise ValueError("at most 50 headers")
        return value


class FetchRequest(_Strict):
    """What every event source is mapped onto."""

    urls: Annotated[list[str], Field(min_length=1)]
    options: FetchOptions = Field(default_factory=FetchOptions)


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


# Results are plain dataclasses: the engine builds thousands per second and pydantic still
# derives their JSON schema and serializes them (see `dump_response`).
@dataclass(slots=True)
class UrlResult:
    url: str
    ok: bool = False
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


@dataclass(slots=True)
class FetchSummary:
    total: int
    ok: int
    failed: int
    bytes: int
    elapsed_ms: float
    deadline_hit: bool = False


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
