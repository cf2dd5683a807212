"""TLS facts and failures against loopback HTTPS origins with locally made certificates (trustme)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from aiohttp.test_utils import TestServer
from fanfetch.engine import fetch_all, make_ssl_context
from fanfetch.guard import Guard
from fanfetch.models import UrlResult

from tests.dns import StaticResolver
from tools.origin import make_app

NAME = "origin.fanfetch.test"  # answered by a static resolver, never by the host's DNS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="fanfetch test CA")


async def _https_origin(aiohttp_server: Any, cert: trustme.LeafCert) -> TestServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server: TestServer = await aiohttp_server(make_app(), host="127.0.0.1", ssl=context)
    return server


async def _fetch_one(server: TestServer, trusted: trustme.CA, guard: Guard, path: str = "/bytes/10") -> UrlResult:
    """Fetch https://NAME:<port><path> trusting only the given CA."""
    response = await fetch_all(
        [f"https://{NAME}:{server.port}{path}"],
        guard=guard,
        ssl_context=make_ssl_context(trusted.cert_pem.bytes().decode()),
        resolver=StaticResolver({NAME: ["127.0.0.1"]}),
    )
    (result,) = response.results
    return result


async def test_tls_facts_are_reported_when_certificate_is_valid(
    aiohttp_server: Any, ca: trustme.CA, loopback_guard: Guard
) -> None:
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    server = await _https_origin(aiohttp_server, ca.issue_cert(NAME, not_after=not_after))
    result = await _fetch_one(server, ca, loopback_guard, "/bytes/10")
    assert result.ok, result.error
    assert result.tls is not None
    assert result.tls.version in ("TLSv1.2", "TLSv1.3")
    assert result.tls.issuer == "fanfetch test CA"
    assert result.tls.days_left is not None and 29 < result.tls.days_left <= 30
    assert result.tls.not_after == not_after.isoformat().replace("+00:00", "Z")
    assert result.timings.tls is not None and result.timings.connect is not None


async def test_tls_error_keeps_expiry_when_certificate_has_expired(
    aiohttp_server: Any, ca: trustme.CA, loopback_guard: Guard
) -> None:
    expired = datetime.now(UTC) - timedelta(days=2)
    server = await _https_origin(
        aiohttp_server, ca.issue_cert(NAME, not_before=expired - timedelta(days=90), not_after=expired)
    )
    result = await _fetch_one(server, ca, loopback_guard, "/bytes/10")
    assert result.error is not None and result.error.type == "tls"
    assert "expired" in result.error.message
    assert result.tls is not None and result.tls.days_left is not None and -3 < result.tls.days_left < -1
    assert result.tls.issuer == "fanfetch test CA"
    assert result.attempts == 1  # a certificate problem is not retried


async def test_tls_error_names_the_reason_when_issuer_is_unknown(
    aiohttp_server: Any, ca: trustme.CA, loopback_guard: Guard
) -> None:
    server = await _https_origin(aiohttp_server, ca.issue_cert(NAME))
    result = await _fetch_one(server, trustme.CA(), loopback_guard, "/")
    assert result.error is not None and result.error.type == "tls"
    assert "unable to get local issuer certificate" in result.error.message
    assert result.tls is not None and result.tls.days_left is not None and result.tls.days_left > 300


async def test_tls_error_when_hostname_does_not_match(
    aiohttp_server: Any, ca: trustme.CA, loopback_guard: Guard
) -> None:
    server = await _https_origin(aiohttp_server, ca.issue_cert("other.example"))
    result = await _fetch_one(server, ca, loopback_guard, "/")
    assert result.error is not None and result.error.type == "tls"
    assert NAME in result.error.message


async def test_tls_issuer_is_cut_when_the_certificate_names_a_huge_one(
    aiohttp_server: Any, loopback_guard: Guard
) -> None:
    # Given a CA whose organization name is 8,000 characters, trusted for one fetch and not for the other
    huge = trustme.CA(organization_name="o" * 8000)
    server = await _https_origin(aiohttp_server, huge.issue_cert(NAME))

    # When fetched verified, and unverified (the certificate is then read after the failure)
    verified = await _fetch_one(server, huge, loopback_guard)
    failed = await _fetch_one(server, trustme.CA(), loopback_guard)

    # Then both report the issuer cut to 256 characters, marked
    assert verified.ok, verified.error
    assert failed.error is not None and failed.error.type == "tls"
    for result in (verified, failed):
        assert result.tls is not None and result.tls.issuer is not None
        assert len(result.tls.issuer) == 256 and result.tls.issuer.endswith("…[cut]")
