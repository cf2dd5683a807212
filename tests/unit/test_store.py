"""store.py against moto in-process: plain values out, conditional writes, sink errors that name the sink."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from fanfetch import store
from fanfetch.errors import AccessDenied, SinkError, WriteConflict

from tests.unit.conftest import BUCKET


def test_read_object_returns_none_for_a_missing_key(aws: object) -> None:
    assert store.read_object(BUCKET, "latest.json", 2.0) is None


def test_write_then_read_gives_the_bytes_and_etag(aws: object) -> None:
    etag = store.write_object(BUCKET, "latest.json", b"{}", "application/json", 2.0, if_absent=True)
    stored = store.read_object(BUCKET, "latest.json", 2.0)
    assert stored == store.StoredObject(body=b"{}", etag=etag)


def test_conditional_writes_lose_to_a_writer_that_came_first(aws: object) -> None:
    first = store.write_object(BUCKET, "latest.json", b"1", "application/json", 2.0, if_absent=True)
    with pytest.raises(WriteConflict):
        store.write_object(BUCKET, "latest.json", b"2", "application/json", 2.0, if_absent=True)
    second = store.write_object(BUCKET, "latest.json", b"3", "application/json", 2.0, if_match=first)
    with pytest.raises(WriteConflict):
        store.write_object(BUCKET, "latest.json", b"4", "application/json", 2.0, if_match=first)
    assert store.read_object(BUCKET, "latest.json", 2.0) == store.StoredObject(b"3", second)


def test_a_missing_bucket_is_a_sink_error_naming_it(aws: object) -> None:
    with pytest.raises(SinkError, match=r"s3://no-such-bucket/latest.json: .*NoSuchBucket"):
        store.read_object("no-such-bucket", "latest.json", 2.0)
    with pytest.raises(SinkError, match="no-such-bucket"):
        store.write_object("no-such-bucket", "runs/a.json", b"{}", "application/json", 2.0)


def test_read_text_needs_the_object(aws: object) -> None:
    store.write_object(BUCKET, "targets/urls.txt", b"https://a.test/\n", "text/plain", 2.0)
    assert store.read_text(f"s3://{BUCKET}/targets/urls.txt", 2.0) == "https://a.test/\n"
    with pytest.raises(SinkError, match="no such object"):
        store.read_text(f"s3://{BUCKET}/targets/none.txt", 2.0)


def test_read_text_drops_a_byte_order_mark(aws: object) -> None:
    store.write_object(BUCKET, "targets/bom.txt", b"\xef\xbb\xbfhttps://a.test/\n", "text/plain", 2.0)
    assert store.read_text(f"s3://{BUCKET}/targets/bom.txt", 2.0) == "https://a.test/\n"


def test_targets_that_break_the_request_model_are_refused_naming_the_file(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fanfetch.monitoring.targets import MonitorsInvalid
    from fanfetch.service import request_for
    from fanfetch.settings import Settings
    from fanfetch.sources import Source

    uri = f"s3://{BUCKET}/targets/empty.txt"
    store.write_object(BUCKET, "targets/empty.txt", b"# nothing yet\n", "text/plain", 2.0)
    with pytest.raises(MonitorsInvalid, match=rf"^TARGETS_S3_URI {uri}: urls: List should have at least 1 item"):
        request_for({}, Source.SCHEDULE, Settings(TARGETS_S3_URI=uri))


def test_split_s3_uri_refuses_what_is_not_one() -> None:
    assert store.split_s3_uri("s3://b/k/x.txt") == ("b", "k/x.txt")
    for bad in ("https://b/k", "s3://b", "s3:///k"):
        with pytest.raises(ValueError, match="s3"):
            store.split_s3_uri(bad)


def test_publish_returns_the_message_id_and_a_refusal_names_the_topic(aws: object) -> None:
    topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
    assert store.publish(topic, "subject", "text", 2.0)
    missing = topic.replace("alerts", "gone")
    with pytest.raises(SinkError, match=f"SNS topic {missing}"):
        store.publish(missing, "subject", "text", 2.0)


# Every public call of store.py, against a bucket, topic, parameter or state machine that does not exist.
CALLS = {
    "read_object": lambda: store.read_object("no-such-bucket", "k", 2.0),
    "write_object": lambda: store.write_object("no-such-bucket", "k", b"x", "text/plain", 2.0),
    "read_text": lambda: store.read_text("s3://no-such-bucket/k", 2.0),
    "publish": lambda: store.publish("arn:aws:sns:us-east-1:123456789012:gone", "s", "t", 2.0),
    "read_parameter": lambda: store.read_parameter("/fanfetch/gone", 2.0),
    "put_bytes": lambda: store.put_bytes("no-such-bucket", "k", b"x"),
    "iter_object": lambda: list(store.iter_object("no-such-bucket", "k")),
    "download": lambda: store.download("no-such-bucket", "k", "/dev/null"),
    "list_keys": lambda: store.list_keys("no-such-bucket", "p/"),
    "upload_stream": lambda: store.upload_stream("no-such-bucket", "k", [b"x"]),
    "start_execution": lambda: store.start_execution(
        "arn:aws:states:us-east-1:123456789012:stateMachine:gone", "job", {}
    ),
    "map_run_counts": lambda: store.map_run_counts("arn:aws:states:us-east-1:123456789012:execution:gone:job"),
}


def _raises_only_fanfetch_errors(call: Any) -> BaseException | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        call()
    except (BotoCoreError, ClientError) as exc:
        pytest.fail(f"a raw botocore error left store.py: {exc!r}")
    except (SinkError, WriteConflict) as exc:
        return exc
    return None


# moto lists no map runs for an execution it does not know, where AWS answers ExecutionDoesNotExist.
@pytest.mark.parametrize("name", sorted(set(CALLS) - {"map_run_counts"}))
def test_no_raw_botocore_error_leaves_store_when_the_resource_is_missing(aws: object, name: str) -> None:
    error = _raises_only_fanfetch_errors(CALLS[name])
    assert isinstance(error, SinkError), f"{name} raised nothing for a missing resource"


@pytest.mark.parametrize("name", sorted(CALLS))
def test_no_raw_botocore_error_leaves_store_when_aws_is_unreachable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # Given an endpoint where nothing listens (port 9, discard, is closed on loopback)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store.reset_clients()
    try:
        error = _raises_only_fanfetch_errors(CALLS[name])
    finally:
        store.reset_clients()
    assert isinstance(error, SinkError) and "127.0.0.1:9" in str(error)


def test_a_denied_read_is_access_denied_and_still_a_permission_error() -> None:
    from botocore.exceptions import ClientError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
    error = store.project_error("s3://b/k", denied)
    assert isinstance(error, AccessDenied) and isinstance(error, PermissionError)
    assert (
        str(error) == "s3://b/k: An error occurred (AccessDenied) when calling the GetObject operation: Access Denied"
    )


def test_describe_execution_is_none_for_an_execution_that_does_not_exist(aws: object) -> None:
    arn = boto3.client("stepfunctions").create_state_machine(
        name="jobs",
        definition='{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    assert store.describe_execution(arn.replace("stateMachine:jobs", "execution:jobs:none")) is None
