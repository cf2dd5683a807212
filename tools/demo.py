"""`make demo`: start a local origin, invoke the built function on it through the runtime emulator, print a table.

Works offline: every URL points at 127.0.0.1 (opened with ALLOWED_NETWORKS) except one name that cannot resolve.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from tools.emulator import RuntimeEmulator, free_port
from tools.invoke import render_table

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    port = free_port()
    # The origin is a prop: its shutdown chatter about the deliberately hanging route is not news.
    origin = subprocess.Popen(
        [sys.executable, "-m", "tools.origin", "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
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
    finally:
        origin.terminate()
        origin.wait()


if __name__ == "__main__":
    main()
