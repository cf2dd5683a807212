"""Planning a job: chunks sized to finish inside one invocation, the keys a job writes, the execution's input."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fanfetch.errors import ErrorDetail, InvalidRequest
from fanfetch.models import FetchOptions

# A Distributed Map item is a child execution's input, which Step Functions caps at 256 KiB.
CHUNK_INPUT_BYTES = 200 * 1024
# Room in a chunk line for its `job` reference: an 80-character id and a chunk number.
JOB_REFERENCE_BYTES = 120
FINISHED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#]*)")
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # made once: json.dumps with options is slow
_PLAIN_URL = re.compile(r'^[^"\\\x00-\x1f\x7f-\U0010ffff]*$')


def compact(value: object) -> str:
    return _ENCODER.encode(value)


def _json_bytes(url: str) -> int:
    """Bytes the URL takes in a chunk line, with its quotes and comma; quick for the usual printable ASCII."""
    if _PLAIN_URL.match(url):
        return len(url) + 3
    return len(compact(url).encode()) + 1


def worst_case_seconds(options: FetchOptions) -> float:
    """The longest one URL can take once it has its slot: the engine bounds all its attempts, and the waits
    between them, by `timeout`."""
    return options.timeout


def chunk_line(urls: Sequence[str], options: Mapping[str, Any], job_id: str, chunk: int) -> dict[str, Any]:
    """One map item: the direct-invocation request, marked so that a refusal fails the child by name and the
    results go to the chunk's part in S3."""
    return {"urls": list(urls), "options": dict(options), "step_functions": True, "job": {"id": job_id, "chunk": chunk}}


def plan_chunks(
    urls: Sequence[str],
    options: FetchOptions,
    seconds: float,
    max_urls: int,
    max_bytes: int = CHUNK_INPUT_BYTES,
) -> Iterator[list[str]]:
    """Consecutive chunks, each fetched inside `seconds` even in the worst case and each under `max_bytes` of JSON.

    Slots run `concurrency` URLs at once and `per_host` per host, so a chunk gets as many URLs as fit in the
    waves of slots that the time allows; at least one URL, which its own `timeout` then bounds. Because even a
    chunk whose every URL hangs ends inside `seconds`, no URL of a job is ever cut short by a deadline.
    """
    waves = max(1, math.floor(seconds / worst_case_seconds(options)))
    per_chunk = max(1, min(max_urls, options.concurrency * waves))
    per_host = options.per_host * waves
    if options.per_host_interval > 0:
        per_host = min(per_host, max(1, math.floor(seconds / options.per_host_interval)))
    dumped = options.model_dump(mode="json", exclude_unset=True)
    base = len(compact(chunk_line([], dumped, "", 0)).encode()) + JOB_REFERENCE_BYTES
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


def chunk_lines(chunks: Iterable[Sequence[str]], options: FetchOptions, job_id: str, first: int = 0) -> Iterator[bytes]:
    """The JSONL the map reads: one request per line, numbered from `first` (a retry's chunks follow the job's)."""
    dumped = options.model_dump(mode="json", exclude_unset=True)
    for number, chunk in enumerate(chunks, start=first):
        yield compact(chunk_line(chunk, dumped, job_id, number)).encode() + b"\n"


def new_job_id(now: datetime) -> str:
    """Sortable by time, unique, and a valid Step Functions execution name."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def job_keys(job_id: str) -> dict[str, str]:
    prefix = f"jobs/{job_id}"
    return {
        "input_key": f"{prefix}/input.jsonl",
        "map_prefix": f"{prefix}/map",
        "parts_prefix": f"{prefix}/parts",
        "summary_key": f"{prefix}/summary.json",
        "results_key": f"{prefix}/results.jsonl",
        # The second pass over URLs a chunk's deadline cut short: its chunks, where their URLs sit, its map's records
        "retry_input_key": f"{prefix}/retry/input.jsonl",
        "retry_positions_key": f"{prefix}/retry/positions.json",
        "retry_map_prefix": f"{prefix}/retry/map",
    }


def part_key(job_id: str, chunk: int) -> str:
    """Where a chunk writes its results: one key per chunk, so a retried chunk overwrites its own part."""
    return f"{job_keys(job_id)['parts_prefix']}/{chunk:08d}.jsonl"


def execution_input(
    job_id: str, bucket: str, urls: int, chunks: int, max_concurrency: int, tolerated_failure_percentage: float
) -> dict[str, Any]:
    """What the state machine starts with; `map_error` is null until the map fails (the Catch fills it)."""
    keys = job_keys(job_id)
    return {
        "job_id": job_id,
        "bucket": bucket,
        "input_key": keys["input_key"],
        # What the map reads and where it writes its records: the job's chunks, then those of a retry pass
        "map_input_key": keys["input_key"],
        "map_prefix": keys["map_prefix"],
        "pass": 1,
        "urls": urls,
        "chunks": chunks,
        "max_concurrency": max_concurrency,
        # Step Functions wants a float here; an integer is refused by some interpreters
        "tolerated_failure_percentage": float(tolerated_failure_percentage),
        "map_error": None,
    }


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"
