"""One monitor probed from three regions: the scheduled handler run once per region per round, with AWS_REGION and
AWS_DEFAULT_REGION set as Lambda sets them there, against one moto server standing in for the home region's
bucket and topic, and a loopback origin that fails the requests whose User-Agent names chosen regions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from fanfetch import service, store
from fanfetch.settings import get_settings

from tests.conftest import ThreadedOrigin
from tests.functional.test_monitoring import BUCKET, Aws, _client, scheduled_run

HOME = "us-east-1"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PERIOD = timedelta(minutes=5)


@dataclass
class RegionalOrigin:
    """Answers 200, or 503 to a probe whose User-Agent names a region in `failing`; keeps the agents it saw."""

    failing: set[str] = field(default_factory=set)
    agents: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            agent = request.headers.get("User-Agent", "")
            self.agents.append(agent)
            if any(f"(+region {region})" in agent for region in self.failing):
                return web.Response(status=503, text="unavailable from your region")
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/{name}", answer)
        return app


class Probes:
    """Runs the handler as each region's function would run it, on a clock the test moves on."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws = aws
        self.monkeypatch = monkeypatch
        self.clock = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        monkeypatch.setattr(service, "wall_clock", lambda: self.clock)

    def run(self, region: str) -> dict[str, Any]:
        # Each region's function has its own environment and its own clients
        self.monkeypatch.setenv("AWS_REGION", region)
        self.monkeypatch.setenv("AWS_DEFAULT_REGION", region)
        get_settings.cache_clear()
        store.reset_clients()
        return scheduled_run(f"{region}-{self.clock:%H%M%S}")

    def round(self, regions: tuple[str, ...] = REGIONS) -> list[dict[str, Any]]:
        """One schedule period: each region runs, a few seconds apart."""
        answers = []
        start = self.clock
        for index, region in enumerate(regions):
            self.clock = start + timedelta(seconds=5 * index)
            answers.append(self.run(region))
        self.clock = start + PERIOD
        return answers

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.aws.read("status.json"))
        return result


@pytest.fixture
def probes(aws: Aws, monitor_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Probes, RegionalOrigin]]:
    origin = RegionalOrigin()
    with ThreadedOrigin(origin.app()) as server:
        monkeypatch.setenv("MONITOR_URLS", server.url("/shop"))
        monkeypatch.setenv("HOME_REGION", HOME)
        monkeypatch.setenv("MONITOR_REGIONS", ",".join(REGIONS))
        monkeypatch.setenv("MONITOR_SCHEDULE", "rate(5 minutes)")
        yield Probes(aws, monkeypatch), origin
    get_settings.cache_clear()
    store.reset_clients()


def states(answers: list[dict[str, Any]]) -> list[str]:
    return [answer["results"][0]["state"] for answer in answers]


def test_one_region_failing_is_dissent_two_are_one_alert_and_the_next_round_is_quiet(
    probes: tuple[Probes, RegionalOrigin],
) -> None:
    monitor, origin = probes
    # Given three regions that see the site up: unknown until a second region has a verdict
    assert states(monitor.round()) == ["unknown", "up", "up"]
    # The site could tell the probes apart: every request named its region
    assert {agent.rsplit("(+region ", 1)[-1].rstrip(")") for agent in origin.agents} == set(REGIONS)
    assert monitor.aws.alerts() == []

    # When only eu-west-1 sees it fail, the target stays up with eu-west-1 dissenting, and nobody is told
    origin.failing = {"eu-west-1"}
    answers = monitor.round()
    assert states(answers) == ["up", "up", "up"]
    quorum = answers[-1]["results"][0]["quorum"]
    assert quorum["required"] == 2
    assert quorum["regions"]["eu-west-1"] == {"state": "down", "fresh": True, "dissenting": True}
    assert monitor.aws.alerts() == []
    (target,) = monitor.status()["targets"]
    assert target["state"] == "up"
    assert target["regions"]["eu-west-1"]["state"] == "down" and target["regions"]["eu-west-1"]["dissenting"]
    assert target["quorum"] == {"required": 2, "regions": 3}
    page = monitor.aws.read("status.html").decode()
    assert "eu-west-1" in page and "dissenting" in page
    # The client's status table has a column of what each region said, the dissenting one marked
    code, text = _client("--bucket", BUCKET, "monitor", "status")
    assert code == 0 and "us-east-1 up, eu-west-1 down!, ap-southeast-2 up" in text

    # When ap-southeast-2 fails too, its run is the one whose write makes the quorum: one alert
    origin.failing = {"eu-west-1", "ap-southeast-2"}
    answers = monitor.round()
    assert states(answers) == ["up", "up", "down"]
    assert answers[-1]["monitor"]["alert"]["went_down"] == [answers[-1]["results"][0]["url"]]
    (alert,) = monitor.aws.alerts()
    assert alert["Subject"] == "fanfetch: 1 down"
    assert "down in eu-west-1, ap-southeast-2 (2 of 3 regions, quorum 2)" in alert["Message"]

    # And the next round, with nothing new, tells nobody
    assert states(monitor.round()) == ["down", "down", "down"]
    assert monitor.aws.alerts() == []
    # Uptime counts the quorum's state: the first run's unknown not at all, and 4 of the 11 other checks were
    # made while the quorum said down
    assert monitor.status()["targets"][0]["uptime"]["24h"] == pytest.approx(7 / 11)


def test_a_region_that_stops_running_is_reported_silent_once(probes: tuple[Probes, RegionalOrigin]) -> None:
    monitor, _ = probes
    monitor.round()
    monitor.round()
    # When ap-southeast-2 stops, the first run more than two periods after its last says so, once
    told = []
    for _ in range(4):
        answers = monitor.round(REGIONS[:2])
        told += [a["monitor"]["alert"]["regions_silent"] for a in answers if a["monitor"]["alert"]]
        assert states(answers) == ["up", "up"]  # two fresh regions are still a quorum
    assert told == [["ap-southeast-2"]]
    (alert,) = monitor.aws.alerts()
    assert alert["Subject"] == "fanfetch: 1 region(s) silent"
    status = monitor.status()
    last_run = status["regions"]["ap-southeast-2"]["last_run"]
    assert last_run.startswith("2026-12-07T12:05:")  # its run of the second round
    assert f"ap-southeast-2 - no run since {last_run}" in alert["Message"]
    assert status["regions"]["ap-southeast-2"]["silent"] is True
    assert status["targets"][0]["regions"]["ap-southeast-2"]["fresh"] is False
    page = monitor.aws.read("status.html").decode()
    assert "Probe region silent, not counted: ap-southeast-2" in page
    _, text = _client("--bucket", BUCKET, "monitor", "status")
    assert "silent regions, not counted: ap-southeast-2" in text and "ap-southeast-2 silent" in text

    # When it runs again, that is told once too
    back = monitor.run("ap-southeast-2")
    assert back["monitor"]["alert"]["regions_back"] == ["ap-southeast-2"]
    assert monitor.aws.alerts()[0]["Subject"] == "fanfetch: 1 region(s) back"
    assert monitor.status()["regions"]["ap-southeast-2"]["silent"] is False


def test_a_region_outside_monitor_regions_is_kept_but_not_counted(probes: tuple[Probes, RegionalOrigin]) -> None:
    monitor, _ = probes
    answer = monitor.run("sa-east-1")
    assert answer["results"][0]["state"] == "unknown"
    assert "region sa-east-1 is not in MONITOR_REGIONS" in " ".join(answer["monitor"]["errors"])
    # Unknown is not up: the client's status says so with its exit status
    code, text = _client("--bucket", BUCKET, "monitor", "status")
    assert code == 1 and "unknown" in text
