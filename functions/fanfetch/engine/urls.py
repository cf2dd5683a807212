"""Which strings are fetchable URLs: strict syntax checks, for given URLs and redirect Locations, before anything
connects."""

from __future__ import annotations

import difflib
import ipaddress
import re
import string
from functools import lru_cache

from yarl import URL

from fanfetch.errors import InvalidTarget

MAX_URL_LENGTH = 2048
# RFC 3986, appendix B: an optional scheme, then the authority between "//" and the path, query or fragment.
_SCHEME_AND_AUTHORITY = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?")
# A registered name's characters (RFC 3986 unreserved and sub-delims); other letters are IDNA-encoded by yarl.
_HOST_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=")


def check_syntax(raw: str) -> None:
    """Refuse what a C library, a browser and aiohttp might each read differently, naming the problem."""
    if not raw.isprintable() or " " in raw:
        position, character = next((i, c) for i, c in enumerate(raw) if c == " " or not c.isprintable())
        raise InvalidTarget(f"whitespace or control character {character!r} at position {position}")
    match = _SCHEME_AND_AUTHORITY.match(raw)
    assert match is not None  # every part of the pattern is optional
    scheme, authority = match.groups()
    after_scheme = raw[len(scheme) + 1 :] if scheme else raw
    if "\\" in after_scheme[:2]:
        raise InvalidTarget("a backslash where the host begins (a browser would read it as //)")
    if authority is not None:
        _check_authority(authority)


# Thousands of URLs share a few authorities. Only accepted ones are cached (a refusal raises), so the cache holds
# what was fetched; it is bounded for a call with very many hosts.
@lru_cache(maxsize=4096)
def _check_authority(authority: str) -> None:
    if "\\" in authority:
        raise InvalidTarget("a backslash in the host part")
    if "@" in authority:
        raise InvalidTarget("user information (user:password@) is not allowed in a URL")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise InvalidTarget("an IPv6 address without its closing ]")
        host, rest = authority[1:end], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidTarget(f"{rest[0]!r} after the IPv6 address; only :port may follow it")
        port = rest[1:]
        try:
            if "%" in host:
                raise ValueError("zone identifiers are not allowed")
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise InvalidTarget(f"[{host}] is not an IPv6 address: {exc}") from exc
    else:
        host, _, port = authority.partition(":")
        if ":" in port:
            raise InvalidTarget("an IPv6 address must be written in brackets, e.g. http://[2001:db8::1]/")
        if not host:
            raise InvalidTarget("the URL has no host")
        if "%" in host:
            raise InvalidTarget("a percent-encoded host; write the host as it is")
        bad = next((c for c in host if c.isascii() and c not in _HOST_CHARACTERS), None)
        if bad is not None:
            raise InvalidTarget(f"character {bad!r} is not allowed in a host")
    if port:  # an empty port means the scheme's default
        if not (port.isascii() and port.isdigit()):
            raise InvalidTarget(f"port {port!r} is not a number")
        if not 1 <= int(port) <= 65535:
            raise InvalidTarget(f"port {int(port)} is outside 1-65535")


# What a typo hint may quote of the URL: a longer suggestion would crowd out the message it explains.
HINT_URL_LENGTH = 200
_SCHEMES = ("http", "https")
# `http//host`, `https:/host`, `http:host`: a known scheme with its colon or a slash missing.
_BROKEN_SEPARATOR = re.compile(r"(?i)(https?)(?::/?|//)(?!/)(.+)")
# `host.example/path`, `127.0.0.1:8080/x`, `localhost:3000`: a host (with a dot, or localhost), an optional port.
_BARE_HOST = re.compile(r"(?i)(?:localhost|\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d{1,5})?(?:[/?#].*)?")


def typo_hint(raw: str) -> str | None:
    """A hint for a URL that was probably meant as http(s) but mistyped, e.g. "missing http:// ?" for
    `127.0.0.1:8080/api` or "did you mean http://host/ ?" for `http//host/`; None when no guess is safe."""
    if "://" in raw:
        scheme, _, rest = raw.partition("://")
        close = difflib.get_close_matches(scheme.lower(), _SCHEMES, n=1, cutoff=0.6)
        if scheme.lower() in _SCHEMES or not close or not rest:
            return None
        return _did_you_mean(f"{close[0]}://{rest}")
    broken = _BROKEN_SEPARATOR.fullmatch(raw)
    if broken:
        return _did_you_mean(f"{broken.group(1).lower()}://{broken.group(2)}")
    if _BARE_HOST.fullmatch(raw):
        suggestion = f"http://{raw}"
        return "missing http:// ?" + (f" did you mean {suggestion} ?" if len(suggestion) <= HINT_URL_LENGTH else "")
    return None


def _did_you_mean(suggestion: str) -> str | None:
    return f"did you mean {suggestion} ?" if len(suggestion) <= HINT_URL_LENGTH else None


def with_hint(exc: InvalidTarget, raw: str) -> InvalidTarget:
    """The refusal of a given URL, with a typo hint added when one fits."""
    hint = typo_hint(raw)
    return InvalidTarget(f"{exc}; {hint}") if hint else exc


def parse_target(raw: str) -> URL:
    """A URL given by the caller, parsed, or InvalidTarget naming what is wrong with it."""
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidTarget(f"URL is {len(raw)} characters; at most {MAX_URL_LENGTH} are allowed")
    check_syntax(raw)
    try:
        return URL(raw)
    except (ValueError, UnicodeError) as exc:
        raise InvalidTarget(f"not a usable URL: {exc}") from exc


def join_location(base: URL, location: str) -> URL:
    """Where a Location header leads from `base`; refused on the same grounds as a given URL."""
    check_syntax(location)
    try:
        return base.join(URL(location))
    except (ValueError, UnicodeError) as exc:
        raise InvalidTarget(f"not a usable URL: {exc}") from exc
