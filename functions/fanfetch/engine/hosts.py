"""Politeness per host: at most `per_host` attempts in flight to one origin, and request starts to one host spaced
by `per_host_interval`."""

from __future__ import annotations

import asyncio

from yarl import URL


class HostGate:
    """Per-origin slots and per-host start times, shared by every attempt of one `fetch_all` call."""

    def __init__(self, per_host: int, interval: float) -> None:
        self.per_host = per_host
        self.interval = interval
        self.loop = asyncio.get_running_loop()
        self._next_start: dict[str, float] = {}
        self._slots: dict[URL, asyncio.Semaphore] = {}

    def slot(self, origin: URL) -> asyncio.Semaphore:
        slot = self._slots.get(origin)
        if slot is None:
            slot = self._slots[origin] = asyncio.Semaphore(self.per_host)
        return slot

    async def acquire(self, slot: asyncio.Semaphore, until: float) -> bool:
        """Takes the slot, or gives up (False) when `until` comes first."""
        if not slot.locked():  # only a wait needs a deadline (and its timer)
            await slot.acquire()
            return True
        try:
            async with asyncio.timeout_at(until):
                await slot.acquire()
        except TimeoutError:
            return False
        return True

    async def space(self, url: URL, until: float | None = None) -> bool:
        """Waits for this host's next start turn; False, without waiting, if the turn would come after `until`."""
        if not self.interval:
            return True
        host = url.host or ""
        now = self.loop.time()
        turn = max(now, self._next_start.get(host, now))
        if until is not None and turn >= until:
            return False
        self._next_start[host] = turn + self.interval
        if turn > now:
            await asyncio.sleep(turn - now)
        return True
