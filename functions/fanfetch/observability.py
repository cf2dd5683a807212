"""The structured logger and the CloudWatch metrics (EMF), created once per execution environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

if TYPE_CHECKING:
    from fanfetch.models import FetchResponse, UrlResult
    from fanfetch.monitoring.state import Health

# The level comes from POWERTOOLS_LOG_LEVEL (set in template.yaml); the service name is fixed.
logger = Logger(service="fanfetch")
# The namespace and service dimension are fixed: the template's alarms and dashboard name them.
NAMESPACE = "fanfetch"
SERVICE = "fanfetch"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# CloudWatch allows dimension values of at most 1,024 characters.
DIMENSION_VALUE_LIMIT = 1024


def emit_run_metrics(
    response: FetchResponse, function_name: str, healths: Sequence[Health] | None, per_url: bool
) -> None:
    """One EMF document for the run, flushed now: a run's metrics never wait for, or depend on, its sinks.

    `healths` are a monitor run's verdicts, one per result, as the judge gave them; None for other runs.
    UrlsDown and MinTlsDaysLeft only come from monitor runs, so that the UrlsDown alarm (missing data is
    breaching) notices a schedule that stopped, whatever direct callers do. Per-URL metrics carry a `url`
    dimension: one metric each.
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
    if healths is not None:
        metrics.add_metric(name="UrlsDown", unit=MetricUnit.Count, value=sum(h == "down" for h in healths))
    days = [_tls_days(result) for result in results]
    known = [value for value in days if value is not None]
    # Like UrlsDown, only monitored certificates: a caller's one-off fetch must not raise the alarm.
    if healths is not None and known:
        metrics.add_metric(name="MinTlsDaysLeft", unit=MetricUnit.Count, value=round(min(known), 2))
    metrics.flush_metrics()
    if per_url and healths is not None:
        for result, health in zip(results, healths, strict=True):
            _emit_url_metrics(result, health, function_name)


def _tls_days(result: UrlResult) -> float | None:
    return result.tls.days_left if result.tls is not None else None


def _emit_url_metrics(result: UrlResult, health: Health, function_name: str) -> None:
    # Its own document per URL: dimensions apply to a whole EMF document.
    url_metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    if function_name:
        url_metrics.add_dimension(name="function", value=function_name)
    url_metrics.add_dimension(name="url", value=result.url[:DIMENSION_VALUE_LIMIT])
    url_metrics.add_metric(name="UrlUp", unit=MetricUnit.Count, value=1 if health == "up" else 0)
    url_metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=float(result.elapsed_ms))
    if result.bytes is not None:
        url_metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=result.bytes)
    days = _tls_days(result)
    if days is not None:
        url_metrics.add_metric(name="TlsDaysLeft", unit=MetricUnit.Count, value=round(days, 2))
    url_metrics.flush_metrics()
