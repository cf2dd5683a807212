"""The monitors file: models, schema, errors that name their place, defaults, and the last good configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fanfetch import store
from fanfetch.monitoring.config import (
    ConfigInvalid,
    monitors_schema,
    monitors_schema_text,
    parse_document,
    resolve,
    validate_document,
)
from fanfetch.monitoring.targets import LAST_GOOD_KEY, MonitorsInvalid, load_plan
from fanfetch.settings import Settings

from tests.unit.conftest import BUCKET

DOCS = Path(__file__).resolve().parents[2] / "docs"
URI = f"s3://{BUCKET}/targets/monitors.yaml"
GOOD = """
defaults:
  expect: {status: "200-399"}
  failures_before_down: 3
  remind_every: 6h
  notify: [ops]
  options: {timeout: 5}
channels:
  ops: {type: sns}
  team: {type: slack, url_ssm: /fanfetch/slack-webhook}
  hook: {type: webhook, url: "https://hooks.example.com/x", secret_ssm: /fanfetch/hook-secret}
maintenance:
  - {name: deploys, targets: ["shop-*"], cron: "0 2 * * SUN", duration: 2h, timezone: Europe/Berlin}
  - {name: migration, start: "2026-12-24T22:00:00Z", end: "2026-12-25T02:00:00Z"}
targets:
  - name: shop-home
    url: https://shop.example.com/
    group: Shop
    expect: {status: [200], body_contains: "Add to cart", json: {"status": "UP"}, max_latency_ms: 800}
    notify: [ops, team]
    options: {retries: 0}
  - name: shop-api
    url: https://shop.example.com/
    successes_before_up: 2
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as refused:
        validate_document(parse_document(text))
    return refused.value.problems


def test_committed_monitors_schema_is_the_one_the_models_generate() -> None:
    committed = (DOCS / "monitors.schema.json").read_text()
    assert committed == monitors_schema_text(), "docs/monitors.schema.json is stale: run `make schema`"


def test_the_issue_example_validates_against_the_schema_and_the_models() -> None:
    document = parse_document(GOOD)
    jsonschema.validate(document, monitors_schema())
    config = resolve(validate_document(document))
    home, api = config.monitors
    # A target's own keys override the defaults; the rest come from them
    assert home.expect.statuses() == [200] and home.expect.body_contains == "Add to cart"
    assert home.notify == ("ops", "team") and api.notify == ("ops",)
    assert (home.failures_before_down, api.successes_before_up, api.remind_every_s) == (3, 2, 6 * 3600)
    assert (home.options.timeout, home.options.retries, api.options.retries) == (5, 0, 2)
    # Only targets with body or header expectations have their bodies read
    assert (home.inspect_bytes, api.inspect_bytes) == (1_048_576, 0)
    # The same URL under two names is two targets
    assert home.url == api.url


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("targets:\n  - {name: a, url: shop.example.com}\n", "targets[0] (a).url: 'shop.example.com' is not an http"),
        (
            "targets:\n  - {name: a, url: 'https://a.test/'}\n  - {name: a, url: 'https://b.test/'}\n",
            "targets[1] (a): name: used by another target",
        ),
        ("targets:\n  - {name: a, url: 'https://a.test/', notify: [pager]}\n", "targets[0] (a): notify: no channel"),
        ("targets:\n  - {name: a, url: 'https://a.test/', expect: {stauts: 200}}\n", "targets[0] (a).expect.stauts"),
        (
            "targets:\n  - {name: a, url: 'https://a.test/', expect: {status: '299-200'}}\n",
            "targets[0] (a).expect.status: range '299-200' ends before it starts",
        ),
        ("targets:\n  - {name: a, url: 'https://a.test/', expect: {body_matches: '('}}\n", "not a regular expression"),
        ("targets:\n  - {name: a, url: 'https://a.test/', expect: {json: {'a[': 1}}}\n", "is not a JMESPath"),
        ("targets:\n  - {name: a, url: 'https://a.test/', remind_every: 6 hours}\n", "targets[0] (a).remind_every"),
        (
            "channels: {x: {type: webhook, url: 'ftp://a'}}\ntargets:\n  - {name: a, url: 'https://a.test/'}\n",
            "channels.x: 'ftp://a' is not an http:// or https:// URL",
        ),
        (
            "maintenance: [{name: m, cron: '0 2 * *', duration: 1h}]\ntargets: [{name: a, url: 'https://a.test/'}]\n",
            "maintenance[0] (m): cron '0 2 * *' needs 5 fields",
        ),
        (
            "maintenance: [{name: m, cron: '0 2 * * *', duration: 1h, timezone: Mars/Base}]\n"
            "targets: [{name: a, url: 'https://a.test/'}]\n",
            "maintenance[0] (m).timezone: unknown time zone 'Mars/Base'",
        ),
        ("targets:\n  - {name: a, url: 'https://a.test/'\n", "line 3, column 1: not valid YAML"),
        ("targets: []\n", "targets: List should have at least 1 item"),
    ],
)
def test_a_bad_file_names_the_target_or_line_and_the_field(text: str, problem: str) -> None:
    found = problems(text)
    assert any(problem in each for each in found), found


def put(body: str) -> None:
    store.write_object(BUCKET, "targets/monitors.yaml", body.encode(), "text/yaml", 2.0)


def settings() -> Settings:
    return Settings(TARGETS_S3_URI=URI, RESULTS_BUCKET=BUCKET)


def test_a_good_file_is_kept_as_the_last_good_configuration_and_a_bad_one_falls_back_to_it(aws: Any) -> None:
    # Given a good file, read once
    put(GOOD)
    plan = load_plan(settings())
    assert [m.name for m in plan.config.monitors] == ["shop-home", "shop-api"] and plan.config_error is None
    kept = json.loads(aws.get_object(Bucket=BUCKET, Key=LAST_GOOD_KEY)["Body"].read())
    assert kept == {"source": URI, "text": GOOD}

    # When the file is broken
    put(GOOD.replace("url: https://shop.example.com/\n    group", "url: shop.example.com\n    group"))
    fallback = load_plan(settings())

    # Then the run monitors with the last good configuration and says what is wrong, naming the target
    assert [m.name for m in fallback.config.monitors] == ["shop-home", "shop-api"]
    assert fallback.config_error is not None
    assert fallback.config_error.startswith(f"{URI}: targets[0] (shop-home).url: 'shop.example.com' is not")
    # and the last good configuration is still the good one
    assert json.loads(aws.get_object(Bucket=BUCKET, Key=LAST_GOOD_KEY)["Body"].read())["text"] == GOOD


def test_a_bad_file_with_no_last_good_configuration_fails_the_run(aws: Any) -> None:
    put("targets:\n  - {name: a, url: nowhere}\n")
    with pytest.raises(MonitorsInvalid, match=r"targets\[0\] \(a\)\.url: 'nowhere' is not an http"):
        load_plan(settings())


def test_a_plain_url_list_is_a_target_per_url_with_the_defaults(aws: Any) -> None:
    put("https://a.test/\nhttps://b.test/\n")
    plan = load_plan(settings())
    assert [(m.name, m.url, m.failures_before_down, m.notify) for m in plan.config.monitors] == [
        ("https://a.test/", "https://a.test/", 2, ("topic",)),
        ("https://b.test/", "https://b.test/", 2, ("topic",)),
    ]
    assert plan.request.urls == ["https://a.test/", "https://b.test/"]


def test_a_list_or_file_over_max_urls_is_a_configuration_error(aws: Any) -> None:
    put(GOOD)
    with pytest.raises(MonitorsInvalid, match=r"targets: 2 targets, more than MAX_URLS \(1\)"):
        load_plan(Settings(TARGETS_S3_URI=URI, MAX_URLS=1))
    put("https://a.test/\nhttps://b.test/\n")
    with pytest.raises(MonitorsInvalid, match=r"2 URLs given; at most 1 are allowed per request \(MAX_URLS\)"):
        load_plan(Settings(TARGETS_S3_URI=URI, RESULTS_BUCKET=BUCKET, MAX_URLS=1))


def test_a_channel_parameter_outside_ssm_prefix_is_a_configuration_error(aws: Any) -> None:
    put(GOOD.replace("url_ssm: /fanfetch/slack-webhook", "url_ssm: /other/slack-webhook"))
    with pytest.raises(
        MonitorsInvalid, match=r"channels\.team\.url_ssm: '/other/slack-webhook' is not under SSM_PREFIX"
    ):
        load_plan(settings())


def test_a_targets_file_that_disappears_falls_back_to_the_last_good_configuration(aws: Any) -> None:
    put(GOOD)
    load_plan(settings())
    aws.delete_object(Bucket=BUCKET, Key="targets/monitors.yaml")
    plan = load_plan(settings())
    assert [m.name for m in plan.config.monitors] == ["shop-home", "shop-api"]
    assert plan.config_error == f"targets could not be read from TARGETS_S3_URI: {URI}: no such object"
