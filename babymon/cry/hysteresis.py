"""Per-window cry probabilities → ``crying`` on/off with hysteresis (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HysteresisSettings:
    start: float  # smoothed probability at or above which crying starts
    stop: float  # smoothed probability below which crying may stop (stop < start)
    min_on_seconds: float = 2.0  # once started, crying lasts at least this long
    min_off_seconds: float = 3.0  # below ``stop`` this long before crying stops
    max_gap_seconds: float = 1.5  # a longer gap between windows (reconnect) restarts the smoothing
    confirm_windows: int = 1  # crying starts after this many consecutive hops with the smoothed probability >= start

    def __post_init__(self) -> None:
        if not 0.0 <= self.stop < self.start <= 1.0:
            raise ValueError(f"need 0 <= stop < start <= 1, got start={self.start}, stop={self.stop}")
        if self.min_on_seconds < 0 or self.min_off_seconds < 0:
            raise ValueError("minimum durations must not be negative")
        if self.confirm_windows < 1:
            raise ValueError(f"confirm_windows must be at least 1, got {self.confirm_windows}")


class CryHysteresis:
    """Smooths over two consecutive windows (≈1.5 s of sound), then switches on once the smoothed probability has
    been at or above ``start`` for ``confirm_windows`` consecutive hops (crying lasts and repeats; a giggle is a
    short burst) and off only after ``min_off_seconds`` below ``stop``, never before ``min_on_seconds`` of
    crying."""

    def __init__(self, settings: HysteresisSettings):
        self.settings = settings
        self.crying = False
        self._previous: tuple[float, float] | None = None  # (end time, probability) of the last window
        self._on_since: float | None = None
        self._below_since: float | None = None
        self._above = 0  # consecutive hops with the smoothed probability >= start

    def reset(self) -> None:
        self.crying = False
        self._previous = self._on_since = self._below_since = None
        self._above = 0

    def update(self, probability: float, end_time: float) -> tuple[bool, float]:
        """Feed one window's probability; returns (crying, smoothed probability)."""
        s = self.settings
        if self._previous is not None and end_time - self._previous[0] <= s.max_gap_seconds:
            smoothed = (probability + self._previous[1]) / 2
        else:  # the first window after a start or a gap counts as half the evidence: 1 s alone never starts
            smoothed = probability / 2
            self._above = 0
        self._previous = (end_time, probability)
        self._above = self._above + 1 if smoothed >= s.start else 0
        if not self.crying:
            if self._above >= s.confirm_windows:
                self.crying, self._on_since, self._below_since = True, end_time, None
        elif smoothed >= s.stop:
            self._below_since = None
        else:
            if self._below_since is None:
                self._below_since = end_time
            held_on = end_time - (self._on_since or end_time) >= s.min_on_seconds
            if held_on and end_time - self._below_since >= s.min_off_seconds:
                self.crying, self._on_since, self._below_since = False, None, None
        return self.crying, smoothed


def events(probabilities: list[float], hop_seconds: float, settings: HysteresisSettings,
           window_seconds: float = 1.0) -> list[tuple[float, float | None]]:
    """(start, stop) seconds of each crying episode in a clip's window probabilities; stop None if still on."""
    hysteresis = CryHysteresis(settings)
    episodes: list[tuple[float, float | None]] = []
    for index, probability in enumerate(probabilities):
        end = index * hop_seconds + window_seconds
        was = hysteresis.crying
        now, _ = hysteresis.update(probability, end)
        if now and not was:
            episodes.append((end, None))
        elif was and not now:
            episodes[-1] = (episodes[-1][0], end)
    return episodes
