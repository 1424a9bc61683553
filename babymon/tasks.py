"""Stopping asyncio tasks for sure.

A task can miss a cancellation: on Python 3.11, ``asyncio.wait_for`` (which aiomqtt awaits inside every QoS 1
publish) swallows a cancellation that arrives just as the awaited future completes, and the task then carries on
(gh-86296; fixed in 3.12). One ``cancel()`` followed by ``gather()`` then waits forever: the daemon hung on stop,
without saying ``offline``. :func:`raise_if_cancelled`, called after such awaits, honours a cancellation that was
swallowed; :func:`cancel_and_wait` cancels again until every task has ended, for any await not guarded that way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` when the current task has been asked to stop but an await swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(tasks: Iterable[asyncio.Task], grace: float = 0.5, attempts: int = 20) -> list[asyncio.Task]:
    """Cancel ``tasks`` and wait until they have ended, cancelling again every ``grace`` seconds (at most
    ``attempts`` times). Their exceptions are retrieved (not re-raised). → the tasks still running after that,
    logged as an error. A task whose own clean-up takes time (the MQTT task says ``offline`` within 2 s) needs a
    ``grace`` longer than that, or the next cancellation cuts the clean-up short."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller decides what an error means
    if pending:
        log.error("tasks did not stop after %d cancellations: %s", attempts,
                  ", ".join(sorted(task.get_name() for task in pending)))
    return sorted(pending, key=lambda task: task.get_name())
