"""The layout's rules, read from the source: which parts may import what, and what importing the handler loads."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "fanfetch"
# What a pure part of monitoring may not import: the I/O, the environment, the logging, AWS and HTTP.
IMPURE = ("fanfetch.store", "fanfetch.settings", "fanfetch.observability", "boto3", "botocore", "aiohttp")
# The monitoring parts that do I/O; every other module of monitoring/ is pure. The publisher is the runner's step
# for what follows latest.json (the day rollup, incidents, status.json, badges).
IO_PARTS = {"monitoring/targets.py", "monitoring/runner.py", "monitoring/publisher.py"}
IO_PREFIXES = ("monitoring/alerts/channels/",)


def imports_of(source: str, module: str) -> set[str]:
    """Every module a source file imports, anywhere in it (lazy imports too), as dotted names. `from a import b`
    counts as both `a` and `a.b`, since b may be a module."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules(under: str) -> dict[str, set[str]]:
    """{path relative to fanfetch/: its imports} for every module under a folder of the package."""
    found = {}
    for path in sorted((PACKAGE / under).rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        dotted = "fanfetch." + relative.removesuffix(".py").replace("/", ".")
        found[relative] = imports_of(path.read_text(), dotted)
    return found


def breaks(imported: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported if any(name == f or name.startswith(f + ".") for f in forbidden))


def is_pure(relative: str) -> bool:
    return relative not in IO_PARTS and not relative.startswith(IO_PREFIXES)


def test_the_import_check_sees_every_form_of_import() -> None:
    source = "import boto3\nfrom fanfetch import store\ndef f():\n    from ..engine import fetcher\n"
    imported = imports_of(source, "fanfetch.monitoring.judge")
    assert breaks(imported, ("boto3", "fanfetch.store", "fanfetch.engine")) == [
        "boto3",
        "fanfetch.engine",
        "fanfetch.engine.fetcher",
        "fanfetch.store",
    ]


def test_monitoring_has_pure_parts_and_io_parts() -> None:
    found = modules("monitoring")
    assert {"monitoring/judge.py", "monitoring/transitions.py", "monitoring/state.py"} <= set(found)
    assert set(found) >= IO_PARTS


@pytest.mark.parametrize("relative", sorted(name for name in modules("monitoring") if is_pure(name)))
def test_pure_monitoring_parts_import_no_io_settings_logging_aws_or_http(relative: str) -> None:
    assert breaks(modules("monitoring")[relative], IMPURE) == []


def test_only_the_runner_imports_the_alert_channels_and_only_io_parts_import_store() -> None:
    found = modules("monitoring")
    channels = ("fanfetch.monitoring.alerts.channels",)
    # Channels share their HTTP post among themselves; outside them only the runner may import one.
    importers = [name for name, imported in found.items() if breaks(imported, channels)]
    assert [name for name in importers if not name.startswith(IO_PREFIXES)] == ["monitoring/runner.py"]
    store_users = {name for name, imported in found.items() if breaks(imported, ("fanfetch.store",))}
    assert store_users <= IO_PARTS | {name for name in found if name.startswith(IO_PREFIXES)}


def test_render_reads_only_views() -> None:
    # The views: the page's (views.py) and what is published for anyone (published.py: status.json, badges)
    views = {
        "fanfetch.monitoring.views",
        "fanfetch.monitoring.views.PageView",
        "fanfetch.monitoring.published",
        "fanfetch.monitoring.published.Badge",
    }
    for relative, imported in modules("monitoring/render").items():
        ours = {name for name in imported if name.startswith("fanfetch")}
        assert ours <= views, relative


def test_engine_and_monitoring_do_not_import_each_other() -> None:
    for relative, imported in modules("engine").items():
        assert breaks(imported, ("fanfetch.monitoring",)) == [], relative
    for relative, imported in modules("monitoring").items():
        assert breaks(imported, ("fanfetch.engine",)) == [], relative


def test_the_engine_knows_nothing_of_aws_settings_or_sinks() -> None:
    for relative, imported in modules("engine").items():
        forbidden = ("boto3", "botocore", "fanfetch.store", "fanfetch.settings", "fanfetch.observability")
        assert breaks(imported, forbidden) == [], relative


def test_importing_the_handler_loads_no_boto3_jinja2_cryptography_or_api() -> None:
    # A fresh interpreter: this test process has long imported all of them.
    script = "import sys, json, fanfetch.handler; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(json.loads(out))
    assert "fanfetch.handler" in loaded and "fanfetch.engine" in loaded
    # Powertools imports the bare botocore package (a few modules); its client and session are what cost.
    heavy = ("boto3", "botocore.client", "botocore.session", "jinja2", "cryptography", "fanfetch.api")
    assert breaks(loaded, heavy) == []
    assert breaks(loaded, ("aws_lambda_powertools.event_handler",)) == []


# Where settings are read and the wall clock is looked at; everything else takes them as parameters.
# The engine reads the clock at the moment it observes (a certificate's days left, a Retry-After date). The jobs
# routes' I/O (jobs/service.py) names a new job by the time, and the aggregate is its own Lambda entry point.
CLOCK_AND_SETTINGS_READERS = {
    "handler.py",
    "api.py",
    "service.py",
    "monitoring/runner.py",
    "engine/tls.py",
    "engine/retries.py",
    "jobs/service.py",
    "aggregate.py",
}
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time")}


def reads_of_clock_or_settings(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id == "get_settings":
            found.append("get_settings()")
        elif isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            if (function.value.id, function.attr) in CLOCK_READS:
                found.append(f"{function.value.id}.{function.attr}()")
            elif function.attr == "get_settings":
                found.append("get_settings()")
    return found


def test_the_clock_check_sees_clock_and_settings_reads() -> None:
    source = "def f():\n    return datetime.now(UTC), time.time(), settings.get_settings(), get_settings()\n"
    assert reads_of_clock_or_settings(source) == ["datetime.now()", "time.time()", "get_settings()", "get_settings()"]


def test_settings_and_the_clock_are_read_only_by_the_entry_points_service_and_runner() -> None:
    readers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if reads_of_clock_or_settings(path.read_text())
    }
    assert readers <= CLOCK_AND_SETTINGS_READERS
