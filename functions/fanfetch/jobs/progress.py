"""Where a job stands, from its execution, its map run and, once written, its summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fanfetch.jobs.plan import FINISHED, job_keys

# What a finished execution that did not succeed means for its results, when Step Functions gives no cause.
UNSUCCESSFUL = {
    "ABORTED": "the job was stopped before it finished",
    "TIMED_OUT": "the job ran out of time before it finished",
    "FAILED": "the job failed",
}


def job_status(
    job_id: str,
    execution: Mapping[str, Any],
    map_counts: Mapping[str, int] | None,
    summary: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Chunks from the map run; URLs from the summary once written, else estimated from chunks. Result files are
    named only once they exist: the summary is written after results.jsonl, so a summary means both are there."""
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
    state = str(execution["status"])
    status: dict[str, Any] = {
        "job_id": job_id,
        "status": state,
        "started_at": execution.get("started_at"),
        "stopped_at": execution.get("stopped_at"),
        "progress": {"chunks": chunks, "urls": urls},
    }
    if state in FINISHED:
        status["summary"] = dict(summary) if summary is not None else None
        if summary is not None:
            bucket = job.get("bucket", "")
            keys = job_keys(job_id)
            status["results"] = {
                "summary": f"s3://{bucket}/{keys['summary_key']}",
                "results": f"s3://{bucket}/{keys['results_key']}",
            }
    if state in UNSUCCESSFUL:
        cause = str(execution.get("cause") or "")
        if summary is None:
            cause = f"{cause}; " if cause else ""
            cause += f"{UNSUCCESSFUL[state]}, so no results were merged"
        status["error"] = {"type": str(execution.get("error") or state), "message": cause}
    return status
