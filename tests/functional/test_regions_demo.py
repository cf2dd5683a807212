"""`make regions-demo`: one monitor probed from three regions over eight rounds against moto (server mode) and a
site that fails chosen regions, all on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_regions_demo_shows_the_dissent_the_one_alert_the_quiet_round_and_the_silent_region() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tools.regions_demo"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 60, "the demo should end within about half a minute"
    rounds = done.stdout.split("\nRound ")
    assert len(rounds) == 9, done.stdout
    # Round 1: unknown until a second region has a verdict, then up
    assert "us-east-1       saw up              quorum: shop unknown" in rounds[1]
    assert "SNS alert: none" in rounds[1]
    # Round 2: eu-west-1 alone sees it down: the quorum stays up, eu-west-1 dissents, nobody is told
    assert "eu-west-1       saw down (HTTP 503) quorum: shop up" in rounds[2]
    assert "dissenting: eu-west-1" in rounds[2] and "SNS alert: none" in rounds[2]
    # Round 3: ap-southeast-2's run makes the quorum: down, one alert naming both regions
    assert "ap-southeast-2  saw down (HTTP 503) quorum: shop down [down]" in rounds[3]
    assert rounds[3].count("SNS alert:") == 1 and "SNS alert: fanfetch: 1 down" in rounds[3]
    assert "down in eu-west-1, ap-southeast-2 (2 of 3 regions, quorum 2)" in rounds[3]
    # Round 4: nothing new, nothing sent
    assert "quorum: shop up" not in rounds[4] and "SNS alert: none" in rounds[4]
    # Round 5: recovered, told once
    assert rounds[5].count("SNS alert:") == 1 and "SNS alert: fanfetch: 1 recovered" in rounds[5]
    # ap-southeast-2 stops after round 5: silent two periods later, reported once, still a quorum of two
    silent = [number for number in range(6, 9) if "this run reports region(s) silent: ap-southeast-2" in rounds[number]]
    assert silent == [8], done.stdout
    assert "SNS alert: fanfetch: 1 region(s) silent" in rounds[8]
    assert done.stdout.count("region(s) silent") == 2  # the run's line and the one alert
    assert all("quorum: shop up" in rounds[number] for number in range(6, 9))
    # The probes named their regions, and the page and status.json are where the demo says
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert f" (+region {region})" in done.stdout
    status = json.loads((ROOT / ".regions-demo" / "status.json").read_text())
    assert status["regions"]["ap-southeast-2"]["silent"] is True
    assert status["targets"][0]["quorum"] == {"required": 2, "regions": 3}
    page = (ROOT / ".regions-demo" / "status.html").read_text()
    assert "Probe region silent, not counted: ap-southeast-2" in page
    assert str(ROOT / ".regions-demo" / "status.html") in done.stdout
