"""Jobs beyond one invocation: URL lists read and split into chunks, job status, results merged in input order."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fanfetch.errors import ErrorDetail, InvalidRequest, NotFound, SchemaMismatch, SinkError
from fanfetch.models import FetchOptions, FetchRequest
from fanfetch.observability import logger
from fanfetch.settings import Settings
from fanfetch.sources import read_url_list, validation_details

# A Distributed Map item is a child execution's input, which Step Functions caps at 256 KiB.
CHUNK_INPUT_BYTES = 200 * 1024
# About 1 KB of JSON per result keeps a chunk's response under the 256 KiB a state may carry
# (the handler trims detail beyond that, as it does for Lambda's 6 MB).
CHUNK_MAX_URLS = 200
JOB_ID_PATTERN = r"^[0-9A-Za-z_-]{1,80}$"  # a Step Functions execution name
SOURCE_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$"
FINISHED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
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

    @model_validator(mode="after")
    def _one_list(self) -> JobRequest:
        if (self.urls is None) == (self.source is None):
            raise ValueError("give either urls or source, not both and not neither")
        return self


class JobAccepted(BaseModel):
    job_id: str
    status_url: str
    urls: int


# --- URL lists ---------------------------------------------------------------------------------------------------


def validate_job(urls: list[str], options: FetchOptions, settings: Settings) -> FetchRequest:
    """The same refusals as /fetch (one request model), with the job limit in place of MAX_URLS."""
    if len(urls) > settings.JOB_MAX_URLS:
        raise InvalidRequest(
            f"urls: {len(urls)} URLs given; at most {settings.JOB_MAX_URLS} are allowed per job (JOB_MAX_URLS)",
            [ErrorDetail(field="urls", message=f"at most {settings.JOB_MAX_URLS} items")],
        )
    try:
        return FetchRequest.model_validate({"urls": urls, "options": options}, strict=True)
    except ValidationError as exc:
        raise SchemaMismatch.from_details(validation_details(exc)) from None


# --- Chunks ------------------------------------------------------------------------------------------------------


def worst_case_seconds(options: FetchOptions) -> float:
    """The longest one URL can take once it has its slot: the engine bounds all its attempts, and the waits
    between them, by `timeout`; a `deadline` bounds the whole chunk."""
    return min(options.timeout, options.deadline) if options.deadline is not None else options.timeout


_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#]*)")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # made once: json.dumps with options is slow
_PLAIN_URL = re.compile(r'^[^"\\\x00-\x1f\x7f-\U0010ffff]*$')


def _compact(value: object) -> str:
    return _ENCODER.encode(value)


def _json_bytes(url: str) -> int:
    """Bytes the URL takes in a chunk line, with its quotes and comma; quick for the usual printable ASCII."""
    if _PLAIN_URL.match(url):
        return len(url) + 3
    return len(_compact(url).encode()) + 1


def chunk_line(urls: Sequence[str], options: Mapping[str, Any]) -> dict[str, Any]:
    """One map item: exactly the direct-invocation request, marked so a refusal fails the child by name."""
    return {"urls": list(urls), "options": dict(options), "step_functions": True}


def plan_chunks(
    urls: Sequence[str],
    options: FetchOptions,
    seconds: float,
    max_bytes: int = CHUNK_INPUT_BYTES,
    max_urls: int = CHUNK_MAX_URLS,
) -> Iterator[list[str]]:
    """Consecutive chunks, each fetched well inside `seconds` in the worst case and each under `max_bytes` of JSON.

    Slots run `concurrency` URLs at once and `per_host` per host, so a chunk gets as many URLs as fit in the
    waves of slots that the time allows; at least one URL, whose own deadline then bounds it.
    """
    waves = max(1, math.floor(seconds / worst_case_seconds(options)))
    per_chunk = max(1, min(max_urls, options.concurrency * waves))
    per_host = options.per_host * waves
    if options.per_host_interval > 0:
        per_host = min(per_host, max(1, math.floor(seconds / options.per_host_interval)))
    dumped = options.model_dump(mode="json", exclude_unset=True)
    base = len(_compact(chunk_line([], dumped)).encode())
    chunk: list[str] = []
    hosts: dict[str, int] = {}
    size = base
    # A million URLs must be split well inside API Gateway's 29 s: plain dict and regexes in this loop.
    plain, authority = _PLAIN_URL.match, _AUTHORITY.match
    for position, url in enumerate(urls):
        cost = len(url) + 3 if plain(url) else _json_bytes(url)
        if base + cost > max_bytes:
            raise InvalidRequest(
                f"urls.{position}: {len(url)} characters; a job's URL must fit in one {max_bytes}-byte chunk",
                [ErrorDetail(field=f"urls.{position}", message="too long for a job chunk")],
            )
        found = authority(url)
        host = found.group(1).lower() if found else ""
        seen = hosts.get(host, 0)
        if chunk and (len(chunk) >= per_chunk or size + cost > max_bytes or seen >= per_host):
            yield chunk
            chunk, hosts, size, seen = [], {}, base, 0
        chunk.append(url)
        hosts[host] = seen + 1
        size += cost
    if chunk:
        yield chunk


def chunk_lines(chunks: Iterable[Sequence[str]], options: FetchOptions) -> Iterator[bytes]:
    """The JSONL the map reads: one request per line."""
    dumped = options.model_dump(mode="json", exclude_unset=True)
    for chunk in chunks:
        yield _compact(chunk_line(chunk, dumped)).encode() + b"\n"


def new_job_id(now: datetime | None = None) -> str:
    """Sortable by time, unique, and a valid Step Functions execution name."""
    moment = now or datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def job_keys(job_id: str) -> dict[str, str]:
    prefix = f"jobs/{job_id}"
    return {
        "input_key": f"{prefix}/input.jsonl",
        "map_prefix": f"{prefix}/map",
        "summary_key": f"{prefix}/summary.json",
        "results_key": f"{prefix}/results.jsonl",
    }


def execution_input(job_id: str, bucket: str, urls: int, chunks: int, settings: Settings) -> dict[str, Any]:
    """What the state machine starts with; `map_error` is null until the map fails (the Catch fills it)."""
    keys = job_keys(job_id)
    return {
        "job_id": job_id,
        "bucket": bucket,
        "input_key": keys["input_key"],
        "map_prefix": keys["map_prefix"],
        "urls": urls,
        "chunks": chunks,
        "max_concurrency": settings.JOB_MAX_CONCURRENCY,
        # Step Functions wants a float here; an integer is refused by some interpreters
        "tolerated_failure_percentage": float(settings.JOB_TOLERATED_FAILURE_PERCENTAGE),
        "map_error": None,
    }


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"


# --- Status ------------------------------------------------------------------------------------------------------


def job_status(
    job_id: str,
    execution: Mapping[str, Any],
    map_counts: Mapping[str, int] | None,
    summary: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Where a job stands: chunks from the map run; URLs from the summary once written, else estimated from chunks."""
    job = execution.get("input") or {}
    total_urls = int(job.get("urls", 0))
    total_chunks = int(job.get("chunks", 0))
    counts = dict(map_counts or {})
    failed_chunks = counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0)
    done_chunks = counts.get("succeeded", 0) + failed_chunks
    chunks = {
        "total": total_chunks,
        "done": done_chunks,
        "failed": failed_chunks,
        "running": counts.get("running", 0),
        "pending": max(0, total_chunks - done_chunks - counts.get("running", 0)),
    }
    if summary is not None:
        urls = {"total": total_urls, "done": summary["urls"], "failed": summary["failed"], "estimated": False}
    else:
        # Which chunks are done is known only to the map run: while it runs, count their average size.
        per_chunk = total_urls / total_chunks if total_chunks else 0.0
        urls = {
            "total": total_urls,
            "done": min(total_urls, round(done_chunks * per_chunk)),
            "failed": min(total_urls, round(failed_chunks * per_chunk)),
            "estimated": True,
        }
    status: dict[str, Any] = {
        "job_id": job_id,
        "status": execution["status"],
        "started_at": execution.get("started_at"),
        "stopped_at": execution.get("stopped_at"),
        "progress": {"chunks": chunks, "urls": urls},
    }
    if execution["status"] in FINISHED:
        bucket = job.get("bucket", "")
        keys = job_keys(job_id)
        status["summary"] = dict(summary) if summary is not None else None
        status["results"] = {
            "summary": f"s3://{bucket}/{keys['summary_key']}",
            "results": f"s3://{bucket}/{keys['results_key']}",
        }
        if execution.get("error"):
            status["error"] = {"type": execution["error"], "message": execution.get("cause") or ""}
    return status


# --- Aggregation -------------------------------------------------------------------------------------------------


def item_digest(item: object) -> bytes:
    """The identity of a map item, the same whether read from the input JSONL or from a result record."""
    return hashlib.sha256(json.dumps(item, sort_keys=True, separators=(",", ":")).encode()).digest()


@dataclass(slots=True)
class ChunkOutcome:
    """One child execution as the map's ResultWriter recorded it."""

    item: dict[str, Any]
    results: list[dict[str, Any]] | None = None
    error: str | None = None
    cause: str | None = None


def outcome_of(record: Mapping[str, Any]) -> ChunkOutcome:
    """A ResultWriter record (Input and Output are JSON strings) as a chunk outcome."""
    item = json.loads(record.get("Input") or "{}")
    if record.get("Status") == "SUCCEEDED":
        output = json.loads(record.get("Output") or "null")
        results = output.get("results") if isinstance(output, Mapping) else None
        urls = item.get("urls") if isinstance(item, Mapping) else None
        if isinstance(results, list) and isinstance(urls, list) and len(results) == len(urls):
            return ChunkOutcome(item=item, results=results)
        return ChunkOutcome(item=item, error="MalformedOutput", cause="the chunk's output has no result per URL")
    return ChunkOutcome(
        item=item, error=str(record.get("Error") or record.get("Status") or "Failed"), cause=record.get("Cause")
    )


def _cause_message(cause: str | None) -> str:
    """Lambda's error cause is JSON with errorMessage; Step Functions' own causes are text."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        return cause[:512]
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])[:512]
    return cause[:512]


def failed_results(
    urls: Sequence[str], error: str, cause: str | None, kind: str = "chunk_failed"
) -> list[dict[str, Any]]:
    """One result per URL of a chunk that returned none: the chunk's error, named."""
    message = f"{error}: {_cause_message(cause)}".rstrip(": ")
    return [{"url": url, "ok": False, "bytes": None, "error": {"type": kind, "message": message}} for url in urls]


@dataclass(slots=True)
class JobSummary:
    """Totals of a job, added to chunk by chunk."""

    job_id: str
    urls: int = 0
    ok: int = 0
    failed: int = 0
    bytes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    chunks: Counter[str] = field(default_factory=Counter)
    chunk_failures: Counter[str] = field(default_factory=Counter)

    def add(self, results: Iterable[Mapping[str, Any]], chunk_state: str, chunk_error: str | None = None) -> None:
        self.chunks["total"] += 1
        self.chunks[chunk_state] += 1
        if chunk_error:
            self.chunk_failures[chunk_error] += 1
        for result in results:
            self.urls += 1
            self.bytes += result.get("bytes") or 0
            if result.get("ok"):
                self.ok += 1
            else:
                self.failed += 1
                error = result.get("error") or {}
                self.failures[str(error.get("type", "unknown"))] += 1

    def as_dict(self, map_error: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "urls": self.urls,
            "ok": self.ok,
            "failed": self.failed,
            "bytes": self.bytes,
            "failures": dict(sorted(self.failures.items())),
            "chunks": {name: self.chunks[name] for name in ("total", "succeeded", "failed", "not_run")},
            "chunk_failures": dict(sorted(self.chunk_failures.items())),
            "map_error": dict(map_error) if map_error else None,
        }


def results_for(outcome: ChunkOutcome | None, item: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str, str | None]:
    """A chunk's results in its URL order, with its state for the summary: succeeded, failed or not_run."""
    urls = [str(url) for url in item.get("urls", [])]
    if outcome is None:
        reason = "the map stopped before this chunk ran"
        return failed_results(urls, "NotRun", reason, kind="not_run"), "not_run", None
    if outcome.results is not None:
        return outcome.results, "succeeded", None
    error = outcome.error or "Failed"
    return failed_results(urls, error, outcome.cause), "failed", error


def _not_configured(settings: Settings) -> NotFound:
    # Where the stack has no jobs, the routes do not exist: 404, as for any unknown route.
    unset = [name for name in ("RESULTS_BUCKET", "JOBS_STATE_MACHINE_ARN") if not getattr(settings, name)]
    return NotFound(f"jobs are not enabled here ({' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} unset)")


def _door(given: ModuleType | None) -> Any:
    """store.py unless a test gives another; imported late, so /fetch never pays for boto3."""
    if given is not None:
        return given
    from fanfetch import store

    return store


def submit(request: JobRequest, settings: Settings, store: Any = None) -> dict[str, Any]:
    """Validate, split, write the chunks to S3 and start the state machine; the job id and where to ask."""
    store = _door(store)
    if not settings.RESULTS_BUCKET or not settings.JOBS_STATE_MACHINE_ARN:
        raise _not_configured(settings)
    if request.source is not None:
        bucket, _, key = request.source.removeprefix("s3://").partition("/")
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
        try:
            text = store.read_source(bucket, key)
        except PermissionError:
            raise InvalidRequest(
                f"source: fanfetch may not read {request.source}",
                [ErrorDetail(field="source", message="access denied")],
            ) from None
        except UnicodeDecodeError:
            raise InvalidRequest(
                f"source: {request.source} is not UTF-8 text", [ErrorDetail(field="source", message="not UTF-8")]
            ) from None
        if text is None:
            raise InvalidRequest(
                f"source: no object at {request.source}", [ErrorDetail(field="source", message="not found")]
            )
        urls = read_url_list(text)
        if not urls:
            raise InvalidRequest(f"source: no URLs in {request.source}", [ErrorDetail(field="source", message="empty")])
    else:
        urls = list(request.urls or [])
    validated = validate_job(urls, request.options, settings)
    chunks = list(plan_chunks(validated.urls, request.options, settings.JOB_CHUNK_SECONDS))
    job_id = new_job_id()
    keys = job_keys(job_id)
    store.put_bytes(settings.RESULTS_BUCKET, keys["input_key"], b"".join(chunk_lines(chunks, request.options)))
    document = execution_input(job_id, settings.RESULTS_BUCKET, len(validated.urls), len(chunks), settings)
    store.start_execution(settings.JOBS_STATE_MACHINE_ARN, job_id, document)
    return {"job_id": job_id, "urls": len(validated.urls), "chunks": len(chunks)}


def status(job_id: str, settings: Settings, store: Any = None) -> dict[str, Any]:
    """GET /jobs/{id}: 404 for an id that names no job."""
    store = _door(store)
    if not settings.JOBS_STATE_MACHINE_ARN:
        raise _not_configured(settings)
    not_found = NotFound(f"no job {job_id!r}")
    if not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise not_found
    arn = execution_arn(settings.JOBS_STATE_MACHINE_ARN, job_id)
    execution = store.describe_execution(arn)
    if execution is None:
        raise not_found
    summary = None
    if execution["status"] in FINISHED:
        bucket = (execution.get("input") or {}).get("bucket") or settings.RESULTS_BUCKET
        try:
            summary = store.read_json(bucket, job_keys(job_id)["summary_key"])
        except ValueError:  # not JSON, or not text: the status still answers, without it
            logger.warning("summary.json is unreadable", extra={"job_id": job_id})
            summary = None
        if not (isinstance(summary, dict) and all(isinstance(summary.get(k), int) for k in ("urls", "failed"))):
            summary = None
    try:
        counts = store.map_run_counts(arn)
    except SinkError as exc:
        # Progress is best effort: the execution's own status still answers.
        logger.warning("map run counts unavailable", extra={"job_id": job_id, "reason": str(exc)})
        counts = None
    return job_status(job_id, execution, counts, summary)
