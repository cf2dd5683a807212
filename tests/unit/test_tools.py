"""The local-run tools' own logic: what the emulator passes on, `ENV=` pairs, the table of a monitor run."""

from __future__ import annotations

import pytest

from tools.emulator import OFFLINE_AWS, aws_environment, is_loopback_url
from tools.invoke import parse_env, render_table


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost:4566/", True),
        ("http://[::1]:5000", True),
        ("http://127.8.9.10", True),
        ("https://s3.amazonaws.com", False),
        ("http://10.0.0.1:5000", False),
        ("127.0.0.1:5000", False),
        ("http://[::1", False),
    ],
)
def test_is_loopback_url(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_emulator_keeps_a_loopback_endpoint_url() -> None:
    warnings: list[str] = []
    env = aws_environment({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "HOME": "/root"}, warn=warnings.append)
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert warnings == []


def test_emulator_replaces_a_remote_endpoint_url_and_says_so() -> None:
    warnings: list[str] = []
    env = aws_environment({"AWS_ENDPOINT_URL_S3": "https://s3.us-east-1.amazonaws.com"}, warn=warnings.append)
    assert env["AWS_ENDPOINT_URL_S3"] == OFFLINE_AWS["AWS_ENDPOINT_URL"]
    assert len(warnings) == 1
    assert "AWS_ENDPOINT_URL_S3=https://s3.us-east-1.amazonaws.com is not a loopback address" in warnings[0]


def test_parse_env_reads_pairs_and_refuses_a_pair_without_equals() -> None:
    assert parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(SystemExit, match="'RESULTS_BUCKET' is not NAME=VALUE"):
        parse_env(["RESULTS_BUCKET"])


def test_render_table_of_a_monitor_run_shows_state_alert_and_stored_keys() -> None:
    response = {
        "results": [
            {"url": "https://a.example/", "ok": False, "status": 500, "bytes": 3, "elapsed_ms": 5, "attempts": 1,
             "error": {"type": "http", "message": "status 500"}, "state": "down", "change": "changed"},
        ],
        "summary": {"ok": 0, "total": 1, "failed": 1, "bytes": 3, "elapsed_ms": 5},
        "monitor": {
            "stored": {"run": "s3://b/runs/1.json"},
            "alert": {"went_down": ["https://a.example/"], "recovered": [], "tls_expiring": [], "message_id": None},
            "errors": ["s3://b/status.html: AccessDenied"],
        },
    }  # fmt: skip
    table = render_table(response)
    assert "down   changed" in table
    assert "stored run: s3://b/runs/1.json" in table
    assert "alert: went down https://a.example/ (not sent)" in table
    assert "error: s3://b/status.html: AccessDenied" in table
