"""The only module that touches AWS: S3 objects and SNS messages in, plain Python values out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

# Two tries: a throttled or reset call gets one more chance, a sink that is down costs at most two timeouts.
MAX_ATTEMPTS = 2


class SinkError(Exception):
    """An AWS sink (S3, SNS) failed; the message names the sink and what it said."""

    def __init__(self, sink: str, message: str) -> None:
        super().__init__(f"{sink}: {message}")
        self.sink = sink
        self.message = message


class WriteConflict(Exception):
    """A conditional write lost to another writer: the object changed since it was read."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    body: bytes
    etag: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key); anything else is a configuration error of the caller's making."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URI needs a bucket and a key: {uri!r}")
    return bucket, key


@cache
def _client(service: str, timeout: float) -> Any:
    # boto3 costs about 150-500 ms to import: only invocations that use a sink pay for it, once per process.
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    return boto3.client(service, config=config)  # type: ignore[call-overload]


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


def _sink_error(sink: str, exc: Exception) -> SinkError:
    code = _error_code(exc)
    return SinkError(sink, f"{code}: {exc}" if code and code not in str(exc) else str(exc))


def _aws_errors() -> tuple[type[Exception], ...]:
    # Imported here, not at the top: boto3 is loaded only when a sink is configured.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def read_object(bucket: str, key: str, timeout: float) -> StoredObject | None:
    """The object's bytes and ETag, or None when there is no such key (an absent bucket is an error)."""
    sink = f"s3://{bucket}/{key}"
    try:
        response = _client("s3", timeout).get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except _aws_errors() as exc:
        if _error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise _sink_error(sink, exc) from exc
    return StoredObject(body=body, etag=str(response["ETag"]))


def write_object(
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    timeout: float,
    if_match: str | None = None,
    if_absent: bool = False,
) -> str:
    """Put an object and return its ETag. With `if_match` or `if_absent` the write is conditional,
    and WriteConflict says another writer came first (S3 answers 412, or 409 for a write in flight)."""
    sink = f"s3://{bucket}/{key}"
    conditions: dict[str, str] = {}
    if if_match is not None:
        conditions["IfMatch"] = if_match
    elif if_absent:
        conditions["IfNoneMatch"] = "*"
    try:
        response = _client("s3", timeout).put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, **conditions
        )
    except _aws_errors() as exc:
        if conditions and _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
            raise WriteConflict(sink) from exc
        raise _sink_error(sink, exc) from exc
    return str(response.get("ETag", ""))


def read_text(uri: str, timeout: float) -> str:
    """A text object named by an s3:// URI; a missing key is an error here, as the caller needs it."""
    bucket, key = split_s3_uri(uri)
    stored = read_object(bucket, key, timeout)
    if stored is None:
        raise SinkError(uri, "no such object")
    try:
        return stored.body.decode()
    except UnicodeDecodeError:
        raise SinkError(uri, "not UTF-8 text") from None


def publish(topic_arn: str, subject: str, message: str, timeout: float) -> str:
    """Publish one SNS message and return its id."""
    try:
        response = _client("sns", timeout).publish(TopicArn=topic_arn, Subject=subject, Message=message)
    except _aws_errors() as exc:
        raise _sink_error(f"SNS topic {topic_arn}", exc) from exc
    return str(response["MessageId"])
