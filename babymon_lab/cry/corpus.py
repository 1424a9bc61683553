"""Build the noisy train/val/test corpora from the shared clips and cache their per-window features in /tmp.

Each split gets its own noise material (speech speakers, ESC clips, time spans of the long background
recordings), so no noise heard in training is used in testing. Every variant is seeded: the same command
builds the same corpus.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from babymon.cry.features import log_mel
from babymon.cry.windows import clip_windows, rms_db
from babymon_lab.cry.audio_io import load_audio
from babymon_lab.cry.dataset import NOISE_SPAN, Clip, background_recordings, default_audio_root, list_clips
from babymon_lab.cry.mixing import NOISE_KINDS, NoiseBank, mix_at_snr

DEFAULT_CACHE = Path("/tmp/babymon_cry_cache")
CORPUS_VERSION = 3
# variants per clip: train sees clean + 3 noisy; val/test get clean + 2 noisy + white noise at 0 dB
TRAIN_NOISY, EVAL_NOISY = 3, 2
NOISE_ONLY_CLIPS = {"train": 240, "val": 60, "test": 60}
NOISE_ONLY_SECONDS = 5.0


@dataclass
class Variant:
    clip: int  # index into the split's clip list; -1 for noise-only clips
    label: int
    condition: str  # clean, noisy, white_0db, noise_only
    noise: str  # noise kind or ""
    snr_db: float  # nan when clean / noise only
    source: str
    kind: str


def decode_all(clips: list[Clip], cache: Path) -> list[np.ndarray]:
    from tqdm import tqdm

    key = hashlib.sha256("\n".join(str(c.path) for c in clips).encode()).hexdigest()[:12]
    path = cache / f"audio_{key}.npz"
    if path.exists():
        data = np.load(path)
        return [data[f"a{i}"] for i in range(len(clips))]
    audio = [load_audio(c.path) for c in tqdm(clips, desc="decoding clips", unit="clip")]
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"a{i}": a for i, a in enumerate(audio)})
    return audio


def _noise_bank(split: str, clips: list[Clip], audio: list[np.ndarray], backgrounds: list[np.ndarray]) -> NoiseBank:
    speech = [a for c, a in zip(clips, audio) if c.split == split and c.source == "speech"]
    others = [a for c, a in zip(clips, audio) if c.split == split and c.label == 0 and c.source.startswith("esc")]
    start, end = NOISE_SPAN[split]
    household = [b[int(start * len(b)):int(end * len(b))] for b in backgrounds]
    return NoiseBank(speech, others, household)


def build_split(split: str, clips: list[Clip], audio: list[np.ndarray], backgrounds: list[np.ndarray],
                seed: int) -> tuple[list[np.ndarray], list[Variant]]:
    """The split's audio variants (clean, noisy at 0–20 dB, white at 0 dB, noise only) with their labels."""
    rng = np.random.default_rng([seed, ("train", "val", "test").index(split)])
    bank = _noise_bank(split, clips, audio, backgrounds)
    signals: list[np.ndarray] = []
    variants: list[Variant] = []
    noisy = TRAIN_NOISY if split == "train" else EVAL_NOISY
    for index, (clip, samples) in enumerate(zip(clips, audio)):
        if clip.split != split:
            continue
        base = dict(clip=index, label=clip.label, source=clip.source, kind=clip.kind)
        signals.append(samples)
        variants.append(Variant(**base, condition="clean", noise="", snr_db=float("nan")))
        for _ in range(noisy):
            kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
            snr = float(rng.uniform(0, 20))
            mixed = mix_at_snr(samples, bank.make(kind, len(samples), rng), snr)
            if split == "train":
                mixed = mixed * 10 ** (rng.uniform(-25, 0) / 20)  # microphone gain
            signals.append(mixed.astype(np.float32))
            variants.append(Variant(**base, condition="noisy", noise=kind, snr_db=snr))
        if split != "train":
            signals.append(mix_at_snr(samples, bank.make("white", len(samples), rng), 0.0))
            variants.append(Variant(**base, condition="white_0db", noise="white", snr_db=0.0))
    length = int(NOISE_ONLY_SECONDS * 16000)
    for i in range(NOISE_ONLY_CLIPS[split]):
        kind = NOISE_KINDS[i % len(NOISE_KINDS)]
        noise = bank.make(kind, length, rng)
        noise = noise / (np.max(np.abs(noise)) + 1e-9) * 10 ** (rng.uniform(-30, -3) / 20)
        signals.append(noise.astype(np.float32))
        variants.append(Variant(clip=-1, label=0, condition="noise_only", noise=kind, snr_db=float("nan"),
                                source="noise", kind=kind))
    return signals, variants


def _cry_window_mask(clean: np.ndarray) -> np.ndarray:
    """For a crying clip: windows within 15 dB of its loudest (a crying clip's pauses are not crying)."""
    levels = np.array([rms_db(w) for w in clip_windows(clean)])
    return levels >= levels.max() - 15.0


def clips_key(clips) -> str:
    """8 hex digits naming the clip list and its split (part of every cache file's name: new data, new cache)."""
    return hashlib.sha256("\n".join(f"{c.path}:{c.split}" for c in clips).encode()).hexdigest()[:8]


def compute_features(split: str, seed: int = 0, cache: Path = DEFAULT_CACHE, audio_root: Path | None = None,
                     with_yamnet: bool = True) -> dict[str, np.ndarray]:
    """Per-window features of one split, cached: log-mel, YAMNet cry score and embedding, labels, variants."""
    from tqdm import tqdm

    audio_root = audio_root or default_audio_root()
    clips = list_clips(audio_root)
    if not clips:
        raise FileNotFoundError(f"no labelled clips under {audio_root}")
    data_key = clips_key(clips)
    stem = f"features_v{CORPUS_VERSION}_{data_key}_{split}_seed{seed}"
    path = cache / f"{stem}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    audio = decode_all(clips, cache)
    backgrounds = [load_audio(p) for p in background_recordings(audio_root)]
    signals, variants = build_split(split, clips, audio, backgrounds, seed)
    yamnet = None
    if with_yamnet:
        from babymon.cry.yamnet import Yamnet

        yamnet = Yamnet()
    mels, embeddings, yam_cry, window_variant, keep, levels = [], [], [], [], [], []
    for v_index, (signal, variant) in enumerate(tqdm(list(zip(signals, variants)), desc=f"features {split}",
                                                       unit="clip")):
        windows = clip_windows(signal)
        mask = np.ones(len(windows), dtype=bool)
        if variant.label == 1 and variant.clip >= 0:
            clean_mask = _cry_window_mask(audio[variant.clip])
            mask[: len(clean_mask)] = clean_mask[: len(mask)]
        mels.append(log_mel(windows).astype(np.float16))
        for w in windows:
            levels.append(rms_db(w))
            if yamnet is not None:
                scores, embedding = yamnet.run(w)
                yam_cry.append(scores[yamnet.cry_index])
                embeddings.append(embedding.astype(np.float16))
        window_variant.append(np.full(len(windows), v_index))
        keep.append(mask)
    table = {key: np.array([getattr(v, key) for v in variants]) for key in asdict(variants[0])}
    data = {
        "logmel": np.concatenate(mels),
        "embedding": np.stack(embeddings) if embeddings else np.zeros((0, 1024), np.float16),
        "yamnet_cry": np.array(yam_cry, dtype=np.float32),
        "level_db": np.array(levels, dtype=np.float32),
        "window_variant": np.concatenate(window_variant),
        "window_keep": np.concatenate(keep),
        **{f"variant_{key}": value for key, value in table.items()},
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    (cache / f"{stem}.json").write_text(
        json.dumps({"clips": len(variants), "windows": int(len(data["logmel"]))}))
    return data


def compute_yamnet_scores(split: str, seed: int = 0, cache: Path = DEFAULT_CACHE,
                          audio_root: Path | None = None) -> np.ndarray:
    """All 521 YAMNet class scores of every window of one split (same windows, same order as
    :func:`compute_features`), cached beside the features as float16. Rebuilds the split's seeded variants and
    checks the "Baby cry" column against the features cache, so the two caches cannot silently disagree."""
    from tqdm import tqdm

    from babymon.cry.yamnet import Yamnet

    audio_root = audio_root or default_audio_root()
    clips = list_clips(audio_root)
    data_key = clips_key(clips)
    path = cache / f"yamnet_scores_v{CORPUS_VERSION}_{data_key}_{split}_seed{seed}.npz"
    if path.exists():
        return np.load(path)["scores"]
    features = compute_features(split, seed=seed, cache=cache, audio_root=audio_root)
    audio = decode_all(clips, cache)
    backgrounds = [load_audio(p) for p in background_recordings(audio_root)]
    signals, _ = build_split(split, clips, audio, backgrounds, seed)
    yamnet = Yamnet()
    scores = np.stack([yamnet.run(w)[0] for signal in tqdm(signals, desc=f"yamnet scores {split}", unit="clip")
                       for w in clip_windows(signal)])
    if len(scores) != len(features["yamnet_cry"]) or not np.allclose(
            scores[:, yamnet.cry_index], features["yamnet_cry"], atol=1e-4):
        raise RuntimeError(f"YAMNet scores of split '{split}' do not match the features cache {cache}: "
                           "delete the cache and rebuild")
    np.savez(path, scores=scores.astype(np.float16))
    return scores.astype(np.float16)


def _variant_cache(name: str, split: str, seed: int, cache: Path, audio_root: Path | None,
                   suffix: str = "") -> tuple[list[Clip], Path]:
    """The labelled clips, and the cache file of the variant set ``name`` (its version) made from them for
    ``split`` and ``seed`` (``suffix``: the set's other options)."""
    clips = list_clips(audio_root or default_audio_root())
    return clips, cache / f"{name}_{clips_key(clips)}_{split}_seed{seed}{suffix}.npz"


def compute_synthetic(split: str, seed: int = 0, cache: Path = DEFAULT_CACHE, audio_root: Path | None = None,
                      per_kind: int = 40) -> dict[str, np.ndarray]:
    """Per-window log-mel and all YAMNet scores of the split's synthetic sirens, melodies and crowd babble
    (and cries over them): see :mod:`babymon_lab.cry.synthetic`. Same layout as :func:`compute_features`."""

    from babymon_lab.cry.synthetic import build_synthetic

    clips, path = _variant_cache("synthetic_v2", split, seed, cache, audio_root, suffix=f"_{per_kind}")
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    audio = decode_all(clips, cache)
    speech = [a for c, a in zip(clips, audio) if c.split == split and c.source == "speech"]
    cries = [(i, a) for i, (c, a) in enumerate(zip(clips, audio)) if c.split == split and c.label == 1]
    rng = np.random.default_rng([seed, ("train", "val", "test").index(split), 7])
    signals, variants = build_synthetic(speech, cries, per_kind, rng)
    data = variant_windows(signals, variants, audio, f"synthetic {split}")
    np.savez(path, **data)
    return data


def compute_living_room(split: str, seed: int = 0, cache: Path = DEFAULT_CACHE, audio_root: Path | None = None,
                        per_kind: int = 40) -> dict[str, np.ndarray]:
    """Per-window log-mel, all YAMNet scores and embeddings of the split's living-room mixtures (laughter or
    synthetic babble with adult speech, music under speech, a TV next room, cries over each, cries under pink
    noise at 0 dB): see :mod:`babymon_lab.cry.living_room`. Same layout as :func:`compute_synthetic`, plus
    ``variant_group`` (the source recording of each variant, for grouped folds)."""

    from babymon_lab.cry.living_room import build_living_room

    clips, path = _variant_cache("living_room_v1", split, seed, cache, audio_root, suffix=f"_{per_kind}")
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    audio = decode_all(clips, cache)
    mine = [(i, c, a) for i, (c, a) in enumerate(zip(clips, audio)) if c.split == split]
    speech = [a for _, c, a in mine if c.source == "speech"]
    laughter = [(i, c.group, a) for i, c, a in mine if c.kind == "baby_laugh"]
    cries = [(i, c.group, a) for i, c, a in mine if c.label == 1]
    rng = np.random.default_rng([seed, ("train", "val", "test").index(split), 11])
    signals, variants = build_living_room(split, speech, laughter, cries, per_kind, rng)
    data = variant_windows(signals, variants, audio, f"living room {split}")
    data["variant_group"] = np.array([v.group for v in variants])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data


def variant_windows(signals: list[np.ndarray], variants: list, audio: list[np.ndarray], desc: str) -> dict[str, np.ndarray]:
    """Per-window log-mel, all YAMNet scores and embeddings of made-up clips (``signals``, described by
    ``variants``: label, kind, condition, clip); a cry variant's windows where its source clip is silent are marked
    not to keep."""
    from tqdm import tqdm

    from babymon.cry.yamnet import Yamnet

    yamnet = Yamnet()
    mels, scores, embeddings, window_variant, keep = [], [], [], [], []
    for v_index, (signal, variant) in enumerate(tqdm(list(zip(signals, variants)), desc=desc, unit="clip")):
        windows = clip_windows(signal)
        mask = np.ones(len(windows), dtype=bool)
        if variant.label == 1:
            clean_mask = _cry_window_mask(audio[variant.clip])
            mask[: len(clean_mask)] = clean_mask[: len(mask)]
        mels.append(log_mel(windows).astype(np.float16))
        for w in windows:
            window_scores, embedding = yamnet.run(w)
            scores.append(window_scores)
            embeddings.append(embedding.astype(np.float16))
        window_variant.append(np.full(len(windows), v_index))
        keep.append(mask)
    return {
        "logmel": np.concatenate(mels),
        "yamnet_scores": np.stack(scores).astype(np.float16),
        "yamnet_cry": np.stack(scores)[:, yamnet.cry_index].astype(np.float32),
        "embedding": np.stack(embeddings),
        "window_variant": np.concatenate(window_variant),
        "window_keep": np.concatenate(keep),
        "variant_label": np.array([v.label for v in variants]),
        "variant_kind": np.array([v.kind for v in variants]),
        "variant_condition": np.array([v.condition for v in variants]),
        "variant_clip": np.array([v.clip for v in variants]),
    }


HARD_NOISE_KINDS = ("pink", "white")
HARD_NOISE_SNR = (0.0, 6.0)  # dB: the robustness target is 0 dB; the corpus' noisy variants rarely go that low


@dataclass
class HardNoiseVariant:
    label: int
    kind: str  # the clip's own kind (hungry, dog_bark, ...)
    condition: str  # "pink_low_snr" or "white_low_snr"
    clip: int  # index into the clip list
    noise: str
    snr_db: float


def compute_hard_noise(split: str, seed: int = 0, cache: Path = DEFAULT_CACHE, audio_root: Path | None = None) -> dict[str, np.ndarray]:
    """Every clip of the split (cries *and* sounds that are not crying) once under pink and once under white noise
    at a random 0–6 dB SNR (train: random microphone gain as in :func:`build_split`): per-window log-mel, all
    YAMNet scores and embeddings, the layout of :func:`compute_synthetic` plus ``variant_group``. Issue 16: the
    CNN trained on 0–20 dB alone kept only a tenth of the cries under pink noise at 0 dB once held to 2 % false
    alarms in a living room; these variants teach it (and the fusion layer) that loud broadband noise over a cry is
    still a cry, and over a dog is still a dog. Pink and white noise are synthetic, so no split's material leaks."""
    clips, path = _variant_cache("hard_noise_v1", split, seed, cache, audio_root)
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    from babymon_lab.cry.mixing import pink, white

    audio = decode_all(clips, cache)
    rng = np.random.default_rng([seed, ("train", "val", "test").index(split), 13])
    signals, variants = [], []
    for index, (clip, samples) in enumerate(zip(clips, audio)):
        if clip.split != split:
            continue
        for kind in HARD_NOISE_KINDS:
            snr = float(rng.uniform(*HARD_NOISE_SNR))
            noise = (pink if kind == "pink" else white)(len(samples), rng)
            mixed = mix_at_snr(samples, noise, snr)
            if split == "train":
                mixed = mixed * 10 ** (rng.uniform(-25, 0) / 20)
            signals.append(mixed.astype(np.float32))
            variants.append(HardNoiseVariant(clip.label, clip.kind, f"{kind}_low_snr", index, kind, snr))
    data = variant_windows(signals, variants, audio, f"hard noise {split}")
    data["variant_group"] = np.array([clips[v.clip].group for v in variants])
    data["variant_snr_db"] = np.array([v.snr_db for v in variants], dtype=np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data
