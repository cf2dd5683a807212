"""What is kept of a target's response: its status judged against `ok_status`, allow-listed headers, bounded strings."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import ClientResponse

from fanfetch.models import FetchError, UrlResult

# Every string a target controls is cut to this many characters when it is captured, marker included.
MAX_TEXT = 256
CUT_MARKER = "…[cut]"
# Only these target headers reach the caller: enough to monitor, nothing that carries content or secrets.
RESULT_HEADERS = ("etag", "last-modified", "cache-control", "server", "retry-after", "content-encoding", "age")


def clip(text: str) -> str:
    """`text` if it fits MAX_TEXT, else its start with CUT_MARKER, MAX_TEXT characters in all."""
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - len(CUT_MARKER)] + CUT_MARKER


def record_response(response: ClientResponse, result: UrlResult, ok_status: Sequence[int]) -> None:
    """The final response's status, URL and headers; a status outside `ok_status` is an `http` error."""
    headers = response.headers
    status = response.status
    result.status = status
    result.final_url = clip(str(response.url))
    content_type = headers.get("Content-Type")
    result.content_type = clip(content_type) if content_type is not None else None
    length = headers.get("Content-Length")
    result.content_length = int(length) if length and length.isascii() and length.isdigit() else None
    result.headers = {name: clip(headers[name]) for name in RESULT_HEADERS if name in headers}
    if result.sample is not None:
        # Every header, for the caller that asked to inspect this response; a repeated header joined as RFC 9110 allows.
        sample_headers: dict[str, str] = {}
        for name, value in headers.items():
            key = name.lower()
            sample_headers[key] = f"{sample_headers[key]}, {clip(value)}" if key in sample_headers else clip(value)
        result.sample.headers = sample_headers
    low, high = ok_status
    if not low <= status <= high:
        result.error = FetchError("http", f"status {status} is outside {low}-{high}")
