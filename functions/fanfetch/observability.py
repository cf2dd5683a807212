"""The structured logger and the CloudWatch metrics (EMF), created once per execution environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

# The level comes from POWERTOOLS_LOG_LEVEL (set in template.yaml); the service name is fixed.
logger = Logger(service="fanfetch")
# The namespace and service dimension are fixed: the template's alarms and dashboard name them.
NAMESPACE = "fanfetch"
SERVICE = "fanfetch"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# CloudWatch allows dimension values of at most 1,024 characters.
DIMENSION_VALUE_LIMIT = 1024


def _results(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [result for result in payload.get("results", []) if isinstance(result, Mapping)]


def _tls_days(result: Mapping[str, Any]) -> float | None:
    tls = result.get("tls")
    days = tls.get("days_left") if isinstance(tls, Mapping) else None
    return float(days) if isinstance(days, int | float) else None


def emit_run_metrics(payload: Mapping[str, Any], function_name: str, monitored: bool, per_url: bool) -> None:
    """One EMF document for the run, flushed now: a run's metrics never wait for, or depend on, its sinks.

    UrlsDown and MinTlsDaysLeft only come from monitor runs, so that the UrlsDown alarm (missing data is
    breaching) notices a schedule that stopped, whatever direct callers do. Per-URL metrics carry a `url`
    dimension: one metric each.
    """
    summary = payload.get("summary") or {}
    results = _results(payload)
    metrics.clear_default_dimensions()
    if function_name:
        metrics.set_default_dimensions(function=function_name)
    # Latencies first: Powertools flushes a document by itself every 100 values, and the run's totals, added
    # last, keep the final explicit flush from being empty.
    for result in results:
        if result.get("ok") and isinstance(result.get("elapsed_ms"), int | float):
            metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=float(result["elapsed_ms"]))
    metrics.add_metric(name="UrlsFetched", unit=MetricUnit.Count, value=len(results))
    metrics.add_metric(name="UrlsFailed", unit=MetricUnit.Count, value=sum(not r.get("ok") for r in results))
    metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=int(summary.get("bytes") or 0))
    if monitored:
        metrics.add_metric(name="UrlsDown", unit=MetricUnit.Count, value=sum(not r.get("ok") for r in results))
    days = [value for value in map(_tls_days, results) if value is not None]
    # Like UrlsDown, only monitored certificates: a caller's one-off fetch must not raise the alarm.
    if monitored and days:
        metrics.add_metric(name="MinTlsDaysLeft", unit=MetricUnit.Count, value=round(min(days), 2))
    metrics.flush_metrics()
    if per_url:
        for result in results:
            _emit_url_metrics(result, function_name)


def _emit_url_metrics(result: Mapping[str, Any], function_name: str) -> None:
    # Its own document per URL: dimensions apply to a whole EMF document.
    url_metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    if function_name:
        url_metrics.add_dimension(name="function", value=function_name)
    url_metrics.add_dimension(name="url", value=str(result.get("url"))[:DIMENSION_VALUE_LIMIT])
    url_metrics.add_metric(name="UrlUp", unit=MetricUnit.Count, value=1 if result.get("ok") else 0)
    if isinstance(result.get("elapsed_ms"), int | float):
        url_metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=float(result["elapsed_ms"]))
    if isinstance(result.get("bytes"), int):
        url_metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=result["bytes"])
    days = _tls_days(result)
    if days is not None:
        url_metrics.add_metric(name="TlsDaysLeft", unit=MetricUnit.Count, value=round(days, 2))
    url_metrics.flush_metrics()
