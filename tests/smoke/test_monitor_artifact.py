"""The built artifact as a monitor: its own boto3 and Jinja2 write to S3 (moto server mode) under the runtime."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.conftest import EVENTS, ThreadedOrigin
from tests.smoke.conftest import BUCKET, ResultsBucket
from tools.emulator import RuntimeEmulator

pytestmark = pytest.mark.smoke


def test_artifact_keeps_a_scheduled_run_and_writes_the_status_page(results_bucket: ResultsBucket) -> None:
    s3 = results_bucket.s3
    with ThreadedOrigin() as origin:
        env = {
            "ALLOWED_NETWORKS": "127.0.0.0/8",
            "ALLOWED_PORTS": "1-65535",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "MONITOR_URLS": f"{origin.url('/bytes/21')},{origin.url('/status/500')}",
            "RESULTS_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL": results_bucket.endpoint,
        }
        with RuntimeEmulator(env=env) as emulator:
            response = emulator.invoke(json.loads((EVENTS / "schedule.json").read_text()))
    assert [r["state"] for r in response["results"]] == ["up", "down"]
    assert response["summary"]["went_down"] == 1
    assert response["monitor"]["errors"] == []
    page = gzip.decompress(s3.get_object(Bucket=BUCKET, Key="status.html")["Body"].read()).decode()
    assert page.count('<section class="target row') == 2
    assert json.loads(s3.get_object(Bucket=BUCKET, Key="latest.json")["Body"].read())["urls"]
