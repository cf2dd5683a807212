"""Attempt cutoffs behind one loop timer: they end blocks as asyncio.timeout_at does, and only overdue ones."""

from __future__ import annotations

import asyncio

import pytest
from fanfetch.engine.deadlines import Deadlines


async def test_cutoff_raises_timeout_error_at_its_end() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with deadlines.cutoff(started + 0.1):
            await asyncio.sleep(5)
    assert 0.09 <= loop.time() - started < 2.0
    deadlines.close()


async def test_cutoff_leaves_a_block_that_finished_in_time_alone() -> None:
    # Given a block that ends before its cutoff
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    async with deadlines.cutoff(loop.time() + 0.05):
        await asyncio.sleep(0)

    # When the cutoff's time passes while the same task waits on something else
    await asyncio.sleep(0.15)

    # Then nothing cancelled the task
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    deadlines.close()


async def test_cutoffs_end_in_the_order_of_their_times_not_of_their_start() -> None:
    # Given a long cutoff entered first and a short one entered after it
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    ended: dict[str, float] = {}

    async def block(name: str, seconds: float) -> None:
        try:
            async with deadlines.cutoff(loop.time() + seconds):
                await asyncio.sleep(5)
        except TimeoutError:
            ended[name] = loop.time()

    started = loop.time()
    long = asyncio.ensure_future(block("long", 0.4))
    await asyncio.sleep(0)
    short = asyncio.ensure_future(block("short", 0.1))

    # When both run out
    await asyncio.gather(long, short)

    # Then each ended at its own time
    assert ended["short"] - started < ended["long"] - started
    assert ended["short"] - started < 0.35
    assert ended["long"] - started >= 0.39
    deadlines.close()


async def test_cutoff_in_the_past_ends_the_block_at_its_first_wait() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        async with deadlines.cutoff(loop.time() - 1):
            await asyncio.sleep(1)
    deadlines.close()


async def test_cutoff_lets_other_exceptions_through() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    with pytest.raises(ConnectionResetError):
        async with deadlines.cutoff(loop.time() + 5):
            raise ConnectionResetError("reset")
    deadlines.close()
