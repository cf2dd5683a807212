"""The destination guard's decisions, address by address and URL by URL (no network)."""

from __future__ import annotations

import ipaddress

import pytest
from fanfetch.errors import DestinationBlocked, InvalidTarget
from fanfetch.guard import Guard, parse_ip_literal
from yarl import URL

REFUSED = [
    "0.0.0.0",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.170",
    "192.168.1.1",
    "198.18.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::127.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_refusal_names_reason_when_address_is_not_global(address: str) -> None:
    ip = ipaddress.ip_address(address)
    reason = Guard().refusal(ip)
    assert reason is not None and str(ip) in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_refusal_is_none_when_address_is_global(address: str) -> None:
    assert Guard().refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("::1", "::1"),
        ("0", "0.0.0.0"),  # inet_aton reads a lone number as a 32-bit address: 0 is 0.0.0.0, not 127.0.0.1
        ("0x0", "0.0.0.0"),
        ("example.com", None),
        ("cafe", None),
        ("", None),
    ],
)
def test_parse_ip_literal_reads_host_as_the_c_library_would(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1:80/",
        "https://8.8.8.8:22/",
        "http://8.8.8.8:8080/",
    ],
)
def test_check_url_blocks_before_connecting_when_literal_or_port_is_refused(url: str) -> None:
    with pytest.raises(DestinationBlocked):
        Guard().check_url(URL(url))


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost"])
def test_check_url_rejects_when_scheme_or_host_is_unusable(url: str) -> None:
    with pytest.raises(InvalidTarget):
        Guard().check_url(URL(url))


def test_check_url_passes_when_public_host_on_default_port() -> None:
    Guard().check_url(URL("https://example.com/path?q=1"))
    Guard().check_url(URL("http://8.8.8.8/"))


def test_allowed_networks_open_exactly_what_they_list() -> None:
    guard = Guard([ipaddress.ip_network("127.0.0.2/32"), ipaddress.ip_network("fd00::/64")])
    assert guard.refusal(ipaddress.ip_address("127.0.0.2")) is None
    assert guard.refusal(ipaddress.ip_address("::ffff:127.0.0.2")) is None
    assert guard.refusal(ipaddress.ip_address("fd00::5")) is None
    assert guard.refusal(ipaddress.ip_address("127.0.0.1")) is not None
    assert guard.refusal(ipaddress.ip_address("fd00:1::5")) is not None
    assert guard.refusal(ipaddress.ip_address("10.0.0.1")) is not None


def test_check_resolved_refuses_the_name_when_any_address_is_private() -> None:
    with pytest.raises(DestinationBlocked, match=r"rebind\.example resolves to 127\.0\.0\.1"):
        Guard().check_resolved("rebind.example", ["8.8.8.8", "127.0.0.1"])


@pytest.mark.parametrize(
    "address",
    ["2002:a00:1::1", "2001:0:4136:e378:8000:63bf:f5ff:fffe"],  # 6to4 and Teredo carrying 10.0.0.1
)
def test_guard_allowed_network_does_not_admit_a_relay_address_carrying_it(address: str) -> None:
    guard = Guard([ipaddress.ip_network("10.0.0.0/8")])
    assert guard.refusal(ipaddress.ip_address(address)) is not None


def test_guard_allowed_network_admits_its_ipv4_mapped_form() -> None:
    guard = Guard([ipaddress.ip_network("10.0.0.0/8")])
    assert guard.refusal(ipaddress.ip_address("::ffff:10.0.0.1")) is None
