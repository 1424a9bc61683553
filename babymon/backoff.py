"""Exponential backoff with full jitter, for reconnecting to cameras and to the broker."""

from __future__ import annotations

import random


class Backoff:
    """Delays grow ``initial, 2·initial, 4·initial, …`` up to ``maximum``; each is jittered to 50–100 %.

    Jitter keeps several cameras that dropped together (a Wi-Fi blip) from reconnecting in lock-step.
    Call :meth:`reset` after a connection has proved healthy.
    """

    def __init__(self, initial: float = 1.0, maximum: float = 60.0, rng: random.Random | None = None):
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.attempts = 0
