"""Runs the `sam build` artifact through the real Lambda runtime protocol, without Docker.

The Runtime Interface Emulator that ships inside aws-sam-cli fronts `awslambdaric`, which loads the
handler from the built function folder exactly as the managed python3.13 runtime does.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import samcli

from tools.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build" / "FanfetchFunction"
HANDLER = "fanfetch.handler.lambda_handler"
# Nothing may reach AWS from a local run.
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
}


LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is this machine's loopback (where moto or another stand-in listens)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def aws_environment(given: Mapping[str, str], warn: Any = None) -> dict[str, str]:
    """The function's AWS settings: fake credentials, and the given AWS_ENDPOINT_URL* kept when it is on loopback
    (a moto server, say). One that is not is replaced by a dead loopback port, and `warn` is told so."""
    environment = dict(OFFLINE_AWS)
    for name, value in given.items():
        if not name.startswith("AWS_ENDPOINT_URL"):
            continue
        if is_loopback_url(value):
            environment[name] = value
        else:
            environment[name] = OFFLINE_AWS["AWS_ENDPOINT_URL"]
            if warn is not None:
                warn(
                    f"{name}={value} is not a loopback address: the function gets {OFFLINE_AWS['AWS_ENDPOINT_URL']} "
                    "instead, so nothing reaches AWS from a local run"
                )
    return environment


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def rie_binary() -> Path:
    arch = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    return Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{arch}"


class RuntimeEmulator:
    """`with RuntimeEmulator(env={...}) as lam: lam.invoke(event)`; bound to 127.0.0.1 only."""

    def __init__(self, build_dir: Path = BUILD_DIR, env: Mapping[str, str] | None = None, timeout_s: int = 60) -> None:
        if not (build_dir / "fanfetch" / "handler.py").exists():
            raise SystemExit(f"no built function in {build_dir}: run `make build` first")
        self.build_dir = build_dir
        self.port = free_port()
        given = {**os.environ, **(env or {})}
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
            **aws_environment(given, warn=_warn),
            "LAMBDA_TASK_ROOT": str(build_dir),
            "PYTHONPATH": str(build_dir),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
            "AWS_LAMBDA_FUNCTION_NAME": "fanfetch",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "POWERTOOLS_SERVICE_NAME": "fanfetch",
            **{k: v for k, v in (env or {}).items() if not k.startswith("AWS_ENDPOINT_URL")},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the emulator; closed in __exit__
        self._final_log = ""

    def __enter__(self) -> RuntimeEmulator:
        command = [
            str(rie_binary()),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            sys.executable,
            "-m",
            "awslambdaric",
            HANDLER,
        ]
        self.process = subprocess.Popen(
            command, env=self.environment, cwd=self.build_dir, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(self.port, timeout=15)
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def invoke(self, event: Any, timeout: float = 90) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations",
            data=json.dumps(event).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def peak_rss_kb(self) -> int:
        """Peak resident memory of the function's runtime process (the emulator's child), as Lambda would count it."""
        assert self.process is not None
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        peaks = []
        for pid in children:
            with open(f"/proc/{pid}/status") as status:
                peaks += [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
        if not peaks:
            raise RuntimeError("the function's runtime process was not found")
        return max(peaks)

    def logs(self) -> str:
        """What the emulator and the function wrote (the function's structured logs among it)."""
        if self._log.closed:
            return self._final_log
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if not self._log.closed:
            self._final_log = self.logs()
            self._log.close()
