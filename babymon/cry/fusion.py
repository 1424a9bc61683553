"""Approach (e): a learned fusion layer on the CNN's logit, the YAMNet-embedding head's logit and YAMNet's
*other* AudioSet classes as evidence for or against crying.

YAMNet was trained on AudioSet's 521 classes, which include many sounds our cry data never shows (music,
sirens, cheering crowds). Its scores for a few *groups* of classes become features of a small logistic
layer on top of the CNN:

* ``cry``: the highest of "Baby cry", "Crying, sobbing", "Whimper" (evidence for);
* ``laughter``, ``speech``, ``music`` (singing included), ``siren`` (and alarms), ``crowd``, ``animal``,
  ``vehicle``: the highest score of the group (evidence against);
* ``not_cry``: the highest of *all* those groups together, and ``not_cry_vs_cry``, its log ratio to the
  ``cry`` group. These shared features are what could let the layer generalise: their weight is learned
  from the negatives we do have (dogs, roosters, speech, synthetic sirens/melodies/babble) and applies
  unchanged to classes the data lacks. Per-group weights cannot be learned for classes with no examples.

Each group feature is ``log(score + 1e-4)``. Which features are used is chosen on validation data
(:mod:`babymon_lab.cry.fusion_fit`); the model card reports what was tried and what it did. Pure numpy: fitting (L2-regularised logistic regression, Newton
steps) and scoring; no I/O here (see :mod:`babymon.cry.model` and :mod:`babymon_lab.cry.train`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 1e-4
RATIO_EPSILON = 1e-2  # both scores low (e.g. a cry in loud white noise): the ratio stays near 0

# YAMNet class indices (yamnet_class_map.csv, AudioSet ontology order)
CLASS_GROUPS: dict[str, tuple[int, ...]] = {
    "cry": (19, 20, 21),  # Crying, sobbing; Baby cry, infant cry; Whimper
    "laughter": (13, 14, 15, 16, 17, 18),  # Laughter, Baby laughter, Giggle, Snicker, Belly laugh, Chuckle
    "speech": (0, 2, 3),  # Speech, Conversation, Narration (not child speech / babbling: cries get those)
    "music": (24, 25, 26, 27, 28, 29, 30, 31, *range(132, 277)),  # singing, choir, ... and the Music branch
    "siren": (316, 317, 318, 319, 382, 389, 390, 391, 392, 393, 394, 395, 396),  # sirens, alarms, whistles
    "crowd": (58, 61, 62, 63, 64, 65, 66),  # Clapping, Cheering, Applause, Chatter, Crowd, Hubbub, Children playing
    "animal": tuple(range(67, 132)),  # the Animal branch (dogs, cats, roosters, birds, insects ...)
    "vehicle": tuple(range(294, 327)),  # Vehicle .. rail transport
    # single named classes of a family's living room (issue 16): each its own feature
    "baby_laughter": (14,),  # Baby laughter
    "giggle": (15,),  # Giggle
    "babbling": (4,),  # Babbling
    "adult_speech": (0,),  # Speech
    "child_speech": (1,),  # Child speech, kid speaking
    "music_class": (132,),  # Music (the top class of the branch)
    "singing": (24, 25, 26, 27, 28, 29, 30, 31),  # Singing, Choir, Yodeling, Chant, Mantra, Child/Synthetic singing, Rapping
    "lullaby": (247, 266),  # Music for children, Lullaby
    "television": (518, 519),  # Television, Radio
    # broadband noise (issue 16): what YAMNet calls a cry drowned in pink or white noise at 0 dB ("Water",
    # "Waterfall", ...). Not evidence for or against crying by itself; it tells the layer that the other
    # evidence is masked (see ``*_x_noise``)
    "noise": (79, 277, 279, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 406, 407, 438, 439, 440, 447, 490, 507,
              508, 509, 510, 514, 515),
}
AGAINST = ("laughter", "speech", "music", "siren", "crowd", "animal", "vehicle")
# the sounds of a happy baby and a family: laughter, babble, speech, music, TV
LIVING_ROOM = ("laughter", "babbling", "child_speech", "speech", "music", "television")


def group_scores(scores: np.ndarray, group: str) -> np.ndarray:
    """(n, 521) YAMNet scores → (n,) the group's highest class score."""
    return np.asarray(scores, dtype=np.float32)[:, list(CLASS_GROUPS[group])].max(axis=1)


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def feature_matrix(cnn_probability: np.ndarray, scores: np.ndarray, features: tuple[str, ...],
                   head_probability: np.ndarray | None = None) -> np.ndarray:
    """(n,) CNN probabilities, (n, 521) YAMNet scores (and (n,) YAMNet-head probabilities when a feature
    needs them) → (n, len(features)).

    Feature names: ``cnn_logit``; ``head_logit`` (the MLP on YAMNet's embedding, approach b);
    ``yamnet_baby_cry`` (the single "Baby cry" class); a group name from :data:`CLASS_GROUPS`; ``not_cry``
    (highest of all :data:`AGAINST` groups); ``not_cry_vs_cry`` (log ratio of that to the ``cry`` group);
    ``living_room`` and ``living_room_vs_cry``: the same over the :data:`LIVING_ROOM` groups only; ``X_x_noise``
    (X any other feature): X times the ``noise`` group's score, so the layer can weigh X differently when
    broadband noise masks the sound."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or scores.shape[1] != 521:
        raise ValueError(f"YAMNet scores must be (n, 521), got {scores.shape}")
    columns = []
    for name in features:
        if name == "cnn_logit":
            columns.append(_logit(cnn_probability))
        elif name == "head_logit":
            if head_probability is None:
                raise ValueError("fusion feature 'head_logit' needs the YAMNet head's probabilities")
            columns.append(_logit(head_probability))
        elif name == "yamnet_baby_cry":
            columns.append(np.log(scores[:, 20].astype(np.float64) + EPSILON))
        elif name == "not_cry":
            against = np.max([group_scores(scores, g) for g in AGAINST], axis=0)
            columns.append(np.log(against.astype(np.float64) + EPSILON))
        elif name == "not_cry_vs_cry":
            against = np.max([group_scores(scores, g) for g in AGAINST], axis=0).astype(np.float64)
            cry = group_scores(scores, "cry").astype(np.float64)
            columns.append(np.log(against + RATIO_EPSILON) - np.log(cry + RATIO_EPSILON))
        elif name.endswith("_x_noise"):  # a feature times YAMNet's noise score in [0, 1]
            base = feature_matrix(cnn_probability, scores, (name[: -len("_x_noise")],), head_probability)[:, 0]
            columns.append(base * group_scores(scores, "noise").astype(np.float64))
        elif name in ("living_room", "living_room_vs_cry"):
            family = np.max([group_scores(scores, g) for g in LIVING_ROOM], axis=0).astype(np.float64)
            if name == "living_room":
                columns.append(np.log(family + EPSILON))
            else:
                cry = group_scores(scores, "cry").astype(np.float64)
                columns.append(np.log(family + RATIO_EPSILON) - np.log(cry + RATIO_EPSILON))
        elif name in CLASS_GROUPS:
            columns.append(np.log(group_scores(scores, name).astype(np.float64) + EPSILON))
        else:
            raise ValueError(f"unknown fusion feature '{name}'")
    return np.stack(columns, axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass(frozen=True)
class Fusion:
    """logit = bias + Σ weight·feature; probability = sigmoid(logit)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    @property
    def needs_head(self) -> bool:
        return "head_logit" in self.features

    def predict(self, cnn_probability: np.ndarray, scores: np.ndarray,
                head_probability: np.ndarray | None = None) -> np.ndarray:
        x = feature_matrix(cnn_probability, scores, self.features, head_probability)
        return _sigmoid(x @ np.asarray(self.weights) + self.bias)

    def to_json(self) -> dict:
        return {"features": list(self.features), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6)}

    @classmethod
    def from_json(cls, data: dict) -> Fusion:
        try:
            features = tuple(data["features"])
            weights, bias = tuple(float(w) for w in data["weights"]), float(data["bias"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"fusion settings need 'features', 'weights' and 'bias': {exc}") from None
        if len(features) != len(weights):
            raise ValueError(f"fusion has {len(features)} features but {len(weights)} weights")
        feature_matrix(np.zeros(1), np.zeros((1, 521)), features, np.zeros(1))  # unknown names fail here
        return cls(features, weights, bias)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, sample_weight: np.ndarray | None = None,
                 iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method: (weights, bias). Minimises the weighted log
    loss summed over examples (weights normalised to mean 1) + ``l2``/2 · ‖weights‖² (the bias is free), so
    ``l2`` plays the part of scikit-learn's 1/C."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w / w.mean()
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (w * (p - y)) + penalty * beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-example weights giving both classes the same total weight."""
    y = np.asarray(y).astype(bool)
    weights = np.empty(len(y))
    weights[y] = 0.5 / max(1, y.sum())
    weights[~y] = 0.5 / max(1, (~y).sum())
    return weights * len(y)
