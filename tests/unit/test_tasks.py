"""Stopping tasks for sure, even one that swallowed a cancellation (as Python 3.11's asyncio.wait_for can, inside
aiomqtt's publish: the daemon once hung on stop without saying offline)."""

from __future__ import annotations

import asyncio

from babymon.tasks import cancel_and_wait, raise_if_cancelled


async def swallows_one_cancellation(log: list[str], check: bool) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        log.append("swallowed")  # what a wait_for that completed at the same moment does
    if check:
        raise_if_cancelled()
    await asyncio.Event().wait()  # nothing will ever set it


def test_a_second_cancellation_stops_a_task_that_swallowed_the_first():
    async def scenario():
        log: list[str] = []
        task = asyncio.create_task(swallows_one_cancellation(log, check=False), name="stubborn")
        await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.2)
        assert not done and log == ["swallowed"]  # one cancel and a wait would hang here for ever
        assert await cancel_and_wait([task], grace=0.05) == [] and task.cancelled()

    asyncio.run(scenario())


def test_raise_if_cancelled_honours_a_swallowed_cancellation():
    async def scenario():
        log: list[str] = []
        task = asyncio.create_task(swallows_one_cancellation(log, check=True))
        await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.5)
        assert done and task.cancelled() and log == ["swallowed"]

    asyncio.run(scenario())


def test_errors_are_retrieved_and_a_task_that_never_stops_is_reported(caplog):
    async def scenario():
        async def fails() -> None:
            raise ValueError("boom")

        async def never_stops() -> None:
            while True:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    pass

        failed = asyncio.create_task(fails())
        stuck = asyncio.create_task(never_stops(), name="never-stops")
        await asyncio.sleep(0)
        left = await cancel_and_wait([failed, stuck], grace=0.01, attempts=3)
        assert left == [stuck] and isinstance(failed.exception(), ValueError)
        stuck.cancel()  # let the test end: it honours none, so stop the loop with it
        return left

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
    assert "never-stops" in caplog.text and "did not stop" in caplog.text
