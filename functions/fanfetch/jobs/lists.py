"""What POST /jobs accepts: the URLs inline or where to read them, checked as /fetch checks its requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fanfetch.errors import ErrorDetail, InvalidRequest, SchemaMismatch
from fanfetch.models import WHOLE, FetchOptions, FetchRequest
from fanfetch.settings import Settings
from fanfetch.sources import validation_details

SOURCE_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$"
UPLOADS_PREFIX = "uploads/"


class JobRequest(BaseModel):
    """POST /jobs: the URLs inline, or where to read them, and the options every chunk is fetched with."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={
            "oneOf": [
                {"required": ["urls"], "properties": {"urls": {"type": "array"}}},
                {"required": ["source"], "properties": {"source": {"type": "string"}}},
            ]
        },
    )

    urls: Annotated[list[str], Field(min_length=1)] | None = None
    source: (
        Annotated[
            str,
            Field(
                pattern=SOURCE_PATTERN,
                description="s3://bucket/key of a URL list: text lines, a JSON list, or CSV with a `url` column",
            ),
        ]
        | None
    ) = None
    options: FetchOptions = Field(default_factory=FetchOptions)
    max_concurrency: (
        Annotated[
            int,
            Field(
                ge=1,
                description="Most chunks fetched at once; at most, and by default, JOB_CONCURRENCY (the job "
                "function's reserved concurrency)",
            ),
            WHOLE,
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_list(self) -> JobRequest:
        if (self.urls is None) == (self.source is None):
            raise ValueError("give either urls or source, not both and not neither")
        return self


class JobAccepted(BaseModel):
    job_id: str
    status_url: str
    urls: int


# Options that mean something for one invocation but not for a job, with why.
JOB_REFUSED_OPTIONS = {
    "deadline": "a job has no deadline: each URL is bounded by `timeout`, and chunks are sized so that none is cut",
    "store": "a job's results go to jobs/<id>/results.jsonl; `store` keeps a monitor run",
}


def validate_job(urls: list[str], request: JobRequest, settings: Settings) -> FetchRequest:
    """The same refusals as /fetch (one request model), with the job limit in place of MAX_URLS."""
    for name, why in JOB_REFUSED_OPTIONS.items():
        if name in request.options.model_fields_set:
            raise SchemaMismatch.from_details([ErrorDetail(field=f"options.{name}", message=f"not for jobs: {why}")])
    if len(urls) > settings.JOB_MAX_URLS:
        raise InvalidRequest(
            f"urls: {len(urls)} URLs given; at most {settings.JOB_MAX_URLS} are allowed per job (JOB_MAX_URLS)",
            [ErrorDetail(field="urls", message=f"at most {settings.JOB_MAX_URLS} items")],
        )
    try:
        return FetchRequest.model_validate({"urls": urls, "options": request.options}, strict=True)
    except ValidationError as exc:
        raise SchemaMismatch.from_details(validation_details(exc)) from None


def chunk_options(options: FetchOptions, settings: Settings) -> FetchOptions:
    """The options each chunk runs with: the job's, with JOB_CHUNK_CONCURRENCY where they leave concurrency unset."""
    if "concurrency" in options.model_fields_set:
        return options
    return options.model_copy(update={"concurrency": settings.JOB_CHUNK_CONCURRENCY})


def source_location(source: str, settings: Settings) -> tuple[str, str]:
    """(bucket, key) of a `source` fanfetch may read; InvalidRequest naming why not otherwise."""
    bucket, _, key = source.removeprefix("s3://").partition("/")
    if bucket == settings.RESULTS_BUCKET and not key.startswith(UPLOADS_PREFIX):
        # The results bucket also holds runs, targets and other jobs: only its uploads are URL lists.
        raise InvalidRequest(
            f"source: in {bucket!r} only keys under {UPLOADS_PREFIX} may be read as URL lists",
            [ErrorDetail(field="source", message=f"key must start with {UPLOADS_PREFIX}")],
        )
    if bucket not in (settings.RESULTS_BUCKET, *settings.JOB_SOURCE_BUCKETS):
        raise InvalidRequest(
            f"source: bucket {bucket!r} is not one fanfetch may read; use {settings.RESULTS_BUCKET!r} "
            "or one listed in JOB_SOURCE_BUCKETS",
            [ErrorDetail(field="source", message="bucket not allowed")],
        )
    return bucket, key
