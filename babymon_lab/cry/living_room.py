"""Living-room sounds a happy baby and a family make, built from each split's own material, for the fusion
layer (:mod:`babymon.cry.fusion`) and for the false-alarm tables of the model card.

Negatives (``label`` 0), ``per_kind`` clips of 5 s each:

* ``laugh_speech``: a *real* baby-laughter cut of the split's own laughing-baby recordings
  (``recorded_segments/baby_laugh``: ``laugh_1`` train, ``laugh_2`` test, none in validation) with adult
  speech of the split's own speakers at −6…+6 dB relative to the laughter; half of them with a TV in the next
  room (below) at −10…−20 dB;
* ``babble_speech``: **synthetic** infant babble and giggles (:func:`infant_babble`) with adult speech, the
  same way. Made only for train and validation: never in the test split;
* ``music_speech``: adult speech with music (the :func:`~babymon_lab.cry.mixing.melody` stand-in) under it at
  −10…−3 dB;
* ``tv_next_room``: a TV in the next room — speech + music through a wall (low-passed at 0.8–2 kHz) — over a
  pink room noise 10–20 dB below it, quiet (−45…−25 dBFS peak).

Positives (``label`` 1): for each kind ``per_kind`` real cries of the split with that kind's background
(laughter/babble + speech, speech + music at 0…20 dB SNR; TV next room at 10…20 dB SNR), so that "a family in
the room" is not learned as "no crying". And ``pink_0db``: every cry of the split under pink noise at 0 dB
(the robustness target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babymon_lab.cry.mixing import continuous, fit_length, melody, mix_at_snr, pink

SAMPLE_RATE = 16_000
SECONDS = 5.0
LIVING_KINDS = ("laugh_speech", "babble_speech", "music_speech", "tv_next_room")


@dataclass
class LivingVariant:
    label: int
    kind: str  # the living-room kind (for positives: the background under the cry), or "pink_0db"
    condition: str  # "living_room" (negative), "cry_in_living_room", "pink_0db"
    clip: int  # index of the cry clip (positives) or of the real laughter clip; -1 otherwise
    group: str  # the source recording that fold assignment must keep together


def _syllable(rng: np.random.Generator, f0: float, seconds: float, laugh: bool) -> np.ndarray:
    """One voiced syllable of an infant: harmonics of a gliding f0 shaped by two formants, a breathy
    (``laugh``: "h") or plosive onset, a soft envelope."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    glide = f0 * (1 + rng.uniform(-0.25, 0.25) * t / max(seconds, 1e-3))
    phase = 2 * np.pi * np.cumsum(glide) / SAMPLE_RATE
    f1, f2 = rng.uniform(700, 1200), rng.uniform(1600, 3200)
    voiced = np.zeros(n)
    for k in range(1, int(4000 / f0)):
        frequency = k * f0
        gain = (np.exp(-((frequency - f1) / 250) ** 2) + 0.6 * np.exp(-((frequency - f2) / 350) ** 2) + 0.05) / k**0.5
        voiced += gain * np.sin(k * phase)
    envelope = np.minimum(1, t / 0.015) * np.minimum(1, (seconds - t) / 0.04).clip(0)
    onset = int((rng.uniform(0.03, 0.07) if laugh else rng.uniform(0.01, 0.02)) * SAMPLE_RATE)
    noise = rng.standard_normal(n) * np.exp(-t / 0.03) * (0.6 if laugh else 0.3)
    out = voiced / (np.std(voiced) + 1e-9) * envelope
    out[:onset] = out[:onset] * np.linspace(0, 1, onset) if onset else out[:onset]
    return out + noise * (t < onset / SAMPLE_RATE + 0.03)


def infant_babble(length: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic infant babble and giggles: bursts of 2–7 syllables (giggle: 80–160 ms "ha" at 4–7 per second
    with a falling pitch; babble: 120–350 ms "ba/da" syllables with a wandering pitch), f0 250–550 Hz, with
    0.2–1.2 s of silence between bursts. A stand-in only: never put into a test split."""
    out = np.zeros(length)
    position = int(rng.uniform(0, 0.5) * SAMPLE_RATE)
    while position < length:
        laugh = rng.random() < 0.5
        f0 = rng.uniform(250, 550)
        for index in range(int(rng.integers(2, 8))):
            seconds = rng.uniform(0.08, 0.16) if laugh else rng.uniform(0.12, 0.35)
            pitch = f0 * (1 - 0.04 * index) if laugh else f0 * rng.uniform(0.85, 1.2)
            syllable = _syllable(rng, pitch, seconds, laugh) * rng.uniform(0.5, 1.0)
            end = min(length, position + len(syllable))
            out[position:end] += syllable[: end - position]
            position += len(syllable) + int(rng.uniform(0.03, 0.12) * SAMPLE_RATE)
            if position >= length:
                break
        position += int(rng.uniform(0.2, 1.2) * SAMPLE_RATE)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def lowpass(samples: np.ndarray, cutoff: float) -> np.ndarray:
    """A wall between rooms: frequencies above ``cutoff`` fall off steeply (4th-order-like in the spectrum)."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    spectrum /= 1 + (freqs / cutoff) ** 4
    out = np.fft.irfft(spectrum, n=len(samples))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def tv_next_room(speech: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """Speech over music (a TV programme), heard through a wall."""
    voice = continuous(speech, length, rng)
    music = melody(length, rng)
    mixed = voice / (np.std(voice) + 1e-9) + rng.uniform(0.3, 1.0) * music
    return lowpass(mixed, rng.uniform(800, 2000))


def _with_speech(foreground: np.ndarray, speech: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Adult speech at −6…+6 dB relative to ``foreground``; half the time a TV next room at −10…−20 dB."""
    voice = continuous(speech, len(foreground), rng)
    mixed = mix_at_snr(foreground, voice, float(rng.uniform(-6, 6)))
    if rng.random() < 0.5:
        mixed = mix_at_snr(mixed, tv_next_room(speech, len(mixed), rng), float(rng.uniform(10, 20)))
    return mixed


def background(kind: str, length: int, speech: list[np.ndarray], laughter: list[np.ndarray],
               rng: np.random.Generator, laughter_index: int | None = None) -> np.ndarray:
    """The sound of one living-room kind (see the module docstring)."""
    if kind == "laugh_speech":
        cut = laughter[laughter_index if laughter_index is not None else int(rng.integers(len(laughter)))]
        start = int(rng.integers(0, max(1, len(cut) - length)))
        return _with_speech(fit_length(cut[start:], length), speech, rng)
    if kind == "babble_speech":
        return _with_speech(infant_babble(length, rng), speech, rng)
    if kind == "music_speech":
        voice = continuous(speech, length, rng)
        return mix_at_snr(voice, melody(length, rng), float(rng.uniform(3, 10)))
    if kind == "tv_next_room":
        tv = tv_next_room(speech, length, rng)
        return mix_at_snr(tv, pink(length, rng), float(rng.uniform(10, 20)))
    raise ValueError(f"unknown living-room kind '{kind}'")


def kinds_for(split: str, has_laughter: bool) -> tuple[str, ...]:
    """Real laughter only where the split has a laughing-baby recording; synthetic babble never in test."""
    return tuple(k for k in LIVING_KINDS
                 if not (k == "laugh_speech" and not has_laughter) and not (k == "babble_speech" and split == "test"))


def build_living_room(split: str, speech: list[np.ndarray], laughter: list[tuple[int, str, np.ndarray]],
                      cries: list[tuple[int, str, np.ndarray]], per_kind: int,
                      rng: np.random.Generator) -> tuple[list[np.ndarray], list[LivingVariant]]:
    """``laughter`` and ``cries``: (clip index, source group, samples) of the split's own clips."""
    length = int(SECONDS * SAMPLE_RATE)
    signals: list[np.ndarray] = []
    variants: list[LivingVariant] = []
    laughs = [a for _, _, a in laughter]
    for kind in kinds_for(split, bool(laughter)):
        for _ in range(per_kind):
            if kind == "laugh_speech":
                which = int(rng.integers(len(laughter)))
                sound = background(kind, length, speech, laughs, rng, which)
                clip, group = laughter[which][0], laughter[which][1]
            else:
                sound = background(kind, length, speech, laughs, rng)
                clip, group = -1, f"{split}:{kind}:{len(signals)}"
            peak = (-45, -25) if kind == "tv_next_room" else (-30, -6)
            sound = sound / (np.max(np.abs(sound)) + 1e-9) * 10 ** (rng.uniform(*peak) / 20)
            signals.append(sound.astype(np.float32))
            variants.append(LivingVariant(0, kind, "living_room", clip, group))
            index, cry_group, cry = cries[int(rng.integers(len(cries)))]
            under = background(kind, len(cry), speech, laughs, rng)
            snr = rng.uniform(10, 20) if kind == "tv_next_room" else rng.uniform(0, 20)
            signals.append(mix_at_snr(cry, under, float(snr)))
            variants.append(LivingVariant(1, kind, "cry_in_living_room", index, cry_group))
    for index, group, cry in cries:
        signals.append(mix_at_snr(cry, pink(len(cry), rng), 0.0))
        variants.append(LivingVariant(1, "pink_0db", "pink_0db", index, group))
    return signals, variants
