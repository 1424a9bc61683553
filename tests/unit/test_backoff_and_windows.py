import random

import numpy as np
import pytest

from babymon.audio_windows import AudioWindower
from babymon.backoff import Backoff


def test_backoff_grows_exponentially_with_jitter_and_caps():
    backoff = Backoff(1, 30, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]
    for delay, ceiling in zip(delays, ceilings):
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[5:]}) > 1  # jittered, not lock-step
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError):
        Backoff(0, 1)


def test_windows_of_one_second_every_half_second():
    w = AudioWindower(1.0, 0.5, sample_rate=100)
    out = []
    for i in range(30):  # 3 s in chunks of 0.1 s
        out += w.push(np.full(10, i, np.float32), start_time=10 + i * 0.1)
    assert [round(x.start_time, 2) for x in out] == [10.0, 10.5, 11.0, 11.5, 12.0]
    assert all(len(x.samples) == 100 for x in out)
    assert out[1].samples[0] == 5  # the second window starts 0.5 s in


def test_gap_in_audio_starts_a_fresh_window():
    w = AudioWindower(1.0, 0.5, sample_rate=100)
    assert w.push(np.zeros(80, np.float32), 0.0) == []
    # a reconnect: audio resumes 5 s later; the 0.8 s before must not be glued onto it
    out = w.push(np.ones(100, np.float32), 5.8)
    assert len(out) == 1 and out[0].start_time == 5.8 and out[0].samples.min() == 1
