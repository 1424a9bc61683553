"""Cut a stream of 16 kHz mono samples into overlapping analysis windows (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioWindow:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE Hz, values in -1..1
    start_time: float  # wall-clock seconds (time.time()) of the first sample
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end_time(self) -> float:
        return self.start_time + self.duration


class AudioWindower:
    """Collects chunks and yields windows of ``window`` seconds every ``hop`` seconds.

    A gap in the timestamps (a reconnect) starts over rather than gluing unrelated audio together.
    """

    def __init__(self, window: float = 1.0, hop: float = 0.5, sample_rate: int = SAMPLE_RATE):
        if not 0 < hop <= window:
            raise ValueError("need 0 < hop <= window")
        self.sample_rate = sample_rate
        self.window_samples = round(window * sample_rate)
        self.hop_samples = round(hop * sample_rate)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0.0

    def push(self, samples: np.ndarray, start_time: float) -> list[AudioWindow]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        expected = self._buffer_start + len(self._buffer) / self.sample_rate
        if len(self._buffer) == 0 or abs(start_time - expected) > 0.25:
            self._buffer = samples
            self._buffer_start = start_time
        else:
            self._buffer = np.concatenate([self._buffer, samples])
        windows = []
        while len(self._buffer) >= self.window_samples:
            windows.append(AudioWindow(self._buffer[: self.window_samples].copy(), self._buffer_start, self.sample_rate))
            self._buffer = self._buffer[self.hop_samples :]
            self._buffer_start += self.hop_samples / self.sample_rate
        return windows
