"""The one door to AWS (S3, Step Functions): boto3 imported lazily, clients made once, plain values out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

# Bounded so that a slow AWS endpoint cannot use up an invocation's deadline.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 20
MISSING = frozenset({"NoSuchKey", "404", "NotFound", "ExecutionDoesNotExist", "ResourceNotFound"})


@cache
def client(service: str) -> Any:
    """One client per service and process; boto3 costs about 160 ms to import, paid only where AWS is used."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard"}, connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS
    )
    make: Any = boto3.client  # one name for every service; boto3's stubs type each service separately
    return make(service, config=config)


def _code(exc: Exception) -> str | None:
    from botocore.exceptions import ClientError

    return str(exc.response.get("Error", {}).get("Code")) if isinstance(exc, ClientError) else None


def _missing(exc: Exception) -> bool:
    return _code(exc) in MISSING


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


# Jobs


def read_text(bucket: str, key: str) -> str | None:
    """An object as text (UTF-8, BOM tolerated); None when there is no such object."""
    try:
        body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if _missing(exc):
            return None
        if _code(exc) in ("AccessDenied", "403"):
            raise PermissionError(f"s3://{bucket}/{key}") from None
        raise
    return body.decode("utf-8-sig", errors="replace")


def read_json(bucket: str, key: str) -> Any:
    text = read_text(bucket, key)
    return None if text is None else json.loads(text)


def put_bytes(bucket: str, key: str, body: bytes, content_type: str = "application/x-ndjson") -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def download(bucket: str, key: str, path: str) -> None:
    client("s3").download_file(bucket, key, path)


def list_keys(bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


PART_BYTES = 16 * 1024 * 1024  # S3 wants at least 5 MiB per part but the last


def upload_stream(bucket: str, key: str, pieces: Iterable[bytes], content_type: str = "application/x-ndjson") -> int:
    """Write an object of any size from pieces without holding it in memory; the bytes written."""
    s3 = client("s3")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
    parts: list[dict[str, Any]] = []
    buffer = bytearray()
    total = 0

    def flush() -> None:
        number = len(parts) + 1
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(buffer))["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        buffer.clear()

    try:
        for piece in pieces:
            buffer += piece
            total += len(piece)
            if len(buffer) >= PART_BYTES:
                flush()
        if buffer or not parts:
            flush()
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return total


def start_execution(state_machine_arn: str, name: str, document: dict[str, Any]) -> str:
    arn: str = client("stepfunctions").start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(document)
    )["executionArn"]
    return arn


def describe_execution(execution_arn: str) -> dict[str, Any] | None:
    """status, input (parsed), started_at, stopped_at, error, cause; None when there is no such execution."""
    try:
        found = client("stepfunctions").describe_execution(executionArn=execution_arn)
    except Exception as exc:
        if _missing(exc):
            return None
        raise
    return {
        "status": found["status"],
        "input": json.loads(found.get("input") or "{}"),
        "started_at": _iso(found.get("startDate")),
        "stopped_at": _iso(found.get("stopDate")),
        "error": found.get("error"),
        "cause": found.get("cause"),
    }


def map_run_counts(execution_arn: str) -> dict[str, int] | None:
    """The item counts of the execution's map run (pending, running, succeeded, failed, ...), once it has one."""
    sfn = client("stepfunctions")
    runs = sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
    if not runs:
        return None
    counts: dict[str, int] = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]).get("itemCounts", {})
    return {name: int(value) for name, value in counts.items()}
