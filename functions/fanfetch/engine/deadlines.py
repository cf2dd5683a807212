"""Attempt timeouts behind one event-loop timer: `asyncio.timeout_at` semantics without a timer per attempt."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from types import TracebackType


class Deadlines:
    """Ends overdue attempts for one `fetch_all` call.

    A timer per attempt is costly at thousands of attempts a second: asyncio keeps timers in a heap ordered by a
    Python-level comparison, and a cancelled one stays there until it comes due or the heap is cleaned. Here each
    attempt enters an `asyncio.timeout(None)`, which arms nothing, and its end time goes into a heap of plain tuples;
    one loop timer, set for the earliest end, hands each overdue attempt's end to its timeout, so asyncio itself
    cancels the attempt and raises TimeoutError, exactly as with `timeout_at`.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._ends: list[tuple[float, int, Cutoff]] = []
        self._order = itertools.count()  # ties on the end time never compare two cutoffs
        self._timer: asyncio.TimerHandle | None = None

    def cutoff(self, end_at: float) -> Cutoff:
        """`async with deadlines.cutoff(end_at):` ends its block at `end_at`, as `asyncio.timeout_at(end_at)` does."""
        return Cutoff(self, end_at)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._ends.clear()

    def _watch(self, cutoff: Cutoff) -> None:
        heapq.heappush(self._ends, (cutoff.end_at, next(self._order), cutoff))
        if self._timer is None or cutoff.end_at < self._timer.when():
            self._arm(cutoff.end_at)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._expire)

    def _expire(self) -> None:
        # The loop may run a timer up to its clock resolution early: what the timer was set for is due.
        assert self._timer is not None
        due = max(self.loop.time(), self._timer.when())
        self._timer = None
        while self._ends and self._ends[0][0] <= due:
            _, _, cutoff = heapq.heappop(self._ends)
            cutoff.expire()  # a no-op for the many attempts that finished in time
        if self._ends:
            self._arm(self._ends[0][0])


class Cutoff:
    """One attempt's end time; an async context manager around an `asyncio.Timeout` that `Deadlines` triggers."""

    __slots__ = ("_deadlines", "_timeout", "end_at")

    def __init__(self, deadlines: Deadlines, end_at: float) -> None:
        self._deadlines = deadlines
        self.end_at = end_at
        self._timeout: asyncio.Timeout | None = None

    async def __aenter__(self) -> Cutoff:
        timeout = asyncio.timeout(None)
        await timeout.__aenter__()
        self._timeout = timeout
        self._deadlines._watch(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        timeout, self._timeout = self._timeout, None  # finished: a later expire() does nothing
        assert timeout is not None
        await timeout.__aexit__(exc_type, exc, traceback)  # raises TimeoutError when it ended the block

    def expire(self) -> None:
        if self._timeout is not None:
            self._timeout.reschedule(self.end_at)  # in the past: asyncio cancels the block on the next loop turn
