"""Sound classes our recordings lack, made from each split's own material: sirens, melodies (music/singing
stand-ins) and crowd babble (5–11 of the split's adult speakers talking at once).

Used only by the fusion layer (:mod:`babymon.cry.fusion`): its features are YAMNet's class scores, so these
sounds teach it that "YAMNet hears a siren / music / many talkers" is evidence against crying. Each kind
also comes *under* a real cry of the split (0–20 dB SNR) as a positive, so the layer does not learn that
music in the room means no crying. The CNN never trains on them (see the model card for why).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babymon_lab.cry.mixing import continuous, melody, mix_at_snr, pink, siren

SYNTHETIC_KINDS = ("siren", "melody", "babble")
SECONDS = 5.0
SAMPLE_RATE = 16_000


@dataclass
class SyntheticVariant:
    label: int
    kind: str  # siren, melody, babble (the sound), for positives the sound under the cry
    condition: str  # "synthetic" (the sound alone, maybe over pink noise) or "cry_over_synthetic"
    clip: int  # index of the cry clip for positives, -1 otherwise


def babble(speech: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    talkers = int(rng.integers(5, 12))
    out = sum(continuous(speech, length, rng) * rng.uniform(0.3, 1.0) for _ in range(talkers))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def make_sound(kind: str, speech: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "siren":
        return siren(length, rng)
    if kind == "melody":
        return melody(length, rng)
    if kind == "babble":
        return babble(speech, length, rng)
    raise ValueError(f"unknown synthetic kind '{kind}'")


def build_synthetic(speech: list[np.ndarray], cries: list[tuple[int, np.ndarray]], per_kind: int,
                    rng: np.random.Generator) -> tuple[list[np.ndarray], list[SyntheticVariant]]:
    """``per_kind`` negatives of each kind (half over pink noise at 5–20 dB, random level) and as many
    positives: a random cry of ``cries`` ((clip index, samples) pairs) over that kind at 0–20 dB SNR."""
    length = int(SECONDS * SAMPLE_RATE)
    signals: list[np.ndarray] = []
    variants: list[SyntheticVariant] = []
    for kind in SYNTHETIC_KINDS:
        for _ in range(per_kind):
            sound = make_sound(kind, speech, length, rng)
            if rng.random() < 0.5:
                sound = mix_at_snr(sound, pink(length, rng), float(rng.uniform(5, 20)))
            signals.append((sound * 10 ** (rng.uniform(-30, -6) / 20)).astype(np.float32))
            variants.append(SyntheticVariant(0, kind, "synthetic", -1))
            index, cry = cries[int(rng.integers(len(cries)))]
            background = make_sound(kind, speech, len(cry), rng)
            mixed = mix_at_snr(cry, background, float(rng.uniform(0, 20)))
            signals.append(mixed.astype(np.float32))
            variants.append(SyntheticVariant(1, kind, "cry_over_synthetic", index))
    return signals, variants
