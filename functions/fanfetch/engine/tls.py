"""TLS facts of a connection: protocol version, certificate expiry and issuer, also for a certificate that failed
verification; and the client contexts they are read through."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aiohttp import ClientSession
from yarl import URL

from fanfetch.engine.capture import clip
from fanfetch.engine.failures import TARGET_FAILURES
from fanfetch.engine.timing import Clock, TimedSSLContext, current_clock
from fanfetch.models import TlsInfo

logger = logging.getLogger(__name__)


@cache
def make_ssl_context(cadata: str | None = None) -> ssl.SSLContext:
    """The verifying client context, with the system roots or, for tests and private PKI, the given PEM CAs.

    Cached: loading the roots takes tens of milliseconds, and a context is safe to share across event loops.
    """
    context = TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cadata is None:
        context.load_default_certs()
    else:
        context.load_verify_locations(cadata=cadata)
    return context


def _unverified_context() -> ssl.SSLContext:
    """Only for reading a certificate that already failed verification; nothing is fetched through it."""
    context = TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_info(ssl_object: ssl.SSLObject) -> TlsInfo:
    """The facts of a verified connection, from the certificate the handshake accepted."""
    info = TlsInfo(version=ssl_object.version())
    cert = ssl_object.getpeercert()
    if cert:
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
        _set_expiry(info, not_after)
        issuer: dict[str, str] = {}
        rdns: Any = cert.get("issuer", ())  # ((("organizationName", "..."),), ...)
        for rdn in rdns:
            issuer.update((str(name), str(value)) for name, value in rdn)
        name = issuer.get("organizationName") or issuer.get("commonName")
        info.issuer = clip(name) if name is not None else None
    return info


def _set_expiry(info: TlsInfo, not_after: datetime) -> None:
    info.not_after = not_after.isoformat().replace("+00:00", "Z")
    info.days_left = round((not_after - datetime.now(UTC)).total_seconds() / 86400, 2)


async def failed_certificate(session: ClientSession, url: URL, until: float) -> TlsInfo | None:
    """Reads the certificate that failed verification, without trusting it, so its expiry is still reported."""
    if url.scheme != "https":
        return None
    clock = Clock()
    token = current_clock.set(clock)
    try:
        async with asyncio.timeout_at(until):
            response = await session.request("HEAD", url, allow_redirects=False, ssl=_unverified_context())
            response.close()  # only the handshake was wanted
    except TARGET_FAILURES as exc:  # best effort: the TLS error itself is already recorded
        logger.debug("certificate not readable after TLS failure", extra={"url": str(url), "reason": str(exc)})
    finally:
        current_clock.reset(token)
    ssl_object = clock.ssl_object
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if ssl_object is None or not der:
        return None
    from cryptography import x509  # only on this rare path: it is heavy to import

    certificate = x509.load_der_x509_certificate(der)
    info = TlsInfo(version=ssl_object.version())
    _set_expiry(info, certificate.not_valid_after_utc)
    names = certificate.issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME) or (
        certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    )
    info.issuer = clip(str(names[0].value) if names else certificate.issuer.rfc4514_string())
    return info
