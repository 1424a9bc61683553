"""Noise for robustness: synthetic white/pink/fan noise, speech and TV-like sound, mixed at a chosen SNR."""

from __future__ import annotations

import numpy as np

from babymon.audio_windows import SAMPLE_RATE

NOISE_KINDS = ("white", "pink", "fan", "speech", "tv", "household")


def active_rms(samples: np.ndarray, frame: int = 1600) -> float:
    """RMS of the louder half of 100 ms frames: the level of the sound itself, not of its pauses."""
    usable = len(samples) // frame * frame
    if usable == 0:
        return float(np.sqrt(np.mean(samples**2)) + 1e-12)
    energy = np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1)
    loud = np.sort(energy)[len(energy) // 2:]
    return float(np.sqrt(np.mean(loud)) + 1e-12)


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal`` + ``noise`` scaled so that active level(signal) / rms(noise) = ``snr_db``; peak kept ≤ 0.99."""
    noise = fit_length(noise, len(signal))
    noise_rms = float(np.sqrt(np.mean(noise**2)) + 1e-12)
    scale = active_rms(signal) / noise_rms / (10 ** (snr_db / 20))
    mixed = signal + scale * noise
    peak = float(np.max(np.abs(mixed)) + 1e-12)
    return (mixed * min(1.0, 0.99 / peak)).astype(np.float32)


def fit_length(noise: np.ndarray, length: int) -> np.ndarray:
    if len(noise) >= length:
        return noise[:length]
    return np.tile(noise, int(np.ceil(length / max(1, len(noise)))))[:length]


def white(length: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(length).astype(np.float32)


def pink(length: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise by shaping white noise's spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    out = np.fft.irfft(spectrum, n=length)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def fan(length: int, rng: np.random.Generator) -> np.ndarray:
    """A fan or air purifier: brown-ish broadband noise, a motor hum with harmonics, slow blade modulation."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    cutoff = rng.uniform(300, 1500)
    spectrum /= np.maximum(freqs, 30.0) ** 0.5 * (1 + (freqs / cutoff) ** 2)
    broadband = np.fft.irfft(spectrum, n=length)
    broadband /= np.std(broadband) + 1e-12
    t = np.arange(length) / SAMPLE_RATE
    f0 = rng.uniform(45, 130)
    hum = sum(rng.uniform(0.05, 0.3) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) for k in range(1, 5))
    blade = 1 + rng.uniform(0.0, 0.3) * np.sin(2 * np.pi * rng.uniform(5, 25) * t)
    out = (broadband + hum) * blade
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def continuous(pieces: list[np.ndarray], length: int, rng: np.random.Generator, gap: float = 0.15) -> np.ndarray:
    """Pieces (e.g. spoken digits) strung together with short random gaps until ``length`` samples."""
    out: list[np.ndarray] = []
    total = 0
    while total < length:
        piece = pieces[rng.integers(len(pieces))]
        piece = piece / (np.max(np.abs(piece)) + 1e-9) * rng.uniform(0.5, 1.0)
        silence = np.zeros(int(rng.uniform(0.02, gap) * SAMPLE_RATE), dtype=np.float32)
        out += [piece, silence]
        total += len(piece) + len(silence)
    return np.concatenate(out)[:length].astype(np.float32)


def tv(speech: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """TV-like sound: speech over a bed of other sound, through a small loudspeaker (band 150 Hz–6 kHz)."""
    bed = fit_length(other, len(speech))
    mixed = speech / (np.std(speech) + 1e-9) + rng.uniform(0.2, 0.7) * bed / (np.std(bed) + 1e-9)
    spectrum = np.fft.rfft(mixed)
    freqs = np.fft.rfftfreq(len(mixed), 1 / SAMPLE_RATE)
    spectrum[(freqs < 150) | (freqs > 6000)] *= 0.05
    out = np.fft.irfft(spectrum, n=len(mixed))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


class NoiseBank:
    """Makes noise of each kind from one split's material (so test noise never appeared in training)."""

    def __init__(self, speech: list[np.ndarray], others: list[np.ndarray], household: list[np.ndarray]):
        self.speech, self.others, self.household = speech, others, household

    def make(self, kind: str, length: int, rng: np.random.Generator) -> np.ndarray:
        if kind == "white":
            return white(length, rng)
        if kind == "pink":
            return pink(length, rng)
        if kind == "fan":
            return fan(length, rng)
        if kind == "speech":
            return continuous(self.speech, length, rng)
        if kind == "tv":
            return tv(continuous(self.speech, length, rng), self.others[rng.integers(len(self.others))], rng)
        if kind == "household":
            recording = self.household[rng.integers(len(self.household))]
            start = rng.integers(0, max(1, len(recording) - length))
            return fit_length(recording[start:], length)
        raise ValueError(f"unknown noise kind '{kind}'")


def siren(length: int, rng: np.random.Generator) -> np.ndarray:
    """An emergency-vehicle siren: a harmonic tone swept up and down (wail or yelp)."""
    t = np.arange(length) / SAMPLE_RATE
    low, high = rng.uniform(500, 800), rng.uniform(1000, 1700)
    rate = rng.choice([rng.uniform(0.15, 0.5), rng.uniform(2.5, 5.0)])
    f = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    out = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, 6))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def melody(length: int, rng: np.random.Generator) -> np.ndarray:
    """Music or singing stand-in: notes of 0.15–0.8 s with harmonics, vibrato and a soft envelope."""
    out = np.zeros(length)
    position = 0
    while position < length:
        n = int(rng.uniform(0.15, 0.8) * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        vibrato = 1 + rng.uniform(0, 0.02) * np.sin(2 * np.pi * rng.uniform(4, 7) * t)
        phase = 2 * np.pi * np.cumsum(f0 * vibrato) / SAMPLE_RATE
        note = sum(rng.uniform(0.1, 1.0) / k * np.sin(k * phase) for k in range(1, 8))
        envelope = np.minimum(1, t / 0.02) * np.exp(-t * rng.uniform(0, 3))
        end = min(length, position + n)
        out[position:end] += (note * envelope)[: end - position]
        position += int(n * rng.uniform(0.7, 1.0))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)
