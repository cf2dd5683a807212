"""docs/monitors.md stays true: every YAML example validates with the models, and each expectation has one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fanfetch.monitoring.config import Expect, parse_document, validate_document

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "monitors.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", PAGE, flags=re.S)


def as_file(block: str) -> str:
    # A block that starts with "- name:" is one target; the rest are whole files.
    return (
        block
        if not block.startswith("- name:")
        else "targets:\n" + "".join(f"  {line}\n" for line in block.splitlines())
    )


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_yaml_example_is_a_valid_monitors_file(block: str) -> None:
    validate_document(parse_document(as_file(block)))


def test_the_page_has_one_example_per_expectation_and_the_schema_line() -> None:
    shown = set()
    for block in BLOCKS:
        for target in validate_document(parse_document(as_file(block))).targets:
            if target.expect is not None:
                shown |= {name for name in target.expect.model_fields_set}
    kinds = set(Expect.model_fields) - {"max_inspect_bytes"}
    assert kinds <= shown, kinds - shown
    assert "# yaml-language-server: $schema=" in BLOCKS[0]
