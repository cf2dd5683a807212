"""The targets reader against moto in-process: one read, one parse, one validation, one refusal naming the file."""

from __future__ import annotations

from typing import Any

import pytest
from fanfetch import store
from fanfetch.errors import InvalidRequest, SchemaMismatch, TargetsUnavailable
from fanfetch.monitoring.targets import load_request
from fanfetch.settings import Settings

from tests.unit.conftest import BUCKET

URI = f"s3://{BUCKET}/targets/urls.txt"


def put(body: bytes) -> None:
    store.write_object(BUCKET, "targets/urls.txt", body, "text/plain", 2.0)


def test_a_url_list_becomes_the_request(aws: Any) -> None:
    put(b"# checked every 5 minutes\nhttps://a.test/\nhttps://b.test/\n")
    assert load_request(Settings(TARGETS_S3_URI=URI)).urls == ["https://a.test/", "https://b.test/"]


def test_a_json_request_keeps_its_options(aws: Any) -> None:
    put(b'{"urls": ["https://a.test/"], "options": {"hash": true}}')
    assert load_request(Settings(TARGETS_S3_URI=URI)).options.hash is True


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        (b'{"urls": [', InvalidRequest, "targets: not valid JSON"),
        (b"name,link\nA,https://a.test/\n", InvalidRequest, "targets: reads as CSV with columns name, link"),
        (b'{"urls": ["https://a.test/"], "options": {"hash": "yes"}}', SchemaMismatch, "options.hash"),
        (b"# nothing yet\n", SchemaMismatch, "urls: List should have at least 1 item"),
    ],
)
def test_a_file_that_is_not_a_request_is_refused_naming_it_once(
    aws: Any, body: bytes, error: type[InvalidRequest], reason: str
) -> None:
    put(body)
    with pytest.raises(error) as refused:
        load_request(Settings(TARGETS_S3_URI=URI))
    assert type(refused.value) is error
    assert refused.value.message.startswith(f"TARGETS_S3_URI {URI}: {reason}")
    assert refused.value.message.count("TARGETS_S3_URI") == 1


def test_a_file_that_cannot_be_read_is_targets_unavailable(aws: Any) -> None:
    with pytest.raises(TargetsUnavailable, match=rf"^targets could not be read from TARGETS_S3_URI: {URI}: no such"):
        load_request(Settings(TARGETS_S3_URI=URI))
