"""`fanfetch monitors validate FILE | push FILE`: a monitors file checked offline against the function's schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

# The function's models write this schema (`make schema`); a test keeps this copy equal to docs/monitors.schema.json.
SCHEMA_FILE = "monitors.schema.json"
DEFAULT_KEY = "targets/monitors.yaml"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files("fanfetch_client").joinpath(SCHEMA_FILE).read_text())
    return loaded


def _place(document: Any, path: list[Any]) -> str:
    """`targets[1] (shop-home).expect.status`: a path with each target's name beside its index."""
    shown = ""
    node = document
    for step in path:
        if isinstance(step, int):
            shown += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                shown += f" ({node['name']})"
        else:
            shown += f".{step}" if shown else str(step)
            node = node.get(step) if isinstance(node, dict) else None
    return shown or "file"


def read(path: Path) -> Any:
    """The file as data (JSON, else YAML); ValueError naming the line when it reads as neither."""
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "file"
        raise ValueError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


def _described(document: Any, error: jsonschema.ValidationError) -> str:
    # An optional field is "this or null": the error worth showing is the one inside the branch that fits best.
    while error.context:
        branches = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        error = max(branches or error.context, key=lambda e: len(e.absolute_path))
    place = _place(document, list(error.absolute_path))
    if error.validator == "pattern" and place.endswith(".url"):
        return f"{place}: {error.instance!r} is not an http:// or https:// URL"
    return f"{place}: {error.message}"


def _cross_checks(document: dict[str, Any]) -> Iterator[str]:
    """What a schema cannot say: names unique, every notified channel defined."""
    channels = document.get("channels") or {}
    seen: set[str] = set()
    rules = [("defaults", document.get("defaults") or {})]
    for index, target in enumerate(document.get("targets") or []):
        if not isinstance(target, dict):
            continue
        name = str(target.get("name"))
        if name in seen:
            yield f"targets[{index}] ({name}): name: used by another target"
        seen.add(name)
        rules.append((f"targets[{index}] ({name})", target))
    for where, rule in rules:
        for channel in rule.get("notify") or []:
            if channel not in channels:
                yield f"{where}: notify: no channel named {channel!r}"


def problems(path: Path) -> list[str]:
    """Every problem of a monitors file with its place; empty when the file is good."""
    try:
        document = read(path)
    except ValueError as exc:
        return [str(exc)]
    validator = jsonschema.Draft202012Validator(schema())
    found = [
        _described(document, error)
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not found and isinstance(document, dict):
        found.extend(_cross_checks(document))
    return found


def push(path: Path, bucket: str, key: str, region: str | None = None) -> str:
    """Upload the file to the stack's targets key; the s3:// URI it went to."""
    import boto3

    content_type = "application/json" if path.suffix == ".json" else "application/yaml"
    boto3.client("s3", region_name=region).put_object(
        Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type
    )
    return f"s3://{bucket}/{key}"
