"""The only module that touches AWS (S3, SNS, Step Functions): boto3 imported lazily, plain Python values out,
and every botocore error mapped onto fanfetch's own in one place (`aws_call`)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from fanfetch.errors import AccessDenied, NoSuchObject, SinkError, WriteConflict

# Two tries: a throttled or reset call gets one more chance, a sink that is down costs at most two timeouts.
MAX_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class StoredObject:
    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class CallClock:
    """The time a series of AWS calls has left: each call is bounded so that the last one ends by `until`
    (a `time.monotonic()` reading), however slow AWS is. None means no bound beyond the call timeout."""

    timeout: float
    until: float | None = None

    def seconds_left(self) -> float:
        return math.inf if self.until is None else self.until - time.monotonic()

    def limit(self, sink: str) -> tuple[float, int]:
        """(seconds per connect and per read, tries) for the next call; SinkError when no call fits any more."""
        left = self.seconds_left()
        # A call's worst case is each try timing out on connect and then on read, plus botocore's backoff (< 1 s).
        if left >= MAX_ATTEMPTS * 2 * self.timeout + 1:
            return self.timeout, MAX_ATTEMPTS
        # Short of that, one try, its two phases sharing what is left; quarter seconds keep the clients few.
        per_phase = math.floor(min(self.timeout, left / 2) * 4) / 4
        if per_phase < 0.25:
            raise SinkError(sink, "skipped: no time left before the deadline")
        return per_phase, 1


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key); anything else is a configuration error of the caller's making."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URI needs a bucket and a key: {uri!r}")
    return bucket, key


# Buckets whose region differs from the function's: a probe region's function keeps its monitor in the home
# region's bucket, and its S3 calls go there (the service sets this once from HOME_REGION).
_bucket_regions: dict[str, str] = {}


def locate_bucket(bucket: str, region: str) -> None:
    """Send S3 calls for `bucket` to `region`, whatever the function's region."""
    if bucket and region:
        _bucket_regions[bucket] = region


def region_of_arn(arn: str) -> str | None:
    """The region field of an ARN (`arn:partition:service:region:account:resource`); None when it has none."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


@cache
def _client(service: str, timeout: float, attempts: int = MAX_ATTEMPTS, region: str | None = None) -> Any:
    # boto3 costs about 150-500 ms to import: only invocations that use a sink pay for it, once per process.
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},  # "max_attempts" would count retries only
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    return boto3.client(service, config=config, region_name=region)  # type: ignore[call-overload]


def prepare(service: str, timeout: float, region: str | None = None) -> None:
    """Import boto3 and load the service's model now (about a second when cold), so that the time a caller
    gives its first call is spent on the call."""
    with aws_call(service, absent=frozenset()):
        _client(service, timeout, MAX_ATTEMPTS, region)


def reset_clients() -> None:
    """Forget the clients (their endpoint and credentials were read when they were made)."""
    _client.cache_clear()


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status:
            return str(status)
    return ""


def _aws_errors() -> tuple[type[Exception], ...]:
    # Imported here, not at the top: boto3 is loaded only when a sink is configured.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


# What AWS answers for a key, bucket or execution that is not there, and for a call the role may not make.
ABSENT_KEY = frozenset({"NoSuchKey", "404"})
MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound", "ExecutionDoesNotExist", "ResourceNotFound"})
DENIED = frozenset({"AccessDenied", "403"})
# A conditional write that lost: S3 answers 412, or 409 while another conditional write is in flight.
CONFLICT = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def project_error(sink: str, exc: Exception, absent: frozenset[str] = MISSING, conditional: bool = False) -> Exception:
    """The one mapping of a botocore error onto fanfetch's own: WriteConflict for a conditional write that lost,
    NoSuchObject for what `absent` names, AccessDenied, and SinkError for everything else."""
    code = _error_code(exc)
    if conditional and code in CONFLICT:
        return WriteConflict(sink)
    detail = f"{code}: {exc}" if code and code not in str(exc) else str(exc)
    if code in absent:
        return NoSuchObject(sink, detail)
    if code in DENIED:
        return AccessDenied(sink, detail)
    return SinkError(sink, detail)


@contextmanager
def aws_call(sink: str, absent: frozenset[str] = MISSING, conditional: bool = False) -> Iterator[None]:
    """Every AWS call in this module runs inside: no botocore error leaves it unmapped."""
    try:
        yield
    except _aws_errors() as exc:
        raise project_error(sink, exc, absent, conditional) from exc


def read_object(bucket: str, key: str, timeout: float, attempts: int = MAX_ATTEMPTS) -> StoredObject | None:
    """The object's bytes and ETag, or None when there is no such key (an absent bucket is an error)."""
    try:
        with aws_call(f"s3://{bucket}/{key}", absent=ABSENT_KEY):
            response = _client("s3", timeout, attempts, _bucket_regions.get(bucket)).get_object(Bucket=bucket, Key=key)
            body = response["Body"].read()
    except NoSuchObject:
        return None
    return StoredObject(body=body, etag=str(response["ETag"]))


def write_object(
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    timeout: float,
    if_match: str | None = None,
    if_absent: bool = False,
    attempts: int = MAX_ATTEMPTS,
    content_encoding: str | None = None,
) -> str:
    """Put an object and return its ETag. With `if_match` or `if_absent` the write is conditional,
    and WriteConflict says another writer came first (S3 answers 412, or 409 for a write in flight).
    `content_encoding` (gzip) is served as the object's Content-Encoding: browsers decompress it."""
    conditions: dict[str, str] = {}
    if if_match is not None:
        conditions["IfMatch"] = if_match
    elif if_absent:
        conditions["IfNoneMatch"] = "*"
    if content_encoding is not None:
        conditions["ContentEncoding"] = content_encoding
    with aws_call(f"s3://{bucket}/{key}", absent=frozenset(), conditional=bool(conditions)):
        response = _client("s3", timeout, attempts, _bucket_regions.get(bucket)).put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, **conditions
        )
    return str(response.get("ETag", ""))


def list_object_keys(bucket: str, prefix: str, timeout: float, attempts: int = MAX_ATTEMPTS) -> list[str]:
    """The keys under a prefix, every page of them."""
    keys: list[str] = []
    with aws_call(f"s3://{bucket}/{prefix}"):
        s3 = _client("s3", timeout, attempts, _bucket_regions.get(bucket))
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def read_text(uri: str, timeout: float) -> str:
    """A text object named by an s3:// URI; a missing key is an error here, as the caller needs it."""
    bucket, key = split_s3_uri(uri)
    stored = read_object(bucket, key, timeout)
    if stored is None:
        raise SinkError(uri, "no such object")
    try:
        return stored.body.decode("utf-8-sig")  # a byte order mark, as Windows editors write, is not text
    except UnicodeDecodeError:
        raise SinkError(uri, "not UTF-8 text") from None


def publish(topic_arn: str, subject: str, message: str, timeout: float, attempts: int = MAX_ATTEMPTS) -> str:
    """Publish one SNS message and return its id; the call goes to the topic's own region."""
    with aws_call(f"SNS topic {topic_arn}", absent=frozenset()):
        sns = _client("sns", timeout, attempts, region_of_arn(topic_arn))
        response = sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)
    return str(response["MessageId"])


def read_parameter(name: str, timeout: float, attempts: int = MAX_ATTEMPTS, region: str | None = None) -> str:
    """An SSM parameter's value, SecureStrings decrypted; NoSuchObject when there is none. `region`: where the
    parameter lives (the home region of a monitor probed from several), else the function's own."""
    with aws_call(f"SSM parameter {name}", absent=frozenset({"ParameterNotFound"})):
        response = _client("ssm", timeout, attempts, region).get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


# Jobs: a job's chunks, its source list, its execution and its merged results.

# Per call; a job's API route has 29 s in all, its aggregation step 15 minutes.
JOB_CALL_TIMEOUT_SECONDS = 10.0
PART_BYTES = 16 * 1024 * 1024  # S3 wants at least 5 MiB per part but the last


# Set by `calls_until` for the job routes, which answer within API Gateway's 29 s; the aggregation step has no bound.
_job_calls_clock: ContextVar[CallClock | None] = ContextVar("job_calls_clock", default=None)


@contextmanager
def calls_until(until: float) -> Iterator[None]:
    """Job calls made inside end by `until` (a `time.monotonic()` reading): each gets the time left, if any."""
    token = _job_calls_clock.set(CallClock(JOB_CALL_TIMEOUT_SECONDS, until))
    try:
        yield
    finally:
        _job_calls_clock.reset(token)


def _jobs_client(service: str, sink: str) -> Any:
    unbounded = _client(service, JOB_CALL_TIMEOUT_SECONDS, MAX_ATTEMPTS)  # made first: boto3 loads in about a second
    clock = _job_calls_clock.get()
    return unbounded if clock is None else _client(service, *clock.limit(sink))


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def read_source(bucket: str, key: str) -> str | None:
    """An object as text (UTF-8, BOM tolerated); None when there is no such object, AccessDenied (a
    PermissionError) when denied."""
    try:
        with aws_call(f"s3://{bucket}/{key}"):
            body: bytes = _jobs_client("s3", f"s3://{bucket}/{key}").get_object(Bucket=bucket, Key=key)["Body"].read()
    except NoSuchObject:
        return None
    return body.decode("utf-8-sig")  # UnicodeDecodeError for what is not text: the caller names the object


def read_json(bucket: str, key: str) -> Any:
    text = read_source(bucket, key)
    return None if text is None else json.loads(text)


def iter_object(bucket: str, key: str, chunk_bytes: int = 1024 * 1024) -> Iterator[bytes]:
    """An object's bytes in pieces, so that an object of any size is read in bounded memory."""
    with aws_call(f"s3://{bucket}/{key}"):
        body = _jobs_client("s3", f"s3://{bucket}/{key}").get_object(Bucket=bucket, Key=key)["Body"]
        yield from body.iter_chunks(chunk_bytes)


def iter_lines(bucket: str, key: str) -> Iterator[bytes]:
    """An object's lines (without their ends), read piece by piece."""
    rest = b""
    for piece in iter_object(bucket, key):
        lines = (rest + piece).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def delete_keys(bucket: str, keys: Sequence[str]) -> None:
    """Delete the objects, a thousand per request (S3's limit); a key that is already gone is no error."""
    s3 = _jobs_client("s3", f"s3://{bucket}")
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        with aws_call(f"s3://{bucket}"):
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise SinkError(f"s3://{bucket}/{first.get('Key')}", f"{first.get('Code')}: {first.get('Message')}")


def put_bytes(bucket: str, key: str, body: bytes, content_type: str = "application/x-ndjson") -> None:
    with aws_call(f"s3://{bucket}/{key}"):
        _jobs_client("s3", f"s3://{bucket}/{key}").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type
        )


def download(bucket: str, key: str, path: str) -> None:
    with aws_call(f"s3://{bucket}/{key}"):
        _jobs_client("s3", f"s3://{bucket}/{key}").download_file(bucket, key, path)


def list_keys(bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    with aws_call(f"s3://{bucket}/{prefix}"):
        pages = _jobs_client("s3", f"s3://{bucket}/{prefix}").get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def upload_stream(bucket: str, key: str, pieces: Iterable[bytes], content_type: str = "application/x-ndjson") -> int:
    """Write an object of any size from pieces without holding it in memory; the bytes written."""
    sink = f"s3://{bucket}/{key}"
    with aws_call(sink):
        s3 = _jobs_client("s3", sink)
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
        with aws_call(sink):
            for piece in pieces:
                buffer += piece
                total += len(piece)
                if len(buffer) >= PART_BYTES:
                    flush()
            if buffer or not parts:
                flush()
            s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        # The parts already sent would be kept, and billed, until aborted; the first error is the one raised.
        with suppress(Exception), aws_call(sink):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return total


def start_execution(state_machine_arn: str, name: str, document: dict[str, Any]) -> str:
    with aws_call(f"state machine {state_machine_arn}", absent=frozenset()):
        arn: str = _jobs_client("stepfunctions", f"state machine {state_machine_arn}").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(document)
        )["executionArn"]
    return arn


def describe_execution(execution_arn: str) -> dict[str, Any] | None:
    """status, input (parsed), started_at, stopped_at, error, cause; None when there is no such execution."""
    try:
        with aws_call(f"execution {execution_arn}"):
            found = _jobs_client("stepfunctions", f"execution {execution_arn}").describe_execution(
                executionArn=execution_arn
            )
    except NoSuchObject:
        return None
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
    with aws_call(f"map run of {execution_arn}", absent=frozenset()):
        sfn = _jobs_client("stepfunctions", f"map run of {execution_arn}")
        runs = sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
        if not runs:
            return None
        sfn = _jobs_client("stepfunctions", f"map run of {execution_arn}")
        counts: dict[str, int] = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]).get("itemCounts", {})
    return {name: int(value) for name, value in counts.items()}
