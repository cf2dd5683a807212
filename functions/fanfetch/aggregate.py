"""The job's last step (its own Lambda function): the chunks' parts merged into results.jsonl and summary.json.

Reads the chunks back from the job's input, so every URL gets exactly one result line in input order: the
chunk's part, its named error when the child failed without one, or `not_run` when the map never started it.
The map's result files are read piece by piece (Step Functions writes up to 5 GB per file) and only the outcome
of chunks without a part is kept; parts are read one at a time, so memory holds one chunk's results.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fanfetch import store
from fanfetch.jobs.merge import (
    ChunkOutcome,
    JobSummary,
    chunk_of,
    outcome_of,
    part_results,
    result_file_kind,
    results_without_part,
)
from fanfetch.jobs.plan import chunk_lines, compact, job_keys, part_key, plan_chunks
from fanfetch.models import FetchOptions
from fanfetch.observability import logger
from fanfetch.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


# A second pass fetches again at most this many URLs cut short by a chunk's deadline; its results are held in memory.
RETRY_MAX_URLS = 100_000


def array_items(pieces: Iterable[bytes]) -> Iterator[Any]:
    """The items of one JSON array (UTF-8) given in pieces, each yielded once it is whole: memory holds one
    item and one piece, however long the array. ValueError when the text is not one JSON array."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buffer, position, opened = "", 0, False
    for piece in _then_end(pieces):
        last = piece is None
        buffer = buffer[position:] + utf8.decode(piece or b"", final=last)
        position = 0
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position == len(buffer):
                break
            if not opened:
                if buffer[position] != "[":
                    raise ValueError("not a JSON array")
                opened, position = True, position + 1
                continue
            if buffer[position] == "]":
                return
            try:
                item, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError:
                if last:
                    raise
                break  # the item goes on in the next piece
            if end == len(buffer) and not last:
                break  # a number or literal may go on in the next piece: decode it again then
            yield item
            position = end
    raise ValueError("the JSON array is not closed")


def _then_end(pieces: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from pieces
    yield None


def map_outcomes(bucket: str, map_prefix: str) -> dict[int, ChunkOutcome]:
    """What the map's ResultWriter says of each chunk it recorded, from every result file under the prefix."""
    outcomes: dict[int, ChunkOutcome] = {}
    for key in sorted(store.list_keys(bucket, f"{map_prefix}/")):
        if result_file_kind(key) is None:
            continue  # manifest.json
        for record in array_items(store.iter_object(bucket, key)):
            chunk = chunk_of(record) if isinstance(record, dict) else None
            if chunk is None:
                logger.warning("map record for no chunk of this job", extra={"key": key})
                continue
            outcomes[chunk] = outcome_of(record)
    return outcomes


def retried_results(bucket: str, job_id: str, parts: set[str]) -> dict[tuple[int, int], dict[str, Any]]:
    """The results of a retry pass by the (chunk, index) they replace; empty when no retry pass ran. A retry chunk
    without a valid part leaves the first results standing."""
    keys = job_keys(job_id)
    layout = store.read_json(bucket, keys["retry_positions_key"])
    if not isinstance(layout, dict):
        return {}
    replaced: dict[tuple[int, int], dict[str, Any]] = {}
    for number, positions in enumerate(layout["chunks"], start=int(layout["first"])):
        key = part_key(job_id, number)
        if key not in parts:
            continue
        results = [json.loads(line) for line in store.iter_lines(bucket, key) if line.strip()]
        if len(results) == len(positions):
            replaced.update({(chunk, index): result for (chunk, index), result in zip(positions, results, strict=True)})
    return replaced


@dataclass(frozen=True, slots=True)
class RetryLimits:
    """How a retry pass is planned: as POST /jobs plans a job (JOB_CHUNK_SECONDS, JOB_CHUNK_MAX_URLS)."""

    seconds: float
    max_urls: int
    most_urls: int = RETRY_MAX_URLS


def plan_retry(
    job_id: str, bucket: str, cut: list[tuple[int, int, str]], options: FetchOptions, first: int, limits: RetryLimits
) -> dict[str, Any]:
    """Write the second pass: the URLs cut short, in chunks numbered after the job's, and where each one sits."""
    keys = job_keys(job_id)
    chunks = list(plan_chunks([url for _, _, url in cut], options, limits.seconds, limits.max_urls))
    store.put_bytes(bucket, keys["retry_input_key"], b"".join(chunk_lines(chunks, options, job_id, first)))
    positions, taken = [], 0
    for chunk in chunks:
        positions.append([[number, index] for number, index, _ in cut[taken : taken + len(chunk)]])
        taken += len(chunk)
    layout = {"first": first, "chunks": positions}
    store.put_bytes(bucket, keys["retry_positions_key"], compact(layout).encode(), content_type="application/json")
    return {"map_input_key": keys["retry_input_key"], "map_prefix": keys["retry_map_prefix"], "pass": 2}


def aggregate(
    job_id: str,
    bucket: str,
    map_error: Mapping[str, Any] | None = None,
    final: bool = True,
    limits: RetryLimits | None = None,
) -> dict[str, Any]:
    """Merge every chunk into results.jsonl and summary.json. Unless `final`, URLs a chunk's deadline cut short are
    planned for a second pass (returned as `retry`), after which the merge runs again with their new results."""
    keys = job_keys(job_id)
    outcomes = map_outcomes(bucket, keys["map_prefix"]) | map_outcomes(bucket, keys["retry_map_prefix"])
    parts = set(store.list_keys(bucket, f"{keys['parts_prefix']}/"))
    replaced = retried_results(bucket, job_id, parts)
    summary = JobSummary(job_id, retried=len(replaced))
    cut: list[tuple[int, int, str]] = []
    chunks_seen: list[dict[str, Any]] = []

    def ordered(input_path: str) -> Iterator[bytes]:
        with open(input_path, "rb") as chunks:
            yield from (merged(number, line) for number, line in enumerate(chunks))

    def merged(number: int, line: bytes) -> bytes:
        item = json.loads(line)
        if not chunks_seen:
            chunks_seen.append(item)
        urls = [str(url) for url in item.get("urls", [])]
        results = None
        key = part_key(job_id, number)
        if key in parts:
            results = part_results(urls, store.iter_lines(bucket, key))
            if results is None:
                logger.warning("a part that does not match its chunk", extra={"key": key})
                outcomes[number] = ChunkOutcome("failed", "MalformedPart", "its part has no result per URL")
        if results is not None:
            results = [replaced.get((number, index), result) for index, result in enumerate(results)]
            cut.extend(
                (number, i, r["url"]) for i, r in enumerate(results) if (r.get("error") or {}).get("type") == "deadline"
            )
            summary.add(results, "succeeded")
        else:
            results, state, error = results_without_part(urls, outcomes.get(number))
            summary.add(results, state, error)
        return b"".join(compact(result).encode() + b"\n" for result in results)

    # The input is read from local disk: a GET held open while results upload could time out between reads.
    with tempfile.TemporaryDirectory() as work:
        input_path = f"{work}/input.jsonl"
        store.download(bucket, keys["input_key"], input_path)
        written = store.upload_stream(bucket, keys["results_key"], ordered(input_path))
    document = summary.as_dict(map_error)
    store.put_bytes(bucket, keys["summary_key"], compact(document).encode(), content_type="application/json")
    retry = None
    # A second pass only after a map that ran every chunk, and only once: a failed map's results stand as they are.
    if not final and not replaced and map_error is None and cut and limits is not None:
        if len(cut) <= limits.most_urls:
            options = FetchOptions.model_validate(chunks_seen[0].get("options") or {})
            retry = plan_retry(job_id, bucket, cut, options, summary.chunks["total"], limits)
        else:
            logger.warning("too many URLs cut short to fetch again", extra={"job_id": job_id, "urls": len(cut)})
    if retry is None:
        # results.jsonl holds every part now; keeping them would double what the job stores for 30 days.
        store.delete_keys(bucket, sorted(parts))
    logger.info(
        "job aggregated",
        extra={
            **{k: document[k] for k in ("job_id", "urls", "ok", "failed", "retried")},
            "bytes_written": written,
            "to_retry": len(cut) if retry else 0,
        },
    )
    return {
        "summary_key": keys["summary_key"],
        "results_key": keys["results_key"],
        "urls": document["urls"],
        "retry": retry,
    }


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Invoked by the state machine's Aggregate step with job_id, bucket, map_error and pass (1, or 2 after a retry)."""
    map_error = event.get("map_error")
    settings = get_settings()
    return aggregate(
        str(event["job_id"]),
        str(event["bucket"]),
        map_error if isinstance(map_error, Mapping) else None,
        final=event.get("pass") != 1,
        limits=RetryLimits(settings.JOB_CHUNK_SECONDS, settings.JOB_CHUNK_MAX_URLS),
    )
