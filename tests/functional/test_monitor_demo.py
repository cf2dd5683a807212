"""`make monitor-demo`: a monitors file over seven scheduled runs against moto (server mode), a site that changes
and a webhook receiver, all on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_monitor_demo_shows_the_failing_expectation_the_debounce_the_webhook_and_the_reminder() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.monitor_demo"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = done.stdout.split("\nRun ")
    assert len(runs) == 8, done.stdout
    # Run 2: the keyword is gone, but one failing run is only pending; nothing is sent
    assert "failing: 1 of 2" in runs[2] and "SNS alert: none" in runs[2] and "webhook POST" not in runs[2]
    # Run 3: down, with the failing expectation as the reason, one alert and one signed webhook POST
    assert 'shop-home  down      [down]       body_contains "Add to cart" not found' in runs[3]
    assert runs[3].count("SNS alert: fanfetch: 1 down") == 1
    assert "webhook POST: signature verified; events: shop-home down" in runs[3]
    # Runs 4 and 5 are quiet; run 6 reminds; run 7 recovers and says for how long it was down
    assert "SNS alert: none" in runs[4] and "SNS alert: none" in runs[5]
    assert "SNS alert: fanfetch: 1 still down" in runs[6] and "down for 30 min" in runs[6]
    assert "SNS alert: fanfetch: 1 recovered" in runs[7] and "up after 40 min" in runs[7]
    assert "config/last-good.json" in runs[7] and "latest.json" in runs[7] and "status.html" in runs[7]
