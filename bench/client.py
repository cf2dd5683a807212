"""One benchmark run in a fresh process: `python -m bench.client IMPL URLS_FILE`; prints wall, CPU and peak RSS as JSON.

IMPL is `naive` (the pattern users write: one session, a task per URL, gather, response.text()),
`floor` (a featureless streaming worker loop: what aiohttp itself costs) or `fanfetch` (the engine with every
feature at its defaults).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import resource
import sys
import time
from pathlib import Path

import aiohttp


async def naive(urls: list[str]) -> int:
    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> int:
            async with session.get(url) as response:
                return len(await response.text())

        return sum(await asyncio.gather(*(one(url) for url in urls)))


async def floor(urls: list[str]) -> int:
    """The least a client can do: 100 workers on one session, streaming, no features; the cost of aiohttp itself."""
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=100)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        pending = iter(urls)
        total = 0

        async def worker() -> None:
            nonlocal total
            for url in pending:
                async with session.get(url, allow_redirects=False) as response:
                    while chunk := await response.content.readany():
                        total += len(chunk)

        await asyncio.gather(*(worker() for _ in range(100)))
        return total


async def engine(urls: list[str]) -> int:
    from fanfetch.engine import fetch_all
    from fanfetch.guard import Guard
    from fanfetch.models import FetchOptions

    guard = Guard([ipaddress.ip_network("127.0.0.0/8")], [(1, 65535)])
    response = await fetch_all(urls, FetchOptions(concurrency=100, per_host=100), guard=guard)
    if response.summary.failed:
        failed = next(r for r in response.results if not r.ok)
        raise SystemExit(f"{response.summary.failed} URLs failed, e.g. {failed}")
    return response.summary.bytes


def main() -> None:
    impl, urls_file = sys.argv[1], sys.argv[2]
    use_uvloop = "--uvloop" in sys.argv
    urls = Path(urls_file).read_text().split()
    runner = {"naive": naive, "floor": floor, "fanfetch": engine}[impl]
    if impl == "fanfetch":
        import fanfetch.engine  # noqa: F401  - imports are not part of the fetch time, as in a warm Lambda
    cpu_before = time.process_time()
    started = time.perf_counter()
    if use_uvloop:
        import uvloop

        total = uvloop.run(runner(urls))
    else:
        total = asyncio.run(runner(urls))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_kb / 1024, "bytes": total}))


if __name__ == "__main__":
    main()
