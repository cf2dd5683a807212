"""The job routes' I/O: read the list, plan, write the chunks and start the map; read a job's status."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fanfetch import store
from fanfetch.errors import ErrorDetail, InvalidRequest, NotFound, SinkError
from fanfetch.jobs.lists import JobRequest, chunk_options, source_location, validate_job
from fanfetch.jobs.plan import FINISHED, chunk_lines, execution_arn, execution_input, job_keys, new_job_id, plan_chunks
from fanfetch.jobs.progress import job_status
from fanfetch.models import JOB_ID_PATTERN
from fanfetch.observability import logger
from fanfetch.settings import Settings
from fanfetch.sources import read_url_list


def _not_configured(settings: Settings) -> NotFound:
    # Where the stack has no jobs, the routes do not exist: 404, as for any unknown route.
    unset = [name for name in ("RESULTS_BUCKET", "JOBS_STATE_MACHINE_ARN") if not getattr(settings, name)]
    return NotFound(f"jobs are not enabled here ({' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} unset)")


def _source_urls(source: str, settings: Settings) -> list[str]:
    bucket, key = source_location(source, settings)
    try:
        text = store.read_source(bucket, key)
    except PermissionError:
        raise InvalidRequest(
            f"source: fanfetch may not read {source}", [ErrorDetail(field="source", message="access denied")]
        ) from None
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"source: {source} is not UTF-8 text", [ErrorDetail(field="source", message="not UTF-8")]
        ) from None
    if text is None:
        raise InvalidRequest(f"source: no object at {source}", [ErrorDetail(field="source", message="not found")])
    urls = read_url_list(text)
    if not urls:
        raise InvalidRequest(f"source: no URLs in {source}", [ErrorDetail(field="source", message="empty")])
    return urls


def submit(request: JobRequest, settings: Settings) -> dict[str, Any]:
    """Validate, split, write the chunks to S3 and start the state machine; the job id and where to ask."""
    if not settings.RESULTS_BUCKET or not settings.JOBS_STATE_MACHINE_ARN:
        raise _not_configured(settings)
    urls = _source_urls(request.source, settings) if request.source is not None else list(request.urls or [])
    validated = validate_job(urls, request, settings)
    options = chunk_options(request.options, settings)
    chunks = list(plan_chunks(validated.urls, options, settings.JOB_CHUNK_SECONDS, settings.JOB_CHUNK_MAX_URLS))
    job_id = new_job_id(datetime.now(UTC))
    keys = job_keys(job_id)
    store.put_bytes(settings.RESULTS_BUCKET, keys["input_key"], b"".join(chunk_lines(chunks, options, job_id)))
    # Never more children at once than the job function can run: more would be throttled and fail.
    concurrency = min(request.max_concurrency or settings.JOB_CONCURRENCY, settings.JOB_CONCURRENCY)
    document = execution_input(
        job_id,
        settings.RESULTS_BUCKET,
        len(validated.urls),
        len(chunks),
        concurrency,
        settings.JOB_TOLERATED_FAILURE_PERCENTAGE,
    )
    store.start_execution(settings.JOBS_STATE_MACHINE_ARN, job_id, document)
    return {"job_id": job_id, "urls": len(validated.urls), "chunks": len(chunks)}


def status(job_id: str, settings: Settings) -> dict[str, Any]:
    """GET /jobs/{id}: 404 for an id that names no job."""
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
