"""Posture of a located baby: supine, prone, side, sitting or standing (climbing the rail counts as standing).

:class:`PostureClassifier` combines (as ``models/posture/posture.npz`` says; the training script chooses on
held-out numbers, see ``models/posture/MODEL_CARD.md``):

* ``image``: a linear head on the MobileNet embedding (``babymon.vision.embedding``) of the crop around the
  baby's body box (the whole frame when there is no box), one embedding per frame;
* ``keypoints``: a linear head on :func:`babymon.vision.posture_features.keypoint_features` of the locator's pose;
* both, as logits added with weights (late fusion) or one head on the concatenation (early fusion);
* ``keypoints_face`` / ``concat_face``: the same with :func:`babymon.vision.posture_face.face_features` of the
  face the pipeline found appended (a confidently detected, frontal face is evidence against prone).

The summed logits are divided by a temperature fitted on the validation split (honest probabilities), then a
per-class bias is added (prone, for the recall target). A confidently seen frontal face then vetoes prone
(:func:`veto_prone`: such a face is not in the mattress).

The images give four classes (supine, prone, sitting, standing); there are no side-lying images. Side comes from
a separate linear model on :func:`side_features` trained on MediaPipe landmark rows only (``side.json``): when
the body is lying (supine or prone) and its skeleton is confidently visible, that model's probability of
"side" is moved from supine/prone to side. The heads are plain numpy (no torch at run time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.analyzers.base import POSTURES, AnalyzerUnavailable
from babymon.paths import bundled_models
from babymon.vision.face import Face
from babymon.vision.linear import LinearHead, softmax
from babymon.vision.pose import (
    CROP_BODY_MARGIN,
    HEAD_POINTS,
    LEFT_HIP,
    LEFT_SHOULDER,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    Location,
    Pose,
    body_box,
    body_crop,
)
from babymon.vision.posture_face import FACE_FEATURE_NAMES, face_features
from babymon.vision.posture_features import keypoint_features, side_features

DEFAULT_MODEL_DIR = bundled_models("posture")
LYING = ("supine", "prone")
INPUTS = {"image", "keypoints", "concat", "keypoints_face", "concat_face"}
SIDE_NEEDS = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
FRONTAL_PROFILE_MAX = 0.6  # |nose offset from the eyes' midline| / eye distance below this = frontal


@dataclass(frozen=True)
class PostureModel:
    """What ``posture.npz`` holds: the classes of the heads, the heads by input, their weights, a per-class bias."""

    classes: tuple[str, ...]
    heads: dict[str, LinearHead]  # input name ("image", "keypoints", "concat") → head
    weights: dict[str, float]
    bias: np.ndarray  # added to the scaled logits (tuned for prone recall on the validation split)
    crop: str  # "box" or "whole"
    temperature: float = 1.0  # the summed logits are divided by this (fitted on validation NLL)

    def probabilities(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        logits = sum(self.weights[name] * head.logits(inputs[name]) for name, head in self.heads.items())
        return softmax(logits / self.temperature + self.bias)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"classes": np.array(self.classes), "bias": self.bias,
                                         "crop": np.array(self.crop), "inputs": np.array(list(self.heads)),
                                         "temperature": np.array(self.temperature)}
        for name, head in self.heads.items():
            for field in ("mean", "scale", "coef", "intercept"):
                arrays[f"{name}.{field}"] = np.asarray(getattr(head, field), dtype=np.float32)
            arrays[f"{name}.weight"] = np.array(self.weights[name])
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> PostureModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                inputs = [str(v) for v in data["inputs"]]
                heads = {name: LinearHead(*(data[f"{name}.{f}"].astype(np.float64)
                                            for f in ("mean", "scale", "coef", "intercept"))) for name in inputs}
                weights = {name: float(data[f"{name}.weight"]) for name in inputs}
                model = cls(classes=tuple(str(c) for c in data["classes"]), heads=heads, weights=weights,
                            bias=data["bias"].astype(np.float64), crop=str(data["crop"]),
                            temperature=float(data["temperature"]) if "temperature" in data else 1.0)
        except FileNotFoundError:
            raise AnalyzerUnavailable(f"posture model {path} is missing (restore models/posture/ from git, or "
                                      f"train it: babymon train posture)") from None
        except (ValueError, KeyError, OSError, EOFError) as exc:
            raise AnalyzerUnavailable(f"posture model {path} is not valid: {exc}") from None
        unknown = [c for c in model.classes if c not in POSTURES]
        if unknown or not set(inputs) <= INPUTS or not model.temperature > 0:
            raise AnalyzerUnavailable(f"posture model {path}: unknown classes {unknown}, inputs {inputs} or "
                                  f"temperature {model.temperature}")
        return model


@dataclass(frozen=True)
class SideModel:
    """Logistic P(side | lying) on :func:`side_features`; used only when its keypoints are confident."""

    weights: np.ndarray
    bias: float
    min_keypoint_score: float
    min_probability: float  # below this, no side (keeps side from eating confident supine/prone)

    def probability(self, pose: Pose) -> float:
        needed = list(SIDE_NEEDS) + [int(np.argmax(pose.scores[list(HEAD_POINTS)]))]
        if pose.scores[needed].min() < self.min_keypoint_score:
            return 0.0
        z = float(side_features(pose.keypoints) @ self.weights + self.bias)
        p = 1.0 / (1.0 + np.exp(-z))
        return p if p >= self.min_probability else 0.0

    @classmethod
    def load(cls, path: Path) -> SideModel:
        try:
            data = json.loads(path.read_text())
            return cls(weights=np.asarray(data["weights"], dtype=np.float64), bias=float(data["bias"]),
                       min_keypoint_score=float(data["min_keypoint_score"]),
                       min_probability=float(data["min_probability"]))
        except FileNotFoundError:
            raise AnalyzerUnavailable(f"side model {path} is missing (restore models/posture/ from git)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise AnalyzerUnavailable(f"side model {path} is not valid: {exc}") from None

    def to_json(self) -> dict:
        return {"weights": [float(w) for w in self.weights], "bias": self.bias,
                "min_keypoint_score": self.min_keypoint_score, "min_probability": self.min_probability}


def frontal_face_seen(face_vector: np.ndarray) -> bool:
    """A confidently detected (score ≥ 0.85), frontal (nose near the eyes' midline) face, from
    :func:`babymon.vision.posture_face.face_features`."""
    return bool(face_vector[FACE_FEATURE_NAMES.index("confident")] >= 1.0
                and face_vector[FACE_FEATURE_NAMES.index("profile")] < FRONTAL_PROFILE_MAX)


def veto_prone(probs: dict[str, float], frontal_face: bool) -> dict[str, float]:
    """A frontal face seen confidently is not pressed into the mattress: prone's probability is shared out
    among the other postures in proportion (pure). Measured on the infant_posture + face-down photos (all
    splits): such a face is on 10 of 342 prone photos (2.9 %, babies lifting their head) and 304 of 642 supine
    ones (47 %), and the image head alone read a plainly supine newborn clip as prone (see MODEL_CARD.md)."""
    if not frontal_face or probs.get("prone", 0.0) <= 0.0:
        return dict(probs)
    rest = sum(p for c, p in probs.items() if c != "prone")
    if rest <= 0.0:
        return {c: (1.0 if c == "supine" else 0.0) for c in probs}
    return {c: (0.0 if c == "prone" else p / rest) for c, p in probs.items()}


def add_side(probs: dict[str, float], side: float) -> dict[str, float]:
    """Move the fraction ``side`` of the lying mass (supine + prone) to side (pure)."""
    out = dict(probs)
    lying = sum(out.get(c, 0.0) for c in LYING)
    for c in LYING:
        out[c] = out.get(c, 0.0) * (1.0 - side)
    out["side"] = out.get("side", 0.0) + lying * side
    return out


class PostureClassifier:
    """``predict(image, location, face=None)`` → probabilities over ``POSTURES`` (summing to 1). ``face``: the
    best face the pipeline's detector found on the baby (``babymon.vision.face.Face``), None = no face found.
    One embedding per call at most (none when the locator hands over its embedding or the model is
    keypoints-only)."""

    def __init__(self, model_dir: Path | None = None, embedder=None, model: PostureModel | None = None,
                 side: SideModel | None = None):
        """The heads from ``model_dir`` (default: the shipped ones), or ``model`` and ``side`` already loaded."""
        folder = model_dir or DEFAULT_MODEL_DIR
        self.model = model or PostureModel.load(folder / "posture.npz")
        self.side = side or SideModel.load(folder / "side.json")
        self.needs_embedding = bool({"image", "concat", "concat_face"} & set(self.model.heads))
        self._embedder = embedder  # made on first use: the locator usually hands over its embedding

    @property
    def embedder(self):
        if self._embedder is None:
            from babymon.vision.embedding import ImageEmbedder

            self._embedder = ImageEmbedder()
        return self._embedder

    def embedding(self, image: np.ndarray, location: Location) -> np.ndarray | None:
        """What the image heads look at; the locator's embedding of the body crop is reused when it has one.
        None when the model is keypoints-only."""
        from babymon.vision.crops import whole_image_square

        if not self.needs_embedding:
            return None
        if self.model.crop == "box" and location.embedding is not None:
            return location.embedding
        crop = body_crop(image, location.pose)[0] if self.model.crop == "box" else whole_image_square(image)
        return self.embedder.embed([crop])[0]

    def features(self, image: np.ndarray, location: Location,
                 face: Face | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """What the heads look at: (keypoint features, face features, embedding or None)."""
        if face is not None and not isinstance(face, Face):
            raise TypeError(f"face: expected babymon.vision.face.Face or None, got {type(face).__name__}")
        pose = location.pose
        kp = (keypoint_features(pose.keypoints, pose.scores) if pose is not None
              else keypoint_features(np.zeros((17, 2)), np.zeros(17)))
        height, width = image.shape[:2]
        body = None if pose is None else body_box(pose, width, height, margin=CROP_BODY_MARGIN)
        return kp, face_features(face, pose, body, width, height), self.embedding(image, location)

    def predict(self, image: np.ndarray, location: Location, face: Face | None = None) -> dict[str, float]:
        """Probabilities over ``POSTURES``. ``face``: the detector's best face on the baby, or None when no
        face was found (the model was trained with exactly that: YuNet at quarter turns, score ≥ 0.6)."""
        kp, face_vector, embedding = self.features(image, location, face)
        return posture_probabilities(self.model, self.side, kp, face_vector, embedding, location.pose)


def head_inputs(keypoints: np.ndarray, face_vector: np.ndarray, embedding: np.ndarray | None) -> dict[str, np.ndarray]:
    """Each head input (:data:`INPUTS`) built from the three feature parts (pure)."""
    inputs = {"keypoints": keypoints, "keypoints_face": np.concatenate([keypoints, face_vector])}
    if embedding is not None:
        inputs.update(image=embedding, concat=np.concatenate([embedding, keypoints]),
                      concat_face=np.concatenate([embedding, keypoints, face_vector]))
    return inputs


def posture_probabilities(model: PostureModel, side: SideModel, keypoints: np.ndarray, face_vector: np.ndarray,
                          embedding: np.ndarray | None, pose: Pose | None) -> dict[str, float]:
    """The classifier's answer from its inputs (pure; training scores cached features with it): the heads,
    then the prone veto, then the side step, normalised over ``POSTURES``."""
    inputs = head_inputs(keypoints, face_vector, embedding)
    result = {c: 0.0 for c in POSTURES}
    result.update({c: float(p) for c, p in zip(model.classes, model.probabilities(inputs), strict=True)})
    result = veto_prone(result, frontal_face_seen(face_vector))
    if pose is not None and "side" not in model.classes:  # a head that knows side needs no keypoint side model
        result = add_side(result, side.probability(pose))
    total = sum(result.values())
    return {c: result[c] / total for c in POSTURES}
