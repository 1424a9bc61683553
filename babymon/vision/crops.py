"""Square crops around boxes, for the classifiers (pure numpy + OpenCV resize; no models here).

A crop is the box grown by ``margin`` (a fraction of its longer side on each side), made square around the box's
centre, taken from the image with black fill where it runs off the edge, optionally turned by a quarter turn
(``quarter_turns`` × 90° clockwise) so an upside-down or sideways face can be shown upright, and resized to
``size`` × ``size``.
"""

from __future__ import annotations

import numpy as np

from babymon.vision.geometry import Box


def square_box(box: Box, margin: float = 0.0) -> Box:
    """The square (in pixels) centred on ``box`` whose side is the box's longer side × (1 + 2·margin)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * (1.0 + 2.0 * margin)
    half = max(side, 2.0) / 2
    return (cx - half, cy - half, cx + half, cy + half)


def crop_square(image: np.ndarray, box: Box, size: int = 224, margin: float = 0.0, quarter_turns: int = 0) -> np.ndarray:
    """``image`` (H×W×C uint8) cut to :func:`square_box` of ``box``, black outside the image, as size×size."""
    import cv2

    x1, y1, x2, y2 = (int(round(v)) for v in square_box(box, margin))
    height, width = image.shape[:2]
    side = max(x2 - x1, y2 - y1, 1)
    canvas = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + side, width), min(y1 + side, height)
    if sx2 > sx1 and sy2 > sy1:
        canvas[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    crop = cv2.resize(canvas, (size, size), interpolation=interpolation)
    turns = quarter_turns % 4
    return np.ascontiguousarray(np.rot90(crop, k=-turns)) if turns else crop


def whole_image_square(image: np.ndarray, size: int = 224) -> np.ndarray:
    """The whole image padded (black) to a square and resized: for classifiers that look at the whole frame."""
    height, width = image.shape[:2]
    return crop_square(image, (0.0, 0.0, float(width), float(height)), size=size)


def ir_like(image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """A night-vision (IR) look-alike of a BGR image: grayscale, as three channels. With ``rng``, also the
    flatter contrast, brightness shift and sensor noise of an IR camera at night (training augmentation)."""
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if rng is not None:
        g = gray.astype(np.float32) * rng.uniform(0.6, 1.1) + rng.uniform(-20, 35)
        gray = np.clip(g + rng.normal(0, rng.uniform(2, 8), g.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
