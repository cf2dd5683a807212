"""Environment variables as one typed model; the only reader of os.environ in the function."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from fanfetch.errors import ConfigurationError


def _split(value: object) -> object:
    """Comma- or newline-separated lists, as environment variables and template parameters carry them."""
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]
    return value


def _port_ranges(value: object) -> object:
    parts = _split(value)
    if not isinstance(parts, list):
        return parts
    ranges: list[tuple[int, int]] = []
    for part in parts:
        low, _, high = str(part).partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _networks(value: object) -> object:
    parts = _split(value)
    if not isinstance(parts, list):
        return parts
    return [ipaddress.ip_network(str(part), strict=False) for part in parts]


class Settings(BaseModel):
    """Field names equal the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Lambda returns at most 6 MB synchronously; a typical https result is about 800 bytes of JSON.
    # Bigger lists go through Step Functions Distributed Map, in batches.
    MAX_URLS: Annotated[int, Field(ge=1, le=5_000)] = 1000
    MAX_BODY_BYTES: Annotated[int, Field(ge=1024)] = 1_048_576
    ALLOWED_NETWORKS: Annotated[Networks, BeforeValidator(_networks)] = Field(default_factory=list)
    ALLOWED_PORTS: Annotated[list[tuple[int, int]], BeforeValidator(_port_ranges)] = Field(
        default_factory=lambda: [(80, 80), (443, 443)]
    )
    MONITOR_URLS: Annotated[list[str], BeforeValidator(_split)] = Field(default_factory=list)
    # API Gateway gives up on the integration after 29 s, whatever the function's timeout.
    API_TIMEOUT_SECONDS: Annotated[float, Field(gt=0, le=30)] = 29.0
    # Time kept back from the deadline to cancel, classify and serialize the results.
    DEADLINE_MARGIN_SECONDS: Annotated[float, Field(ge=0.05, le=60)] = 0.5
    # Where monitor runs and jobs are kept; monitoring and jobs are off while it is empty.
    RESULTS_BUCKET: str = ""
    # Monitoring sinks: each is off while its variable is empty (see store.py and monitoring/).
    TARGETS_S3_URI: Annotated[str, Field(pattern=r"^(s3://[^/]+/.+)?$")] = ""
    ALERT_TOPIC_ARN: str = ""
    TLS_WARN_DAYS: Annotated[float, Field(ge=0, le=3650)] = 14.0
    # One CloudWatch metric per URL and metric name: an operator's choice, never a caller's, as each costs money.
    URL_METRICS: bool = False
    # Seconds each sink call may take (connect, then read); a slow sink must not use up the deadline.
    SINK_TIMEOUT_SECONDS: Annotated[float, Field(gt=0, le=60)] = 3.0
    # Where the monitors file's channel secrets and webhook URLs live in SSM; the role may read only this path.
    SSM_PREFIX: Annotated[str, Field(pattern=r"^/([A-Za-z0-9_.-]+/)+$")] = "/fanfetch/"
    AWS_LAMBDA_FUNCTION_NAME: str = ""
    # The region this function runs in (Lambda sets it); the default User-Agent names it, so that a site can tell
    # probes apart.
    AWS_REGION: str = ""

    # Several probe regions: the results bucket's region (and of the SSM parameters under SSM_PREFIX), where S3
    # and SSM calls go whatever the function's region; SNS calls go to the region in ALERT_TOPIC_ARN.
    HOME_REGION: str = ""
    # Every region that probes this monitor; empty or one region is a single-region monitor.
    MONITOR_REGIONS: Annotated[list[str], BeforeValidator(_split)] = Field(default_factory=list)
    # Regions that must agree before a target is down or degraded; 0 means a majority of MONITOR_REGIONS.
    QUORUM: Annotated[int, Field(ge=0, le=100)] = 0
    # The monitor's schedule expression: its period tells a region's fresh verdicts from stale ones.
    MONITOR_SCHEDULE: Annotated[str, Field(pattern=r"^((rate|cron)\(.*\))?$")] = ""

    # Jobs: lists beyond one invocation, fanned out by a Step Functions Distributed Map (jobs.py).
    JOBS_STATE_MACHINE_ARN: str = ""
    JOB_MAX_URLS: Annotated[int, Field(ge=1, le=100_000_000)] = 1_000_000
    # Buckets besides RESULTS_BUCKET that a job's `source` may name; the function's role must allow reading them.
    JOB_SOURCE_BUCKETS: Annotated[list[str], BeforeValidator(_split)] = Field(default_factory=list)
    # Worst-case seconds one chunk is sized for: inside the job function's timeout (240 s in template.yaml), which
    # stays inside the 5 minutes an EXPRESS child may run.
    JOB_CHUNK_SECONDS: Annotated[float, Field(gt=0, le=900)] = 180.0
    # Most URLs in one chunk; the job function's MAX_URLS must allow it.
    JOB_CHUNK_MAX_URLS: Annotated[int, Field(ge=1, le=5_000)] = 5_000
    # URLs in flight per chunk when a job's options do not set `concurrency`: a chunk is a batch, so it runs more
    # at once than /fetch's default (per_host still bounds what each site sees).
    JOB_CHUNK_CONCURRENCY: Annotated[int, Field(ge=1, le=512)] = 300
    # The job function's reserved concurrency: a job's map never runs more chunks at once (template parameter
    # JobConcurrency sets both), so its children are not throttled.
    JOB_CONCURRENCY: Annotated[int, Field(ge=1, le=10_000)] = 20
    JOB_TOLERATED_FAILURE_PERCENTAGE: Annotated[float, Field(ge=0, le=100)] = 5.0

    @model_validator(mode="after")
    def _quorum_fits(self) -> Self:
        if len(self.MONITOR_REGIONS) < self.QUORUM and len(self.MONITOR_REGIONS) > 1:
            raise ValueError(f"QUORUM {self.QUORUM} exceeds the {len(self.MONITOR_REGIONS)} MONITOR_REGIONS")
        return self

    @property
    def regional(self) -> bool:
        """Whether this monitor is probed from several regions and judged by a quorum."""
        return len(self.MONITOR_REGIONS) > 1

    @property
    def quorum(self) -> int:
        """Regions that must agree: QUORUM, or a majority of MONITOR_REGIONS."""
        return self.QUORUM or len(self.MONITOR_REGIONS) // 2 + 1

    @property
    def schedule_period_s(self) -> float | None:
        """The period of a `rate(...)` schedule in seconds; None for cron expressions and no schedule."""
        found = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", self.MONITOR_SCHEDULE)
        if found is None:
            return None
        unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
        return float(int(found.group(1)) * unit)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate; a bad value raises ConfigurationError naming the variable."""
    env = os.environ if environ is None else environ
    fields = Settings.model_fields
    present = {name: env[name] for name in fields if env.get(name, "").strip()}
    try:
        return Settings.model_validate(present)
    except (ValidationError, ValueError) as exc:
        raise ConfigurationError(f"invalid environment: {exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this execution environment, read once per cold start."""
    return load_settings()
