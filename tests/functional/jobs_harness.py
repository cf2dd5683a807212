"""The jobs harness of the tests: moto in-process (`mock_aws`) with the jobs state machine of tools/moto_jobs.py,
whose Lambda tasks run the real handlers, and the settings that point the function at it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tools.moto_jobs import BUCKET, MOTO_CONFIG, REGION, Children, create_state_machine, jobs_in_moto

__all__ = ["BUCKET", "JobWorld", "job_world"]


@dataclass
class JobWorld:
    """moto's S3 and Step Functions with the jobs state machine, and the settings that point at them."""

    state_machine_arn: str
    s3: Any
    sfn: Any
    children: Children

    def wait(self, execution_arn: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError(f"{execution_arn} still running after {timeout} s")

    def stop(self, execution_arn: str, **reason: str) -> dict[str, Any]:
        """Stop an execution by hand once its map runs its items (moto cannot stop one before, and one stopped while
        its item reader is still reading fails in moto instead of stopping), and wait for it to end."""
        for _ in range(200):
            runs = self.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
            if runs:
                counts = self.sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]).get("itemCounts", {})
                if counts.get("total", 0) > 0:
                    break
            time.sleep(0.05)
        self.sfn.stop_execution(executionArn=execution_arn, **reason)
        return self.wait(execution_arn)

    def read_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def read_lines(self, key: str) -> list[dict[str, Any]]:
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        return [json.loads(line) for line in body.splitlines()]


@pytest.fixture
def job_world(monkeypatch: pytest.MonkeyPatch, open_loopback: None) -> Iterator[JobWorld]:
    import boto3
    from fanfetch import store
    from fanfetch.settings import get_settings
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto answers AWS's own endpoints
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with jobs_in_moto() as children, mock_aws(config=MOTO_CONFIG):
        store.reset_clients()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = create_state_machine(sfn)
        monkeypatch.setenv("RESULTS_BUCKET", BUCKET)
        monkeypatch.setenv("JOBS_STATE_MACHINE_ARN", arn)
        # Chunks sized for 30 s, so that small lists still make several chunks (and each runs well inside the
        # 60 s the harness gives an invocation); the job function allows up to 5,000 URLs per chunk.
        monkeypatch.setenv("JOB_CHUNK_SECONDS", "30")
        monkeypatch.setenv("MAX_URLS", "5000")
        get_settings.cache_clear()
        yield JobWorld(arn, s3, sfn, children)
        store.reset_clients()
    get_settings.cache_clear()
