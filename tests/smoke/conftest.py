"""A moto server on loopback for the artifacts that call AWS: their own boto3 goes over real HTTP to it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

BUCKET = "fanfetch-results"


@dataclass(frozen=True)
class ResultsBucket:
    endpoint: str
    s3: Any


@pytest.fixture
def results_bucket() -> Iterator[ResultsBucket]:
    """A fresh moto server with BUCKET made, and an S3 client on it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto keeps its accounts per process: start from an empty one whatever ran before
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield ResultsBucket(endpoint, s3)
    finally:
        server.stop()
