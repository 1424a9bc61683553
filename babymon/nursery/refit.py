"""Refit the posture, presence and face-state heads to one nursery (pure logic: numpy and scikit-learn).

Each head is refitted as it was first fitted (logistic regression on the same standardised features, with the
same L2 strength ``C``), on two parts:

* the shipped training sample (:mod:`babymon.nursery.sample`): class-balanced, weighted so each class weighs what
  it weighed in the original training run, which keeps a class the nursery never shows (a toddler standing, a
  covered face) from being forgotten;
* the nursery's labelled frames, together weighing :data:`NURSERY_SHARE` of the original training set, each frame
  the same. A side-lying class is added to the posture head when the nursery has at least
  :data:`MIN_SIDE_FRAMES` frames labelled side (the shipped images have none).

The check (:func:`held_back`, :func:`score`, :func:`refusals`): labelled frames are cut into runs of near-identical
consecutive frames (:func:`runs`), every third run is held back, the heads are refitted without them and both the
shipped and the refitted heads are scored on them. A refit that scores a lower macro-F1, or a lower recall of a
danger class (prone, standing, covered, face not visible), is refused. The folder written is then refitted on all
labelled frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from babymon.nursery.features import FrameFeatures, predict
from babymon.nursery.folder import Label
from babymon.nursery.heads import Heads
from babymon.nursery.sample import TrainingSample
from babymon.vision.face_state import FACE_CLASSES, FaceStateHead
from babymon.vision.linear import LinearHead
from babymon.vision.pose import PresenceModel
from babymon.vision.posture import PostureModel

NURSERY_SHARE = 0.5  # the nursery's frames together weigh this share of the original training set (MODEL_CARD)
MIN_SIDE_FRAMES = 4
DANGER_POSTURES = ("prone", "standing")
DANGER_FACE_STATES = ("covered", "face_not_visible")
MIN_HELD_BACK = 6  # fewer held-back labels than this cannot show that a refit is better
RUN_GAP_SECONDS = 120.0  # frames further apart than this in time start a new run
RUN_THUMB_DIFF = 12.0  # mean absolute difference (0..255) of 32×32 grey thumbnails that starts a new run
TOLERANCE = 1e-9


@dataclass(frozen=True)
class LabelledFrame:
    name: str
    features: FrameFeatures
    label: Label
    taken_at: float | None = None  # None: unknown (frames are then in name order)
    thumbnail: np.ndarray | None = None  # (32, 32) grey, for :func:`runs`


def thumbnail(image: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def runs(frames: Sequence[LabelledFrame]) -> list[int]:
    """A run number per frame (frames in the order given, which should be time order): a new run starts when the
    frame is more than :data:`RUN_GAP_SECONDS` after the one before, or looks different from it (pure)."""
    out, run = [], 0
    for i, frame in enumerate(frames):
        if i:
            before = frames[i - 1]
            gap = (frame.taken_at is not None and before.taken_at is not None
                   and frame.taken_at - before.taken_at > RUN_GAP_SECONDS)
            changed = (frame.thumbnail is None or before.thumbnail is None
                       or float(np.abs(frame.thumbnail - before.thumbnail).mean()) > RUN_THUMB_DIFF)
            run += int(gap or changed)
        out.append(run)
    return out


def held_back(run_ids: Sequence[int]) -> np.ndarray:
    """Every third run (the 2nd, 5th, 8th …) is held back for the check (pure)."""
    order = {run: i for i, run in enumerate(dict.fromkeys(run_ids))}
    return np.array([order[r] % 3 == 1 for r in run_ids], dtype=bool)


# ------------------------------------------------------------------------------------------------ fitting

def _weights(sample: TrainingSample, n_nursery: int, share: float) -> tuple[np.ndarray, float]:
    """Per-row weights of the sample (each class weighs n_train / K, as class_weight="balanced" made it) and the
    weight of one nursery frame."""
    classes, counts = np.unique(sample.y, return_counts=True)
    per_class = sample.n_train / len(sample.classes)
    lookup = dict(zip(classes.tolist(), (per_class / counts).tolist(), strict=True))
    weights = np.array([lookup[c] for c in sample.y.tolist()])
    return weights, (share * sample.n_train / n_nursery) if n_nursery else 0.0


def _logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000)
    # sklearn's C scales the summed loss; the weights here sum to about twice the original training set's rows
    model.fit(x, y, sample_weight=weights)
    return model


def fit_posture(shipped: PostureModel, sample: TrainingSample, rows: list[tuple[np.ndarray, str]],
                share: float = NURSERY_SHARE) -> PostureModel:
    """The posture head refitted on the sample and ``rows`` ((input vector, label)); labels outside the head's
    classes are left out, except side, which becomes a class with :data:`MIN_SIDE_FRAMES` frames or more."""
    if len(shipped.heads) != 1:
        raise ValueError(f"a nursery refit needs a single-head posture model, this one has {list(shipped.heads)}")
    (name, head), = shipped.heads.items()
    classes = tuple(shipped.classes)
    if "side" not in classes and sum(label == "side" for _, label in rows) >= MIN_SIDE_FRAMES:
        classes = (*classes, "side")
    rows = [(x, label) for x, label in rows if label in classes]
    sample_weights, frame_weight = _weights(sample, len(rows), share)
    x = np.vstack([sample.x] + [r[0][None] for r in rows]) if rows else sample.x
    y = np.concatenate([[classes.index(sample.classes[i]) for i in sample.y],
                        [classes.index(label) for _, label in rows]]).astype(int)
    weights = np.concatenate([sample_weights, np.full(len(rows), frame_weight)])
    model = _logistic((x - head.mean) / head.scale, y, weights, sample.c)
    coef = np.zeros((len(classes), x.shape[1]))
    intercept = np.full(len(classes), -30.0)  # a class with no rows is never predicted
    for row, cls in enumerate(model.classes_):
        coef[cls], intercept[cls] = model.coef_[row], model.intercept_[row]
    bias = np.concatenate([shipped.bias, np.zeros(len(classes) - len(shipped.classes))])
    return PostureModel(classes=classes, heads={name: LinearHead(head.mean, head.scale, coef, intercept)},
                        weights={name: 1.0}, bias=bias, crop=shipped.crop, temperature=shipped.temperature)


def fit_presence(shipped: PresenceModel, sample: TrainingSample, rows: list[tuple[np.ndarray, bool]],
                 share: float = NURSERY_SHARE) -> PresenceModel:
    """The presence model refitted on the sample and ``rows`` ((features, baby present)); its threshold kept."""
    sample_weights, frame_weight = _weights(sample, len(rows), share)
    x = np.vstack([sample.x] + [r[0][None] for r in rows]) if rows else sample.x
    y = np.concatenate([sample.y, [int(present) for _, present in rows]]).astype(int)
    mean, scale = sample.x.mean(axis=0), sample.x.std(axis=0) + 1e-6
    model = _logistic((x - mean) / scale, y, np.concatenate([sample_weights, np.full(len(rows), frame_weight)]),
                      sample.c)
    weights, bias = LinearHead(mean, scale, model.coef_, model.intercept_).folded()
    return PresenceModel(weights=weights[0], bias=float(bias[0]), threshold=shipped.threshold,
                         uses_embedding=shipped.uses_embedding)


def fit_face_state(shipped: FaceStateHead, sample: TrainingSample, rows: list[tuple[np.ndarray, str]],
                   share: float = NURSERY_SHARE) -> FaceStateHead:
    """The face-state head refitted on the sample and ``rows`` ((crop embedding, label)); its bias kept."""
    sample_weights, frame_weight = _weights(sample, len(rows), share)
    x = np.vstack([sample.x] + [r[0][None] for r in rows]) if rows else sample.x
    y = np.concatenate([sample.y, [FACE_CLASSES.index(label) for _, label in rows]]).astype(int)
    model = _logistic((x - shipped.mean) / shipped.scale, y,
                      np.concatenate([sample_weights, np.full(len(rows), frame_weight)]), sample.c)
    coef = np.zeros_like(shipped.coef)
    intercept = np.full(len(FACE_CLASSES), -30.0)
    for row, cls in enumerate(model.classes_):
        coef[cls], intercept[cls] = model.coef_[row], model.intercept_[row]
    return replace(shipped, coef=coef, intercept=intercept)


def training_rows(frames: Sequence[LabelledFrame], posture_input: str):
    """(posture rows, presence rows, face-state rows) from the labelled frames."""
    from babymon.vision.pose import presence_features

    posture, presence, face = [], [], []
    for frame in frames:
        f, label = frame.features, frame.label
        if label.posture and label.posture != "no_baby":
            posture.append((f.posture_input(posture_input), label.posture))
        if label.posture or label.face_state:
            presence.append((np.concatenate([presence_features(f.pose_scores), f.embedding]),
                             label.posture != "no_baby"))
        if label.face_state and f.face_embedding is not None:
            face.append((f.face_embedding, label.face_state))
    return posture, presence, face


def refit(shipped: Heads, samples: dict[str, TrainingSample], frames: Sequence[LabelledFrame],
          share: float = NURSERY_SHARE) -> Heads:
    """New heads from the shipped ones, the training samples and the labelled frames."""
    (posture_input,) = shipped.posture.heads
    posture_rows, presence_rows, face_rows = training_rows(frames, posture_input)
    return Heads(folder=None,
                 posture=fit_posture(shipped.posture, samples["posture"], posture_rows, share),
                 side=shipped.side,
                 presence=fit_presence(shipped.presence, samples["presence"], presence_rows, share),
                 face_state=fit_face_state(shipped.face_state, samples["face_state"], face_rows, share))


# ------------------------------------------------------------------------------------------------ checking

def _report(truth: list[str], predicted: list[str], danger: tuple[str, ...]) -> dict:
    labels = sorted(set(truth))
    per_class = {}
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        support = truth.count(label)
        called = predicted.count(label)
        precision = tp / called if called else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "support": support}
    return {"n": len(truth),
            "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4)
            if truth else None,
            "macro_f1": round(float(np.mean([per_class[label]["f1"] for label in labels])), 4) if labels else None,
            "danger_recall": {label: per_class[label]["recall"] for label in danger if label in labels},
            "per_class": per_class}


def score(heads: Heads, frames: Sequence[LabelledFrame]) -> dict:
    """Posture and face-state numbers of ``heads`` on the labelled frames (a frame read as "no baby" counts as a
    miss of its labels)."""
    answers = [predict(heads, frame.features) for frame in frames]
    posture = [(f.label.posture, a.posture) for f, a in zip(frames, answers, strict=True) if f.label.posture]
    face = [(f.label.face_state, a.face_state) for f, a in zip(frames, answers, strict=True) if f.label.face_state]
    return {"posture": _report([t for t, _ in posture], [p for _, p in posture], DANGER_POSTURES),
            "face_state": _report([t for t, _ in face], [p for _, p in face], DANGER_FACE_STATES),
            "answers": [{"frame": f.name, "posture": a.posture, "face_state": a.face_state,
                         "presence": round(a.presence, 3)} for f, a in zip(frames, answers, strict=True)]}


def refusals(shipped: dict, refitted: dict, n_held: int) -> list[str]:
    """Why a refit must not replace the shipped heads (empty: it may), from :func:`score` of both on the same
    held-back frames."""
    reasons = []
    if n_held < MIN_HELD_BACK:
        reasons.append(f"only {n_held} labelled frame(s) were held back to check the refit (at least "
                       f"{MIN_HELD_BACK} are needed: label more frames, from more than one night or light)")
    for task in ("posture", "face_state"):
        before, after = shipped[task], refitted[task]
        if before["macro_f1"] is not None and after["macro_f1"] < before["macro_f1"] - TOLERANCE:
            reasons.append(f"{task} macro-F1 on the held-back frames falls from {before['macro_f1']:.3f} to "
                           f"{after['macro_f1']:.3f}")
        for label, recall in before["danger_recall"].items():
            if after["danger_recall"][label] < recall - TOLERANCE:
                reasons.append(f"{label} recall on the held-back frames falls from {recall:.3f} to "
                               f"{after['danger_recall'][label]:.3f} (a danger class)")
    return reasons
