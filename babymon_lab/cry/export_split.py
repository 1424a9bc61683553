"""Write one split's noisy variants as 16 kHz WAV files plus a ``manifest.csv`` for ``babymon eval cry``.

    python -m babymon_lab.cry.export_split test /tmp/cry_test   # then: babymon eval cry --manifest /tmp/cry_test/manifest.csv

The files are derived from ../shared/data (not redistributable): keep them out of the repository.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np
import soundfile

from babymon_lab.cry.audio_io import load_audio
from babymon_lab.cry.corpus import DEFAULT_CACHE, build_split, decode_all
from babymon_lab.cry.dataset import background_recordings, default_audio_root, list_clips


def export_split(split: str, out_dir: Path, audio_root: Path, seed: int = 0, conditions: set[str] | None = None) -> Path:
    clips = list_clips(audio_root)
    audio = decode_all(clips, DEFAULT_CACHE)
    backgrounds = [load_audio(p) for p in background_recordings(audio_root)]
    signals, variants = build_split(split, clips, audio, backgrounds, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "condition", "noise", "snr_db", "kind"])
        for index, (signal, variant) in enumerate(zip(signals, variants)):
            name = f"{index:05d}_{variant.condition}_{variant.kind}.wav"
            soundfile.write(out_dir / name, np.clip(signal, -1, 1), 16000, subtype="PCM_16")
            snr = "" if math.isnan(variant.snr_db) else f"{variant.snr_db:.1f}"
            writer.writerow([name, "cry" if variant.label else "not_cry", variant.condition, variant.noise, snr,
                             variant.kind])
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split", choices=["train", "val", "test"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=default_audio_root())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(export_split(args.split, args.out, args.data, args.seed))


if __name__ == "__main__":
    main()
