"""The monitoring block of template.yaml: bucket, topic, alarms, dashboard and the role's grants on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
METRICS = ("UrlsFetched", "UrlsFailed", "UrlsDown", "UrlsDegraded", "BytesFetched", "FetchLatency", "MinTlsDaysLeft")


def _of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def _sink_statements() -> list[dict[str, Any]]:
    (policy,) = [p for p in RESOURCES["FanfetchRole"]["Properties"]["Policies"] if p["PolicyName"] == "monitor-sinks"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_results_bucket_is_encrypted_private_versioned_and_expires_runs() -> None:
    bucket = RESOURCES["ResultsBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    (runs_rule,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "runs/"]
    assert runs_rule["ExpirationInDays"] == {"Ref": "RunsRetentionDays"}


def test_results_bucket_policy_refuses_requests_without_tls() -> None:
    (policy,) = _of_type("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "ResultsBucket"}
    deny, public_page = policy["Properties"]["PolicyDocument"]["Statement"]
    assert public_page["Fn::If"][0] == "PublicPage"  # only with a public status page (tests/unit/test_template.py)
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_role_gets_only_object_reads_and_writes_on_its_prefixes_and_publish_on_its_topic() -> None:
    statements = _sink_statements()
    granted = {action: s["Resource"] for s in statements for action in _actions(s)}
    assert set(granted) == {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "sns:Publish", "ssm:GetParameter"}
    assert all(s["Effect"] == "Allow" for s in statements)
    put_keys = {r["Fn::Sub"].removeprefix("${ResultsBucket.Arn}/") for r in granted["s3:PutObject"]}
    published = {"history/*", "incidents.json", "status.json"}
    assert put_keys == {"latest.json", "status.html", "runs/*", "badges/*", "config/last-good.json", *published}
    get_keys = {r["Fn::Sub"].removeprefix("${ResultsBucket.Arn}/") for r in granted["s3:GetObject"]}
    assert get_keys == {"latest.json", "targets/*", "config/last-good.json", *published}
    # Channel secrets: only the parameters under the SsmPrefix path
    assert granted["ssm:GetParameter"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}*"
    }
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["SSM_PREFIX"] == {"Ref": "SsmPrefix"}
    assert TEMPLATE["Parameters"]["SsmPrefix"]["Default"] == "/fanfetch/"
    assert granted["s3:ListBucket"] == {"Fn::GetAtt": ["ResultsBucket", "Arn"]}
    assert granted["sns:Publish"] == {"Ref": "AlertTopic"}
    assert '"*"' not in json.dumps([s["Resource"] for s in statements])  # no bare wildcard


def test_function_environment_names_the_sinks() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["RESULTS_BUCKET"] == {"Ref": "ResultsBucket"}
    assert variables["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert variables["TLS_WARN_DAYS"] == {"Ref": "TlsWarnDays"}
    assert TEMPLATE["Parameters"]["TlsWarnDays"]["Default"] == 14


def test_alert_topic_has_an_optional_email_subscription() -> None:
    subscription = RESOURCES["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlertTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlertEmail"},
    }
    assert TEMPLATE["Parameters"]["AlertEmail"]["Default"] == ""


def test_urls_down_alarm_treats_missing_data_as_breaching() -> None:
    alarm = RESOURCES["UrlsDownAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("fanfetch", "UrlsDown")
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    # The dimensions the function's EMF documents carry (observability.py)
    assert {d["Name"] for d in alarm["Dimensions"]} == {"service", "function"}


def test_urls_degraded_alarm_fires_on_one_degraded_target_and_leaves_a_silent_monitor_to_urls_down() -> None:
    alarm = RESOURCES["UrlsDegradedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("fanfetch", "UrlsDegraded")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    assert {d["Name"] for d in alarm["Dimensions"]} == {"service", "function"}
    assert RESOURCES["UrlsDegradedAlarm"]["Condition"] == "HomeMonitorEnabled"


def test_tls_alarm_fires_below_the_warning_threshold() -> None:
    alarm = RESOURCES["MinTlsDaysLeftAlarm"]["Properties"]
    assert alarm["MetricName"] == "MinTlsDaysLeft"
    assert alarm["Threshold"] == {"Ref": "TlsWarnDays"}
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Statistic"] == "Minimum"


def test_alarms_exist_only_while_the_schedule_is_enabled() -> None:
    # A disabled schedule sends no data, which the UrlsDown alarm would take for an outage.
    # (and only in the home stack: a probe stack has no alarms, tests/unit/test_probe_template.py)
    assert RESOURCES["UrlsDownAlarm"]["Condition"] == "HomeMonitorEnabled"
    assert RESOURCES["MinTlsDaysLeftAlarm"]["Condition"] == "HomeMonitorEnabled"
    assert TEMPLATE["Conditions"]["HomeMonitorEnabled"] == {
        "Fn::And": [{"Condition": "IsHome"}, {"Condition": "MonitorEnabled"}]
    }
    assert TEMPLATE["Conditions"]["MonitorEnabled"] == {"Fn::Equals": [{"Ref": "MonitorState"}, "ENABLED"]}


def test_dashboard_shows_every_metric() -> None:
    body = RESOURCES["MonitorDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    document = json.loads(body.replace("${TlsWarnDays}", "14"))
    shown = {line[1] for widget in document["widgets"] for line in widget["properties"]["metrics"] if line[0] != "..."}
    assert set(METRICS) <= shown


def test_schedule_is_a_parameter_and_targets_key_stays_under_targets() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["MonitorSchedule"]["Default"].startswith("rate(")
    assert parameters["MonitorState"]["Default"] == "DISABLED"
    assert parameters["MonitorTargetsKey"]["AllowedPattern"] == "^(targets/.+)?$"


def test_outputs_name_the_bucket_status_page_and_topic() -> None:
    assert {"ResultsBucketName", "StatusPageUri", "AlertTopicArn"} <= set(TEMPLATE["Outputs"])
