"""The monitor's targets file at TARGETS_S3_URI (a monitors file or a URL list): read, validated, kept as the last
good configuration; a bad or unreadable file falls back to that one, and with none the run fails naming the file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fanfetch import store
from fanfetch.errors import ConfigurationError, InvalidRequest, SinkError, TargetsUnavailable
from fanfetch.models import FetchOptions, FetchRequest
from fanfetch.monitoring.config import (
    ConfigInvalid,
    MonitorConfig,
    SnsChannel,
    is_monitors_file,
    parse_document,
    resolve,
    validate_document,
)
from fanfetch.observability import logger
from fanfetch.settings import Settings
from fanfetch.sources import build_request, read_url_list

LAST_GOOD_KEY = "config/last-good.json"
# The stack's own alert topic: where targets go that name no channel.
TOPIC_CHANNEL = "topic"


class MonitorsInvalid(ConfigurationError):
    """The targets file is invalid and no good configuration was ever kept: the run fails, so Lambda retries
    it, sends it to the dead-letter queue and the failed-invocations alarm sees it."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a scheduled monitor run does: its targets, channels and windows, and the file's problem if it had one
    (the run then uses the last good configuration)."""

    config: MonitorConfig
    request: FetchRequest
    config_error: str | None = None


def parse_targets(text: str) -> dict[str, Any]:
    """Targets as a request document: a JSON request, or a URL list as a job's source may be (text lines, a JSON
    list of URLs or of objects with `url`, CSV with a `url` column). InvalidRequest when unreadable."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"targets: not valid JSON ({exc})") from None
        if isinstance(data, dict):
            return data
    return {"urls": read_url_list(stripped, "targets")}


def as_monitors_document(request: FetchRequest) -> dict[str, Any]:
    """A URL list or request as a monitors file: each URL a target named by its URL, with the defaults."""
    return {
        "defaults": {"options": request.options.model_dump(exclude_unset=True)},
        "targets": [{"name": url, "url": url} for url in request.urls],
    }


def configuration(text: str, settings: Settings) -> MonitorConfig:
    """The configuration a targets file holds; ConfigInvalid naming each problem with its place."""
    stripped = text.lstrip("\ufeff").strip()
    document: Any = None
    try:
        # A monitors file is a mapping with `targets`: text that is not JSON and lacks the word is a URL list, read
        # without YAML (parsing 5,000 lines of URLs as YAML takes a third of a second)
        json_like = stripped.startswith(("{", "["))
        document = parse_document(stripped) if json_like or "targets" in stripped else None
    except ConfigInvalid:
        if stripped.startswith("{") or "targets:" in stripped:
            raise  # meant as a monitors file: its syntax error is the news
    # Anything else that is not a monitors file is read as a URL list, as before monitors files.
    if not is_monitors_file(document):
        try:
            document = as_monitors_document(build_request(parse_targets(stripped), settings))
        except InvalidRequest as exc:
            details = "; ".join(f"{d.field}: {d.message}" for d in exc.details)
            raise ConfigInvalid([f"{exc.message}{' (' + details + ')' if details else ''}"]) from None
    config = resolve(validate_document(document), default_channels=(TOPIC_CHANNEL,))
    if len(config.monitors) > settings.MAX_URLS:
        raise ConfigInvalid([f"targets: {len(config.monitors)} targets, more than MAX_URLS ({settings.MAX_URLS})"])
    outside = [
        f"channels.{name}.{field}: {value!r} is not under SSM_PREFIX {settings.SSM_PREFIX!r}"
        for name, channel in config.channels.items()
        for field in ("url_ssm", "secret_ssm")
        if isinstance(value := getattr(channel, field, None), str) and not value.startswith(settings.SSM_PREFIX)
    ]
    if outside:
        raise ConfigInvalid(outside)  # the function's role could not read them
    if TOPIC_CHANNEL not in config.channels and any(TOPIC_CHANNEL in m.notify for m in config.monitors):
        config = MonitorConfig(
            config.monitors, {**config.channels, TOPIC_CHANNEL: SnsChannel(type="sns")}, config.maintenance
        )
    return config


def plan_of(config: MonitorConfig, config_error: str | None = None) -> Plan:
    """The plan for a configuration: one request whose URLs are the targets' in order, with the default options
    (a target's own options are applied when fetching)."""
    urls = [monitor.url for monitor in config.monitors]
    options = config.monitors[0].options if config.monitors else FetchOptions()
    return Plan(config, FetchRequest(urls=urls, options=options), config_error)


def _read_last_good(settings: Settings) -> str | None:
    if not settings.RESULTS_BUCKET:
        return None
    try:
        stored = store.read_object(settings.RESULTS_BUCKET, LAST_GOOD_KEY, settings.SINK_TIMEOUT_SECONDS)
    except SinkError as exc:
        logger.error("last good configuration unreadable", extra={"reason": str(exc)})
        return None
    if stored is None:
        return None
    try:
        text = json.loads(stored.body)["text"]
    except (ValueError, KeyError, TypeError):
        return None
    return text if isinstance(text, str) else None


def _keep_last_good(settings: Settings, text: str, previous: str | None) -> None:
    if not settings.RESULTS_BUCKET or previous == text:
        return
    body = json.dumps({"source": settings.TARGETS_S3_URI, "text": text}).encode()
    try:
        store.write_object(
            settings.RESULTS_BUCKET, LAST_GOOD_KEY, body, "application/json", settings.SINK_TIMEOUT_SECONDS
        )
    except SinkError as exc:
        logger.error("last good configuration not kept", extra={"reason": str(exc)})


def load_plan(settings: Settings) -> Plan:
    """The plan of the file at TARGETS_S3_URI. A bad or unreadable file falls back to the last good configuration
    and says why; with none, MonitorsInvalid naming the file and each problem, or TargetsUnavailable."""
    uri = settings.TARGETS_S3_URI
    try:
        text = store.read_text(uri, settings.SINK_TIMEOUT_SECONDS)
    except SinkError as exc:
        logger.error("targets unavailable", extra={"sink": "targets", "uri": uri, "reason": str(exc)})
        problem = f"targets could not be read from TARGETS_S3_URI: {exc}"
        kept = _read_last_good(settings)
        if kept is None:
            raise TargetsUnavailable(problem) from None
        try:
            return plan_of(configuration(kept, settings), problem)
        except ConfigInvalid:
            raise TargetsUnavailable(problem) from None
    last_good = _read_last_good(settings)
    try:
        config = configuration(text, settings)
    except ConfigInvalid as exc:
        message = f"{uri}: {exc}"
        logger.error("targets file invalid", extra={"uri": uri, "problems": exc.problems})
        if last_good is None:
            raise MonitorsInvalid(f"TARGETS_S3_URI {message} (and no last good configuration to use)") from None
        try:
            return plan_of(configuration(last_good, settings), message)
        except ConfigInvalid as stale:  # limits changed since it was kept
            raise MonitorsInvalid(f"TARGETS_S3_URI {message}; the last good one no longer is: {stale}") from None
    _keep_last_good(settings, text, last_good)
    return plan_of(config)


def load_request(settings: Settings) -> FetchRequest:
    """The request of the plan at TARGETS_S3_URI (its targets' URLs in order)."""
    return load_plan(settings).request
