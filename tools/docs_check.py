"""`make docs-check`: every command in README.md and docs/*.md is run, so none can rot unnoticed.

Commands live in fenced blocks whose info string starts with `bash`; one line is one command (a trailing `\\`
continues it). Words after `bash` say how a block is checked:

    ```bash            run it here; it must exit 0
    ```bash server     a server: run it until it listens on PORT, then stop it
    ```bash dry        too long or recursive to run here (make check, make bench): `make -n`, i.e. the target exists
                       and its recipe expands
    ```bash aws        needs an AWS account: checked for syntax only (bash -n; `make -n` for make; the client's
                       own argument parser for fanfetch)

Commands quoted inline (`make ...`, `fanfetch ...`) are checked like `dry` and `aws` ones. Relative links must
point at files that exist. `PORT` is set to a free port, so `make serve` never collides with another server.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tools.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 160
RUN_TIMEOUT_S = 120
# Written by `make cost` on another branch; linked before it exists here.
MAY_BE_MISSING = {"docs/cost.md"}
MODES = ("run", "server", "dry", "aws")
_FENCE = re.compile(r"^```bash(?P<marks>[^\n]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(?<!`)`((?:make|fanfetch) [^`]+)`(?!`)")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Command:
    source: str  # file:line
    text: str
    mode: str


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands(page: Path) -> Iterator[Command]:
    text = page.read_text()
    name = page.relative_to(ROOT)
    for block in _FENCE.finditer(text):
        marks = block["marks"].split()
        mode = marks[0] if marks else "run"
        if mode not in MODES:
            raise SystemExit(f"{name}: unknown mark ```bash {mode} (use one of {', '.join(MODES)})")
        first_line = text.count("\n", 0, block.start("body")) + 1
        pending = ""
        for offset, line in enumerate(block["body"].splitlines()):
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command and not command.startswith("#"):
                yield Command(f"{name}:{first_line + offset}", command, mode)
    outside = _FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), text)
    for number, line in enumerate(outside.splitlines(), start=1):
        for quoted in _INLINE.findall(line):
            yield Command(f"{name}:{number}", quoted, "aws" if quoted.startswith("fanfetch") else "dry")


def links(page: Path) -> Iterator[str]:
    """Relative links that lead nowhere."""
    for target in _LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        if not path.exists() and relative not in MAY_BE_MISSING:
            yield f"{page.relative_to(ROOT)}: link to {target} leads nowhere"


def _environment(port: int | None = None) -> dict[str, str]:
    return {**os.environ, "PORT": str(port or free_port())}


def _syntax(command: Command) -> str | None:
    """Why the command would not even start, or None."""
    checked = subprocess.run(["bash", "-n", "-c", command.text], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        return checked.stderr.strip()
    words = shlex.split(command.text, comments=True)
    if words and words[0] == "make":
        dry = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
        return None if dry.returncode == 0 else (dry.stderr or dry.stdout).strip()
    if words and words[0] == "fanfetch":
        return _client_syntax(words[1:])
    return None


def _client_syntax(argv: list[str]) -> str | None:
    from fanfetch_client.cli import _parser

    simple = []
    for word in argv:
        if word in ("|", "&&", "||", ";", ">", ">>", "<"):
            break
        simple.append(word)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(simple)
    except SystemExit as exc:
        return None if exc.code == 0 else errors.getvalue().strip().splitlines()[-1]
    return None


def _run(command: Command) -> str | None:
    try:
        done = subprocess.run(
            ["bash", "-c", command.text], cwd=ROOT, env=_environment(), capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"still running after {RUN_TIMEOUT_S} s"
    if done.returncode != 0:
        return f"exit status {done.returncode}\n{(done.stdout + done.stderr)[-2000:]}"
    return None


def _serve(command: Command) -> str | None:
    """A server passes when it listens on the port given as PORT; it is stopped then."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the server stops
    process = subprocess.Popen(
        ["bash", "-c", command.text], cwd=ROOT, env=_environment(port), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return None
            time.sleep(0.1)
        log.seek(0)
        output = log.read().decode(errors="replace")[-2000:]
        return f"never listened on PORT={port} (exit status {process.poll()})\n{output}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def check(command: Command) -> tuple[Command, str | None, float]:
    started = time.monotonic()
    problem = _syntax(command)
    if problem is None and command.mode == "run":
        problem = _run(command)
    elif problem is None and command.mode == "server":
        problem = _serve(command)
    return command, problem, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="commands run at once (default 2)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "client"))
    problems = [problem for page in pages() for problem in links(page)]
    readme_lines = len((ROOT / "README.md").read_text().splitlines())
    if readme_lines > README_MAX_LINES:
        problems.append(f"README.md: {readme_lines} lines; a front page keeps to about 150 (topic pages in docs/)")
    found = [command for page in pages() for command in commands(page)]
    started = time.monotonic()
    # Commands that run start first, the checks of syntax (a fraction of a second each) fill in behind them.
    order = sorted(range(len(found)), key=lambda index: found[index].mode not in ("run", "server"))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        checked = dict(zip(order, pool.map(check, [found[index] for index in order]), strict=True))
        for command, problem, seconds in (checked[index] for index in range(len(found))):
            verdict = "ok" if problem is None else "FAILED"
            print(f"{verdict:6} {command.mode:6} {seconds:5.1f} s  {command.source}  {command.text}", flush=True)
            if problem is not None:
                problems.append(f"{command.source}: {command.text}\n    " + problem.replace("\n", "\n    "))
    counts = {mode: sum(1 for command in found if command.mode == mode) for mode in MODES}
    print(
        f"\n{len(found)} commands in {len(pages())} pages ({', '.join(f'{n} {mode}' for mode, n in counts.items())}) "
        f"in {time.monotonic() - started:.0f} s"
    )
    if problems:
        print("\n" + "\n".join(problems), file=sys.stderr)
        raise SystemExit(f"docs-check: {len(problems)} problem(s)")


if __name__ == "__main__":
    main()
