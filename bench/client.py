"""One benchmark run in a fresh process: `python -m bench.client IMPL URLS_FILE [options]`; prints what it saw as JSON.

IMPL is `naive` (the pattern users write: one session, a task per URL, gather, response.text()),
`floor` (a featureless streaming worker loop: what aiohttp itself costs) or `fanfetch` (the engine with every
feature at its defaults). The JSON holds wall, CPU and peak RSS, the bytes read, URLs answered (`ok`), URLs
without any result (`lost`), failures by reason, and what was raised if the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp


@dataclass
class Outcome:
    """What the caller got back. `results` counts URLs with a result of any kind, `ok` those answered."""

    urls: int
    results: int = 0
    ok: int = 0
    bytes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    # Responses read before the run raised: fetched, then thrown away with everything else.
    answered_before_raise: int = 0
    raised: str | None = None


async def naive(urls: list[str], outcome: Outcome, total_timeout: float | None) -> None:
    timeout = aiohttp.ClientTimeout(total=total_timeout) if total_timeout else aiohttp.client.DEFAULT_TIMEOUT
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(url: str) -> int:
            async with session.get(url) as response:
                size = len(await response.text())
            outcome.answered_before_raise += 1
            return size

        sizes = await asyncio.gather(*(one(url) for url in urls))
    outcome.results = outcome.ok = len(sizes)
    outcome.bytes = sum(sizes)


async def floor(urls: list[str], outcome: Outcome) -> None:
    """The least a client can do: 100 workers on one session, streaming, no features; the cost of aiohttp itself."""
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=100)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        pending = iter(urls)

        async def worker() -> None:
            for url in pending:
                async with session.get(url, allow_redirects=False) as response:
                    while chunk := await response.content.readany():
                        outcome.bytes += len(chunk)
                outcome.ok += 1

        await asyncio.gather(*(worker() for _ in range(100)))
    outcome.results = outcome.ok


async def engine(urls: list[str], outcome: Outcome, per_host: int, deadline: float | None) -> None:
    from fanfetch.engine import fetch_all
    from fanfetch.guard import Guard
    from fanfetch.models import FetchOptions

    guard = Guard([ipaddress.ip_network("127.0.0.0/8")], [(1, 65535)])
    # `budget` is what the `deadline` option maps onto.
    response = await fetch_all(urls, FetchOptions(per_host=per_host), guard=guard, budget=deadline)
    outcome.results = len(response.results)
    outcome.ok = response.summary.ok
    outcome.bytes = response.summary.bytes
    outcome.failures = dict(Counter(result.error.type for result in response.results if result.error is not None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("impl", choices=("naive", "floor", "fanfetch"))
    parser.add_argument("urls_file", type=Path)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--per-host", type=int, default=100, help="fanfetch's per_host option (default 100)")
    parser.add_argument("--deadline", type=float, help="fanfetch's deadline in seconds (default none)")
    parser.add_argument("--total-timeout", type=float, help="the naive loop's total timeout (default aiohttp's)")
    args = parser.parse_args()
    urls = args.urls_file.read_text().split()
    outcome = Outcome(urls=len(urls))
    run: Callable[[], Awaitable[None]] = {
        "naive": lambda: naive(urls, outcome, args.total_timeout),
        "floor": lambda: floor(urls, outcome),
        "fanfetch": lambda: engine(urls, outcome, args.per_host, args.deadline),
    }[args.impl]
    if args.impl == "fanfetch":
        # As in a warm Lambda, neither the imports nor the cached TLS context (loading the system roots) are part
        # of the fetch time; aiohttp builds its own default contexts at import, before the floor's clock starts.
        from fanfetch.engine import make_ssl_context

        make_ssl_context()
    cpu_before = time.process_time()
    started = time.perf_counter()
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(run())
        else:
            asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - a run that raises is a result here: it lost everything
        outcome.results = outcome.ok = outcome.bytes = 0
        outcome.raised = f"{type(exc).__name__}: {exc}"[:300]
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_kb / 1024, **asdict(outcome)}
    report["lost"] = outcome.urls - outcome.results
    print(json.dumps(report))


if __name__ == "__main__":
    main()
