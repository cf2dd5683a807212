"""`make deploy-regions` / `make delete-regions`: a monitor that probes from several regions, as several stacks.

The first region is the home: its stack (samconfig.toml's stack name) holds the results bucket, latest.json, the
page, the alert topic and the alarms. Every other region gets `<stack>-probe-<region>`: the same template with
HomeBucket set, which holds only the scheduled function, its schedule, its role and its log group, and writes to the
home bucket and topic. All stacks get the same MonitorRegions (every region given) and Quorum.

    python -m tools.regions deploy us-east-1 eu-west-1 ap-southeast-2 [--params "K=V ..."] [--quorum N] [--dry-run]
    python -m tools.regions delete us-east-1 eu-west-1 ap-southeast-2 [--yes] [--dry-run]

Deploy builds once (`sam build`, then compiled .pyc files, as `make deploy`), deploys the home stack, reads its
ResultsBucketName and AlertTopicArn outputs, then deploys each probe. Delete removes the probes, then the home stack.
`--dry-run` prints every command with its parameter overrides and calls nothing.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ".aws-sam/build/FanfetchFunction"
# The overrides this tool sets itself; PARAMS may not set them.
OWN_PARAMETERS = ("MonitorRegions", "Quorum", "HomeBucket", "HomeRegion", "HomeTopicArn")
HOME_OUTPUTS = ("ResultsBucketName", "AlertTopicArn")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
# PARAMS="MonitorSchedule=rate(1 minute) LogLevel=DEBUG": a pair runs up to the next ` Key=`, so values keep spaces.
_PAIR = re.compile(r"([A-Za-z0-9]+)=(.*?)(?=\s+[A-Za-z0-9]+=|\s*$)", re.DOTALL)


@dataclass(frozen=True)
class Config:
    """What a plan is made of: the regions (home first), samconfig.toml's defaults and the user's overrides."""

    regions: tuple[str, ...]
    stack_name: str
    base_overrides: dict[str, str]  # samconfig.toml's deploy parameter_overrides
    extra_overrides: dict[str, str]  # PARAMS
    quorum: int = 0
    sam: str = "sam"
    python: str = "python"

    @property
    def home(self) -> str:
        return self.regions[0]

    @property
    def probes(self) -> tuple[str, ...]:
        return self.regions[1:]

    def probe_stack(self, region: str) -> str:
        return f"{self.stack_name}-probe-{region}"


def parse_regions(words: Sequence[str]) -> tuple[str, ...]:
    regions = tuple(region for word in words for region in word.replace(",", " ").split())
    if not regions:
        raise SystemExit('regions: name the regions, home first: REGIONS="us-east-1 eu-west-1 ap-southeast-2"')
    for region in regions:
        if not _REGION.match(region):
            raise SystemExit(f"regions: {region!r} is not a region name such as eu-west-1")
    if len(set(regions)) != len(regions):
        raise SystemExit(f"regions: a region is named twice in {' '.join(regions)}")
    return regions


def parse_overrides(text: str) -> dict[str, str]:
    """`Key=Value Key2=Value with spaces` (quotes around a value are dropped) into an ordered mapping."""
    text = text.strip()
    if not text:
        return {}
    pairs = _PAIR.findall(text)
    rebuilt = " ".join(f"{key}={value}" for key, value in pairs)
    if not pairs or re.sub(r"\s+", " ", rebuilt) != re.sub(r"\s+", " ", text):
        raise SystemExit(f'regions: PARAMS must be Key=Value pairs separated by spaces, got "{text}"')
    overrides = {key: _unquoted(value.strip()) for key, value in pairs}
    own = sorted(set(overrides) & set(OWN_PARAMETERS))
    if own:
        raise SystemExit(f"regions: {', '.join(own)} are set by this command (use QUORUM=N for Quorum), not PARAMS")
    return overrides


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def samconfig_defaults(path: Path, config_env: str = "default") -> tuple[str, dict[str, str]]:
    """The stack name and the deploy parameter_overrides of samconfig.toml, which a command-line override replaces."""
    document = tomllib.loads(path.read_text())
    environment = document.get(config_env, {})
    stack_name = environment.get("global", {}).get("parameters", {}).get("stack_name", "fanfetch")
    overrides = environment.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    return str(stack_name), parse_overrides(str(overrides))


def sam_pair(key: str, value: str) -> str:
    """One `--parameter-overrides` word as sam reads it: a value with spaces or quotes, or an empty one, is quoted."""
    if value and not re.search(r"[\s\"'\\]", value):
        return f"{key}={value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}="{escaped}"'


def _overrides(config: Config, own: Mapping[str, str]) -> dict[str, str]:
    return {**config.base_overrides, **config.extra_overrides, **own}


def _sam_deploy(config: Config, region: str, stack_name: str, overrides: Mapping[str, str]) -> list[str]:
    pairs = [sam_pair(key, value) for key, value in overrides.items()]
    # A stack without changes is no failure: running the command again updates only the stacks that changed.
    where = ["--region", region, "--stack-name", stack_name, "--no-fail-on-empty-changeset"]
    return [config.sam, "deploy", *where, "--parameter-overrides", *pairs]


def build_commands(config: Config) -> list[list[str]]:
    """One build for every region: the artifact does not depend on the region; sam uploads it to each."""
    compile_pyc = [config.python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    return [[config.sam, "build"], [*compile_pyc, BUILD_DIR]]


def home_overrides(config: Config) -> dict[str, str]:
    return _overrides(config, {"MonitorRegions": ",".join(config.regions), "Quorum": str(config.quorum)})


def probe_overrides(config: Config, region: str, outputs: Mapping[str, str]) -> dict[str, str]:
    del region  # every probe gets the same overrides; only its stack's region and name differ
    return _overrides(
        config,
        {
            "MonitorRegions": ",".join(config.regions),
            "Quorum": str(config.quorum),
            "HomeBucket": outputs["ResultsBucketName"],
            "HomeRegion": config.home,
            "HomeTopicArn": outputs["AlertTopicArn"],
        },
    )


def home_deploy_command(config: Config) -> list[str]:
    return _sam_deploy(config, config.home, config.stack_name, home_overrides(config))


def probe_deploy_commands(config: Config, outputs: Mapping[str, str]) -> list[list[str]]:
    return [
        _sam_deploy(config, region, config.probe_stack(region), probe_overrides(config, region, outputs))
        for region in config.probes
    ]


def delete_commands(config: Config) -> list[list[str]]:
    """Probes first (last deployed, first deleted), then the home stack, whose bucket and topic they use."""
    stacks = [(region, config.probe_stack(region)) for region in reversed(config.probes)]
    stacks.append((config.home, config.stack_name))
    return [[config.sam, "delete", "--region", region, "--stack-name", name, "--no-prompts"] for region, name in stacks]


def placeholder_outputs(config: Config) -> dict[str, str]:
    return {name: f"<{name} of {config.stack_name} in {config.home}>" for name in HOME_OUTPUTS}


def stack_outputs(stack_name: str, region: str) -> dict[str, str]:
    """The home stack's outputs, read from CloudFormation in its region."""
    import boto3  # only a real deploy needs it; --dry-run and the tests never call AWS

    client = boto3.client("cloudformation", region_name=region)
    (stack,) = client.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    missing = [name for name in HOME_OUTPUTS if name not in outputs]
    if missing:
        raise SystemExit(
            f"regions: stack {stack_name} in {region} has no {', '.join(missing)} output: is it a home stack "
            "(HomeBucket empty) of this template?"
        )
    return outputs


def shown(command: Sequence[str]) -> str:
    return shlex.join(command)


Runner = Callable[[Sequence[str]], None]


def _run(command: Sequence[str]) -> None:
    print(f"\n$ {shown(command)}", flush=True)
    done = subprocess.run(list(command), cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"regions: failed (exit status {done.returncode}): {shown(command)}")


def deploy(
    config: Config,
    *,
    dry_run: bool,
    run: Runner = _run,
    outputs_of: Callable[[str, str], dict[str, str]] = stack_outputs,
) -> None:
    if dry_run:
        print(f"# home {config.home}: stack {config.stack_name}; probes: {', '.join(config.probes) or 'none'}")
        for command in [*build_commands(config), home_deploy_command(config)]:
            print(shown(command))
        print(f"# then read {' and '.join(HOME_OUTPUTS)} from stack {config.stack_name} in {config.home}")
        for command in probe_deploy_commands(config, placeholder_outputs(config)):
            print(shown(command))
        return
    for command in [*build_commands(config), home_deploy_command(config)]:
        run(command)
    outputs = outputs_of(config.stack_name, config.home)
    for command in probe_deploy_commands(config, outputs):
        run(command)
    print(f"\nhome {config.home} ({config.stack_name}) and {len(config.probes)} probe stack(s) deployed")


def delete(
    config: Config,
    *,
    dry_run: bool,
    assume_yes: bool,
    run: Runner = _run,
    ask: Callable[[str], str] = input,
    outputs_of: Callable[[str, str], dict[str, str]] = stack_outputs,
) -> None:
    commands = delete_commands(config)
    if dry_run:
        for command in commands:
            print(shown(command))
        return
    bucket = outputs_of(config.stack_name, config.home)["ResultsBucketName"]
    print("These stacks will be deleted, in this order:")
    for command in commands:
        print(f"  {command[command.index('--stack-name') + 1]} in {command[command.index('--region') + 1]}")
    # Never emptied here: the bucket holds the monitor's history, and deleting it is the user's decision.
    print(
        f"The home stack's results bucket {bucket} is deleted only if it is empty (every object version).\n"
        "If its runs and history may go, empty it first (the S3 console's Empty button). Otherwise the home\n"
        "stack's delete fails and leaves the stack and the bucket; to keep the bucket, delete the stack then with\n"
        f"  aws cloudformation delete-stack --region {config.home} --stack-name {config.stack_name} "
        "--retain-resources ResultsBucket"
    )
    if not assume_yes and ask("Delete them? [y/N] ").strip().lower() not in ("y", "yes"):
        raise SystemExit("regions: nothing deleted")
    for command in commands:
        run(command)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("deploy", "delete"))
    parser.add_argument("regions", nargs="+", help="regions, the home region first")
    parser.add_argument("--params", default="", help='extra parameter overrides for every stack: "K=V K2=V2"')
    parser.add_argument("--quorum", type=int, default=0, help="regions that must agree; 0 is a majority")
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment (default: default)")
    parser.add_argument("--yes", action="store_true", help="delete without asking")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and call nothing")
    args = parser.parse_args(argv)
    if args.quorum < 0:
        raise SystemExit("regions: QUORUM is a number of regions, 0 for a majority")
    regions = parse_regions(args.regions)
    if args.quorum > len(regions):
        raise SystemExit(f"regions: QUORUM={args.quorum} but only {len(regions)} region(s) probe")
    stack_name, base = samconfig_defaults(ROOT / "samconfig.toml", args.config_env)
    bin_dir = Path(sys.executable).parent
    config = Config(
        regions=regions,
        stack_name=stack_name,
        base_overrides=base,
        extra_overrides=parse_overrides(args.params),
        quorum=args.quorum,
        sam=str(bin_dir / "sam") if (bin_dir / "sam").exists() else "sam",
        python=sys.executable,
    )
    if args.action == "deploy":
        deploy(config, dry_run=args.dry_run)
    else:
        delete(config, dry_run=args.dry_run, assume_yes=args.yes)


if __name__ == "__main__":
    main()
