"""Fixtures of the unit tests that need AWS: moto in-process, with the results bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fanfetch import store
from moto import mock_aws

BUCKET = "fanfetch-results"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 client on moto's in-process account, where BUCKET exists; store.py's clients are made afresh."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto answers AWS's own endpoints
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store.reset_clients()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3
    store.reset_clients()
