"""template.yaml as a given stack would have it: conditions evaluated for a set of parameter values, as CloudFormation
evaluates them (Equals, Not, And, Or, Condition, If, Ref to a parameter), so tests can ask what a home stack and a
probe stack hold."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
NO_VALUE = {"Ref": "AWS::NoValue"}

# A probe stack as `make deploy-regions` deploys it: the home stack's bucket, region and topic.
HOME_BUCKET = "fanfetch-resultsbucket-0123456789ab"
HOME_TOPIC = "arn:aws:sns:us-east-1:123456789012:fanfetch-AlertTopic-0123456789ab"
PROBE = {
    "HomeBucket": HOME_BUCKET,
    "HomeRegion": "us-east-1",
    "HomeTopicArn": HOME_TOPIC,
    "MonitorRegions": "us-east-1,eu-west-1,ap-southeast-2",
    "Quorum": "2",
    "MonitorState": "ENABLED",
}


def parameter(name: str, parameters: dict[str, str]) -> Any:
    return parameters.get(name, TEMPLATE["Parameters"][name].get("Default"))


def evaluated(value: Any, parameters: dict[str, str]) -> Any:
    """A template value as deployed with these parameter values: condition functions and parameter Refs resolved,
    AWS::NoValue dropped; anything else (Sub, GetAtt, Refs to resources and pseudo parameters) left as it is."""
    if isinstance(value, list):
        items = [evaluated(item, parameters) for item in value]
        return [item for item in items if item != NO_VALUE]
    if not isinstance(value, dict):
        return value
    if "Condition" in value and len(value) == 1:
        return condition(value["Condition"], parameters)
    if "Fn::And" in value:
        return all(evaluated(item, parameters) for item in value["Fn::And"])
    if "Fn::Or" in value:
        return any(evaluated(item, parameters) for item in value["Fn::Or"])
    if "Fn::If" in value:
        name, when_true, when_false = value["Fn::If"]
        return evaluated(when_true if condition(name, parameters) else when_false, parameters)
    if "Fn::Equals" in value:
        left, right = (str(item) for item in evaluated(value["Fn::Equals"], parameters))
        return left == right
    if "Fn::Not" in value:
        (inner,) = value["Fn::Not"]
        return not evaluated(inner, parameters)
    if set(value) == {"Ref"} and value["Ref"] in TEMPLATE["Parameters"]:
        return parameter(value["Ref"], parameters)
    items = {key: evaluated(item, parameters) for key, item in value.items()}
    return {key: item for key, item in items.items() if item != NO_VALUE}


def condition(name: str, parameters: dict[str, str]) -> bool:
    return bool(evaluated(TEMPLATE["Conditions"][name], parameters))


def substituted(value: Any, parameters: dict[str, str], pseudo: dict[str, str] | None = None) -> Any:
    """evaluated(), with `${Parameter}` (and `${AWS::...}` given in pseudo) in Fn::Sub strings and Refs replaced by
    their values; a Sub left with no `${...}` becomes a plain string. Resources stay as they are."""
    pseudo = pseudo or {}
    value = evaluated(value, parameters)
    if isinstance(value, list):
        return [substituted(item, parameters, pseudo) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in pseudo:
        return pseudo[value["Ref"]]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):

        def known(match: re.Match[str]) -> str:
            name = match[1]
            if name in TEMPLATE["Parameters"]:
                return str(parameter(name, parameters))
            return pseudo.get(name, match[0])

        text = re.sub(r"\$\{([A-Za-z0-9:]+)\}", known, value["Fn::Sub"])
        return text if "${" not in text else {"Fn::Sub": text}
    return {key: substituted(item, parameters, pseudo) for key, item in value.items()}


def transformed() -> dict[str, Any]:
    """The template after the SAM transform (conditions kept, as SAM keeps them); AWS_DEFAULT_REGION must be set."""
    template = copy.deepcopy(TEMPLATE)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key.zip"  # as sam package sets it
        if resource["Type"] == "AWS::Serverless::StateMachine":
            resource["Properties"]["DefinitionUri"] = "s3://bucket/fanout.asl.json"
    result: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return result


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def resources(parameters: dict[str, str], template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The resources a stack with these parameter values creates, with their properties evaluated."""
    template = TEMPLATE if template is None else template
    return {
        name: {**resource, "Properties": evaluated(resource.get("Properties", {}), parameters)}
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"], parameters)
    }


def outputs(parameters: dict[str, str]) -> set[str]:
    return {
        name
        for name, output in TEMPLATE["Outputs"].items()
        if "Condition" not in output or condition(output["Condition"], parameters)
    }
