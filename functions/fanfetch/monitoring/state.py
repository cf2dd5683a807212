"""The stored documents as models: latest.json, each URL's state in it, and where runs are kept."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired, Self, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

LATEST_KEY = "latest.json"
STATUS_PAGE_KEY = "status.html"
RUNS_PREFIX = "runs/"
SCHEMA_VERSION = 1
# Points of recent history kept per URL in latest.json: uptime and the page's day bars come from the day rollups,
# so latest.json keeps only enough to read the schedule's period and the last few outcomes, and stays small.
HISTORY_POINTS = 6

# The one verdict type: the judge decides it, and the metrics, the stored state, the page and the alert show it.
Health = Literal["up", "degraded", "down"]
# A target's state as stored and shown: a health, or unknown when too few probe regions have a fresh verdict.
State = Literal["up", "degraded", "down", "unknown"]
Number = Annotated[int | float, Field(allow_inf_nan=False)]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """A time as `iso` writes it; other ISO 8601 forms (fractions, offsets) are read too. ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def run_key(started: datetime, request_id: str) -> str:
    """`runs/YYYY/MM/DD/HHMMSSZ-<request id>.json`: date-partitioned, sorted by time within a day."""
    moment = started.astimezone(UTC)
    safe_id = "".join(c for c in request_id if c.isalnum() or c in "-_") or "run"
    return f"{RUNS_PREFIX}{moment:%Y/%m/%d/%H%M%S}Z-{safe_id}.json"


# latest.json is a file in a bucket: anyone with access to it, an older or newer version of fanfetch, or a hand
# edit may have written it. Strict types: "12" is not a number and true is not a count. Dumped with
# `exclude_unset`, a document keeps only the fields it was given that passed.
class Lenient(BaseModel):
    """A stored document read field by field: a field that does not pass is dropped, never fatal."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    @model_validator(mode="wrap")
    @classmethod
    def _drop_bad_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, Mapping):
            return handler(data)
        kept = dict(data)
        # Each round drops the fields that failed; a document has finitely many, so this ends.
        for _ in range(len(kept) + 1):
            try:
                return handler(kept)
            except ValidationError as exc:
                bad = {error["loc"][0] for error in exc.errors() if error["loc"] and error["loc"][0] in kept}
                if not bad:
                    raise
                for name in bad:
                    del kept[name]
        return handler(kept)


def _moment(value: object) -> object:
    # Times other writers wrote (fractions, offsets, no zone) are read and kept in the one form `iso` writes.
    return iso(parse_iso(value)) if isinstance(value, str) else value


# A plain dict, not a model: a URL keeps up to HISTORY_POINTS of them, and validating thousands of model
# instances per run would cost seconds where dicts cost milliseconds.
class HistoryPoint(TypedDict):
    """One run's outcome in a URL's recent history."""

    at: NotRequired[str | None]
    ok: bool
    status: NotRequired[int | None]
    bytes: NotRequired[int | None]
    ms: Number | None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def clean_point(point: Mapping[str, Any]) -> HistoryPoint:
    """A stored history point with the fields that have their shape. Every point says whether it was up and how
    long it took (null when unknown), as the page draws both."""
    clean: HistoryPoint = {"ok": bool(point.get("ok")), "ms": point["ms"] if _number(point.get("ms")) else None}
    if isinstance(point.get("at"), str):
        clean["at"] = point["at"]
    if "status" in point and (point["status"] is None or _whole(point["status"])):
        clean["status"] = point["status"]
    if "bytes" in point and (point["bytes"] is None or _whole(point["bytes"])):
        clean["bytes"] = point["bytes"]
    return clean


class UrlState(Lenient):
    """One URL's entry in latest.json: its health and since when, its last check, what changed, its history."""

    state: State | None = None
    since: str | None = None
    checked_at: str | None = None
    ok: bool | None = None
    status: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    elapsed_ms: Number | None = None
    tls_days_left: Number | None = None
    # Whether the certificate warning was sent; it is sent again only after the certificate was renewed.
    tls_warned: bool | None = None
    error: str | None = None
    last_change: dict[str, Any] | None = None
    history: list[HistoryPoint] | None = None
    # Monitors: the target's URL and group (the key is its name), why it is not up, and the debounce counters.
    url: str | None = None
    group: str | None = None
    reason: str | None = None
    # This run's own health, before debouncing; `state` is the confirmed one.
    seen: Health | None = None
    failing: int | None = None
    passing: int | None = None
    # "failing: 1 of 2" while a change waits for its runs in a row.
    pending: str | None = None
    last_reminder: str | None = None
    maintenance: str | None = None
    # Several probe regions: each region's own entry (its debounced state, counters and last check), and the
    # last state the quorum knew while it is unknown, so that a return to it is no news.
    regions: dict[str, UrlState] | None = None
    known: Health | None = None
    known_since: str | None = None

    _times = field_validator("since", "checked_at", "last_reminder", "known_since", mode="before")(_moment)

    @field_validator("regions", mode="before")
    @classmethod
    def _region_entries_only(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return None
        return {str(region): entry for region, entry in value.items() if isinstance(entry, Mapping | UrlState)}

    @field_validator("last_change", mode="before")
    @classmethod
    def _changes_object(cls, value: object) -> object:
        return dict(value) if isinstance(value, Mapping) else value

    @field_validator("history", mode="wrap")
    @classmethod
    def _points_only(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        # The points fanfetch wrote pass at once; anything else is cleaned point by point, then validated.
        try:
            return handler(value)
        except ValidationError:
            if not isinstance(value, list):
                raise
            return handler([clean_point(point) for point in value if isinstance(point, Mapping)])


class StoredDocument(BaseModel):
    """A JSON document the monitor keeps in the bucket beside latest.json (incidents, closed days): read whole, or
    started afresh when what the bucket holds cannot be read, since it can be rebuilt and must not stop a run."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def read(cls, document: object) -> Self:
        try:
            return cls.model_validate(document if isinstance(document, Mapping) else {})
        except ValueError:
            return cls()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunInfo(Lenient):
    """Which run wrote a document: the invocation's request id, when it started, and its run document."""

    request_id: str | None = None
    at: str | None = None
    key: str | None = None
    scheduled: bool | None = None


class PendingDelivery(Lenient):
    """A message a channel did not take: kept in latest.json and sent again by the next run."""

    channel: str
    subject: str = ""
    text: str = ""
    events: list[dict[str, Any]] = Field(default_factory=list)
    run: dict[str, Any] = Field(default_factory=dict)
    first_at: str | None = None
    tries: int = 1
    error: str | None = None


class ConfigError(Lenient):
    """A monitors file that could not be used: what was wrong, since when, the configuration used instead."""

    message: str
    since: str | None = None
    using: str | None = None


class ProbeRecord(Lenient):
    """One probe region's runs as latest.json keeps them, to tell a region that stopped from one that runs."""

    last_run: str | None = None
    previous_run: str | None = None
    # When a run first expected this region (it may never have run), and when its silence was announced.
    expected_since: str | None = None
    silent_since: str | None = None

    _times = field_validator("last_run", "previous_run", "expected_since", "silent_since", mode="before")(_moment)


class LatestDocument(Lenient):
    """latest.json: the state of every URL monitor runs have checked, merged by conditional writes."""

    version: int = Field(default=SCHEMA_VERSION, alias="schema")
    updated_at: str | None = None
    run: RunInfo | None = None
    urls: dict[str, UrlState] = Field(default_factory=dict)
    # Alerts a channel did not take, tried again by the next run.
    pending: list[PendingDelivery] | None = None
    # The monitors file's current problem, if any, and whether it was announced.
    config_error: ConfigError | None = None
    # Several probe regions: each region's runs, by region.
    probes: dict[str, ProbeRecord] | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _entries_only(cls, value: object) -> object:
        # An entry that is not an object is unusable and dropped; the others are read field by field.
        if not isinstance(value, Mapping):
            return {}
        return {str(url): entry for url, entry in value.items() if isinstance(entry, Mapping | UrlState)}

    @classmethod
    def read(cls, document: object) -> LatestDocument:
        """Whatever a bucket held, as far as it can be read; an empty document when nothing can."""
        return cls.model_validate(document if isinstance(document, Mapping) else {})

    @classmethod
    def read_parsed(cls, document: object) -> LatestDocument:
        """As read(), for a document parsed for this alone: its entries are taken out of it one by one as they are
        read, so that the parsed entries and the models are never both whole in memory (at 5,000 targets that is
        some 20 MB of the run's peak). The document is left without its entries."""
        if not isinstance(document, dict) or not isinstance(document.get("urls"), dict):
            return cls.read(document)
        raw = document.pop("urls")
        latest = cls.read(document)
        urls: dict[str, UrlState] = {}
        for name in list(raw):
            entry = raw.pop(name)
            if isinstance(entry, Mapping):
                try:
                    urls[str(name)] = UrlState.model_validate(entry)
                except ValidationError:  # not even field by field: this entry goes, not the others
                    continue
        latest.urls = urls
        return latest

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def dump_json(self) -> bytes:
        """What dump() gives, as compact UTF-8 JSON written straight from the models: at 5,000 targets the dicts of
        dump() and json.dumps would take some 40 MB more at the run's peak."""
        return self.model_dump_json(by_alias=True, exclude_unset=True).encode()


def latest_schema() -> dict[str, Any]:
    """The JSON Schema of latest.json, as committed in docs/latest.schema.json (`make schema` writes it)."""
    return LatestDocument.model_json_schema(by_alias=True, mode="serialization")


def latest_schema_text() -> str:
    return json.dumps(latest_schema(), indent=2) + "\n"
