"""The targets reader against moto in-process: one read, one parse, one validation, one refusal naming the file."""

from __future__ import annotations

from typing import Any

import pytest
from fanfetch import store
from fanfetch.errors import TargetsUnavailable
from fanfetch.monitoring.targets import MonitorsInvalid, load_request
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
    ("body", "reason"),
    [
        (b'{"urls": [', "line 1, column 11: not valid JSON"),
        (b"name,link\nA,https://a.test/\n", "targets: reads as CSV with columns name, link"),
        (b'{"urls": ["https://a.test/"], "options": {"hash": "yes"}}', "options.hash"),
        (b"# nothing yet\n", "urls: List should have at least 1 item"),
        (b"https://a.test/\nshop.example.com/\n", "targets[1] (shop.example.com/).url: 'shop.example.com/' is not"),
        (b"https://a.test/\nhttps://a.test/\n", "targets[1] (https://a.test/): name: used by another target"),
    ],
)
def test_a_bad_file_without_a_last_good_one_fails_the_run_naming_it_once(aws: Any, body: bytes, reason: str) -> None:
    # A ConfigurationError is not a refusal: it leaves the handler, so Lambda retries, dead-letters and alarms.
    put(body)
    with pytest.raises(MonitorsInvalid) as refused:
        load_request(Settings(TARGETS_S3_URI=URI))
    message = str(refused.value)
    assert message.startswith(f"TARGETS_S3_URI {URI}: {reason}")
    assert message.count("TARGETS_S3_URI") == 1
    assert message.endswith("(and no last good configuration to use)")


def test_a_file_that_cannot_be_read_is_targets_unavailable(aws: Any) -> None:
    with pytest.raises(TargetsUnavailable, match=rf"^targets could not be read from TARGETS_S3_URI: {URI}: no such"):
        load_request(Settings(TARGETS_S3_URI=URI))
