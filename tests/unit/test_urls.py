"""URL syntax checks: each malformed spelling is refused with a reason naming it; ordinary URLs pass."""

from __future__ import annotations

import pytest
from fanfetch.engine.urls import join_location, parse_target, typo_hint, with_hint
from fanfetch.errors import InvalidTarget
from yarl import URL

MALFORMED = [
    ("http://::1/", "brackets"),
    ("http://2001:db8::1:8080/", "brackets"),
    ("http://evil.example\\@127.0.0.1/", "backslash"),
    ("http://evil.example\\127.0.0.1/", "backslash"),
    ("http:\\\\evil.example/", "backslash"),
    ("http://127.0.0.1:65616/", "outside 1-65535"),
    ("http://127.0.0.1:0/", "outside 1-65535"),
    ("http://127.0.0.1:8o/", "not a number"),
    ("http:///path", "no host"),
    ("http://:80/", "no host"),
    ("http://user:pass@example.com/", "user information"),
    ("http://user@example.com/", "user information"),
    ("http://@example.com/", "user information"),
    ("http://exa mple.com/", "whitespace"),
    ("http://example.com/a b", "whitespace"),
    (" http://example.com/", "whitespace"),
    ("http://example.com/\n", "whitespace"),
    ("http://example.com/\tx", "whitespace"),
    ("http://example.com/\x00", "control"),
    ("http://example.com/\x7f", "control"),
    ("http://example.com/\u200b", "control"),
    ("http://example.com/\u2028", "control"),
    ("http://%31%32%37.0.0.1/", "percent-encoded"),
    ("http://exa%6Dple.com/", "percent-encoded"),
    ("http://exa<mple.com/", "'<'"),
    ("http://[::1/", "closing ]"),
    ("http://[::1]x/", "only :port"),
    ("http://[not-v6]/", "not an IPv6 address"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://" + "a" * 2100 + ".example/", "at most 2048"),
]


@pytest.mark.parametrize(("raw", "reason"), MALFORMED)
def test_parse_target_refuses_with_a_reason_when_url_is_malformed(raw: str, reason: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(raw)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "host", "port"),
    [
        ("http://example.com/", "example.com", 80),
        ("HTTPS://Example.COM:8443/a?b=c#d", "example.com", 8443),
        ("http://example.com:/x", "example.com", 80),
        ("http://[2001:db8::1]:8080/", "2001:db8::1", 8080),
        ("http://127.0.0.1/", "127.0.0.1", 80),
        ("http://bücher.example/straße", "xn--bcher-kva.example", 80),
        ("http://example.com/a\\b", "example.com", 80),  # a backslash in the path is only a path character
        ("http://example.com/%20already-encoded", "example.com", 80),
    ],
)
def test_parse_target_accepts_when_url_is_well_formed(raw: str, host: str, port: int) -> None:
    url = parse_target(raw)
    assert (url.raw_host, url.port) == (host, port)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/next", "http://example.com/next"),
        ("next", "http://example.com/a/next"),
        ("//other.example/x", "http://other.example/x"),
        ("https://other.example:8443/", "https://other.example:8443/"),
        ("?page=2", "http://example.com/a/b?page=2"),
    ],
)
def test_join_location_follows_when_location_is_well_formed(location: str, expected: str) -> None:
    assert str(join_location(URL("http://example.com/a/b"), location)) == expected


@pytest.mark.parametrize(
    "location",
    [
        "http://::1/",
        "http://evil.example\\@127.0.0.1/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "//user:pass@example.com/",
        "http://127.0.0.1:65616/",
        "//%31%32%37.0.0.1/",
        "/next page",
        "/next\r\nSet-Cookie: x=1",
    ],
)
def test_join_location_refuses_when_location_is_malformed(location: str) -> None:
    with pytest.raises(InvalidTarget):
        join_location(URL("http://example.com/a"), location)


TYPOS = [
    ("127.0.0.1:19111/api", "missing http:// ? did you mean http://127.0.0.1:19111/api ?"),
    ("example.com", "missing http:// ? did you mean http://example.com ?"),
    ("localhost:3000/x", "missing http:// ? did you mean http://localhost:3000/x ?"),
    ("[::1]:8080/", "missing http:// ? did you mean http://[::1]:8080/ ?"),
    ("http//host/", "did you mean http://host/ ?"),
    ("https:/example.com/a", "did you mean https://example.com/a ?"),
    ("HTTP//Example.com/", "did you mean http://Example.com/ ?"),
    ("htp://example.com/", "did you mean http://example.com/ ?"),
    ("htps://example.com/", "did you mean https://example.com/ ?"),
    ("example.com/" + "a" * 300, "missing http:// ?"),
]


@pytest.mark.parametrize(("raw", "hint"), TYPOS)
def test_typo_hint_names_the_likely_url(raw: str, hint: str) -> None:
    assert typo_hint(raw) == hint


@pytest.mark.parametrize(
    "raw", ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "mailto:a@b.c", "hello", "http:///x"]
)
def test_typo_hint_stays_quiet_when_no_guess_is_safe(raw: str) -> None:
    assert typo_hint(raw) is None


def test_with_hint_adds_the_hint_to_the_refusal() -> None:
    refusal = InvalidTarget("scheme '127.0.0.1' is not allowed: use http or https")
    hinted = with_hint(refusal, "127.0.0.1:19111/api")
    assert str(hinted) == (
        "scheme '127.0.0.1' is not allowed: use http or https; "
        "missing http:// ? did you mean http://127.0.0.1:19111/api ?"
    )
    assert with_hint(refusal, "ftp://x/") is refusal
