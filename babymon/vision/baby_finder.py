"""Find the baby in a wide frame: one MobileNet pass over the whole view, a linear head on every cell.

A crib camera sees the baby small (2–15 % of the frame), from above or through the rails, in colour or infrared.
A pose model run on the whole frame gives a small baby a handful of weak keypoints, and a classifier on the
whole frame sees mostly mattress. The finder looks at the frame once and says *where* the baby is, so the
locator, the face detector and the classifiers can then look there, at the resolution of the crop:

* the view (the ``crib_region`` crop, else the frame) is letterboxed to 224×224 and run through the MobileNet V1
  feature extractor that the classifiers use (``mobilenet_v1_embedding``); its 14×14×512 (stride 16) and
  7×7×1024 (stride 32) feature maps are read off the same pass;
* a logistic head on each of the 196 fine cells (its 512 features and the 1024 of the coarse cell above it)
  gives P(this cell is on a baby) (:class:`FinderModel`, ``models/finder/finder.npz``);
* the baby's box is the connected group of cells around the most probable one (:func:`grid_box`); the
  finder's score is that cell's probability. An empty crib is a grid with no baby cell: the evidence is the
  mattress seen, not a pose that failed to fit.

Pure parts (cell features, the grid → box step, the letterbox maps) are separate from the model run.
Not thread-safe (one TFLite interpreter): one finder per camera thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.paths import bundled_models
from babymon.tflite import dequantized
from babymon.vision.geometry import Box, clip_box, region_pixels, region_view
from babymon.vision.linear import LinearHead

GRID = 14
INPUT_SIZE = 224
CELL = INPUT_SIZE // GRID  # 16 px of the letterboxed view
FINE_CHANNELS, COARSE_CHANNELS = 512, 1024
CELL_FEATURES = FINE_CHANNELS + COARSE_CHANNELS
# The feature maps, by the name of the layer whose output they are (the TFLite file names its tensors so).
FINE_LAYER = "MobilenetV1/MobilenetV1/Conv2d_11_pointwise/Relu6"
COARSE_LAYER = "MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6"
DEFAULT_MODEL = bundled_models("finder", "finder.npz")


@dataclass(frozen=True)
class Letterbox:
    """Where the 224×224 square came from: the view's pixels of its top-left corner and pixels per input pixel."""

    x0: float
    y0: float
    scale: float  # view pixels per letterboxed pixel

    @classmethod
    def of(cls, width: int, height: int) -> Letterbox:
        side = float(max(width, height))
        return cls(x0=(width - side) / 2.0, y0=(height - side) / 2.0, scale=side / INPUT_SIZE)

    def to_view(self, box: Box) -> Box:
        """A box in letterboxed pixels → the same box in the view's pixels."""
        return (self.x0 + box[0] * self.scale, self.y0 + box[1] * self.scale,
                self.x0 + box[2] * self.scale, self.y0 + box[3] * self.scale)

    def to_input(self, box: Box) -> Box:
        """A box in the view's pixels → letterboxed pixels."""
        return ((box[0] - self.x0) / self.scale, (box[1] - self.y0) / self.scale,
                (box[2] - self.x0) / self.scale, (box[3] - self.y0) / self.scale)


def letterbox(view: np.ndarray) -> np.ndarray:
    """The view shrunk (or enlarged) to fit 224×224 and padded black to a square, centred as :class:`Letterbox`
    says: what the finder looks at."""
    import cv2

    height, width = view.shape[:2]
    scale = INPUT_SIZE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(view, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    square = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    x0, y0 = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
    square[y0:y0 + new_h, x0:x0 + new_w] = resized
    return square


def cell_features(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """(196, 1536): each fine cell's 512 features followed by the 1024 of the coarse cell it lies in (pure)."""
    if fine.shape != (GRID, GRID, FINE_CHANNELS) or coarse.shape != (GRID // 2, GRID // 2, COARSE_CHANNELS):
        raise ValueError(f"feature maps of shape {fine.shape} / {coarse.shape}, expected "
                         f"({GRID}, {GRID}, {FINE_CHANNELS}) / ({GRID // 2}, {GRID // 2}, {COARSE_CHANNELS})")
    up = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)
    return np.concatenate([fine, up], axis=2).reshape(GRID * GRID, CELL_FEATURES)


def cell_labels(boxes: list[Box], letterbox: Letterbox) -> np.ndarray:
    """Training targets for the 14×14 cells (pure): 1 where the cell's centre is inside a baby box (or, for a
    box too small to hold any centre, the cell under the box's centre), 0 where the cell overlaps no box by more
    than a quarter of its area, -1 (not scored) in between: the rim of the box."""
    labels = np.zeros((GRID, GRID), dtype=np.int8)
    centres = (np.arange(GRID) + 0.5) * CELL
    for box in boxes:
        x1, y1, x2, y2 = letterbox.to_input(box)
        ox = np.clip(np.minimum(x2, (np.arange(GRID) + 1) * CELL) - np.maximum(x1, np.arange(GRID) * CELL), 0, None)
        oy = np.clip(np.minimum(y2, (np.arange(GRID) + 1) * CELL) - np.maximum(y1, np.arange(GRID) * CELL), 0, None)
        overlap = np.outer(oy, ox) / (CELL * CELL)
        labels[(overlap > 0.25) & (labels == 0)] = -1
        inside = np.outer((centres >= y1) & (centres <= y2), (centres >= x1) & (centres <= x2))
        if not inside.any():
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            if 0 <= cx < INPUT_SIZE and 0 <= cy < INPUT_SIZE:
                inside[int(cy // CELL), int(cx // CELL)] = True
        labels[inside] = 1
    return labels


def grid_box(probs: np.ndarray, threshold: float) -> tuple[Box | None, float]:
    """The box (letterboxed pixels) of the 4-connected group of cells with P ≥ ``threshold`` that holds the most
    probable cell, and that cell's probability (pure). No cell at or over the threshold: (None, best P)."""
    grid = np.asarray(probs, dtype=np.float64).reshape(GRID, GRID)
    best = float(grid.max())
    if best < threshold:
        return None, best
    start = np.unravel_index(int(np.argmax(grid)), grid.shape)
    on = grid >= threshold
    seen = {start}
    todo = [start]
    while todo:
        r, c = todo.pop()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < GRID and 0 <= nc < GRID and on[nr, nc] and (nr, nc) not in seen:
                seen.add((nr, nc))
                todo.append((nr, nc))
    rows = [r for r, _ in seen]
    cols = [c for _, c in seen]
    return (float(min(cols) * CELL), float(min(rows) * CELL), float((max(cols) + 1) * CELL),
            float((max(rows) + 1) * CELL)), best


FOCUS_GROW = 0.25  # the focus is the finder's box grown by this × its longer side on each side
FOCUS_MIN_SIDE = 0.3  # and at least this share of the view's longer side


def focus_region(box: Box, width: int, height: int, region: tuple[float, float, float, float] | None = None,
                 grow: float = FOCUS_GROW, min_side: float = FOCUS_MIN_SIDE) -> tuple[float, float, float, float]:
    """Where to look for the baby's pose and face, as fractions of the frame (pure): a square on the finder's
    ``box`` (frame pixels) grown by ``grow`` × its longer side on each side, at least ``min_side`` × the view's
    longer side, moved inside the view (``region`` of the frame, else the whole frame) and cut to it."""
    vx1, vy1, vx2, vy2 = (0.0, 0.0, float(width), float(height)) if region is None else \
        tuple(float(v) for v in region_pixels(region, width, height))
    side = max(box[2] - box[0], box[3] - box[1]) * (1.0 + 2.0 * grow)
    side = min(max(side, min_side * max(vx2 - vx1, vy2 - vy1)), max(vx2 - vx1, vy2 - vy1))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1 = min(max(cx - side / 2, vx1), max(vx1, vx2 - side))
    y1 = min(max(cy - side / 2, vy1), max(vy1, vy2 - side))
    x2, y2 = min(x1 + side, vx2), min(y1 + side, vy2)
    return (x1 / width, y1 / height, x2 / width, y2 / height)


@dataclass(frozen=True)
class FinderModel:
    """What ``finder.npz`` holds: the cell head (one logit: baby here) and the thresholds chosen in training."""

    head: LinearHead
    cell_threshold: float  # cells at or over this P make up the baby's box
    present_threshold: float  # the best cell at or over this P: a baby is in view

    @cached_property
    def _folded(self) -> tuple[np.ndarray, float]:
        """The head with its standardisation folded in: one float32 product per frame (~0.1 ms, not ~2)."""
        weights, bias = self.head.folded()
        return weights[0].astype(np.float32), float(bias[0])

    def cell_probabilities(self, features: np.ndarray) -> np.ndarray:
        if features.ndim != 2 or features.shape[1] != CELL_FEATURES:
            raise ValueError(f"expected (cells, {CELL_FEATURES}) features, got {features.shape}")
        weights, bias = self._folded
        z = np.asarray(features, dtype=np.float32) @ weights + bias
        return 1.0 / (1.0 + np.exp(-np.clip(z.astype(np.float64), -50, 50)))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{f: np.asarray(getattr(self.head, f), dtype=np.float32)
                                     for f in ("mean", "scale", "coef", "intercept")},
                            cell_threshold=np.array(self.cell_threshold), present_threshold=np.array(self.present_threshold))

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> FinderModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                head = LinearHead(*(data[f].astype(np.float64) for f in ("mean", "scale", "coef", "intercept")))
                model = cls(head=head, cell_threshold=float(data["cell_threshold"]),
                            present_threshold=float(data["present_threshold"]))
        except FileNotFoundError:
            raise AnalyzerUnavailable(f"baby finder model {path} is missing (restore models/finder/ from git, or "
                                      f"train it: babymon train finder)") from None
        except (ValueError, KeyError, OSError, EOFError) as exc:
            raise AnalyzerUnavailable(f"baby finder model {path} is not valid: {exc}") from None
        if model.head.coef.shape != (1, CELL_FEATURES):
            raise AnalyzerUnavailable(f"baby finder model {path}: head of shape {model.head.coef.shape}, expected "
                                      f"(1, {CELL_FEATURES})")
        return model


class FeatureMaps:
    """The MobileNet V1 extractor's two feature maps (and its pooled embedding) for one 224×224 BGR input."""

    def __init__(self, model: Path | None = None, threads: int = 1):
        from babymon.models import model_path
        from babymon.tflite import load_interpreter

        path = model or model_path("mobilenet_v1_embedding")
        self._interpreter = load_interpreter(path, "image embedding model", threads, preserve_all_tensors=True)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        by_layer = {d["name"].split(";")[0]: d for d in self._interpreter.get_tensor_details()}
        missing = [name for name in (FINE_LAYER, COARSE_LAYER) if name not in by_layer]
        if missing:
            raise AnalyzerUnavailable(f"image embedding model {path} has no layer {missing[0]} (not MobileNet V1?)")
        self._fine, self._coarse = by_layer[FINE_LAYER], by_layer[COARSE_LAYER]

    def _read(self, detail: dict) -> np.ndarray:
        return dequantized(self._interpreter.get_tensor(detail["index"])[0], detail)

    def run(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fine 14×14×512, coarse 7×7×1024, embedding 1024) of a 224×224×3 uint8 BGR image."""
        if square.shape != (INPUT_SIZE, INPUT_SIZE, 3) or square.dtype != np.uint8:
            raise ValueError(f"expected a {INPUT_SIZE}x{INPUT_SIZE}x3 uint8 image, got {square.shape} {square.dtype}")
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(square[None, :, :, ::-1]))
        self._interpreter.invoke()
        return self._read(self._fine), self._read(self._coarse), self._read(self._output).reshape(-1)


@dataclass(frozen=True)
class Found:
    """The finder's answer for one frame. ``box`` in frame pixels (None: no baby cell), ``score`` the best
    cell's P, ``probs`` the 14×14 grid (for the overlay and for debugging)."""

    box: Box | None
    score: float
    present: bool
    probs: np.ndarray


class BabyFinder:
    """``find(image, region)`` → :class:`Found`. ``region`` (fractions of the frame, as ``crib_region``): only
    that part of the frame is looked at, and the box is in frame pixels."""

    def __init__(self, model: FinderModel | None = None, maps: FeatureMaps | None = None, threads: int = 1):
        self.model = model or FinderModel.load()
        self.maps = maps or FeatureMaps(threads=threads)

    def find(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None) -> Found:
        height, width = image.shape[:2]
        view, ox, oy = region_view(image, region)
        fine, coarse, _ = self.maps.run(letterbox(view))
        probs = self.model.cell_probabilities(cell_features(fine, coarse)).reshape(GRID, GRID)
        cells, score = grid_box(probs, self.model.cell_threshold)
        box = None
        if cells is not None:
            x1, y1, x2, y2 = Letterbox.of(view.shape[1], view.shape[0]).to_view(cells)
            box = clip_box((x1 + ox, y1 + oy, x2 + ox, y2 + oy), width, height)
        return Found(box=box, score=score, present=score >= self.model.present_threshold, probs=probs)
