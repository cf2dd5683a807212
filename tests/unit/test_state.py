"""The stored documents' models: the committed schema and sample agree with them, and odd fields are dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fanfetch.monitoring.state import LatestDocument, latest_schema, latest_schema_text

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_latest_schema_is_the_one_the_models_generate() -> None:
    committed = (DOCS / "latest.schema.json").read_text()
    assert committed == latest_schema_text(), "docs/latest.schema.json is stale: run `make schema`"


def test_sample_latest_json_validates_against_the_schema_and_loses_no_field() -> None:
    sample = json.loads((DOCS / "latest.json").read_text())
    jsonschema.validate(sample, latest_schema())
    # The models read leniently, so a field they would drop shows up here instead.
    assert LatestDocument.read(sample).dump() == sample
    # The runner's reader, which takes the entries out of the parsed document as it goes, reads the same
    assert LatestDocument.read_parsed(json.loads(json.dumps(sample))).dump() == sample


def test_schema_refuses_a_document_of_another_shape() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": 1, "urls": {"https://a.test/": {"state": "sideways"}}}, latest_schema())


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ({"state": "down", "elapsed_ms": "12", "bytes": True}, {"state": "down"}),
        ({"state": "sideways", "ok": True, "since": "yesterday"}, {"ok": True}),
        (
            {"since": "2026-11-26T12:00:00+01:00", "tls_days_left": 9},
            {"since": "2026-11-26T11:00:00Z", "tls_days_left": 9},
        ),
        ({"last_change": [1], "error": None}, {"error": None}),
        (
            {"history": [5, {"ok": "yes", "ms": "fast", "at": "2026-11-26T12:00:00Z", "status": 1.5}]},
            {"history": [{"ok": True, "ms": None, "at": "2026-11-26T12:00:00Z"}]},
        ),
    ],
)
def test_a_field_of_the_wrong_shape_is_dropped_and_the_rest_kept(entry: dict[str, Any], kept: dict[str, Any]) -> None:
    document = LatestDocument.read({"urls": {"https://a.test/": entry, "https://b.test/": "not an entry"}})
    assert document.dump()["urls"] == {"https://a.test/": kept}
    parsed = LatestDocument.read_parsed({"urls": {"https://a.test/": entry, "https://b.test/": "not an entry"}})
    assert parsed.dump()["urls"] == {"https://a.test/": kept}


@pytest.mark.parametrize("document", [None, [], "x", {"urls": "x", "run": 5, "schema": "one"}])
def test_a_document_that_is_not_one_reads_as_empty(document: object) -> None:
    latest = LatestDocument.read(document)
    assert latest.urls == {} and latest.run is None
    parsed = LatestDocument.read_parsed(json.loads(json.dumps(document)))
    assert parsed.urls == {} and parsed.run is None
