"""`fanfetch monitors validate|push`: the client's schema copy, its errors by place, and the upload (moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from fanfetch.monitoring.config import monitors_schema_text, parse_document, validate_document
from fanfetch_client.cli import main
from fanfetch_client.monitors import SCHEMA_FILE
from rich.console import Console

from tests.unit.conftest import BUCKET

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "monitors.yaml"


def run(*argv: str) -> tuple[int, str]:
    console = Console(record=True, width=300, force_terminal=False)
    code = main(list(argv), console=console)
    return code, console.export_text()


def test_the_clients_schema_is_the_one_the_function_generates() -> None:
    copy = (ROOT / "client" / "fanfetch_client" / SCHEMA_FILE).read_text()
    assert copy == monitors_schema_text(), "the client's schema is stale: run `make schema`"


def test_the_documented_example_is_valid_for_the_client_and_the_function() -> None:
    assert run("monitors", "validate", str(EXAMPLE)) == (0, f"{EXAMPLE}: valid\n")
    validate_document(parse_document(EXAMPLE.read_text()))


def test_validate_prints_each_problem_with_its_place_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "monitors.yaml"
    bad.write_text(
        "channels: {ops: {type: sns}}\n"
        "targets:\n"
        "  - {name: shop, url: shop.example.com, notify: [pager]}\n"
        "  - {name: shop, url: 'https://shop.test/', remind_every: soon}\n"
    )
    code, text = run("monitors", "validate", str(bad))
    assert code == 1
    assert f"{bad}: targets[0] (shop).url: 'shop.example.com' is not an http:// or https:// URL" in text
    assert f"{bad}: targets[1] (shop).remind_every: 'soon' does not match" in text


def test_validate_reports_duplicate_names_and_unknown_channels(tmp_path: Path) -> None:
    bad = tmp_path / "monitors.json"
    targets = [{"name": "a", "url": "https://a.test/", "notify": ["pager"]}, {"name": "a", "url": "https://b.test/"}]
    bad.write_text(json.dumps({"targets": targets}))
    code, text = run("monitors", "validate", str(bad))
    assert code == 1
    assert "targets[1] (a): name: used by another target" in text
    assert "targets[0] (a): notify: no channel named 'pager'" in text


def test_validate_names_the_line_of_broken_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "monitors.yaml"
    bad.write_text("targets:\n  - {name: a, url: 'https://a.test/'\n")
    code, text = run("monitors", "validate", str(bad))
    assert code == 1 and "line 3, column 1: not valid YAML" in text


def test_push_uploads_a_valid_file_to_the_stacks_targets_key_and_refuses_a_bad_one(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"FetchApiUrl": {"Value": "https://api.test/fetch"}, "ResultsBucketName": {"Value": BUCKET}},
    }
    boto3.client("cloudformation").create_stack(StackName="fanfetch", TemplateBody=json.dumps(template))
    code, text = run("monitors", "push", str(EXAMPLE))
    assert code == 0 and f"uploaded to s3://{BUCKET}/targets/monitors.yaml" in text
    assert aws.get_object(Bucket=BUCKET, Key="targets/monitors.yaml")["Body"].read() == EXAMPLE.read_bytes()

    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: []\n")
    code, text = run("monitors", "push", str(bad), "--key", "targets/other.yaml")
    assert code == 1 and "nothing was uploaded" in text
    assert "Contents" not in aws.list_objects_v2(Bucket=BUCKET, Prefix="targets/other.yaml")
