"""The job's last step (its own Lambda function): the map's written results merged into results.jsonl and summary.json.

Reads the chunks back from the job's input, so every URL gets exactly one result line in input order: the
chunk's own results, its named error when the child failed, or `not_run` when the map stopped first.
Result files are read piece by piece and spooled to local disk by chunk, so memory holds one map item's
results at a time, not a result file (Step Functions writes up to 5 GB per file) or the whole job.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fanfetch import store
from fanfetch.jobs import JobSummary, item_digest, job_keys, outcome_of, results_for
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


def aggregate(job_id: str, bucket: str, map_prefix: str, map_error: Mapping[str, Any] | None = None) -> dict[str, Any]:
    keys = job_keys(job_id)
    with tempfile.TemporaryDirectory() as work:
        input_path = f"{work}/input.jsonl"
        store.download(bucket, keys["input_key"], input_path)
        # Which chunk each map item is: identical chunks are interchangeable, so they queue by digest.
        positions: defaultdict[bytes, deque[int]] = defaultdict(deque)
        line_starts: list[int] = []
        with open(input_path, "rb") as source:
            offset = 0
            for index, line in enumerate(source):
                line_starts.append(offset)
                offset += len(line)
                positions[item_digest(json.loads(line))].append(index)
        spans: dict[int, tuple[int, int]] = {}
        summary = JobSummary(job_id)
        with open(f"{work}/spool", "w+b") as spool:
            result_files = sorted(
                key for key in store.list_keys(bucket, f"{map_prefix}/") if key.rsplit("/", 1)[-1] != "manifest.json"
            )
            for key in result_files:
                for record in array_items(store.iter_object(bucket, key)):
                    outcome = outcome_of(record)
                    queue = positions.get(item_digest(outcome.item))
                    if not queue:
                        logger.warning("result for no chunk of this job", extra={"key": key})
                        continue
                    index = queue.popleft()
                    results, state, error = results_for(outcome, outcome.item)
                    summary.add(results, state, error)
                    start = spool.tell()
                    spool.write(b"".join(_compact(result) + b"\n" for result in results))
                    spans[index] = (start, spool.tell() - start)

            def ordered() -> Iterator[bytes]:
                with open(input_path, "rb") as source:
                    for index, start in enumerate(line_starts):
                        if index in spans:
                            begin, length = spans[index]
                            spool.seek(begin)
                            yield spool.read(length)
                        else:
                            source.seek(start)
                            results, state, error = results_for(None, json.loads(source.readline()))
                            summary.add(results, state, error)
                            yield b"".join(_compact(result) + b"\n" for result in results)

            written = store.upload_stream(bucket, keys["results_key"], ordered())
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
