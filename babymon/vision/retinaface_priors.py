"""RetinaFace anchors ("priors") and decoding of the network's outputs into boxes and landmarks (numpy only).

Priors are ``(cx, cy, w, h)`` in fractions of the input image, level by level (strides 8, 16, 32), row by
row, column by column, and within a cell the anchor sizes in order: the same order as the network's outputs.
Decoding follows the SSD-style parameterisation RetinaFace was trained with (variances 0.1 and 0.2).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

# Face-Detector-1MB-with-landmark's anchors, which the weights were trained with (see retinaface_net)
MIN_SIZES: tuple[tuple[int, ...], ...] = ((10, 20), (32, 64), (128, 256))
STEPS: tuple[int, ...] = (8, 16, 32)
VARIANCES: tuple[float, float] = (0.1, 0.2)
MEAN_BGR: tuple[float, float, float] = (104.0, 117.0, 123.0)


@lru_cache(maxsize=16)
def priors(height: int, width: int) -> np.ndarray:
    """Anchors for an input of ``height`` × ``width`` pixels: float32 ``(A, 4)`` rows ``(cx, cy, w, h)`` in
    fractions of the image. Read-only (cached per size)."""
    if height < 1 or width < 1:
        raise ValueError(f"priors: image size must be positive, got {width}x{height}")
    levels = []
    for sizes, step in zip(MIN_SIZES, STEPS):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width,
                             indexing="ij")
        per_size = [np.stack([cx, cy, np.full_like(cx, s / width), np.full_like(cy, s / height)], axis=-1)
                    for s in sizes]
        levels.append(np.stack(per_size, axis=2).reshape(-1, 4))  # (rows, cols, sizes, 4): size varies fastest
    out = np.concatenate(levels).astype(np.float32)
    out.setflags(write=False)
    return out


def decode_boxes(offsets: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``(A, 4)`` network offsets → ``(A, 4)`` boxes ``(x1, y1, x2, y2)`` in fractions of the image."""
    centres = anchors[:, :2] + offsets[:, :2] * VARIANCES[0] * anchors[:, 2:]
    sizes = anchors[:, 2:] * np.exp(offsets[:, 2:] * VARIANCES[1])
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)


def decode_landmarks(offsets: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``(A, 10)`` network offsets → ``(A, 5, 2)`` landmark points in fractions of the image."""
    points = offsets.reshape(-1, 5, 2)
    return anchors[:, None, :2] + points * VARIANCES[0] * anchors[:, None, 2:]


def to_input(image: np.ndarray) -> np.ndarray:
    """A BGR ``uint8`` image (H, W, 3) as the network's input: float32 ``(1, 3, H, W)``, mean subtracted."""
    blob = image.astype(np.float32) - np.array(MEAN_BGR, dtype=np.float32)
    return np.ascontiguousarray(blob.transpose(2, 0, 1)[None])
