"""template.yaml read as data and run through the real SAM transform, so it cannot drift from the code."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fanfetch.settings import Settings
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from tests.unit import stacks

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _transformed(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    template["Resources"]["FanfetchFunction"]["Properties"]["CodeUri"] = "s3://bucket/key.zip"  # as sam package sets it
    template["Resources"]["JobAggregateFunction"]["Properties"]["CodeUri"] = "s3://bucket/key.zip"
    template["Resources"]["JobFetchFunction"]["Properties"]["CodeUri"] = "s3://bucket/key.zip"
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
    routes = {r["RouteKey"]: r for r in _deployed("AWS::ApiGatewayV2::Route", {}).values()}
    assert {"POST /fetch", "GET /fetch", "GET /openapi"} <= set(routes)
    assert all(r["Target"] == {"Fn::Sub": "integrations/${FetchApiIntegration}"} for r in routes.values())
    (integration,) = _resources("AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": ["FanfetchFunction", "Arn"]}


def test_template_routes_differ_between_iam_and_jwt_only_in_authorization() -> None:
    jwt = {"ApiAuth": "JWT"}
    for name, route in _deployed("AWS::ApiGatewayV2::Route", {}).items():
        with_jwt = _deployed("AWS::ApiGatewayV2::Route", jwt)[name]
        for key in ("AuthorizationType", "AuthorizerId"):
            route.pop(key, None)
            with_jwt.pop(key)
        assert route == with_jwt, name


_evaluated = stacks.evaluated
_condition = stacks.condition


def _deployed(kind: str, parameters: dict[str, str]) -> dict[str, Any]:
    """Resources of a kind that a stack with these parameter values creates, with conditions evaluated."""
    return {
        name: _evaluated(resource["Properties"], parameters)
        for name, resource in _resources(kind).items()
        if "Condition" not in resource or _condition(resource["Condition"], parameters)
    }


def test_template_routes_require_iam_by_default() -> None:
    routes = _deployed("AWS::ApiGatewayV2::Route", {})
    assert len(routes) >= 3
    for route in routes.values():
        assert route["AuthorizationType"] == "AWS_IAM"
        assert "AuthorizerId" not in route
    assert _deployed("AWS::ApiGatewayV2::Authorizer", {}) == {}


def test_template_routes_use_the_jwt_authorizer_when_api_auth_is_jwt() -> None:
    parameters = {"ApiAuth": "JWT", "JwtIssuer": "https://issuer.example/", "JwtAudience": "fanfetch"}
    ((authorizer_name, authorizer),) = _deployed("AWS::ApiGatewayV2::Authorizer", parameters).items()
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["JwtConfiguration"] == {"Issuer": "https://issuer.example/", "Audience": ["fanfetch"]}
    routes = _deployed("AWS::ApiGatewayV2::Route", parameters)
    for route in routes.values():
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizerId"] == {"Ref": authorizer_name}


def test_template_throttles_the_api_and_bounds_concurrency() -> None:
    (stage,) = _resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    assert _function()["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


def test_template_role_allows_only_own_logs_and_failed_invocations_queue() -> None:
    role = TEMPLATE["Resources"]["FanfetchRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    policies = {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]}
    assert set(policies) == {"logs", "failed-invocations", "monitor-sinks", "jobs"}
    statements = policies["logs"] + policies["failed-invocations"]
    actions = {action for statement in statements for action in _as_list(statement["Action"])}
    # Jobs: only the job's own objects, listing where a missing source must read as 404, and the jobs state
    # machine's executions (a statement switched by a condition counts with its branch that applies)
    job_statements = [s.get("Fn::If", [None, s])[1] for s in policies["jobs"]]
    job_actions = {a for statement in job_statements for a in _as_list(statement["Action"])}
    assert job_actions == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:ListMapRuns",
        "states:DescribeMapRun",
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
    }
    (logs,) = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    assert logs["Resource"] == {"Fn::GetAtt": ["FanfetchLogGroup", "Arn"]}
    assert _function()["LoggingConfig"] == {"LogGroup": {"Ref": "FanfetchLogGroup"}}
    (queue,) = [s for s in statements if "sqs:SendMessage" in _as_list(s["Action"])]
    assert queue["Resource"] == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    # The home stack's function has this role; a probe stack's has its own (tests/unit/test_probe_template.py)
    assert _evaluated(_function()["Role"], {}) == {"Fn::GetAtt": ["FanfetchRole", "Arn"]}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_template_lets_cloudformation_name_the_function() -> None:
    # An explicit name capped stack names at 58 characters and hid the function's ARN from `sam local`.
    assert "FunctionName" not in _function()


def test_template_keeps_failed_asynchronous_runs_in_an_encrypted_queue_with_an_alarm() -> None:
    assert _evaluated(_function()["DeadLetterQueue"], {}) == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]},
    }
    assert TEMPLATE["Resources"]["FailedInvocationsQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarm = TEMPLATE["Resources"]["FailedInvocationsAlarm"]
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}]
    assert alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedInvocationsQueue", "QueueName"]}}
    ]
    assert (alarm["Properties"]["ComparisonOperator"], alarm["Properties"]["Threshold"]) == ("GreaterThanThreshold", 0)


def test_template_logs_api_access_as_json_to_its_own_log_group() -> None:
    (stage,) = _resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["FetchApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    for variable in ("requestId", "identity.sourceIp", "identity.userArn", "routeKey", "status", "responseLatency"):
        assert f"$context.{variable}" in fields.values()
    assert TEMPLATE["Resources"]["FetchApiAccessLogGroup"]["Properties"]["RetentionInDays"] == 30


def test_template_encrypts_logs_with_a_customer_key_only_when_one_is_given() -> None:
    assert TEMPLATE["Parameters"]["LogsKmsKeyArn"]["Default"] == ""
    for name, log_group in _resources("AWS::Logs::LogGroup").items():
        assert _evaluated(log_group["Properties"], {}).get("KmsKeyId") is None, name
        assert _evaluated(log_group["Properties"], {"LogsKmsKeyArn": "arn:key"})["KmsKeyId"] == "arn:key", name


def test_template_gives_a_reason_for_every_checkov_skip() -> None:
    skips = [
        skip
        for resource in TEMPLATE["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert {skip["id"] for skip in skips} == {
        "CKV_AWS_117",
        "CKV_AWS_173",
        "CKV_AWS_27",
        "CKV_AWS_18",
        "CKV_AWS_26",
        "CKV_AWS_116",
        "CKV_AWS_115",
        # The public page's distribution (PublicStatusPage=true)
        "CKV_AWS_68",
        "CKV_AWS_86",
        "CKV_AWS_174",
    }
    assert all(skip["comment"].strip() for skip in skips)


def test_template_schedule_is_disabled_by_default() -> None:
    schedule = _function()["Events"]["Monitor"]["Properties"]
    assert schedule["State"] == {"Ref": "MonitorState"}
    assert TEMPLATE["Parameters"]["MonitorState"]["Default"] == "DISABLED"


def test_template_outputs_api_url_and_function_arn() -> None:
    assert {"FetchApiUrl", "FanfetchFunctionArn"} <= set(TEMPLATE["Outputs"])


def test_template_transforms_without_sam_adding_permissions() -> None:
    resources = _transformed()["Resources"]
    assert resources["FanfetchFunction"]["Properties"]["Role"] == {
        "Fn::If": ["IsProbe", {"Fn::GetAtt": ["FanfetchProbeRole", "Arn"]}, {"Fn::GetAtt": ["FanfetchRole", "Arn"]}]
    }
    ours = ("FanfetchRole", "FanfetchProbeRole", "JobAggregateRole", "JobFetchRole")
    generated_roles = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role" and name not in ours]
    # The state machine's role is SAM's, from the template's inline statements only
    assert generated_roles == ["JobsStateMachineRole"]
    managed = resources["JobsStateMachineRole"]["Properties"]["ManagedPolicyArns"]
    assert managed == ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"]  # added by Tracing
    assert resources["FanfetchFunctionMonitor"]["Properties"]["State"] == {"Ref": "MonitorState"}


PUBLIC_PAGE_KINDS = (
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::CachePolicy",
)


def _bucket_statements(parameters: dict[str, str]) -> list[dict[str, Any]]:
    (policy,) = _deployed("AWS::S3::BucketPolicy", parameters).values()
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_template_has_no_public_page_and_a_private_bucket_by_default() -> None:
    for kind in PUBLIC_PAGE_KINDS:
        assert _deployed(kind, {}) == {}, kind
    assert [statement["Sid"] for statement in _bucket_statements({})] == ["TlsOnly"]
    assert TEMPLATE["Outputs"]["StatusPageUrl"]["Condition"] == "PublicPage"
    assert not _condition("PublicPage", {}) and _condition("PublicPage", {"PublicStatusPage": "true"})


def test_template_public_page_lets_only_its_distribution_read_only_the_page_json_and_badges() -> None:
    parameters = {"PublicStatusPage": "true"}
    (distribution,) = _deployed("AWS::CloudFront::Distribution", parameters).values()
    config = distribution["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ResultsBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["StatusPageOriginAccessControl", "Id"]}
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert "Aliases" not in config
    # The bucket policy: CloudFront, on the condition that it is this distribution, may get three kinds of key
    allow = [statement for statement in _bucket_statements(parameters) if statement["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "StatusPageThroughCloudFront",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": [
                {"Fn::Sub": "${ResultsBucket.Arn}/status.html"},
                {"Fn::Sub": "${ResultsBucket.Arn}/status.json"},
                {"Fn::Sub": "${ResultsBucket.Arn}/badges/*"},
            ],
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
                        "${StatusPageDistribution}"
                    }
                }
            },
        }
    ]
    # The bucket itself still blocks every public grant
    (bucket,) = _deployed("AWS::S3::Bucket", parameters).values()
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    (headers,) = _deployed("AWS::CloudFront::ResponseHeadersPolicy", parameters).values()
    security = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert "frame-ancestors 'none'" in security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    (cache,) = _deployed("AWS::CloudFront::CachePolicy", parameters).values()
    assert cache["CachePolicyConfig"]["DefaultTTL"] <= 60


def test_template_public_page_takes_a_custom_domain_only_with_its_certificate() -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    domain_only = {"PublicStatusPage": "true", "StatusPageDomain": "status.example.com"}
    (distribution,) = _deployed("AWS::CloudFront::Distribution", domain_only).values()
    assert "Aliases" not in distribution["DistributionConfig"]
    both = {**domain_only, "StatusPageCertificateArn": certificate}
    (distribution,) = _deployed("AWS::CloudFront::Distribution", both).values()
    config = distribution["DistributionConfig"]
    assert config["Aliases"] == ["status.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": certificate,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
