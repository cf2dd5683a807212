"""`make demo` and `make monitor-run` as a new user runs them: the tools' own processes on the built artifact."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ThreadedOrigin
from tools.emulator import BUILD_DIR

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]


def _run_tool(*args: str, timeout: float = 90) -> tuple[subprocess.CompletedProcess[str], float]:
    assert (BUILD_DIR / "fanfetch" / "handler.py").exists(), "no built artifact: run `make build`"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done, time.monotonic() - started


def test_demo_ends_within_seconds_of_its_table() -> None:
    # Given the demo, whose /hang request is still pending when the function answers
    # When it runs to the end
    done, wall_s = _run_tool("tools.demo")
    # Then it printed the table and ended soon after the invocation: the origin does not wait 60 s for /hang
    assert done.returncode == 0, done.stderr
    match = re.search(r"(\d+)/10 ok, \d+ failed, \d+ bytes in (\d+) ms", done.stdout)
    assert match, done.stdout
    invocation_s = int(match.group(2)) / 1000
    assert wall_s - invocation_s < 20, f"demo took {wall_s:.1f} s for a {invocation_s:.1f} s invocation"


def test_monitor_run_prints_verdicts_alerts_and_stored_keys(tmp_path: Path) -> None:
    with ThreadedOrigin() as origin:
        targets = tmp_path / "targets.txt"
        targets.write_text(f"# two pages\n{origin.url('/bytes/21')}\n{origin.url('/status/500')}\n")
        done, _ = _run_tool("tools.monitor_run", "--targets", str(targets), "--runs", "2", "--interval", "0")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("\nRun 2:")
    # Run 1: both new; the failing one is not down yet (a targets file's targets go down on their second failing
    # run in a row), so no alert; the run and latest.json stored in S3 (moto)
    assert re.search(r"up\s+new\s+ok\s+" + re.escape(origin.url("/bytes/21")), first), first
    assert re.search(r"up\s+new\s+http: status 500", first), first
    assert "alert: none" in first and "SNS message" not in first
    assert "stored latest: s3://fanfetch-local-results/latest.json" in first
    assert "stored run: s3://fanfetch-local-results/runs/" in first
    # Run 2: the second failure in a row takes it down, with one alert through SNS
    assert re.search(r"down\s+unchanged\s+http: status 500", second), second
    assert f"alert: went down {origin.url('/status/500')} (sent as " in second
    assert "SNS message: fanfetch: 1 down" in second


def test_monitor_run_refuses_a_missing_targets_file() -> None:
    done, _ = _run_tool("tools.monitor_run", "--targets", "no-such-targets.txt", timeout=30)
    assert done.returncode == 1
    assert done.stderr.strip() == "monitor-run: no such targets file: no-such-targets.txt"
