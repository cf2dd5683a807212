"""template.yaml read as data and run through the real SAM transform, so it cannot drift from the code."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fanfetch.settings import Settings
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _transformed(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    template["Resources"]["FanfetchFunction"]["Properties"]["CodeUri"] = "s3://bucket/key.zip"  # as sam package sets it
    result: dict[str, Any] = transform(template, parameters or {}, _NoManagedPolicies())
    return result


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _function() -> dict[str, Any]:
    properties: dict[str, Any] = TEMPLATE["Resources"]["FanfetchFunction"]["Properties"]
    return properties


def test_template_points_at_the_handler_that_exists() -> None:
    assert _function()["CodeUri"] == "functions/"
    module, _, name = _function()["Handler"].rpartition(".")
    assert (ROOT / "functions" / (module.replace(".", "/") + ".py")).read_text().count(f"def {name}(") == 1
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.13"


def test_template_sets_only_environment_variables_that_settings_reads() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    ours = {name for name in variables if not name.startswith(("POWERTOOLS_", "PYDANTIC_"))}
    assert ours <= set(Settings.model_fields)


def test_template_routes_post_and_get_fetch_through_the_http_api() -> None:
    events = _function()["Events"]
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values() if e["Type"] == "HttpApi"}
    assert {("/fetch", "POST"), ("/fetch", "GET")} <= routes


def test_template_schedule_is_disabled_by_default() -> None:
    schedule = _function()["Events"]["Monitor"]["Properties"]
    assert schedule["State"] == {"Ref": "MonitorState"}
    assert TEMPLATE["Parameters"]["MonitorState"]["Default"] == "DISABLED"


def test_template_outputs_api_url_and_function_arn() -> None:
    assert {"FetchApiUrl", "FanfetchFunctionArn"} <= set(TEMPLATE["Outputs"])


def test_template_transforms_with_iam_on_every_route() -> None:
    resources = _transformed()["Resources"]
    api = resources["FetchApi"]["Properties"]["Body"]
    operations = [op for path in api["paths"].values() for op in path.values()]
    assert operations and all(op["security"] == [{"AWS_IAM": []}] for op in operations)
    stage = resources["FetchApiApiGatewayDefaultStage"]["Properties"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
