"""Event shapes onto FetchRequest, and settings from the environment (no network)."""

from __future__ import annotations

import ipaddress

import pytest
from fanfetch.errors import ConfigurationError, InvalidRequest, PayloadTooLarge
from fanfetch.models import FetchOptions
from fanfetch.settings import load_settings
from fanfetch.sources import Source, detect, http_body, query_request, to_request

from tests.conftest import load_event

SETTINGS = load_settings({})


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("direct.json", Source.DIRECT),
        ("schedule-input.json", Source.DIRECT),
        ("api-post.json", Source.API_V2),
        ("api-get.json", Source.API_V2),
        ("rest-post.json", Source.API_V1),
        ("schedule.json", Source.SCHEDULE),
        ("batch.json", Source.BATCH),
        ("invalid.json", Source.DIRECT),
    ],
)
def test_detect_names_the_source_of_each_sample_event(name: str, source: Source) -> None:
    assert detect(load_event(name)) is source


def test_batch_items_keep_only_urls_and_take_options_from_batch_input() -> None:
    request = to_request(load_event("batch.json"), Source.BATCH, SETTINGS)
    assert request.urls == ["https://example.com/", "https://example.org/a"]
    assert request.options.per_host == 4 and request.options.timeout == 5


def test_batch_refuses_item_without_url() -> None:
    with pytest.raises(InvalidRequest, match=r"Items\.1"):
        to_request({"Items": ["https://a/", {"id": 3}]}, Source.BATCH, SETTINGS)


def test_query_request_reads_options_and_repeated_urls() -> None:
    request = query_request({"url": ["https://a/?x=1,2", "https://b/"], "timeout": ["3"], "hash": ["true"]}, SETTINGS)
    assert request.urls == ["https://a/?x=1,2", "https://b/"]
    assert request.options == FetchOptions(timeout=3, hash=True)


def test_query_request_names_unknown_option() -> None:
    with pytest.raises(InvalidRequest, match=r"options\.colour"):
        query_request({"url": ["https://a/"], "colour": ["red"]}, SETTINGS)


def test_max_urls_applies_to_every_source() -> None:
    settings = load_settings({"MAX_URLS": "2"})
    with pytest.raises(InvalidRequest, match="MAX_URLS"):
        to_request({"urls": ["https://a/"] * 3}, Source.DIRECT, settings)
    with pytest.raises(InvalidRequest, match="MAX_URLS"):
        to_request({"Items": ["https://a/"] * 3}, Source.BATCH, settings)


def test_http_body_refuses_oversized_body_with_413() -> None:
    settings = load_settings({"MAX_BODY_BYTES": "1024"})
    with pytest.raises(PayloadTooLarge, match="MAX_BODY_BYTES"):
        http_body({"body": "x" * 2000}, settings)


def test_options_reject_header_injection() -> None:
    with pytest.raises(ValueError, match="should match pattern"):
        FetchOptions(headers={"X-A": "1\r\nHost: evil"})
    with pytest.raises(ValueError, match="should match pattern"):
        FetchOptions(headers={"X A": "1"})
    with pytest.raises(ValueError, match="cannot be overridden"):
        FetchOptions(headers={"Host": "internal"})


def test_settings_parse_lists_ranges_and_networks() -> None:
    settings = load_settings(
        {"ALLOWED_PORTS": "80, 443,8000-8100", "ALLOWED_NETWORKS": "10.0.0.0/8,fd00::/8", "MONITOR_URLS": "a\nb, c"}
    )
    assert settings.ALLOWED_PORTS == [(80, 80), (443, 443), (8000, 8100)]
    assert [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")] == settings.ALLOWED_NETWORKS
    assert settings.MONITOR_URLS == ["a", "b", "c"]


def test_settings_defaults_refuse_private_networks_and_allow_web_ports() -> None:
    assert SETTINGS.ALLOWED_NETWORKS == []
    assert SETTINGS.ALLOWED_PORTS == [(80, 80), (443, 443)]
    assert SETTINGS.MAX_URLS == 1000


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_URLS", "many"), ("ALLOWED_NETWORKS", "not-a-cidr"), ("ALLOWED_PORTS", "http"), ("MAX_URLS", "0")],
)
def test_settings_name_the_variable_when_a_value_is_bad(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({name: value})
