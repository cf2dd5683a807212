"""Why a URL failed: the exceptions that mean a target misbehaved, each named; anything else is a fanfetch bug."""

from __future__ import annotations

import logging
import ssl
import zlib

import aiohttp
from aiohttp import client_exceptions

from fanfetch.engine.capture import clip
from fanfetch.errors import DestinationBlocked, InvalidTarget, RedirectError, TargetFailure
from fanfetch.models import ErrorType, FetchError

logger = logging.getLogger(__name__)

# What a target (or the way to it) can make a fetch raise. Anything outside this is a bug in fanfetch.
TARGET_FAILURES: tuple[type[Exception], ...] = (
    aiohttp.ClientError,  # connection, TLS, response parsing, payload and invalid-URL errors
    OSError,  # sockets, including ssl.SSLError and ConnectionError
    TimeoutError,
    zlib.error,  # a body whose gzip/deflate coding is corrupt
    UnicodeError,  # a host that IDNA cannot encode
    TargetFailure,  # the guard's refusals, malformed URLs, redirect chains fanfetch will not follow
)


def classify(exc: BaseException) -> FetchError:
    """A per-URL failure reason from a target failure; checked from the most specific class down."""
    message = str(exc) or exc.__class__.__name__
    kind: ErrorType
    if isinstance(exc, DestinationBlocked):
        kind = "blocked"
    elif isinstance(exc, (InvalidTarget, aiohttp.InvalidURL, UnicodeError)):
        kind = "invalid_url"
    elif isinstance(exc, RedirectError):
        kind = "redirects"
    elif isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        kind = "tls"
        certificate_error = getattr(exc, "certificate_error", None)
        if certificate_error is not None:
            message = getattr(certificate_error, "verify_message", None) or str(certificate_error)
    elif isinstance(exc, client_exceptions.ClientConnectorDNSError):
        kind = "dns"
        message = f"cannot resolve {exc.host}: {exc.os_error.strerror or exc.os_error}"
    elif isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientOSError, ConnectionError)):
        kind = "connect"
    else:
        kind = "protocol"
    return FetchError(type=kind, message=clip(message))


def internal_error(url: str) -> FetchError:
    """The result of a fanfetch bug on one URL; call it from the `except` block so the traceback is logged."""
    logger.exception("fanfetch failed on this URL: a bug in fanfetch, not a target failure", extra={"url": url})
    return FetchError(
        "internal", "fanfetch failed on this URL (a bug, logged with its traceback); other URLs are unaffected"
    )
