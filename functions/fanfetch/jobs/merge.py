"""Merging a job's results: each chunk's part, or, for a chunk without one, what the map's ResultWriter says of it.

A chunk writes its results to its own part in S3, so the merge never depends on the child's output. The map's
result files (manifest.json, SUCCEEDED_n.json, FAILED_n.json, PENDING_n.json) only say why a chunk has no part:
it failed (`chunk_failed`, with the error and cause) or it never started (`not_run`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ChunkState = Literal["succeeded", "failed", "not_run"]
# A map record's Status, as the ResultWriter's file names give them; PENDING items never started.
RESULT_FILE_KINDS = ("SUCCEEDED", "FAILED", "PENDING")


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """What the map recorded of one child: it ran, it failed with an error and cause, or it never started."""

    state: ChunkState
    error: str | None = None
    cause: str | None = None


def result_file_kind(key: str) -> str | None:
    """SUCCEEDED, FAILED or PENDING for a ResultWriter result file (`<status>_<n>.json`); None for anything else."""
    name = key.rsplit("/", 1)[-1]
    kind, _, rest = name.partition("_")
    if kind in RESULT_FILE_KINDS and rest.removesuffix(".json").isdigit() and name.endswith(".json"):
        return kind
    return None


def chunk_of(record: Mapping[str, Any]) -> int | None:
    """The chunk number of a ResultWriter record, from its Input (a JSON string of the map item)."""
    try:
        item = json.loads(record.get("Input") or "null")
    except (TypeError, json.JSONDecodeError):
        return None
    job = item.get("job") if isinstance(item, Mapping) else None
    chunk = job.get("chunk") if isinstance(job, Mapping) else None
    return chunk if isinstance(chunk, int) and not isinstance(chunk, bool) else None


def outcome_of(record: Mapping[str, Any]) -> ChunkOutcome:
    """A ResultWriter record as a chunk outcome. RUNNING does not occur in a finished map run's files."""
    status = record.get("Status")
    if status == "SUCCEEDED":
        return ChunkOutcome("succeeded")
    if status == "PENDING":
        return ChunkOutcome("not_run")
    return ChunkOutcome("failed", str(record.get("Error") or status or "Failed"), record.get("Cause"))


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
    """One result per URL of a chunk that has no part: the chunk's error, named."""
    message = f"{error}: {_cause_message(cause)}".rstrip(": ")
    return [{"url": url, "ok": False, "bytes": None, "error": {"type": kind, "message": message}} for url in urls]


def results_without_part(
    urls: Sequence[str], outcome: ChunkOutcome | None
) -> tuple[list[dict[str, Any]], str, str | None]:
    """A chunk's results when it wrote no part, with its state for the summary and its error's name."""
    if outcome is None or outcome.state == "not_run":
        # No record at all: the map stopped before it, or its ResultWriter failed; either way it did not run.
        return failed_results(urls, "NotRun", "the map stopped before this chunk ran", kind="not_run"), "not_run", None
    error: str = outcome.error or "Failed"
    cause = outcome.cause
    if outcome.state == "succeeded":
        # A child that succeeded always wrote its part first; without one, its results are lost.
        error, cause = "MissingPart", "the chunk succeeded but its results part is missing"
    return failed_results(urls, error, cause), "failed", error


def part_results(urls: Sequence[str], lines: Iterable[bytes]) -> list[dict[str, Any]] | None:
    """A part's results if it holds exactly one per URL of its chunk, in order; None otherwise."""
    results = [json.loads(line) for line in lines if line.strip()]
    if len(results) != len(urls) or any(
        not isinstance(result, dict) or result.get("url") != url for result, url in zip(results, urls, strict=False)
    ):
        return None
    return results


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
    retried: int = 0

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
            "retried": self.retried,
            "map_error": dict(map_error) if map_error else None,
        }
