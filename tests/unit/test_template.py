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
    template["Resources"]["JobAggregateFunction"]["Properties"]["CodeUri"] = "s3://bucket/key.zip"
    template["Resources"]["JobsStateMachine"]["Properties"]["DefinitionUri"] = "s3://bucket/fanout.asl.json"
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


def _resources(kind: str) -> dict[str, Any]:
    return {name: r for name, r in TEMPLATE["Resources"].items() if r["Type"] == kind}


def test_template_routes_post_and_get_fetch_through_the_http_api() -> None:
    routes = {r["Properties"]["RouteKey"] for r in _resources("AWS::ApiGatewayV2::Route").values()}
    assert {"POST /fetch", "GET /fetch"} <= routes
    (integration,) = _resources("AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": ["FanfetchFunction", "Arn"]}


def test_template_routes_require_iam_unless_jwt_is_chosen() -> None:
    assert TEMPLATE["Parameters"]["ApiAuth"]["Default"] == "IAM"
    assert TEMPLATE["Conditions"]["UseJwt"] == {"Fn::Equals": [{"Ref": "ApiAuth"}, "JWT"]}
    for route in _resources("AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == {"Fn::If": ["UseJwt", "JWT", "AWS_IAM"]}
        assert route["Properties"]["AuthorizerId"]["Fn::If"][0] == "UseJwt"
    (authorizer,) = _resources("AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Condition"] == "UseJwt"


def test_template_throttles_the_api_and_bounds_concurrency() -> None:
    (stage,) = _resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    assert _function()["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_template_role_allows_only_own_logs_and_traces() -> None:
    role = TEMPLATE["Resources"]["FanfetchRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    policies = {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]}
    statements = policies["logs-and-traces"]
    actions = {action for statement in statements for action in statement["Action"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    # Jobs: only the job's own objects and the jobs state machine's executions
    job_actions = {a for statement in policies["jobs"] for a in _as_list(statement["Action"])}
    assert job_actions == {
        "s3:PutObject",
        "s3:GetObject",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:ListMapRuns",
        "states:DescribeMapRun",
    }
    (logs,) = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    assert "/aws/lambda/${AWS::StackName}-fetch:*" in logs["Resource"]["Fn::Sub"]
    assert _function()["Role"] == {"Fn::GetAtt": ["FanfetchRole", "Arn"]}


def test_template_schedule_is_disabled_by_default() -> None:
    schedule = _function()["Events"]["Monitor"]["Properties"]
    assert schedule["State"] == {"Ref": "MonitorState"}
    assert TEMPLATE["Parameters"]["MonitorState"]["Default"] == "DISABLED"


def test_template_outputs_api_url_and_function_arn() -> None:
    assert {"FetchApiUrl", "FanfetchFunctionArn"} <= set(TEMPLATE["Outputs"])


def test_template_transforms_without_sam_adding_permissions() -> None:
    resources = _transformed()["Resources"]
    assert resources["FanfetchFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["FanfetchRole", "Arn"]}
    generated_roles = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and name not in ("FanfetchRole", "JobAggregateRole")
    ]
    # The state machine's role is SAM's, from the template's inline statements only
    assert generated_roles == ["JobsStateMachineRole"]
    managed = resources["JobsStateMachineRole"]["Properties"]["ManagedPolicyArns"]
    assert managed == ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"]  # added by Tracing
    assert resources["FanfetchFunctionMonitor"]["Properties"]["State"] == {"Ref": "MonitorState"}
