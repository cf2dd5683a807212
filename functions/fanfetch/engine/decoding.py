"""Reading a body: streamed, counted as wire and decoded bytes, gzip/deflate decoded in bounded slices."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import Iterator

from aiohttp import ClientResponse

from fanfetch.errors import Undecodable
from fanfetch.models import UrlResult

DECODE_CHUNK = 1 << 18


class Decoder:
    """Counts decoded bytes of a gzip/deflate body in bounded slices, so a compression bomb stays cheap."""

    def __init__(self, encoding: str) -> None:
        self._raw_deflate = False
        # wbits 47 accepts both gzip and zlib headers; raw deflate is tried if that fails.
        self._zlib = zlib.decompressobj(47)
        self.encoding = encoding

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Decoded slices of one chunk, produced lazily so the reader can stop at `max_bytes`."""
        try:
            yield self._zlib.decompress(chunk, DECODE_CHUNK)
        except zlib.error:
            if self._raw_deflate or self.encoding != "deflate":
                raise
            self._raw_deflate = True
            self._zlib = zlib.decompressobj(-15)
            yield self._zlib.decompress(chunk, DECODE_CHUNK)
        while self._zlib.unconsumed_tail:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, DECODE_CHUNK)

    @property
    def complete(self) -> bool:
        """Whether the compressed stream reached its end; zlib does not raise on one that stops early."""
        return self._zlib.eof


def new_decoder(content_encoding: str | None) -> Decoder | None:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Decoder(encoding)
    raise Undecodable(encoding)


async def read_body(response: ClientResponse, result: UrlResult, max_bytes: int | None, want_hash: bool) -> None:
    """Streams the body, counting wire and decoded bytes; memory stays at a few buffers whatever the size."""
    digest = hashlib.sha256() if want_hash else None
    try:
        decoder = new_decoder(response.headers.get("Content-Encoding"))
        decodable = True
    except Undecodable:
        decoder, decodable = None, False  # a coding not asked for: only wire bytes are known
    wire = size = 0
    truncated = False
    sample = result.sample
    content = response.content
    while not truncated:
        chunk = await content.readany()
        if not chunk:
            break
        wire += len(chunk)
        pieces = decoder.feed(chunk) if decoder is not None else (chunk,)
        for index, piece in enumerate(pieces):
            if index:
                # A compressed chunk can decode to thousands of slices, all without waiting on the network: let
                # the loop run between them, so this URL's timeout, the deadline and the other URLs are not held.
                await asyncio.sleep(0)
            if max_bytes is not None and size + len(piece) > max_bytes:
                piece = piece[: max_bytes - size]
                truncated = True
            size += len(piece)
            if digest is not None:
                digest.update(piece)
            if sample is not None and len(sample.body) < sample.limit:
                sample.body += piece[: sample.limit - len(sample.body)]
            if truncated:
                break
    if truncated:
        response.close()  # stop the transfer instead of draining the rest
    result.wire_bytes = wire
    result.bytes = size if decodable else None
    result.truncated = truncated
    if digest is not None:
        result.sha256 = digest.hexdigest()
    if sample is not None:
        sample.complete = decodable and not truncated and size <= sample.limit
    if decoder is not None and wire and not truncated and not decoder.complete:
        # The body ended inside its gzip/deflate stream: what was decoded is not the page.
        raise zlib.error(f"the {decoder.encoding} body ended before its compressed stream did")
