"""`make deploy-regions` / `make delete-regions` (tools/regions.py): which commands run, in which order, with which
parameter overrides; nothing here calls AWS."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from samcli.cli.types import CfnParameterOverridesType

from tools import regions
from tools.regions import Config

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {
    "ResultsBucketName": "fanfetch-resultsbucket-0123456789ab",
    "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:fanfetch-AlertTopic-0123456789ab",
}


def _config(*names: str, extra: str = "", quorum: int = 0) -> Config:
    stack_name, base = regions.samconfig_defaults(ROOT / "samconfig.toml")
    return Config(
        regions=regions.parse_regions(names or ("us-east-1", "eu-west-1", "ap-southeast-2")),
        stack_name=stack_name,
        base_overrides=base,
        extra_overrides=regions.parse_overrides(extra),
        quorum=quorum,
    )


def _overrides_as_sam_reads_them(command: Sequence[str]) -> dict[str, str]:
    """The --parameter-overrides words of a sam command, parsed by sam's own option type."""
    words = command[command.index("--parameter-overrides") + 1 :]
    parsed: dict[str, str] = CfnParameterOverridesType().convert(tuple(words), None, None)
    return parsed


def _where(command: Sequence[str]) -> tuple[str, str, str]:
    return command[1], command[command.index("--region") + 1], command[command.index("--stack-name") + 1]


class _Recorder:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))


def test_deploy_builds_once_deploys_home_then_each_probe_with_the_home_outputs() -> None:
    # Given three regions, the first the home
    config = _config(extra="MonitorSchedule=rate(1 minute) MonitorState=ENABLED", quorum=2)
    run, asked = _Recorder(), []

    def outputs_of(stack: str, region: str) -> dict[str, str]:
        asked.append((stack, region, len(run.commands)))
        return OUTPUTS

    # When it deploys
    regions.deploy(config, dry_run=False, run=run, outputs_of=outputs_of)
    # Then: one build, the home stack, its outputs read after it, then a probe stack per other region
    build, compile_pyc, *deploys = run.commands
    assert build == ["sam", "build"]
    assert compile_pyc[:3] == ["python", "-m", "compileall"] and compile_pyc[-1] == ".aws-sam/build/FanfetchFunction"
    assert [_where(command) for command in deploys] == [
        ("deploy", "us-east-1", "fanfetch"),
        ("deploy", "eu-west-1", "fanfetch-probe-eu-west-1"),
        ("deploy", "ap-southeast-2", "fanfetch-probe-ap-southeast-2"),
    ]
    assert asked == [("fanfetch", "us-east-1", 3)]
    # Running it again must not stop at a stack that has nothing to change
    assert all("--no-fail-on-empty-changeset" in command for command in deploys)
    every_stack = {
        "LogLevel": "INFO",  # samconfig.toml's, which a command-line override would otherwise drop
        "MonitorState": "ENABLED",  # PARAMS wins over samconfig.toml
        "MonitorSchedule": "rate(1 minute)",
        "MonitorRegions": "us-east-1,eu-west-1,ap-southeast-2",
        "Quorum": "2",
    }
    home, *probes = (_overrides_as_sam_reads_them(command) for command in deploys)
    assert home == every_stack
    for probe in probes:
        assert probe == {
            **every_stack,
            "HomeBucket": OUTPUTS["ResultsBucketName"],
            "HomeRegion": "us-east-1",
            "HomeTopicArn": OUTPUTS["AlertTopicArn"],
        }


def test_deploy_of_one_region_is_a_home_stack_alone() -> None:
    run = _Recorder()
    regions.deploy(_config("eu-central-1"), dry_run=False, run=run, outputs_of=lambda stack, region: OUTPUTS)
    assert [_where(command) for command in run.commands[2:]] == [("deploy", "eu-central-1", "fanfetch")]
    assert _overrides_as_sam_reads_them(run.commands[2])["MonitorRegions"] == "eu-central-1"


def test_dry_run_prints_the_plan_and_calls_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*args: object) -> dict[str, str]:
        raise AssertionError("a dry run called AWS or ran a command")

    regions.deploy(_config(), dry_run=True, run=refuse, outputs_of=refuse)
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if not line.startswith("#")]
    assert commands[0] == "sam build"
    assert [line.split()[:6] for line in commands[2:]] == [
        ["sam", "deploy", "--region", "us-east-1", "--stack-name", "fanfetch"],
        ["sam", "deploy", "--region", "eu-west-1", "--stack-name", "fanfetch-probe-eu-west-1"],
        ["sam", "deploy", "--region", "ap-southeast-2", "--stack-name", "fanfetch-probe-ap-southeast-2"],
    ]
    assert "'HomeBucket=\"<ResultsBucketName of fanfetch in us-east-1>\"'" in commands[3]
    assert "# then read ResultsBucketName and AlertTopicArn from stack fanfetch in us-east-1" in lines
    regions.delete(_config(), dry_run=True, assume_yes=False, run=refuse, ask=refuse, outputs_of=refuse)
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_delete_removes_the_probes_before_the_home_stack_after_asking() -> None:
    run, questions = _Recorder(), []

    def ask(question: str) -> str:
        questions.append(question)
        return "y"

    regions.delete(_config(), dry_run=False, assume_yes=False, run=run, ask=ask, outputs_of=lambda s, r: OUTPUTS)
    assert len(questions) == 1
    assert [_where(command) for command in run.commands] == [
        ("delete", "ap-southeast-2", "fanfetch-probe-ap-southeast-2"),
        ("delete", "eu-west-1", "fanfetch-probe-eu-west-1"),
        ("delete", "us-east-1", "fanfetch"),
    ]
    assert all(command[-1] == "--no-prompts" for command in run.commands)


def test_delete_names_the_bucket_it_will_not_empty_and_stops_on_no(capsys: pytest.CaptureFixture[str]) -> None:
    run = _Recorder()
    with pytest.raises(SystemExit, match="nothing deleted"):
        regions.delete(
            _config(), dry_run=False, assume_yes=False, run=run, ask=lambda q: "", outputs_of=lambda s, r: OUTPUTS
        )
    assert run.commands == []
    assert OUTPUTS["ResultsBucketName"] in capsys.readouterr().out
    regions.delete(_config(), dry_run=False, assume_yes=True, run=run, ask=None, outputs_of=lambda s, r: OUTPUTS)  # type: ignore[arg-type]
    assert len(run.commands) == 3


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", {}),
        ("LogLevel=DEBUG", {"LogLevel": "DEBUG"}),
        ("MonitorSchedule=rate(1 minute)  LogLevel=DEBUG", {"MonitorSchedule": "rate(1 minute)", "LogLevel": "DEBUG"}),
        ('MonitorSchedule="rate(1 minute)" MonitorUrls=https://a.test/,https://b.test/',
         {"MonitorSchedule": "rate(1 minute)", "MonitorUrls": "https://a.test/,https://b.test/"}),
        ("AlertEmail=", {"AlertEmail": ""}),
    ],
)  # fmt: skip
def test_params_are_key_value_pairs_whose_values_may_hold_spaces(text: str, parsed: dict[str, str]) -> None:
    assert regions.parse_overrides(text) == parsed
    # and sam reads back the same values from the words the tool gives it
    words = tuple(regions.sam_pair(key, value) for key, value in parsed.items())
    assert (CfnParameterOverridesType().convert(words, None, None) if words else {}) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HomeBucket=x", "set by this command"),
        ("Quorum=2", "QUORUM=N"),
        ("just words", "Key=Value pairs"),
    ],
)
def test_params_refuse_what_the_tool_sets_and_what_is_not_a_pair(text: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        regions.parse_overrides(text)


@pytest.mark.parametrize(
    ("words", "message"),
    [([], "name the regions"), (["us-east-1", "EU"], "not a region"), (["eu-west-1", "eu-west-1"], "twice")],
)
def test_regions_are_region_names_each_once(words: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        regions.parse_regions(words)


def test_main_refuses_a_quorum_above_the_number_of_regions() -> None:
    with pytest.raises(SystemExit, match="only 2 region"):
        regions.main(["deploy", "us-east-1", "eu-west-1", "--quorum", "3", "--dry-run"])


def test_samconfig_gives_the_stack_name_and_the_overrides_every_stack_keeps() -> None:
    stack_name, overrides = regions.samconfig_defaults(ROOT / "samconfig.toml")
    assert stack_name == "fanfetch"
    assert overrides == {"MonitorState": "DISABLED", "LogLevel": "INFO"}


def test_every_command_parses_with_sams_own_options() -> None:
    # sam's click commands read the words as `sam deploy` and `sam delete` would, without running them
    from samcli.commands.delete.command import cli as sam_delete
    from samcli.commands.deploy.command import cli as sam_deploy

    config = _config(extra="MonitorSchedule=rate(1 minute)")
    for command in [regions.home_deploy_command(config), *regions.probe_deploy_commands(config, OUTPUTS)]:
        parsed = sam_deploy.make_context("deploy", command[2:]).params
        assert parsed["stack_name"] == _where(command)[2]
        assert parsed["fail_on_empty_changeset"] is False
        assert parsed["parameter_overrides"] == _overrides_as_sam_reads_them(command)
        assert parsed["parameter_overrides"]["MonitorSchedule"] == "rate(1 minute)"
    for command in regions.delete_commands(config):
        parsed = sam_delete.make_context("delete", command[2:]).params
        assert (parsed["stack_name"], parsed["no_prompts"]) == (_where(command)[2], True)
