"""The stored documents as models: latest.json, each URL's state in it, and where runs are kept."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

LATEST_KEY = "latest.json"
STATUS_PAGE_KEY = "status.html"
RUNS_PREFIX = "runs/"
SCHEMA_VERSION = 1
# Run times kept in latest.json, oldest first: the schedule's period is read from them when the settings do not
# give it. History lives in the day rollups, so latest.json keeps only what the next run needs to judge.
RECENT_RUNS = 6

# The one verdict type: the judge decides it, and the metrics, the stored state, the page and the alert show it.
Health = Literal["up", "degraded", "down"]
# A target's state as stored and shown: a health, or unknown when too few probe regions have a fresh verdict.
State = Literal["up", "degraded", "down", "unknown"]


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
# edit may have written it. Strict types: "12" is not a number and true is not a count. Dumped without nulls, a
# document keeps only the fields it was given that passed.
class Lenient(BaseModel):
    """A stored document read field by field: a field that does not pass is dropped, never fatal."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    @model_validator(mode="wrap")
    @classmethod
    def _drop_bad_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, Mapping):
            return handler(data)
        return validate_field_by_field(dict(data), handler)


def validate_field_by_field[Read](kept: dict[str, Any], validate: Callable[[dict[str, Any]], Read]) -> Read:
    """`validate(kept)`, dropping from `kept` the fields that fail until it passes; the last ValidationError when
    a failure names no field that can be dropped."""
    # Each round drops the fields that failed; a document has finitely many, so this ends.
    for _ in range(len(kept) + 1):
        try:
            return validate(kept)
        except ValidationError as exc:
            bad = {error["loc"][0] for error in exc.errors() if error["loc"] and error["loc"][0] in kept}
            if not bad:
                raise
            for name in bad:
                del kept[name]
    return validate(kept)


def _moment(value: object) -> object:
    # Times other writers wrote (fractions, offsets, no zone) are read and kept in the one form `iso` writes. The
    # usual case, a time as `iso` writes it, is only checked: fromisoformat refuses one that does not exist.
    if isinstance(value, str) and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        datetime.fromisoformat(value)
        return value
    return iso(parse_iso(value)) if isinstance(value, str) else value


Moment = Annotated[StrictStr | None, BeforeValidator(_moment)]
Count = StrictInt | None
Reading = StrictInt | Annotated[float, Strict(), Field(allow_inf_nan=False)] | None


# A slotted dataclass that pydantic validates, not a model: latest.json holds one per target, and a model's
# per-instance dict and set of fields would cost some 15 MB at 5,000 targets. Its fields are strict, as Lenient's
# are; read_entry drops the ones that do not pass.
@dataclass(slots=True, kw_only=True)
class UrlState:
    """One URL's entry in latest.json: its health and since when, its last check and what changed."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    state: State | None = None
    since: Moment = None
    checked_at: Moment = None
    ok: StrictBool | None = None
    status: Count = None
    bytes: Count = None
    sha256: StrictStr | None = None
    elapsed_ms: Reading = None
    tls_days_left: Reading = None
    # Whether the certificate warning was sent; it is sent again only after the certificate was renewed.
    tls_warned: StrictBool | None = None
    error: StrictStr | None = None
    last_change: dict[str, Any] | None = None
    # Monitors: the target's URL and group (the key is its name), why it is not up, and the debounce counters.
    url: StrictStr | None = None
    group: StrictStr | None = None
    reason: StrictStr | None = None
    # This run's own health, before debouncing; `state` is the confirmed one.
    seen: Health | None = None
    failing: Count = None
    passing: Count = None
    # "failing: 1 of 2" while a change waits for its runs in a row.
    pending: StrictStr | None = None
    last_reminder: Moment = None
    maintenance: StrictStr | None = None
    # Several probe regions: each region's own entry (its debounced state, counters and last check), and the
    # last state the quorum knew while it is unknown, so that a return to it is no news.
    regions: dict[str, UrlState] | None = None
    known: Health | None = None
    known_since: Moment = None


_ENTRY = TypeAdapter(UrlState)
_ENTRIES = TypeAdapter(dict[str, UrlState])


def read_entry(data: Mapping[str, Any]) -> UrlState | None:
    """One stored entry field by field: a field that does not pass is dropped, never the entry (its regions
    likewise, each on its own); None when even that fails."""
    kept = dict(data)
    if "regions" in kept:
        regions = kept["regions"]
        kept["regions"] = (
            {
                str(region): entry
                for region, raw in regions.items()
                if isinstance(raw, Mapping) and (entry := read_entry(raw)) is not None
            }
            if isinstance(regions, Mapping)
            else None
        )
    try:
        return validate_field_by_field(kept, _ENTRY.validate_python)
    except ValidationError:
        return None


def read_entries(raw: Mapping[Any, Any]) -> dict[str, UrlState]:
    """latest.json's entries: all at once in pydantic's core when every one has its shape (what fanfetch
    writes), else one by one; an entry that is not an object is dropped."""
    try:
        return _ENTRIES.validate_python(raw)
    except ValidationError:
        pass
    entries: dict[str, UrlState] = {}
    for name, entry in raw.items():
        read = entry if isinstance(entry, UrlState) else read_entry(entry) if isinstance(entry, Mapping) else None
        if read is not None:
            entries[str(name)] = read
    return entries


class StoredDocument(BaseModel):
    """A JSON document the monitor keeps in the bucket beside latest.json (incidents, closed days): read whole, or
    started afresh when what the bucket holds cannot be read, since it can be rebuilt and must not stop a run."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def read(cls, document: object) -> Self:
        """The document parsed, or its stored bytes."""
        try:
            # json.loads, not model_validate_json: pydantic's parser keeps tens of MB of a large document outside
            # Python's allocator, and a run's peak RSS keeps them
            parsed = json.loads(document) if isinstance(document, bytes) else document
            return cls.model_validate(parsed if isinstance(parsed, Mapping) else {})
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
    # The times of the last runs that wrote it, oldest first (at most RECENT_RUNS).
    recent_runs: list[str] | None = None
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
        # The entries are read on their own, so that one bad entry costs that entry's bad fields, not `urls`
        return read_entries(value) if isinstance(value, Mapping) else {}

    @field_validator("recent_runs", mode="before")
    @classmethod
    def _times_only(cls, value: object) -> object:
        if not isinstance(value, list):
            return None
        times = []
        for moment in value:
            try:
                times.append(_moment(moment))
            except ValueError:
                continue
        return [moment for moment in times if isinstance(moment, str)]

    @classmethod
    def read(cls, document: object) -> LatestDocument:
        """Whatever a bucket held, as far as it can be read; an empty document when nothing can."""
        return cls.model_validate(document if isinstance(document, Mapping) else {})

    def dump(self) -> dict[str, Any]:
        # Nothing is stored as null: an absent field reads as None, and at 5,000 targets nulls are a fifth of it
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def dump_json(self) -> bytes:
        """What dump() gives, as compact UTF-8 JSON written straight from the models: at 5,000 targets the dicts of
        dump() and json.dumps would take megabytes more at the run's peak."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def latest_schema() -> dict[str, Any]:
    """The JSON Schema of latest.json, as committed in docs/latest.schema.json (`make schema` writes it)."""
    return LatestDocument.model_json_schema(by_alias=True, mode="serialization")


def latest_schema_text() -> str:
    return json.dumps(latest_schema(), indent=2) + "\n"
