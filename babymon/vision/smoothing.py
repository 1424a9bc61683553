"""Temporal smoothing of per-frame vision results, so one bad frame does not flip a state (pure logic).

Each frame gives class probabilities (face state, posture) and a baby-presence score. :class:`LabelSmoother`
keeps an exponential moving average of the probabilities with a time constant in seconds (frames may be
dropped, so the weight of a new frame depends on the time since the last one), and changes its label only
when another class's average beats the current label's by ``switch_margin``: a state needs several
agreeing frames to change, and never flaps between two close classes. :class:`PresenceSmoother` does the
same for a yes/no score with separate on and off thresholds. After a gap longer than ``max_gap`` seconds
(stream down, analysis stalled) both start afresh rather than trust old evidence.

Smoothing cleans noise but also adds delay: a change seen clearly on every frame takes about 0.86 time constants
to win by the margin. :attr:`LabelSmoother.since` says when the evidence for the current label began: the first
frame of the unbroken run of frames whose own most likely class is that label (or, where the switch was not
preceded by such a run, the switch itself). The danger rules count their ``on_delay`` from there, so a condition
is timed from the first frame that showed it, while it still takes the smoothing to decide that it is real.

The danger rules (``babymon.rules``) add their own on/off delays on top; this only cleans the per-frame noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


class LabelSmoother:
    def __init__(self, labels: Sequence[str], time_constant: float = 1.0, switch_margin: float = 0.15,
                 max_gap: float = 10.0):
        if not labels:
            raise ValueError("labels: give at least one class")
        if time_constant < 0 or switch_margin < 0 or max_gap <= 0:
            raise ValueError("time_constant and switch_margin must be >= 0 and max_gap > 0")
        self.labels = tuple(labels)
        self.time_constant = time_constant
        self.switch_margin = switch_margin
        self.max_gap = max_gap
        self.reset()

    def reset(self) -> None:
        self.average: dict[str, float] | None = None
        self.label: str | None = None
        self.since: float | None = None  # when the evidence for ``label`` began (see the module docstring)
        self._last_time: float | None = None
        self._run_label: str | None = None  # the most likely class of the latest frames, and since when
        self._run_start: float | None = None

    def update(self, probabilities: Mapping[str, float], now: float) -> str:
        """Add one frame's probabilities (every label, any scale: normalised here) seen at ``now`` (seconds)."""
        unknown = set(probabilities) - set(self.labels)
        if unknown:
            raise ValueError(f"unknown label(s) {sorted(unknown)}; expected {self.labels}")
        total = sum(max(0.0, float(probabilities.get(label, 0.0))) for label in self.labels)
        frame = {label: (max(0.0, float(probabilities.get(label, 0.0))) / total if total > 0 else 1.0 / len(self.labels))
                 for label in self.labels}
        gap = None if self._last_time is None else now - self._last_time
        frame_leader = max(frame, key=frame.__getitem__)
        if self.average is None or gap is None or gap > self.max_gap or gap < 0:
            self.average = frame
            self.label, self.since = frame_leader, now
            self._run_label, self._run_start = frame_leader, now
        else:
            if frame_leader != self._run_label:
                self._run_label, self._run_start = frame_leader, now
            weight = 1.0 if self.time_constant == 0 else 1.0 - math.exp(-gap / self.time_constant)
            self.average = {k: (1 - weight) * self.average[k] + weight * frame[k] for k in self.labels}
            leader = max(self.average, key=self.average.__getitem__)
            assert self.label is not None
            if leader != self.label and self.average[leader] >= self.average[self.label] + self.switch_margin:
                self.label = leader
                self.since = self._run_start if self._run_label == leader else now
        self._last_time = now
        assert self.label is not None
        return self.label


class PresenceSmoother:
    """A yes/no decision from a 0..1 score: EMA over ``time_constant`` seconds, on at ``on_threshold``, off below
    ``off_threshold`` (on > off, so a score hovering at one threshold does not flap)."""

    def __init__(self, on_threshold: float = 0.5, off_threshold: float = 0.35, time_constant: float = 1.0,
                 max_gap: float = 10.0):
        if not 0 <= off_threshold <= on_threshold <= 1:
            raise ValueError("need 0 <= off_threshold <= on_threshold <= 1")
        self.on_threshold = on_threshold
        self.off_threshold = off_threshold
        self.time_constant = time_constant
        self.max_gap = max_gap
        self.reset()

    def reset(self) -> None:
        self.average: float | None = None
        self.present: bool | None = None
        self._last_time: float | None = None

    def update(self, score: float, now: float) -> bool:
        score = min(1.0, max(0.0, float(score)))
        gap = None if self._last_time is None else now - self._last_time
        if self.average is None or gap is None or gap > self.max_gap or gap < 0:
            self.average = score
            self.present = score >= self.on_threshold
        else:
            weight = 1.0 if self.time_constant == 0 else 1.0 - math.exp(-gap / self.time_constant)
            self.average = (1 - weight) * self.average + weight * score
            if self.present and self.average < self.off_threshold:
                self.present = False
            elif not self.present and self.average >= self.on_threshold:
                self.present = True
        self._last_time = now
        assert self.present is not None
        return self.present
