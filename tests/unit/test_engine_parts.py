"""Engine helpers that need no server: Retry-After, content decoding, failure classification, cutting strings."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest
from fanfetch.engine.capture import CUT_MARKER, MAX_TEXT, clip
from fanfetch.engine.decoding import new_decoder
from fanfetch.engine.failures import TARGET_FAILURES, classify
from fanfetch.engine.retries import retry_after
from fanfetch.errors import DestinationBlocked, InvalidTarget, RedirectError, Undecodable

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


def test_classify_cuts_the_message_when_target_data_makes_it_long() -> None:
    error = classify(RedirectError("redirect loop back to http://example.com/" + "a" * 5000))
    assert error.type == "redirects"
    assert len(error.message) == MAX_TEXT and error.message.endswith(CUT_MARKER)


@pytest.mark.parametrize("exc", [RuntimeError("bug"), KeyError("bug"), AttributeError("bug"), TypeError("bug")])
def test_target_failures_leave_out_what_only_a_bug_raises(exc: Exception) -> None:
    assert not isinstance(exc, TARGET_FAILURES)


@pytest.mark.parametrize(("text", "expected"), [("", ""), ("a" * 256, "a" * 256), ("a" * 257, "a" * 250 + CUT_MARKER)])
def test_clip_keeps_short_text_and_marks_what_it_cuts(text: str, expected: str) -> None:
    assert clip(text) == expected
    assert len(clip(text)) <= MAX_TEXT
