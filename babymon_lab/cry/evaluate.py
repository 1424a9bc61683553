"""``babymon eval cry --manifest CSV``: clip-level metrics of the shipped cry model on any labelled files.

The manifest is a CSV with columns ``path,label``: ``path`` an audio file or a video file with an audio track,
relative to the CSV; ``label`` ``cry`` or ``not_cry``. Each clip is cut into the analyzer's 1 s / 0.5 s windows,
scored one window at a time (as the live analyzer does) and reduced to a clip score (highest mean of two
consecutive windows, held for the model's ``confirm_windows`` hops) compared with the model's shipped threshold.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.audio_windows import SAMPLE_RATE
from babymon.cry.model import CryModel
from babymon.cry.windows import clip_windows
from babymon_lab.cry.audio_io import AudioFileError, load_audio
from babymon_lab.cry.metrics import at_threshold, clip_score, roc_auc

LABELS = {"cry": 1, "not_cry": 0}


class ManifestError(Exception):
    """The manifest or a file it names is unusable; the message names the row and the problem."""


@dataclass(frozen=True)
class ManifestRow:
    line: int
    path: Path
    label: int


def read_manifest(path: Path) -> list[ManifestRow]:
    if not path.is_file():
        raise ManifestError(f"manifest '{path}' does not exist")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"path", "label"} <= {n.strip() for n in reader.fieldnames}:
            raise ManifestError(f"{path}: needs a header with columns 'path,label', got {reader.fieldnames}")
        rows = []
        for line, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if row["label"] not in LABELS:
                raise ManifestError(f"{path} line {line}: label '{row['label']}' is not 'cry' or 'not_cry'")
            if not row["path"]:
                raise ManifestError(f"{path} line {line}: empty 'path'")
            rows.append(ManifestRow(line, (path.parent / row["path"]).resolve(), LABELS[row["label"]]))
    if not rows:
        raise ManifestError(f"{path}: no rows")
    return rows


def evaluate_manifest(manifest: Path, model: CryModel, *, skip_unreadable: bool = False, progress: bool = True) -> dict:
    """Metrics of ``model`` on the manifest's clips (keys documented in the README's cry section)."""
    from tqdm import tqdm

    rows = read_manifest(manifest)
    labels, scores, skipped = [], [], []
    analysis_seconds = audio_seconds = 0.0
    for row in tqdm(rows, desc="eval cry", unit="clip", disable=not progress):
        try:
            samples = load_audio(row.path)
        except AudioFileError as exc:
            if not skip_unreadable:
                raise ManifestError(f"{manifest} line {row.line}: {exc}") from None
            skipped.append({"line": row.line, "path": str(row.path), "error": str(exc)})
            continue
        windows = clip_windows(samples)
        started = time.perf_counter()
        probabilities = np.concatenate([model.predict(w[None, :]) for w in windows])  # one at a time, like live
        analysis_seconds += time.perf_counter() - started
        audio_seconds += len(samples) / SAMPLE_RATE
        labels.append(row.label)
        scores.append(clip_score(probabilities, model.hysteresis.confirm_windows))
    if not labels:
        raise ManifestError(f"{manifest}: no readable clips")
    labels_array, scores_array = np.array(labels), np.array(scores)
    ms_per_second = 1000 * analysis_seconds / max(audio_seconds, 1e-9)
    return {
        "n": len(labels),
        "n_cry": int(labels_array.sum()),
        "roc_auc": roc_auc(labels_array, scores_array),
        **at_threshold(labels_array, scores_array, model.threshold),
        "threshold": model.threshold,
        "model": model.kind,
        "ms_per_audio_second": round(ms_per_second, 3),
        "real_time_factor": round(ms_per_second / 1000, 5),
        "audio_seconds": round(audio_seconds, 1),
        "skipped": skipped,
    }
