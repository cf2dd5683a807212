"""The monitors file as models (targets, expectations, channels, maintenance); its JSON Schema comes from here."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fanfetch.models import FetchOptions

SCHEMA_ID = "https://fanfetch.dev/monitors.schema.json"
# Body expectations read at most this much of the decoded body unless a target says otherwise.
DEFAULT_INSPECT_BYTES = 1_048_576
MAX_INSPECT_BYTES = 10_485_760
DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*[mhd]\s*$"
_UNITS = {"m": 60, "h": 3600, "d": 86400}
NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
SSM_NAME_PATTERN = r"^/[A-Za-z0-9_./-]{1,1000}$"
STATUS_RANGE_PATTERN = r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?$"


class ConfigInvalid(ValueError):
    """A monitors file that cannot be used: each problem with where it is (target name or path) and the field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def seconds_of(duration: str) -> float:
    """`90m`, `6h`, `1.5d` as seconds."""
    text = duration.strip()
    return float(text[:-1]) * _UNITS[text[-1]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


Duration = Annotated[str, Field(pattern=DURATION_PATTERN, description="A duration: a number and m, h or d.")]
StatusSpec = Annotated[
    list[Annotated[int, Field(ge=100, le=599)]] | Annotated[str, Field(pattern=STATUS_RANGE_PATTERN)] | int,
    Field(description='Accepted statuses: a code, a list of codes, or a range "200-299".'),
]


class Expect(_Model):
    """What a target must show. Failing `status`, a body, JSON, header or size expectation is down; a slow
    answer or a certificate near its end is degraded."""

    status: StatusSpec | None = None
    body_contains: Annotated[str, Field(min_length=1)] | None = None
    body_not_contains: Annotated[str, Field(min_length=1)] | None = None
    body_matches: Annotated[str, Field(min_length=1, description="A regular expression (Python syntax).")] | None = None
    json_: Annotated[
        dict[str, Any] | None,
        Field(alias="json", description="JMESPath expression -> the value it must give."),
    ] = None
    headers: Annotated[
        dict[str, str] | None, Field(description="Header name -> glob its value must match (* and ?).")
    ] = None
    max_latency_ms: Annotated[float, Field(gt=0)] | None = None
    min_tls_days: Annotated[float, Field(ge=0)] | None = None
    min_bytes: Annotated[int, Field(ge=0)] | None = None
    max_bytes: Annotated[int, Field(ge=0)] | None = None
    max_inspect_bytes: (
        Annotated[
            int,
            Field(ge=1, le=MAX_INSPECT_BYTES, description="Most decoded bytes the body expectations read."),
        ]
        | None
    ) = None

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("status")
    @classmethod
    def _status_range(cls, value: list[int] | str | int | None) -> list[int] | str | int | None:
        if isinstance(value, str) and "-" in value:
            low, high = (int(part) for part in value.split("-"))
            if low > high:
                raise ValueError(f"range {value!r} ends before it starts")
        if isinstance(value, int) and not 100 <= value <= 599:
            raise ValueError(f"{value} is not an HTTP status")
        if isinstance(value, list) and not value:
            raise ValueError("an empty list accepts no status")
        return value

    @field_validator("body_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("json_")
    @classmethod
    def _jmespath(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            import jmespath  # ships with botocore; compiled here so a typo is a configuration error
            from jmespath.exceptions import JMESPathError

            for expression in value:
                try:
                    jmespath.compile(expression)
                except JMESPathError as exc:
                    raise ValueError(f"{expression!r} is not a JMESPath expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Expect:
        if self.min_bytes is not None and self.max_bytes is not None and self.min_bytes > self.max_bytes:
            raise ValueError("min_bytes is larger than max_bytes")
        return self

    @property
    def reads_body(self) -> bool:
        return any(v is not None for v in (self.body_contains, self.body_not_contains, self.body_matches, self.json_))

    def statuses(self) -> tuple[int, int] | list[int]:
        """The accepted statuses: an inclusive range, or a list of codes."""
        value = self.status if self.status is not None else "200-399"  # as FetchOptions.ok_status
        if isinstance(value, int):
            return [value]
        if isinstance(value, list):
            return list(value)
        low, _, high = value.partition("-")
        return (int(low), int(high or low))

    def merged(self, override: Expect | None) -> Expect:
        """These expectations with `override`'s own keys on top."""
        if override is None:
            return self
        mine = self.model_dump(by_alias=True, exclude_unset=True)
        return Expect.model_validate({**mine, **override.model_dump(by_alias=True, exclude_unset=True)})


class SnsChannel(_Model):
    type: Literal["sns"]


class SlackChannel(_Model):
    type: Literal["slack"]
    url_ssm: Annotated[str, Field(pattern=SSM_NAME_PATTERN, description="SSM parameter holding the webhook URL.")]


class WebhookChannel(_Model):
    type: Literal["webhook"]
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    url_ssm: Annotated[str, Field(pattern=SSM_NAME_PATTERN)] | None = None
    secret_ssm: (
        Annotated[str, Field(pattern=SSM_NAME_PATTERN, description="SSM parameter holding the HMAC-SHA256 secret.")]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_ssm is None):
            raise ValueError("a webhook needs exactly one of url and url_ssm")
        if self.url is not None:
            check_url(self.url)
        return self


Channel = Annotated[SnsChannel | SlackChannel | WebhookChannel, Field(discriminator="type")]


class Maintenance(_Model):
    """A window with no alerts: recurring (cron, duration, timezone) or one-off (start, end, in UTC or with an
    offset). `targets` are names or globs; absent means every target."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    targets: list[Annotated[str, Field(min_length=1)]] | None = None
    cron: Annotated[str, Field(description="minute hour day-of-month month day-of-week")] | None = None
    duration: Duration | None = None
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Maintenance:
        from fanfetch.monitoring.maintenance import parse_cron, parse_moment

        recurring = self.cron is not None or self.duration is not None
        one_off = self.start is not None or self.end is not None
        if recurring == one_off:
            raise ValueError("a window is either cron and duration, or start and end")
        if recurring:
            if self.cron is None or self.duration is None:
                raise ValueError("a recurring window needs both cron and duration")
            parse_cron(self.cron)
        else:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both start and end")
            if parse_moment(self.start) >= parse_moment(self.end):
                raise ValueError("end is not after start")
        return self


class Rules(_Model):
    """Keys a target shares with `defaults`."""

    expect: Expect | None = None
    failures_before_down: Annotated[int, Field(ge=1, le=100)] | None = None
    successes_before_up: Annotated[int, Field(ge=1, le=100)] | None = None
    remind_every: Duration | None = None
    notify: list[Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN)]] | None = None
    options: FetchOptions | None = None


# For editors and the client: the scheme and a host; the model checks the rest.
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+"


class Target(Rules):
    name: Annotated[str, Field(pattern=NAME_PATTERN, description="Unique; names the target everywhere.")]
    url: Annotated[
        str, Field(min_length=1, max_length=2048, json_schema_extra={"pattern": URL_PATTERN, "format": "uri"})
    ]
    group: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("url")
    @classmethod
    def _fetchable(cls, value: str) -> str:
        return check_url(value)


class MonitorsFile(_Model):
    """The monitors file at TARGETS_S3_URI (YAML or JSON)."""

    model_config = ConfigDict(json_schema_extra={"$id": SCHEMA_ID, "title": "fanfetch monitors file"})

    defaults: Rules = Field(default_factory=Rules)
    channels: dict[Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN)], Channel] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)
    targets: Annotated[list[Target], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> MonitorsFile:
        problems = []
        seen: set[str] = set()
        for index, target in enumerate(self.targets):
            if target.name in seen:
                problems.append(f"targets[{index}] ({target.name}): name: used by another target")
            seen.add(target.name)
        for where, rules in [("defaults", self.defaults)] + [
            (f"targets[{i}] ({t.name})", t) for i, t in enumerate(self.targets)
        ]:
            for name in rules.notify or []:
                if name not in self.channels:
                    problems.append(f"{where}: notify: no channel named {name!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def check_url(value: str) -> str:
    """An http(s) URL with a host; a typo here is a configuration error, not an outage."""
    from urllib.parse import urlsplit

    if not value.isprintable() or " " in value:
        raise ValueError("a URL may not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value


@dataclass(frozen=True, slots=True)
class Monitor:
    """One target with its defaults applied: what a run fetches and how it judges and routes it."""

    name: str
    url: str
    group: str | None
    expect: Expect
    failures_before_down: int
    successes_before_up: int
    remind_every_s: float | None
    notify: tuple[str, ...]
    options: FetchOptions

    @property
    def inspect_bytes(self) -> int:
        if not (self.expect.reads_body or self.expect.headers):
            return 0
        return self.expect.max_inspect_bytes or DEFAULT_INSPECT_BYTES


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """A usable configuration: resolved targets, channels and windows."""

    monitors: tuple[Monitor, ...]
    channels: Mapping[str, SnsChannel | SlackChannel | WebhookChannel]
    maintenance: tuple[Maintenance, ...]


def resolve(document: MonitorsFile, default_channels: Sequence[str] = ()) -> MonitorConfig:
    """Each target with `defaults` under its own keys. Without `notify` anywhere, a target goes to
    `default_channels` (the stack's topic for a plain list)."""
    base = document.defaults
    base_options = base.options.model_dump(exclude_unset=True) if base.options else {}
    monitors = []
    for target in document.targets:
        expect = (base.expect or Expect()).merged(target.expect)
        own_options = target.options.model_dump(exclude_unset=True) if target.options else {}
        options = FetchOptions.model_validate({**base_options, **own_options, "store": False})
        notify = target.notify if target.notify is not None else base.notify
        remind = target.remind_every or base.remind_every
        monitors.append(
            Monitor(
                name=target.name,
                url=target.url,
                group=target.group,
                expect=expect,
                failures_before_down=target.failures_before_down or base.failures_before_down or 2,
                successes_before_up=target.successes_before_up or base.successes_before_up or 1,
                remind_every_s=seconds_of(remind) if remind else None,
                notify=tuple(notify if notify is not None else default_channels),
                options=options,
            )
        )
    return MonitorConfig(tuple(monitors), dict(document.channels), tuple(document.maintenance))


def _where(document: Any, loc: tuple[int | str, ...]) -> str:
    """A validation error's location: `targets[2] (shop-home).expect.status`."""
    parts: list[str] = []
    node = document
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and step < len(node) and isinstance(node[step], Mapping):
                name = node[step].get("name")
                if isinstance(name, str):
                    label += f" ({name})"
            parts.append(label)
        else:
            if step in ("sns", "slack", "webhook") and parts and isinstance(node, Mapping) and "type" in node:
                continue  # the union's tag pydantic adds to the path
            parts.append(f".{step}" if parts else str(step))
        if isinstance(node, Mapping):
            node = node.get(step) if isinstance(step, str) else None
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
    return "".join(parts) or "file"


def validate_document(document: Any) -> MonitorsFile:
    """The models' verdict on a parsed document; ConfigInvalid lists every problem with its location."""
    if not isinstance(document, Mapping):
        raise ConfigInvalid(["file: a monitors file is an object with `targets`"])
    try:
        return MonitorsFile.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            # The whole file's checks (names, channels) name their places themselves.
            problems.extend(
                message.split("; ") if not error["loc"] else [f"{_where(document, tuple(error['loc']))}: {message}"]
            )
        raise ConfigInvalid(problems) from None


def parse_document(text: str) -> Any:
    """A monitors file's text as data: JSON, else YAML. ConfigInvalid naming the line when neither reads."""
    stripped = text.lstrip("\ufeff")
    if stripped.strip().startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigInvalid([f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"]) from None
    import yaml

    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigInvalid([f"{where}: not valid YAML ({problem})"]) from None


def is_monitors_file(document: Any) -> bool:
    return isinstance(document, Mapping) and "targets" in document


def monitors_schema() -> dict[str, Any]:
    """The JSON Schema of the monitors file, as committed in docs/monitors.schema.json."""
    schema = MonitorsFile.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def monitors_schema_text() -> str:
    return json.dumps(monitors_schema(), indent=2) + "\n"


def remind_timedelta(monitor: Monitor) -> timedelta | None:
    return timedelta(seconds=monitor.remind_every_s) if monitor.remind_every_s else None
