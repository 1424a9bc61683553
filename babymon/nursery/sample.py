"""The shipped training sample: a class-balanced sample of the rows each shipped head was trained on (their
features, not images), so a nursery refit can train on them plus the nursery's frames without ``../shared/data``
or PyTorch. Written by ``babymon train posture|face_state --training-sample``; see ``models/nursery/MODEL_CARD.md``.

``models/nursery/posture_sample.npz`` holds the ``posture`` and ``presence`` samples and
``face_state_sample.npz`` the ``face_state`` one; each as ``<head>.x`` (float16), ``<head>.y``, ``<head>.classes``,
``<head>.C`` (the L2 strength the shipped head was fitted with), ``<head>.last`` / ``<head>.last_weight`` (the last
columns weighted so, as the posture head's face features) and ``<head>.n_train`` (rows before sampling).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.paths import bundled_models

SAMPLE_FILES = {"posture": "posture_sample.npz", "presence": "posture_sample.npz", "face_state": "face_state_sample.npz"}


class SampleError(ValueError):
    """The training sample file is missing or not usable; the message names the file."""


@dataclass(frozen=True)
class TrainingSample:
    x: np.ndarray  # (N, D)
    y: np.ndarray  # (N,) class index
    classes: tuple[str, ...]
    c: float
    n_train: int
    last: int = 0
    last_weight: float = 1.0

    def arrays(self, head: str) -> dict[str, np.ndarray]:
        return {f"{head}.x": self.x.astype(np.float16), f"{head}.y": self.y.astype(np.int16),
                f"{head}.classes": np.array(self.classes), f"{head}.C": np.array(float(self.c)),
                f"{head}.n_train": np.array(int(self.n_train)), f"{head}.last": np.array(int(self.last)),
                f"{head}.last_weight": np.array(float(self.last_weight))}


def balanced(x: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``per_class`` rows of each class, drawn without replacement (pure)."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)])
    rows.sort()
    return x[rows], y[rows]


def save_samples(path: Path, samples: dict[str, TrainingSample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for head, sample in samples.items():
        arrays.update(sample.arrays(head))
    np.savez_compressed(path, **arrays)


def load_sample(head: str, folder: Path | None = None) -> TrainingSample:
    path = Path(folder or bundled_models("nursery")) / SAMPLE_FILES[head]
    try:
        with np.load(path, allow_pickle=False) as data:
            return TrainingSample(x=data[f"{head}.x"].astype(np.float64), y=data[f"{head}.y"].astype(np.int64),
                                  classes=tuple(str(c) for c in data[f"{head}.classes"]), c=float(data[f"{head}.C"]),
                                  n_train=int(data[f"{head}.n_train"]), last=int(data[f"{head}.last"]),
                                  last_weight=float(data[f"{head}.last_weight"]))
    except FileNotFoundError:
        raise SampleError(f"training sample {path} is missing (restore models/nursery/ from git)") from None
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SampleError(f"training sample {path} has no usable '{head}' sample: {exc}") from None
