"""The docs check itself: it finds every command, runs or checks each as marked, and fails on what has rotted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import docs_check
from tools.docs_check import Command, check, commands, links

PAGE = """# A page

```bash
make help
echo one \\
  two
# a comment is no command
```

```bash aws
fanfetch job status 20261126T224045Z-40ded695e3f1
```

```json
{"not": "a command"}
```

Quoted: `make serve PORT=8080` and `fanfetch fetch --timeout 5 https://example.com/`. A [link](missing.md), the
[cost](cost.md) and [the architecture](architecture.md).
"""


@pytest.fixture
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(docs_check, "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    written = tmp_path / "docs" / "page.md"
    written.write_text(PAGE)
    (tmp_path / "docs" / "architecture.md").write_text("# here\n")
    return written


def test_commands_are_read_from_bash_blocks_and_inline_quotes(page: Path) -> None:
    found = [(command.text, command.mode, command.source) for command in commands(page)]
    assert found == [
        ("make help", "run", "docs/page.md:4"),
        ("echo one    two", "run", "docs/page.md:6"),
        ("fanfetch job status 20261126T224045Z-40ded695e3f1", "aws", "docs/page.md:11"),
        ("make serve PORT=8080", "dry", "docs/page.md:18"),
        ("fanfetch fetch --timeout 5 https://example.com/", "aws", "docs/page.md:18"),
    ]


def test_an_unknown_mark_is_refused(page: Path) -> None:
    page.write_text("```bash later\nmake help\n```\n")
    with pytest.raises(SystemExit, match=r"unknown mark ```bash later"):
        list(commands(page))


def test_links_that_lead_nowhere_are_named_except_the_cost_page(page: Path) -> None:
    assert list(links(page)) == ["docs/page.md: link to missing.md leads nowhere"]


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (Command("x", "make no-such-target", "dry"), "No rule to make target 'no-such-target'"),
        (Command("x", "fanfetch fetch --no-such-flag", "aws"), "unrecognized arguments: --no-such-flag"),
        (Command("x", "fanfetch job status", "aws"), "the following arguments are required: job_id"),
        (Command("x", "echo 'unclosed", "aws"), "unexpected EOF"),
        (Command("x", "exit 3", "run"), "exit status 3"),
    ],
)
def test_check_fails_on_what_has_rotted(command: Command, problem: str) -> None:
    _, found, _ = check(command)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "command",
    [
        Command("x", "make -s help", "run"),
        Command("x", "make check", "dry"),
        Command("x", "fanfetch --api-url http://127.0.0.1:3000 --no-sign fetch --file - --output csv > out", "aws"),
        Command("x", "python3 -m http.server --bind 127.0.0.1 $PORT", "server"),
    ],
)
def test_check_passes_what_works(command: Command) -> None:
    assert check(command)[1] is None
