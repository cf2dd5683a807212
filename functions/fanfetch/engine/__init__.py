"""The async fetch core: bounded, streaming, per-URL results before a deadline. Knows nothing of Lambda or AWS."""

from fanfetch.engine.failures import TARGET_FAILURES, classify
from fanfetch.engine.fetcher import Fetcher, fetch_all
from fanfetch.engine.tls import make_ssl_context
from fanfetch.engine.urls import MAX_URL_LENGTH, parse_target
from fanfetch.errors import RedirectError

__all__ = [
    "MAX_URL_LENGTH",
    "TARGET_FAILURES",
    "Fetcher",
    "RedirectError",
    "classify",
    "fetch_all",
    "make_ssl_context",
    "parse_target",
]
