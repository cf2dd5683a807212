"""The jobs state machine (statemachine/fanout.asl.json) executed by moto's Step Functions interpreter, its Lambda
tasks routed to the real handlers in this process, so a job runs end to end offline: S3 input, one fetch per chunk,
results merged. Used by `make jobs-demo` (moto in server mode) and the tests (moto in-process).

Where moto differs from AWS, only the copy of the definition loaded here (or moto itself) is adapted:
- InputType "JSONL" -> "JSON": moto 5.2.5 knows only JSON and CSV item readers; its JSON reader is patched
  below to read JSON Lines, which is what AWS's JSONL reader does.
- ExecutionType EXPRESS -> STANDARD: moto refuses EXPRESS children.
- ResultWriter's "Prefix.$": "$.map_prefix" -> the same value from the context object: moto evaluates the path
  against the map's result, where AWS evaluates a JSONPath state's parameters against its input.
- moto's ResultWriter writes only manifest.json (its result files are a TODO): the patch below also writes
  SUCCEEDED_0.json and FAILED_0.json in AWS's record shape (Input and Output as JSON strings, Error, Cause)
  from what the children returned, in reverse order, since AWS promises no order either.
- moto ignores ToleratedFailurePercentage: a failed child does not fail its map there.
The shipped file sets no integer ToleratedFailurePercentage (it reads a float from the execution input).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
FETCH_FUNCTION = "fanfetch-fetch"
AGGREGATE_FUNCTION = "fanfetch-aggregate"
BUCKET = "fanfetch-results"
# What moto needs to run state machines and to call (patched) Lambda functions without Docker.
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TASK_SECONDS = 60.0


class TaskContext:
    """The Lambda context of one task invocation: the parts the handlers and Powertools read."""

    function_version = "$LATEST"
    memory_limit_in_mb = 512
    log_stream_name = "local"

    def __init__(self, function_name: str, remaining_s: float) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.aws_request_id = f"{function_name}-{time.monotonic_ns()}"
        self._end = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def moto_definition(bucket: str = BUCKET) -> str:
    """The shipped definition with its substitutions filled in and moto's differences adapted (see above)."""
    text = (ROOT / "statemachine" / "fanout.asl.json").read_text()
    substitutions = {
        "${ChildExecutionType}": "STANDARD",  # moto: no EXPRESS children
        "${FetchFunctionArn}": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FETCH_FUNCTION}",
        "${AggregateFunctionArn}": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{AGGREGATE_FUNCTION}",
        "${ResultsBucket}": bucket,
    }
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    definition = json.loads(text)
    reader = definition["States"]["FetchChunks"]["ItemReader"]["ReaderConfig"]
    assert reader["InputType"] == "JSONL"
    reader["InputType"] = "JSON"  # moto: no JSONL reader; JSON reader patched to read lines
    writer = definition["States"]["FetchChunks"]["ResultWriter"]["Parameters"]
    assert writer["Prefix.$"] == "$.map_prefix"
    # moto resolves ResultWriter paths against the map's result rather than the state's input, as AWS does
    writer["Prefix.$"] = "$$.Execution.Input.map_prefix"
    return json.dumps(definition)


@dataclass
class Children:
    """What each fetch child was given and returned, for the ResultWriter moto does not implement."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The Lambda time each fetch invocation is given, by its payload: a test can cut some chunks short.
    seconds: Callable[[dict[str, Any]], float] = lambda payload: TASK_SECONDS

    def add(self, payload: dict[str, Any], output: Any = None, error: dict[str, Any] | None = None) -> None:
        record: dict[str, Any] = {"Input": json.dumps(payload), "Status": "FAILED" if error else "SUCCEEDED"}
        if error:
            record.update(Error=error["errorType"], Cause=json.dumps(error))
        else:
            record["Output"] = json.dumps(output)
        with self.lock:
            self.records.append(record)

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            taken, self.records = self.records, []
        return taken


def invoke_real_handler(children: Children) -> Any:
    from fanfetch import aggregate, handler

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        payload = json.loads(body)
        name = function_name.rsplit(":", 1)[-1]
        entry = handler.lambda_handler if name == FETCH_FUNCTION else aggregate.lambda_handler
        try:
            seconds = children.seconds(payload) if name == FETCH_FUNCTION else TASK_SECONDS
            output = entry(payload, TaskContext(name, seconds))
        except Exception as exc:  # noqa: BLE001 - a Lambda function may raise anything; so may the handlers here
            # What Lambda does with an exception: FunctionError set, errorType is the class name.
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            if name == FETCH_FUNCTION:
                children.add(payload, error=error)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error).encode()
        if name == FETCH_FUNCTION:
            children.add(payload, output=output)
        return json.dumps(output).encode()

    return invoke


def jsonl_reader() -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_output_transformer.transformer_json import (  # noqa: E501
        ResourceOutputTransformerJson,
    )

    original = ResourceOutputTransformerJson._eval_body

    def read_lines(self: Any, env: Any) -> None:
        reader_config = env.stack.pop()
        text = env.stack.pop()
        env.stack.append(json.dumps([json.loads(line) for line in text.splitlines() if line.strip()]))
        env.stack.append(reader_config)
        original(self, env)

    return mock.patch.object(ResourceOutputTransformerJson, "_eval_body", read_lines)


def result_writer(children: Children) -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
        ResourceEvalS3,
    )

    original = ResourceEvalS3._handle_put_object

    def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        original(env, resource_runtime_part, state_credentials)
        details = env.stack[-1]["ResultWriterDetails"]
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        folder = details["Key"].rsplit("/", 1)[0]
        records = list(reversed(children.take()))
        for status in ("SUCCEEDED", "FAILED"):
            chosen = [record for record in records if record["Status"] == status]
            if chosen:
                s3.put_object(Bucket=details["Bucket"], Key=f"{folder}/{status}_0.json", Body=json.dumps(chosen))

    return mock.patch.object(ResourceEvalS3, "_handle_put_object", staticmethod(write_results))


def map_runs_before_start() -> Any:
    """moto reads list_map_runs from the execution's worker and its environment, which its thread sets only once the
    execution has started; asked in between, it raises AttributeError where AWS answers an empty list (the same
    race made a status poll fail now and then). Only this copy is adapted."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.list_map_runs

    def list_map_runs(self: Any, execution_arn: str) -> dict[str, Any]:
        worker = self.describe_execution(execution_arn=execution_arn).exec_worker
        if worker is None or worker.env is None:
            return {"mapRuns": []}
        result: dict[str, Any] = original(self, execution_arn)
        return result

    return mock.patch.object(StepFunctionsParserBackend, "list_map_runs", list_map_runs)


@contextmanager
def jobs_in_moto() -> Iterator[Children]:
    """moto patched as above for as long as the block runs; yields what the fetch children returned."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    children = Children()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", invoke_real_handler(children)))
        stack.enter_context(jsonl_reader())
        stack.enter_context(result_writer(children))
        stack.enter_context(map_runs_before_start())
        yield children


def create_state_machine(sfn: Any, bucket: str = BUCKET) -> str:
    """The jobs state machine in moto, from the shipped definition; its ARN."""
    created = sfn.create_state_machine(
        name="fanfetch-jobs", definition=moto_definition(bucket), roleArn=f"arn:aws:iam::{ACCOUNT}:role/jobs"
    )
    return str(created["stateMachineArn"])
