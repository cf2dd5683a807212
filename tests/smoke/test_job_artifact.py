"""The built job function as a Distributed Map invokes it: a chunk under the runtime writes its part to S3 (moto
server mode, so the artifact's own boto3 goes over HTTP) and answers with counts only."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ThreadedOrigin, retarget
from tests.smoke.conftest import BUCKET, ResultsBucket
from tools.emulator import ROOT, RuntimeEmulator

pytestmark = pytest.mark.smoke

JOB_BUILD_DIR = ROOT / ".aws-sam" / "build" / "JobFetchFunction"


def test_job_artifact_writes_a_chunks_results_to_its_part(results_bucket: ResultsBucket) -> None:
    with ThreadedOrigin() as origin:
        event = retarget("job-chunk.json", origin)
        env = {
            "ALLOWED_NETWORKS": "127.0.0.0/8",
            "ALLOWED_PORTS": "1-65535",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "RESULTS_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL": results_bucket.endpoint,
            "MAX_URLS": "5000",  # as template.yaml sets it for the job function
        }
        with RuntimeEmulator(build_dir=JOB_BUILD_DIR, env=env, timeout_s=240) as emulator:
            answer = emulator.invoke(event)
    key = f"jobs/{event['job']['id']}/parts/{event['job']['chunk']:08d}.jsonl"
    assert answer == {
        "part": f"s3://{BUCKET}/{key}",
        "total": len(event["urls"]),
        "ok": len(event["urls"]),
        "failed": 0,
        "bytes": answer["bytes"],
        "deadline_hit": False,
    }
    lines = results_bucket.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    assert [json.loads(line)["url"] for line in lines] == event["urls"]
    assert answer["bytes"] == sum(json.loads(line)["bytes"] for line in lines) > 0
