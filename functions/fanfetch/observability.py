"""The structured logger and the CloudWatch metrics (EMF), created once per execution environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

if TYPE_CHECKING:
    from fanfetch.models import FetchResponse
    from fanfetch.monitoring.judge import Verdict

# The level comes from POWERTOOLS_LOG_LEVEL (set in template.yaml); the service name is fixed.
logger = Logger(service="fanfetch")
# The namespace and service dimension are fixed: the template's alarms and dashboard name them.
NAMESPACE = "fanfetch"
SERVICE = "fanfetch"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# CloudWatch allows dimension values of at most 1,024 characters.
DIMENSION_VALUE_LIMIT = 1024


def emit_run_metrics(
    response: FetchResponse,
    function_name: str,
    verdicts: Sequence[Verdict] | None,
    per_url: bool,
    maintenance: Sequence[bool] | None = None,
    counts: tuple[int, int] | None = None,
) -> None:
    """One EMF document for the run, flushed now: a monitor run emits it once its sinks are done or given up on
    (they are bounded by the run's deadline), so that UrlsDown counts the debounced states.

    `verdicts` are a monitor run's, one per result, as the judge gave them; None for other runs.
    UrlsDown and MinTlsDaysLeft only come from monitor runs, so that the UrlsDown alarm (missing data is
    breaching) notices a schedule that stopped, whatever direct callers do. Targets in a maintenance window
    (`maintenance`, one flag per verdict) count in neither UrlsDown nor UrlsDegraded. Per-URL metrics carry a
    `url` dimension: one metric each. `counts` (down, degraded) are the debounced states when the run was
    compared with latest.json; without them this run's verdicts are counted.
    """
    results = response.results
    metrics.clear_default_dimensions()
    if function_name:
        metrics.set_default_dimensions(function=function_name)
    # Latencies first: Powertools flushes a document by itself every 100 values, and the run's totals, added
    # last, keep the final explicit flush from being empty.
    for result in results:
        if result.ok:
            metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=float(result.elapsed_ms))
    metrics.add_metric(name="UrlsFetched", unit=MetricUnit.Count, value=len(results))
    metrics.add_metric(name="UrlsFailed", unit=MetricUnit.Count, value=sum(not r.ok for r in results))
    metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=response.summary.bytes)
    if verdicts is not None:
        held = maintenance if maintenance is not None else [False] * len(verdicts)
        counted = [v for v, in_window in zip(verdicts, held, strict=True) if not in_window]
        down, degraded = counts or (
            sum(v.health == "down" for v in counted),
            sum(v.health == "degraded" for v in counted),
        )
        metrics.add_metric(name="UrlsDown", unit=MetricUnit.Count, value=down)
        metrics.add_metric(name="UrlsDegraded", unit=MetricUnit.Count, value=degraded)
        days = [v.seen.tls_days_left for v in verdicts if v.seen.tls_days_left is not None]
        # Like UrlsDown, only monitored certificates: a caller's one-off fetch must not raise the alarm.
        if days:
            metrics.add_metric(name="MinTlsDaysLeft", unit=MetricUnit.Count, value=round(min(days), 2))
    metrics.flush_metrics()
    if per_url and verdicts is not None:
        for verdict in verdicts:
            _emit_url_metrics(verdict, function_name)


def _emit_url_metrics(verdict: Verdict, function_name: str) -> None:
    # Its own document per URL: dimensions apply to a whole EMF document.
    url_metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    if function_name:
        url_metrics.add_dimension(name="function", value=function_name)
    seen = verdict.seen
    url_metrics.add_dimension(name="url", value=seen.label[:DIMENSION_VALUE_LIMIT])
    url_metrics.add_metric(name="UrlUp", unit=MetricUnit.Count, value=1 if verdict.health == "up" else 0)
    url_metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=seen.elapsed_ms)
    if seen.bytes is not None:
        url_metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=seen.bytes)
    if seen.tls_days_left is not None:
        url_metrics.add_metric(name="TlsDaysLeft", unit=MetricUnit.Count, value=round(seen.tls_days_left, 2))
    url_metrics.flush_metrics()
