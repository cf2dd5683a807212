"""What AWS would refuse and moto accepts, checked on template.yaml and the state machine as data: a job's map
never asks for more children than its function can run, and IAM holds what the Distributed Map docs give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fanfetch.settings import Settings
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
DEFINITION: dict[str, Any] = json.loads((ROOT / "statemachine" / "fanout.asl.json").read_text())
RESOURCES = TEMPLATE["Resources"]
# An EXPRESS child execution may run at most 5 minutes.
EXPRESS_SECONDS = 300


def _value(node: object, overrides: dict[str, int]) -> object:
    """A property as deployed with these parameter values (Ref to a parameter only; anything else as is)."""
    if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in TEMPLATE["Parameters"]:
        name = node["Ref"]
        return overrides.get(name, TEMPLATE["Parameters"][name].get("Default"))
    return node


def _substitution(name: str) -> Any:
    return RESOURCES["JobsStateMachine"]["Properties"]["DefinitionSubstitutions"][name]


@pytest.mark.parametrize("overrides", [{}, {"JobConcurrency": 7}, {"JobConcurrency": 500, "ReservedConcurrency": 3}])
def test_a_jobs_map_never_runs_more_children_than_its_function_reserves(overrides: dict[str, int]) -> None:
    # The map invokes the job function, whose reservation is JobConcurrency...
    assert _substitution("FetchFunctionArn") == {"Fn::GetAtt": ["JobFetchFunction", "Arn"]}
    reserved = _value(RESOURCES["JobFetchFunction"]["Properties"]["ReservedConcurrentExecutions"], overrides)
    # ...and its MaxConcurrency is read from the execution input, which POST /jobs clamps to JOB_CONCURRENCY
    assert DEFINITION["States"]["FetchChunks"]["MaxConcurrencyPath"] == "$.max_concurrency"
    assert "MaxConcurrency" not in DEFINITION["States"]["FetchChunks"]
    environment = RESOURCES["FanfetchFunction"]["Properties"]["Environment"]["Variables"]
    clamp = _value(environment["JOB_CONCURRENCY"], overrides)
    assert isinstance(reserved, int) and clamp == reserved
    # The settings default is the parameter default, so a function without the variable clamps the same way
    assert TEMPLATE["Parameters"]["JobConcurrency"]["Default"] == Settings().JOB_CONCURRENCY
    # /fetch and the monitor keep their own reservation
    assert RESOURCES["FanfetchFunction"]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


def test_a_chunk_sized_for_its_worst_case_ends_inside_the_job_function_and_an_express_child() -> None:
    properties = RESOURCES["JobFetchFunction"]["Properties"]
    settings = Settings()
    assert settings.JOB_CHUNK_SECONDS + 30 <= properties["Timeout"] < EXPRESS_SECONDS
    assert int(properties["Environment"]["Variables"]["MAX_URLS"]) >= settings.JOB_CHUNK_MAX_URLS
    # The throttling retries of a child wait at most about 45 s in all, so a child ends inside its 5 minutes
    (throttled,) = [
        retry
        for retry in DEFINITION["States"]["FetchChunks"]["ItemProcessor"]["States"]["FetchChunk"]["Retry"]
        if "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
    ]
    waits = [
        min(throttled["IntervalSeconds"] * throttled["BackoffRate"] ** n, throttled["MaxDelaySeconds"])
        for n in range(throttled["MaxAttempts"])
    ]
    assert properties["Timeout"] + sum(waits) < EXPRESS_SECONDS


def _statements() -> list[dict[str, Any]]:
    (policy,) = RESOURCES["JobsStateMachine"]["Properties"]["Policies"]
    statements: list[dict[str, Any]] = policy["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_state_machine_role_holds_the_distributed_map_grants_and_no_more() -> None:
    by_action = {frozenset(_actions(statement)): statement["Resource"] for statement in _statements()}
    arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    assert by_action == {
        frozenset({"lambda:InvokeFunction"}): [
            {"Fn::GetAtt": ["JobFetchFunction", "Arn"]},
            {"Fn::GetAtt": ["JobAggregateFunction", "Arn"]},
        ],
        # ItemReader: a job's chunks, and its second pass's
        frozenset({"s3:GetObject"}): [
            {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/input.jsonl"},
            {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/retry/input.jsonl"},
        ],
        # ResultWriter: the four actions AWS documents, on the map's prefixes
        frozenset({"s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}): [
            {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/map/*"},
            {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/retry/map/*"},
        ],
        frozenset({"states:StartExecution"}): {"Fn::Sub": f"{arn}:stateMachine:${{AWS::StackName}}-jobs"},
        frozenset({"states:DescribeExecution", "states:StopExecution"}): [
            {"Fn::Sub": f"{arn}:execution:${{AWS::StackName}}-jobs:*"},
            {"Fn::Sub": f"{arn}:execution:${{AWS::StackName}}-jobs/*"},
        ],
    }


def test_only_the_job_function_may_write_parts_and_only_the_aggregate_reads_them() -> None:
    def grants(role: str) -> dict[str, Any]:
        (policy,) = RESOURCES[role]["Properties"]["Policies"]
        return {action: s["Resource"] for s in policy["PolicyDocument"]["Statement"] for action in _actions(s)}

    assert grants("JobFetchRole")["s3:PutObject"] == {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/parts/*"}
    assert {"Fn::Sub": "${ResultsBucket.Arn}/jobs/*/parts/*"} in grants("JobAggregateRole")["s3:GetObject"]
    assert RESOURCES["JobFetchFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["JobFetchRole", "Arn"]}


def _paths(node: object) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(key, value) for key, value in node.items() if key.endswith(".$") and isinstance(value, str)]
        return found + [path for value in node.values() for path in _paths(value)]
    if isinstance(node, list):
        return [path for value in node for path in _paths(value)]
    return []


def test_result_writer_reads_its_prefix_from_the_state_input_not_the_context_object() -> None:
    writer = DEFINITION["States"]["FetchChunks"]["ResultWriter"]["Parameters"]
    assert writer == {"Bucket": "${ResultsBucket}", "Prefix.$": "$.map_prefix"}
    # The context object ($$) is documented for Parameters of Task, Map and Pass states, not for ResultWriter or
    # ItemReader: no path anywhere in the definition uses it
    assert all(not value.startswith("$$") for _, value in _paths(DEFINITION))
