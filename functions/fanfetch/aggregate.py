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
from fanfetch.jobs.plan import job_keys, part_key
from fanfetch.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


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


def aggregate(job_id: str, bucket: str, map_prefix: str, map_error: Mapping[str, Any] | None = None) -> dict[str, Any]:
    keys = job_keys(job_id)
    outcomes = map_outcomes(bucket, map_prefix)
    parts = set(store.list_keys(bucket, f"{keys['parts_prefix']}/"))
    summary = JobSummary(job_id)

    def ordered(input_path: str) -> Iterator[bytes]:
        with open(input_path, "rb") as chunks:
            yield from (merged(number, line) for number, line in enumerate(chunks))

    def merged(number: int, line: bytes) -> bytes:
        urls = [str(url) for url in json.loads(line).get("urls", [])]
        results = None
        key = part_key(job_id, number)
        if key in parts:
            results = part_results(urls, store.iter_lines(bucket, key))
            if results is None:
                logger.warning("a part that does not match its chunk", extra={"key": key})
                outcomes[number] = ChunkOutcome("failed", "MalformedPart", "its part has no result per URL")
        if results is not None:
            summary.add(results, "succeeded")
        else:
            results, state, error = results_without_part(urls, outcomes.get(number))
            summary.add(results, state, error)
        return b"".join(_compact(result) + b"\n" for result in results)

    # The input is read from local disk: a GET held open while results upload could time out between reads.
    with tempfile.TemporaryDirectory() as work:
        input_path = f"{work}/input.jsonl"
        store.download(bucket, keys["input_key"], input_path)
        written = store.upload_stream(bucket, keys["results_key"], ordered(input_path))
    document = summary.as_dict(map_error)
    store.put_bytes(bucket, keys["summary_key"], _compact(document), content_type="application/json")
    logger.info(
        "job aggregated",
        extra={**{k: document[k] for k in ("job_id", "urls", "ok", "failed")}, "bytes_written": written},
    )
    return {"summary_key": keys["summary_key"], "results_key": keys["results_key"], "urls": document["urls"]}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Invoked by the state machine's Aggregate step with job_id, bucket, map_prefix and map_error."""
    map_error = event.get("map_error")
    return aggregate(
        str(event["job_id"]),
        str(event["bucket"]),
        str(event["map_prefix"]),
        map_error if isinstance(map_error, Mapping) else None,
    )
