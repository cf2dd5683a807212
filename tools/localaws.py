"""moto in server mode on 127.0.0.1 for local runs (`make monitor-run`, `make monitor-demo`, `make regions-demo`,
`make jobs-demo`): S3, SNS and SQS stand-ins, and the alert topic wired to a queue so a run's alerts can be read
back."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}


@dataclass
class LocalAws:
    endpoint: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, **FAKE_CREDENTIALS)  # type: ignore[call-overload]

    def monitor_environment(self, bucket: str, targets_key: str, topic: str) -> dict[str, str]:
        """What the function's environment needs to monitor on this machine: these endpoints and fake keys, the
        loopback origins allowed, the bucket, the targets file in it and the alert topic."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": FAKE_CREDENTIALS["region_name"],
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            "ALLOWED_NETWORKS": "127.0.0.0/8",
            "ALLOWED_PORTS": "1-65535",
            "RESULTS_BUCKET": bucket,
            "TARGETS_S3_URI": f"s3://{bucket}/{targets_key}",
            "ALERT_TOPIC_ARN": topic,
        }

    def alert_topic(self, name: str) -> tuple[str, str]:
        """An SNS topic with an SQS queue subscribed; returns (topic ARN, queue URL)."""
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name=name)["TopicArn"]
        queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        return topic, queue

    def take_alerts(self, queue: str, wait_s: int = 1) -> list[tuple[str, str]]:
        """(subject, message) of every alert published since the last call."""
        sqs = self.client("sqs")
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
        alerts = []
        for message in received.get("Messages", []):
            body = json.loads(message["Body"])
            alerts.append((body.get("Subject") or "", body.get("Message") or ""))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return alerts

    def keys(self, bucket: str) -> list[str]:
        listed = self.client("s3").list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@contextmanager
def moto_server() -> Iterator[LocalAws]:
    """A moto server on a free loopback port until the block ends."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log is not news
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield LocalAws(f"http://{host}:{port}")
    finally:
        server.stop()


def stored_bytes(s3: Any, bucket: str, key: str) -> bytes:
    """An object as it was written: the status page and status.json are stored gzip-compressed, as S3 serves them
    to browsers, and boto3 hands them over as stored."""
    stored = s3.get_object(Bucket=bucket, Key=key)
    body: bytes = stored["Body"].read()
    return gzip.decompress(body) if stored.get("ContentEncoding") == "gzip" else body
