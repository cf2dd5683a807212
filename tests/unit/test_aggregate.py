"""Reading the map's result files piece by piece: every item, wherever the pieces are cut."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fanfetch.aggregate import aggregate, array_items
from fanfetch.jobs.plan import chunk_lines, job_keys, part_key
from fanfetch.models import FetchOptions

from tests.unit.conftest import BUCKET

RECORDS = [
    {"Output": json.dumps({"results": [{"url": "https://ü.test/é", "bytes": 12}]}), "Status": "SUCCEEDED"},
    {"Error": "InvalidRequest", "Cause": "options.timeout: \u2603", "Status": "FAILED"},
    12345,
    [1.5, None, True, "]"],
]


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_array_items_yields_every_item_whatever_the_piece_size(size: int) -> None:
    data = json.dumps(RECORDS, ensure_ascii=False, indent=1).encode()
    assert list(array_items(pieces(data, size))) == RECORDS


def test_array_items_reads_a_byte_order_mark_and_an_empty_array() -> None:
    assert list(array_items([b"\xef\xbb\xbf[", b"]"])) == []
    assert list(array_items(pieces(b'\xef\xbb\xbf[{"a": 1}]', 2))) == [{"a": 1}]


def test_array_items_holds_one_item_at_a_time() -> None:
    # Given a long array read lazily: the first item comes before the pieces run out
    consumed = 0

    def lazy() -> object:
        nonlocal consumed
        yield b"["
        for index in range(10_000):
            consumed += 1
            yield json.dumps({"n": index}).encode() + b","
        yield b'{"n": -1}]'

    items = array_items(lazy())  # type: ignore[arg-type]
    assert next(items) == {"n": 0}
    assert consumed <= 2
    assert sum(1 for _ in items) == 10_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}', "not a JSON array"),
        (b'[{"a": 1}, {"b": ', "Expecting value"),
        (b'[{"a": 1}', "not closed"),
        (b"", "not closed"),
    ],
)
def test_array_items_refuses_what_is_not_one_json_array(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(array_items(pieces(data, 3)))


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "result-writer"
JOB = "20261207T000000Z-0f1x7ure0001"


def _write_job(s3: Any, chunks: int, parts: Sequence[int], map_files: bool) -> list[list[str]]:
    """A job of `chunks` chunks of two URLs, with a part for each chunk in `parts` and, if asked, the map's result
    files from tests/fixtures/result-writer (the records AWS documents, for chunks 0 to 4)."""
    urls = [[f"http://origin.test/{chunk}/{i}" for i in range(2)] for chunk in range(chunks)]
    lines = chunk_lines(urls, FetchOptions(retries=0), JOB)
    s3.put_object(Bucket=BUCKET, Key=job_keys(JOB)["input_key"], Body=b"".join(lines))
    for chunk in parts:
        part = "".join(json.dumps({"url": url, "ok": True, "bytes": 5}) + "\n" for url in urls[chunk])
        s3.put_object(Bucket=BUCKET, Key=part_key(JOB, chunk), Body=part.encode())
    if map_files:
        for fixture in FIXTURES.iterdir():
            s3.put_object(Bucket=BUCKET, Key=f"jobs/{JOB}/map/5a1b2c3d/{fixture.name}", Body=fixture.read_bytes())
    return urls


def _results(s3: Any) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=job_keys(JOB)["results_key"])["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_aggregate_reads_every_result_file_kind_the_map_writes(aws: Any) -> None:
    # Given six chunks: 0 ran; 1 failed; 2 timed out after writing its part; 3 is PENDING (never started);
    # 4 succeeded but its part is gone; 5 has no record at all (the map stopped)
    urls = _write_job(aws, 6, parts=[0, 2], map_files=True)
    # When the job is aggregated
    aggregate(JOB, BUCKET, {"Error": "States.ExceedToleratedFailureThreshold"})
    # Then each URL has one line in input order, and each chunk's outcome is named
    results = _results(aws)
    assert [result["url"] for result in results] == [url for chunk in urls for url in chunk]
    kinds = [result["error"]["type"] if not result["ok"] else "ok" for result in results[::2]]
    assert kinds == ["ok", "chunk_failed", "ok", "not_run", "chunk_failed", "not_run"]
    assert results[2]["error"]["message"] == "InvalidRequest: options.timeout: Input should be greater than 0"
    assert results[8]["error"]["message"].startswith("MissingPart: ")
    summary = json.loads(aws.get_object(Bucket=BUCKET, Key=job_keys(JOB)["summary_key"])["Body"].read())
    assert summary["chunks"] == {"total": 6, "succeeded": 2, "failed": 2, "not_run": 2}
    assert summary["chunk_failures"] == {"InvalidRequest": 1, "MissingPart": 1}
    assert summary["map_error"] == {"Error": "States.ExceedToleratedFailureThreshold"}
    # and the parts, merged into results.jsonl, are gone
    assert "Contents" not in aws.list_objects_v2(Bucket=BUCKET, Prefix=job_keys(JOB)["parts_prefix"])


def test_aggregate_keeps_every_part_when_the_result_writer_wrote_nothing(aws: Any) -> None:
    # Given a map that failed with States.ResultWriterFailed after every chunk ran and wrote its part
    _write_job(aws, 3, parts=[0, 1, 2], map_files=False)
    aggregate(JOB, BUCKET, {"Error": "States.ResultWriterFailed"})
    # Then no URL is reported as not run
    assert all(result["ok"] for result in _results(aws))


def test_aggregate_refuses_a_part_that_does_not_match_its_chunk(aws: Any) -> None:
    urls = _write_job(aws, 1, parts=[], map_files=False)
    aws.put_object(Bucket=BUCKET, Key=part_key(JOB, 0), Body=json.dumps({"url": urls[0][0], "ok": True}).encode())
    aggregate(JOB, BUCKET)
    results = _results(aws)
    assert [result["error"]["type"] for result in results] == ["chunk_failed", "chunk_failed"]
    assert results[0]["error"]["message"] == "MalformedPart: its part has no result per URL"
