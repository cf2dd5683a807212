"""`make jobs-demo` as a new user runs it, on fewer URLs: moto server, local API, the client in its own process."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_jobs_demo_submits_waits_downloads_and_summarises(tmp_path: Path) -> None:
    # When the demo runs a job of 3,000 URLs (two chunks), every 1,000th a 404
    done = subprocess.run(
        [sys.executable, "-m", "tools.jobs_demo", "--urls", "3000", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    # Then the client submitted it, waited for it and downloaded one result per URL, in order
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "--no-sign --bucket fanfetch-results job submit" in done.stdout
    assert ": SUCCEEDED" in done.stdout
    assert "3000 results in" in done.stdout and ": 2997 ok, 3 failed" in done.stdout
    with (tmp_path / "results.csv").open(newline="") as rows:
        results = list(csv.DictReader(rows))
    urls = (tmp_path / "urls.txt").read_text().split()
    assert [row["url"] for row in results] == urls
    assert [row["url"].rsplit("=", 1)[1] for row in results if row["error_type"] == "http"] == ["999", "1999", "2999"]
