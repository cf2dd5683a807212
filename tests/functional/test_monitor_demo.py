"""`make monitor-demo`: two scheduled runs against moto (server mode) and a site that changes between them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_monitor_demo_shows_the_change_the_alert_and_the_stored_keys() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.monitor_demo"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = done.stdout.split("\nRun 2:")
    assert "SNS alert: fanfetch: 1 down" in first  # /old is down from its first run
    assert "down  503  changed" in second and "status 200 -> 503" in second
    assert "SNS alert: fanfetch: 1 down" in second
    assert "latest.json" in second and "status.html" in second
