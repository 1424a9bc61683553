"""Log-mel features of one analysis window, computed with librosa."""

from __future__ import annotations

import numpy as np

from babymon.audio_windows import SAMPLE_RATE

N_MELS = 64
N_FFT = 512  # 32 ms
HOP_LENGTH = 160  # 10 ms → 101 frames per 1 s window
FMIN = 50.0
FMAX = 8000.0

_mel_basis: np.ndarray | None = None


def _basis() -> np.ndarray:
    global _mel_basis
    if _mel_basis is None:
        import librosa

        _mel_basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX).astype(
            np.float32)
    return _mel_basis


def log_mel(windows: np.ndarray) -> np.ndarray:
    """(n, samples) windows → (n, N_MELS, frames) log-mel, each window shifted to zero mean.

    Shifting each window to zero mean makes the features independent of the microphone's gain; quiet rooms
    are handled by the analyzer's level gate, not by the model.
    """
    import librosa

    windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
    spec = np.abs(librosa.stft(windows, n_fft=N_FFT, hop_length=HOP_LENGTH, center=True)) ** 2  # (n, bins, frames)
    mel = np.einsum("mf,nft->nmt", _basis(), spec.astype(np.float32))
    out = np.log(mel + 1e-8).astype(np.float32)
    out -= out.mean(axis=(1, 2), keepdims=True)
    return out
