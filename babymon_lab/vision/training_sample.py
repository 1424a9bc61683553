"""Writes the shipped training sample (:mod:`babymon.nursery.sample`) from a training run's final rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babymon.models import record_bundled
from babymon.nursery.sample import TrainingSample, balanced, save_samples

PER_CLASS = 250  # rows per class: ~1.5 MB per head as float16, enough to keep a refit from forgetting a class


def save_posture_sample(path: Path, keep: dict, seed: int, per_class: int = PER_CLASS) -> None:
    """``keep`` from ``posture_train``: the posture head's rows (one input only) and the presence rows."""
    inputs, y, classes, c, weights = keep["posture"]
    if len(inputs) != 1:
        raise ValueError(f"a nursery refit needs a single-head posture model, the shipped one has {list(inputs)}")
    (name, x), = inputs.items()
    from babymon.vision.posture_face import N_FACE_FEATURES

    last = N_FACE_FEATURES if name.endswith("_face") else 0
    px, py = balanced(x, y, per_class, seed)
    x_presence, y_presence, c_presence = keep["presence"]
    qx, qy = balanced(x_presence, y_presence, per_class * 2, seed)
    save_samples(Path(path), {
        "posture": TrainingSample(px, py, tuple(classes), c[name], len(y), last, weights[name]),
        "presence": TrainingSample(qx, qy, ("absent", "present"), c_presence, len(y_presence))})
    record_bundled([Path(path)])  # its sha256 in models/manifest.json, when it is the shipped one


def save_face_state_sample(path: Path, x: np.ndarray, y: np.ndarray, seed: int, c: float,
                           per_class: int = PER_CLASS) -> None:
    from babymon.vision.face_state import FACE_CLASSES

    fx, fy = balanced(x, y, per_class, seed)
    save_samples(Path(path), {"face_state": TrainingSample(fx, fy, FACE_CLASSES, c, len(y))})
    record_bundled([Path(path)])
