"""`python -m bench.origins PORT...`: tools.origin's app on several loopback ports in one process.

Each port is another host to fanfetch (per_host counts host, port and scheme), so a job chunk can be planned
and fetched as it would be over many sites. Killed by the benchmark when done.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from tools.origin import make_app


async def serve(ports: list[int]) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    for port in ports:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve([int(port) for port in sys.argv[1:]]))
