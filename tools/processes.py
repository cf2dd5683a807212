"""Local helper processes for the demo, the emulator and the benchmarks: free ports and servers that start and stop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Return once something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:g} s") from None
            time.sleep(0.05)


@contextmanager
def serving(command: Sequence[str], port: int, cwd: Path | None = None, **popen: Any) -> Iterator[int]:
    """Run a server process until the block ends; yields its port once it listens."""
    process = subprocess.Popen(list(command), cwd=cwd, **popen)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # a server that ignores SIGTERM must not hold up the caller
            process.kill()
            process.wait()
