"""Refit the posture, presence and face-state heads to one nursery (pure logic: numpy and scipy).

Each head is refitted on the same standardised features it was first fitted on, by logistic regression whose L2
penalty (the shipped head's ``C``) pulls it towards the shipped head rather than towards zero
(:func:`fit_anchored`), on two parts:

* the shipped training sample (:mod:`babymon.nursery.sample`): class-balanced, its rows together weighing
  :data:`SAMPLE_WEIGHT` of their number; with the pull towards the shipped head it keeps a class the nursery never
  shows (a toddler standing, a covered face) from being forgotten;
* the nursery's labelled frames, together weighing :data:`NURSERY_SHARE` of the sample's rows, each frame the same.
  A side-lying class is added to the posture head when the nursery has at least :data:`MIN_SIDE_FRAMES` frames
  labelled side (the shipped images have none).

Both weights were chosen on ``crib_cam`` groups (``python -m babymon_lab.vision.nursery_eval``, see
``models/nursery/MODEL_CARD.md``).

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

SAMPLE_WEIGHT = 0.3  # the sample's rows together weigh this share of their number (chosen on crib_cam: MODEL_CARD)
NURSERY_SHARE = 0.5  # the nursery's frames together weigh this share of the sample's rows (chosen on crib_cam: MODEL_CARD)
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
    """Per-row weights of the sample (class-balanced: each class weighs n / K of its n rows, as the shipped heads
    were fitted) and the weight of one nursery frame (together ``share`` of the sample's weight)."""
    classes, counts = np.unique(sample.y, return_counts=True)
    per_class = SAMPLE_WEIGHT * len(sample.y) / len(classes)
    lookup = dict(zip(classes.tolist(), (per_class / counts).tolist(), strict=True))
    weights = np.array([lookup[c] for c in sample.y.tolist()])
    return weights, (share * len(sample.y) / n_nursery) if n_nursery else 0.0


def fit_anchored(x: np.ndarray, y: np.ndarray, weights: np.ndarray, c: float, coef0: np.ndarray,
                 intercept0: np.ndarray, max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression on standardised ``x`` whose L2 penalty pulls the weights towards
    the shipped head's (``coef0``), not towards zero: minimises Σ wᵢ·cross-entropy + ‖W − W₀‖² / (2C), starting
    at W₀ (scipy's L-BFGS). Where the nursery's frames say nothing, the refit stays the shipped head. → (coef,
    intercept)."""
    from scipy.optimize import minimize

    k, d = coef0.shape
    onehot = np.eye(k)[y]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = theta[:k * d].reshape(k, d), theta[k * d:]
        z = x @ coef.T + intercept
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        pull = coef - coef0
        loss = -float(np.sum(weights * np.sum(onehot * log_p, axis=1))) + float(np.sum(pull ** 2)) / (2 * c)
        g = (np.exp(log_p) - onehot) * weights[:, None]
        return loss, np.concatenate([(g.T @ x + pull / c).ravel(), g.sum(axis=0)])

    start = np.concatenate([coef0.ravel(), intercept0]).astype(np.float64)
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return result.x[:k * d].reshape(k, d), result.x[k * d:]


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
    extra = len(classes) - len(shipped.classes)  # a new class (side) starts from nothing
    coef0 = np.vstack([head.coef, np.zeros((extra, head.coef.shape[1]))])
    intercept0 = np.concatenate([head.intercept, np.full(extra, float(head.intercept.min()))])
    coef, intercept = fit_anchored((x - head.mean) / head.scale, y, weights, sample.c, coef0, intercept0)
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
    # the shipped model in the standardised space, as the second row of a two-class softmax (the first is 0)
    coef0 = np.vstack([np.zeros_like(shipped.weights), shipped.weights * scale])
    intercept0 = np.array([0.0, shipped.bias + float(shipped.weights @ mean)])
    coef, intercept = fit_anchored((x - mean) / scale, y, np.concatenate([sample_weights,
                                                                          np.full(len(rows), frame_weight)]),
                                   sample.c, coef0, intercept0)
    weights, bias = LinearHead(mean, scale, coef[1:] - coef[:1], intercept[1:] - intercept[:1]).folded()
    return PresenceModel(weights=weights[0], bias=float(bias[0]), threshold=shipped.threshold,
                         uses_embedding=shipped.uses_embedding)


def fit_face_state(shipped: FaceStateHead, sample: TrainingSample, rows: list[tuple[np.ndarray, str]],
                   share: float = NURSERY_SHARE) -> FaceStateHead:
    """The face-state head refitted on the sample and ``rows`` ((crop embedding, label)); its bias kept."""
    sample_weights, frame_weight = _weights(sample, len(rows), share)
    x = np.vstack([sample.x] + [r[0][None] for r in rows]) if rows else sample.x
    y = np.concatenate([sample.y, [FACE_CLASSES.index(label) for _, label in rows]]).astype(int)
    coef, intercept = fit_anchored((x - shipped.mean) / shipped.scale, y,
                                   np.concatenate([sample_weights, np.full(len(rows), frame_weight)]), sample.c,
                                   shipped.coef, shipped.intercept)
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
