"""Face state of the baby in one frame: clear, pacifier, covered, or face not visible.

One square crop of the face (the detector's face box, turned upright with the face's ``angle``) or, when no face
was detected, of the locator's head box; ONE MobileNet embedding of it (``ImageEmbedder``); a linear softmax
head on the embedding (``models/face_state/face_state.npz``, trained by ``babymon train face_state``; numpy at
run time, no torch). A covered or face-down face is usually not detected, so the head-box path matters most.

Usage::

    classifier = FaceStateClassifier()                       # models/face_state/face_state.npz
    probs = classifier.predict(frame, face, location.head_box)  # {"clear": .., "pacifier": .., ...}, sums to 1
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.paths import bundled_models
from babymon.vision.face import Face, check_image
from babymon.vision.geometry import Box
from babymon.vision.linear import LinearHead, softmax

FACE_CLASSES: tuple[str, ...] = ("clear", "pacifier", "covered", "face_not_visible")
MODEL_DIR = bundled_models("face_state")
OLD_MODEL_DIR = bundled_models("occlusion")  # the folder's name until 0.2, still read for one release
HEAD_FILE = "face_state.npz"
# Margins (fraction of the box's longer side, each side) that put the chin, forehead and an occluder in view.
# A YuNet face box is ~0.9 × the labelled HEAD box on infant_face_parts, so these give crops of the same extent.
FACE_MARGIN = 0.15
HEAD_MARGIN = 0.10
# Nothing to look at (no face, no head box) but a baby is there: the face is not visible.
NO_VIEW_PROBS: dict[str, float] = {"clear": 0.02, "pacifier": 0.02, "covered": 0.06, "face_not_visible": 0.90}


def default_model_dir() -> Path:
    """The bundled face-state head: ``models/face_state``, or a head still in the old ``models/occlusion``."""
    if not (MODEL_DIR / HEAD_FILE).exists() and (OLD_MODEL_DIR / HEAD_FILE).exists():
        return OLD_MODEL_DIR
    return MODEL_DIR


class FaceStateModelError(AnalyzerUnavailable):
    """The face-state head file is missing or unusable; the message names the file and what is wrong."""


@dataclass(frozen=True)
class FaceStateHead:
    """Standardise the embedding, then one logit per class (``coef @ x + intercept + bias``) and softmax.
    ``bias``: per-class offsets chosen on validation data (covered recall vs pacifiers flagged)."""

    classes: tuple[str, ...]
    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    coef: np.ndarray  # (K, D)
    intercept: np.ndarray  # (K,)
    bias: np.ndarray  # (K,)
    face_margin: float = FACE_MARGIN
    head_margin: float = HEAD_MARGIN

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.coef.shape[1]:
            raise ValueError(f"embedding: expected {self.coef.shape[1]} features, got {x.shape[1]}")
        return LinearHead(self.mean, self.scale, self.coef, self.intercept).logits(x) + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, classes=np.array(self.classes), mean=self.mean.astype(np.float32),
                            scale=self.scale.astype(np.float32), coef=self.coef.astype(np.float32),
                            intercept=self.intercept.astype(np.float32), bias=self.bias.astype(np.float32),
                            margins=np.array([self.face_margin, self.head_margin], dtype=np.float32))

    @classmethod
    def load(cls, path: Path) -> FaceStateHead:
        path = Path(path)
        if not path.is_file():
            raise FaceStateModelError(f"face-state head {path} does not exist (run `babymon train face_state`)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise FaceStateModelError(f"face-state head {path} is not a readable .npz file: {exc}") from None
        needed = ("classes", "mean", "scale", "coef", "intercept", "bias", "margins")
        missing = [k for k in needed if k not in arrays]
        if missing:
            raise FaceStateModelError(f"face-state head {path}: missing array(s) {', '.join(missing)}")
        classes = tuple(str(c) for c in arrays["classes"])
        if classes != FACE_CLASSES:
            raise FaceStateModelError(f"face-state head {path}: classes {classes}, expected {FACE_CLASSES}")
        coef = arrays["coef"].astype(np.float64)
        k, d = len(classes), coef.shape[-1] if coef.ndim == 2 else -1
        shapes = {"coef": (k, d), "mean": (d,), "scale": (d,), "intercept": (k,), "bias": (k,), "margins": (2,)}
        for name, shape in shapes.items():
            if arrays[name].shape != shape:
                raise FaceStateModelError(f"face-state head {path}: {name} has shape {arrays[name].shape}, "
                                          f"expected {shape}")
        if not all(np.isfinite(arrays[name]).all() for name in shapes) or (arrays["scale"] <= 0).any():
            raise FaceStateModelError(f"face-state head {path}: non-finite weights or non-positive scales")
        face_margin, head_margin = (float(v) for v in arrays["margins"])
        return cls(classes, arrays["mean"].astype(np.float64), arrays["scale"].astype(np.float64), coef,
                   arrays["intercept"].astype(np.float64), arrays["bias"].astype(np.float64), face_margin, head_margin)


def quarter_turns(angle: float) -> int:
    """Quarter turns (clockwise) that make a face found in a copy rotated by ``angle`` degrees upright."""
    return int(round((angle % 360.0) / 90.0)) % 4


def face_crop(image: np.ndarray, face: Face | None, head_box: Box | None, face_margin: float = FACE_MARGIN,
              head_margin: float = HEAD_MARGIN, size: int = 224) -> np.ndarray | None:
    """The crop the classifier looks at: the face (upright) when there is one, else the head box; None when
    neither is given."""
    from babymon.vision.crops import crop_square

    if face is not None:
        return crop_square(image, face.box, size=size, margin=face_margin, quarter_turns=quarter_turns(face.angle))
    if head_box is not None:
        return crop_square(image, head_box, size=size, margin=head_margin)
    return None


class FaceStateClassifier:
    """``predict(image, face, head_box)`` → probabilities over :data:`FACE_CLASSES`. Not thread-safe (the
    embedder's interpreter): one per camera thread."""

    def __init__(self, model_dir: Path | None = None, embedder=None, threads: int = 1,
                 head: FaceStateHead | None = None):
        """The head from ``model_dir`` (default: the shipped one), or ``head`` already loaded."""
        self.head = head or FaceStateHead.load(Path(model_dir or default_model_dir()) / HEAD_FILE)
        if embedder is None:
            from babymon.vision.embedding import ImageEmbedder

            embedder = ImageEmbedder(threads=threads)
        self.embedder = embedder

    def embedding(self, image: np.ndarray, face: Face | None, head_box: Box | None) -> np.ndarray | None:
        """The embedding of the crop the head looks at; None when there is nothing to look at."""
        image = check_image(image)
        crop = face_crop(image, face, head_box, self.head.face_margin, self.head.head_margin)
        return None if crop is None else self.embedder.embed([crop])[0]

    def predict(self, image: np.ndarray, face: Face | None, head_box: Box | None) -> dict[str, float]:
        return face_state_probabilities(self.head, self.embedding(image, face, head_box))


def face_state_probabilities(head: FaceStateHead, embedding: np.ndarray | None) -> dict[str, float]:
    """The head's answer for one crop's embedding (pure); nothing to look at (None) → :data:`NO_VIEW_PROBS`."""
    if embedding is None:
        return dict(NO_VIEW_PROBS)
    probs = head.probabilities(embedding)[0]
    return {name: float(p) for name, p in zip(FACE_CLASSES, probs, strict=True)}


def face_unseen(probs: dict[str, float]) -> dict[str, float]:
    """The face state when the detector found no face (the head box was classified): "clear" and "pacifier"
    need a face that is seen, so their probability goes to face_not_visible; covered keeps its own (pure).
    face_not_visible raises no alarm by itself (the face-covered rule holds its last decision), so this never
    alarms, it only stops a face-down or turned-away baby from reading "clear" (crib_cam: face-down babies read
    clear in 8 of 17 frames before)."""
    out = dict(probs)
    out["face_not_visible"] = out.get("face_not_visible", 0.0) + out.get("clear", 0.0) + out.get("pacifier", 0.0)
    out["clear"] = out["pacifier"] = 0.0
    return out
