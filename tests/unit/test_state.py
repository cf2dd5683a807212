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
        ({"last_change": [1], "error": None, "elapsed_ms": float("inf")}, {}),
        (
            {"since": "2026-02-30T12:00:00Z", "checked_at": "2026-11-26T12:00:00Z"},
            {"checked_at": "2026-11-26T12:00:00Z"},
        ),
        # Each region's entry on its own: a bad field in one drops that field, not the region or the others
        (
            {"state": "up", "regions": {"eu-west-1": {"state": "up", "failing": "1"}, "us-east-1": 5, "ap": {"ok": 1}}},
            {"state": "up", "regions": {"eu-west-1": {"state": "up"}, "ap": {}}},
        ),
        ({"regions": ["eu-west-1"], "history": [{"ok": True}]}, {}),
    ],
)
def test_a_field_of_the_wrong_shape_is_dropped_and_the_rest_kept(entry: dict[str, Any], kept: dict[str, Any]) -> None:
    good = {"state": "down", "since": "2026-11-26T12:00:00Z"}
    document = {"urls": {"https://a.test/": entry, "https://b.test/": "not an entry", "https://c.test/": good}}
    assert LatestDocument.read(document).dump()["urls"] == {"https://a.test/": kept, "https://c.test/": good}


def test_entries_that_all_have_their_shape_are_read_as_written() -> None:
    entries = {f"https://{n}.test/": {"state": "up", "since": "2026-11-26T12:00:00Z", "failing": 0} for n in range(3)}
    latest = LatestDocument.read({"urls": entries, "recent_runs": ["2026-11-26T12:00:00+01:00", 5]})
    assert latest.dump()["urls"] == entries
    assert latest.recent_runs == ["2026-11-26T11:00:00Z"]


@pytest.mark.parametrize("document", [None, [], "x", {"urls": "x", "run": 5, "schema": "one"}])
def test_a_document_that_is_not_one_reads_as_empty(document: object) -> None:
    latest = LatestDocument.read(document)
    assert latest.urls == {} and latest.run is None
