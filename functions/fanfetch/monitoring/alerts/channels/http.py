"""One bounded POST for the HTTP channels, through the same SSRF guard as the targets."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
from yarl import URL

from fanfetch.errors import DestinationBlocked, InvalidTarget, SinkError
from fanfetch.guard import Guard, GuardedResolver

# What a receiver's answer may be read of: its status and the start of its body, for the error message.
ANSWER_BYTES = 200


async def _post(url: str, body: bytes, headers: Mapping[str, str], guard: Guard, seconds: float) -> None:
    target = URL(url)
    guard.check_url(target)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard), limit=1)
    limit = aiohttp.ClientTimeout(total=seconds)
    # No redirects: a receiver may not send the alert (and its signature) somewhere else.
    async with (
        aiohttp.ClientSession(connector=connector, timeout=limit, trust_env=False) as session,
        session.post(target, data=body, headers=dict(headers), allow_redirects=False) as response,
    ):
        answer = await response.content.read(ANSWER_BYTES)
        if not 200 <= response.status < 300:
            raise SinkError(f"POST {target.host}", f"answered {response.status}: {answer.decode(errors='replace')}")


def post(url: str, body: bytes, headers: Mapping[str, str], guard: Guard, timeout: float) -> None:
    """POST `body` to `url` within `timeout` seconds; SinkError naming the host for every failure (refused by the
    guard, unreachable, slow, or an answer outside 2xx)."""
    host = URL(url).host or url
    try:
        asyncio.run(_post(url, body, headers, guard, timeout))
    except SinkError:
        raise
    except (DestinationBlocked, InvalidTarget) as exc:
        raise SinkError(f"POST {host}", f"refused by the destination guard: {exc}") from None
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        raise SinkError(f"POST {host}", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
