"""Probe stacks of template.yaml: with HomeBucket set, a stack holds only the scheduled function, its schedule, its
role and its log group, and the role may write exactly the home stack's monitor keys, topic and SSM path."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fanfetch.settings import Settings
from pydantic import ValidationError

from tests.unit import stacks
from tests.unit.stacks import HOME_BUCKET, HOME_TOPIC, PROBE, TEMPLATE

# The probe stack's own region and account, for reading ARNs.
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::Region": "eu-west-1"}
# Every switch on: whatever a probe is given, it creates none of these.
ALL_ON = {
    "ApiAuth": "JWT",
    "JwtIssuer": "https://issuer.example/",
    "JwtAudience": "fanfetch",
    "AlertEmail": "ops@example.com",
    "MonitorState": "ENABLED",
    "PublicStatusPage": "true",
    "StatusPageDomain": "status.example.com",
    "StatusPageCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "JobSourceBucket": "other-bucket",
    "LogsKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
    "MonitorTargetsKey": "targets/monitors.yaml",
}
PROBE_ONLY = {"FanfetchFunction", "FanfetchLogGroup", "FanfetchProbeRole"}
HOME_ONLY_KINDS = (
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Route",
    "AWS::Serverless::StateMachine",
    "AWS::SQS::Queue",
)


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _kinds(resources: dict[str, Any]) -> set[str]:
    return {resource["Type"] for resource in resources.values()}


def _probe_environment(parameters: dict[str, str]) -> dict[str, Any]:
    """The probe function's environment after the SAM transform, which merges Globals into it."""
    function = stacks.resources(parameters, stacks.transformed())["FanfetchFunction"]
    variables: dict[str, Any] = stacks.substituted(function["Properties"]["Environment"]["Variables"], parameters)
    return variables


def _grants(role: dict[str, Any], parameters: dict[str, str]) -> set[tuple[str, str]]:
    """(action, resource) pairs a role allows, ARNs read for this stack; a statement may only Allow Action on
    Resource, without conditions or negations."""
    pairs = set()
    for policy in stacks.substituted(role["Properties"]["Policies"], parameters, PSEUDO):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert set(statement) == {"Effect", "Action", "Resource"}, statement
            assert statement["Effect"] == "Allow"
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            pairs |= {(action, json.dumps(target) if isinstance(target, dict) else target) for action in actions
                      for target in targets}  # fmt: skip
    return pairs


def _home_monitor_keys() -> dict[str, set[str]]:
    """The keys the home role's monitor-sinks policy lets it get and put in its own bucket."""
    role = stacks.resources({})["FanfetchRole"]
    (sinks,) = [policy for policy in role["Properties"]["Policies"] if policy["PolicyName"] == "monitor-sinks"]
    keys: dict[str, set[str]] = {"s3:GetObject": set(), "s3:PutObject": set()}
    for statement in sinks["PolicyDocument"]["Statement"]:
        if statement["Action"] in keys:
            keys[statement["Action"]] = {
                r["Fn::Sub"].removeprefix("${ResultsBucket.Arn}/") for r in statement["Resource"]
            }
    return keys


@pytest.mark.parametrize("extra", [{}, ALL_ON], ids=["probe", "probe-with-every-switch-on"])
def test_probe_stack_holds_only_the_function_its_log_group_and_its_role(extra: dict[str, str]) -> None:
    resources = stacks.resources({**extra, **PROBE})
    assert set(resources) == PROBE_ONLY
    assert not _kinds(resources) & set(HOME_ONLY_KINDS)
    # After the SAM transform: the function, its schedule's rule and the rule's permission to invoke it
    transformed = stacks.resources({**extra, **PROBE}, stacks.transformed())
    assert {name: r["Type"] for name, r in transformed.items()} == {
        "FanfetchFunction": "AWS::Lambda::Function",
        "FanfetchFunctionMonitor": "AWS::Events::Rule",
        "FanfetchFunctionMonitorPermission": "AWS::Lambda::Permission",
        "FanfetchLogGroup": "AWS::Logs::LogGroup",
        "FanfetchProbeRole": "AWS::IAM::Role",
    }
    # Only the function's ARN is an output: every other output names a home stack resource
    assert stacks.outputs({**extra, **PROBE}) == {"FanfetchFunctionArn"}


def test_probe_stack_names_only_its_own_resources_parameters_and_pseudo_parameters() -> None:
    # What CloudFormation would refuse: a Ref, GetAtt or ${...} to a resource the probe stack does not create.
    transformed = stacks.transformed()
    resources = stacks.resources(PROBE, transformed)
    text = json.dumps(resources)
    named = set(re.findall(r'"Ref": "([^"]+)"', text))
    named |= set(re.findall(r'"Fn::GetAtt": \["([^"]+)"', text))
    named |= {name.split(".")[0] for name in re.findall(r"\$\{([A-Za-z0-9:.]+)\}", text)}
    pseudo = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::URLSuffix", "AWS::NoValue"}
    allowed = set(resources) | set(TEMPLATE["Parameters"]) | pseudo
    assert named <= allowed
    assert "FanfetchLogGroup" in named  # the function logs to its own group, named in LoggingConfig


def test_probe_function_keeps_its_schedule_and_bounds() -> None:
    function = stacks.resources(PROBE)["FanfetchFunction"]["Properties"]
    schedule = function["Events"]["Monitor"]
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == "rate(5 minutes)"
    assert schedule["Properties"]["State"] == "ENABLED"
    assert function["Role"] == {"Fn::GetAtt": ["FanfetchProbeRole", "Arn"]}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "FanfetchLogGroup"}}
    assert function["ReservedConcurrentExecutions"] == 10
    # No failed-invocations queue in a probe: Lambda's DeadLetterConfig names none
    assert function["DeadLetterQueue"] == {"Type": "SQS"}
    (lambda_function,) = [
        r for r in stacks.resources(PROBE, stacks.transformed()).values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert lambda_function["Properties"]["DeadLetterConfig"] == {}


def test_probe_function_writes_to_the_home_bucket_and_topic_and_knows_every_region() -> None:
    variables = _probe_environment({**PROBE, "MonitorTargetsKey": "targets/monitors.yaml"})
    assert variables["RESULTS_BUCKET"] == HOME_BUCKET
    assert variables["ALERT_TOPIC_ARN"] == HOME_TOPIC
    assert variables["HOME_REGION"] == "us-east-1"
    assert variables["TARGETS_S3_URI"] == f"s3://{HOME_BUCKET}/targets/monitors.yaml"
    assert variables["MONITOR_REGIONS"] == "us-east-1,eu-west-1,ap-southeast-2"
    assert str(variables["QUORUM"]) == "2"
    assert variables["MONITOR_SCHEDULE"] == "rate(5 minutes)"
    assert variables["SSM_PREFIX"] == "/fanfetch/"
    # No state machine in a probe: jobs are off there
    assert variables["JOBS_STATE_MACHINE_ARN"] == ""


def test_home_function_uses_its_own_bucket_topic_and_region_and_is_a_single_region_monitor_by_default() -> None:
    variables = _probe_environment({"MonitorTargetsKey": "targets/monitors.yaml"})
    assert variables["RESULTS_BUCKET"] == {"Ref": "ResultsBucket"}
    assert variables["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert variables["HOME_REGION"] == {"Ref": "AWS::Region"}
    assert variables["TARGETS_S3_URI"] == {"Fn::Sub": "s3://${ResultsBucket}/targets/monitors.yaml"}
    assert (variables["MONITOR_REGIONS"], str(variables["QUORUM"])) == ("", "0")  # 0: a majority
    assert variables["MONITOR_SCHEDULE"] == "rate(5 minutes)"
    assert variables["JOBS_STATE_MACHINE_ARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-jobs"
    }
    # The job functions keep the Globals' bucket and get none of the region variables
    job_variables = TEMPLATE["Resources"]["JobFetchFunction"]["Properties"]["Environment"]["Variables"]
    assert not {"HOME_REGION", "MONITOR_REGIONS", "QUORUM", "MONITOR_SCHEDULE"} & set(job_variables)
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["RESULTS_BUCKET"] == {"Ref": "ResultsBucket"}


def test_probe_role_grants_exactly_the_home_monitor_keys_topic_and_ssm_path() -> None:
    role = stacks.resources(PROBE)["FanfetchProbeRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    home_keys = _home_monitor_keys()
    bucket = f"arn:aws:s3:::{HOME_BUCKET}"
    expected = {
        ("logs:CreateLogStream", '{"Fn::GetAtt": ["FanfetchLogGroup", "Arn"]}'),
        ("logs:PutLogEvents", '{"Fn::GetAtt": ["FanfetchLogGroup", "Arn"]}'),
        *{("s3:GetObject", f"{bucket}/{key}") for key in home_keys["s3:GetObject"]},
        *{("s3:PutObject", f"{bucket}/{key}") for key in home_keys["s3:PutObject"]},
        ("s3:ListBucket", bucket),
        # The channel secrets live in the home region, whatever the probe's region
        ("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/fanfetch/*"),
        ("sns:Publish", HOME_TOPIC),
    }
    assert _grants(role, PROBE) == expected
    # The same keys as the home role has today, none more (tests/unit/test_monitor_template.py lists them)
    assert home_keys["s3:PutObject"] == {
        "latest.json", "status.html", "runs/*", "history/*", "incidents.json", "status.json", "badges/*",
        "config/last-good.json",
    }  # fmt: skip
    assert home_keys["s3:GetObject"] == {
        "latest.json", "targets/*", "history/*", "incidents.json", "status.json", "config/last-good.json",
    }  # fmt: skip


def test_probe_role_publishes_nowhere_without_a_home_topic_and_follows_the_ssm_prefix() -> None:
    parameters = {**PROBE, "HomeTopicArn": "", "SsmPrefix": "/monitors/prod/"}
    grants = _grants(stacks.resources(parameters)["FanfetchProbeRole"], parameters)
    assert not [pair for pair in grants if pair[0].startswith("sns:")]
    assert ("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/monitors/prod/*") in grants
    assert _probe_environment(parameters)["ALERT_TOPIC_ARN"] == ""


def test_home_stack_keeps_everything_and_has_no_probe_role() -> None:
    # Every switch on: every resource but the probe's role exists, as before probe stacks.
    resources = stacks.resources(ALL_ON)
    assert set(resources) == set(TEMPLATE["Resources"]) - {"FanfetchProbeRole"}
    assert set(HOME_ONLY_KINDS) <= _kinds(resources)
    assert stacks.outputs(ALL_ON) == set(TEMPLATE["Outputs"])
    # Default parameters: the API, bucket, topic, queue and its alarm, dashboard and jobs are all there
    defaults = stacks.resources({})
    for name in ("FetchApi", "ResultsBucket", "ResultsBucketPolicy", "AlertTopic", "AlertTopicPolicy",
                 "FailedInvocationsQueue", "FailedInvocationsAlarm", "MonitorDashboard", "JobsStateMachine",
                 "JobFetchFunction", "JobAggregateFunction", "FanfetchRole"):  # fmt: skip
        assert name in defaults, name
    assert "FanfetchProbeRole" not in defaults
    assert defaults["FanfetchFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["FanfetchRole", "Arn"]}
    assert stacks.outputs({}) == set(TEMPLATE["Outputs"]) - {"StatusPageUrl"}


def test_home_bucket_and_topic_policies_refuse_nothing_but_plain_http_so_probe_roles_can_write() -> None:
    # A probe role is in the home stack's account: its own policy's Allow is enough unless a resource policy
    # denies it. The only Deny statements are for requests without TLS, which boto3 never sends.
    for parameters in ({}, ALL_ON):
        resources = stacks.resources(parameters)
        for name in ("ResultsBucketPolicy", "AlertTopicPolicy"):
            statements = resources[name]["Properties"]["PolicyDocument"]["Statement"]
            denies = [statement for statement in statements if statement["Effect"] == "Deny"]
            assert [deny["Condition"] for deny in denies] == [{"Bool": {"aws:SecureTransport": "false"}}], name
            assert all("NotPrincipal" not in statement for statement in statements), name


def _rules_hold(parameters: dict[str, str]) -> dict[str, bool]:
    """Each rule of the template: whether CloudFormation would accept these parameter values."""
    verdicts = {}
    for name, rule in TEMPLATE["Rules"].items():
        applies = stacks.evaluated(rule.get("RuleCondition", True), parameters)
        verdicts[name] = not applies or all(stacks.evaluated(a["Assert"], parameters) for a in rule["Assertions"])
    return verdicts


def test_rules_refuse_a_probe_without_home_region_or_regions_and_a_home_with_probe_parameters() -> None:
    assert all(_rules_hold({}).values())
    assert all(_rules_hold(PROBE).values())
    assert not _rules_hold({**PROBE, "HomeRegion": ""})["ProbeNamesItsHome"]
    assert not _rules_hold({**PROBE, "MonitorRegions": ""})["ProbeNamesItsHome"]
    assert all(_rules_hold({**PROBE, "HomeTopicArn": ""}).values())  # a probe may send no alerts
    assert not _rules_hold({"HomeRegion": "us-east-1"})["HomeIsNotAProbe"]
    assert all(_rules_hold({"MonitorRegions": "us-east-1,eu-west-1", "Quorum": "2"}).values())


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("HomeBucket", ["", HOME_BUCKET, "my.results-bucket"], ["Results", "a", "-bucket", "bucket/key"]),
        ("HomeRegion", ["", "us-east-1", "ap-southeast-2", "us-gov-west-1", "eu-central-2"], ["EU", "us-east"]),
        ("HomeTopicArn", ["", HOME_TOPIC, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t"],
         ["fanfetch-AlertTopic", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:123:t"]),
        ("MonitorRegions", ["", "us-east-1", PROBE["MonitorRegions"]],
         ["us-east-1, eu-west-1", "us-east-1 eu-west-1", "us-east-1,", "US-EAST-1"]),
    ],
)  # fmt: skip
def test_probe_parameters_accept_real_values_and_refuse_typos(name: str, good: list[str], bad: list[str]) -> None:
    parameter = TEMPLATE["Parameters"][name]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert [value for value in good if not pattern.fullmatch(value)] == []
    assert [value for value in bad if pattern.fullmatch(value)] == []


def test_quorum_is_a_number_whose_default_means_a_majority_within_what_settings_accepts() -> None:
    quorum = TEMPLATE["Parameters"]["Quorum"]
    assert (quorum["Type"], quorum["Default"], quorum["MinValue"]) == ("Number", 0, 0)
    assert quorum["MaxValue"] == Settings(QUORUM=quorum["MaxValue"]).QUORUM
    with pytest.raises(ValidationError):
        Settings(QUORUM=quorum["MaxValue"] + 1)
    variables = TEMPLATE["Resources"]["FanfetchFunction"]["Properties"]["Environment"]["Variables"]
    # The function's own variables (the region ones among them) are all read by its settings
    assert set(variables) <= set(Settings.model_fields)
    assert variables["QUORUM"] == {"Ref": "Quorum"}
    assert variables["MONITOR_REGIONS"] == {"Ref": "MonitorRegions"}
    assert variables["MONITOR_SCHEDULE"] == {"Ref": "MonitorSchedule"}
