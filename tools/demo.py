"""`make demo`: start a local origin, invoke the built function on it through the runtime emulator, print a table.

Works offline: every URL points at 127.0.0.1 (opened with ALLOWED_NETWORKS) except one name that cannot resolve.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tools.emulator import RuntimeEmulator
from tools.invoke import render_table
from tools.processes import free_port, serving

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    port = free_port()
    # The origin is a prop: its shutdown chatter about the deliberately hanging route is not news.
    origin = [sys.executable, "-m", "tools.origin", "--port", str(port)]
    with serving(origin, port, cwd=ROOT, stderr=subprocess.DEVNULL):
        base = f"http://127.0.0.1:{port}"
        event = json.loads((ROOT / "events" / "direct.json").read_text())
        event["urls"] = [
            f"{base}/",
            f"{base}/bytes/1048576",
            f"{base}/gzip/100000",
            f"{base}/redirect/3",
            f"{base}/flaky/demo?retry_after=1",
            f"{base}/status/404",
            f"{base}/hang",
            f"{base}/loop",
            "http://unresolvable.invalid/",
            "http://169.254.169.254/latest/meta-data/",
        ]
        event["options"] = {"timeout": 2, "retries": 1}
        env = {"ALLOWED_NETWORKS": "127.0.0.0/8", "ALLOWED_PORTS": f"80,443,{port}"}
        with RuntimeEmulator(env=env) as function:
            response = function.invoke(event)
    print(render_table(response))


if __name__ == "__main__":
    main()
