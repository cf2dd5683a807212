"""Engine helpers that need no server: Retry-After, content decoding, failure classification."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest
from fanfetch.engine.decoding import Undecodable, new_decoder
from fanfetch.engine.failures import classify
from fanfetch.engine.redirects import RedirectError
from fanfetch.engine.retries import retry_after
from fanfetch.guard import DestinationBlocked, InvalidTarget

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        (None, None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ],
)
def test_decoder_counts_decoded_bytes_for_each_coding(encoding: str, encode: object) -> None:
    body = b"abc" * 100_000
    decoder = new_decoder(encoding)
    assert decoder is not None
    wire = encode(body)  # type: ignore[operator]
    decoded = b"".join(
        piece for start in range(0, len(wire), 1000) for piece in decoder.feed(wire[start : start + 1000])
    )
    assert decoded == body


def test_decoder_is_none_for_identity_and_refuses_unrequested_codings() -> None:
    assert new_decoder(None) is None
    assert new_decoder("identity") is None
    with pytest.raises(Undecodable):
        new_decoder("br")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (DestinationBlocked("x"), "blocked"),
        (InvalidTarget("x"), "invalid_url"),
        (RedirectError("x"), "redirects"),
        (TimeoutError(), "timeout"),
        (ConnectionResetError(104, "Connection reset by peer"), "connect"),
        (zlib.error("bad"), "protocol"),
    ],
)
def test_classify_names_the_failure(exc: BaseException, kind: str) -> None:
    error = classify(exc)
    assert error.type == kind
    assert error.message
