"""Cut a clip into the analyzer's windows (pure)."""

from __future__ import annotations

import numpy as np

from babymon.audio_windows import SAMPLE_RATE

WINDOW_SECONDS = 1.0
HOP_SECONDS = 0.5
WINDOW = round(WINDOW_SECONDS * SAMPLE_RATE)
HOP = round(HOP_SECONDS * SAMPLE_RATE)


def clip_windows(samples: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """(n, window) float32 windows every ``hop`` samples; a clip shorter than a window is zero-padded."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(samples) < window:
        samples = np.pad(samples, (0, window - len(samples)))
    count = 1 + (len(samples) - window) // hop
    index = np.arange(window)[None, :] + hop * np.arange(count)[:, None]
    return samples[index]


def rms_db(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (digital silence gives -120)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return max(-120.0, 20.0 * np.log10(rms + 1e-12))
