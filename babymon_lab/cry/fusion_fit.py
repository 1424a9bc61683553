"""Fit the fusion layer (:mod:`babymon.cry.fusion`) on the *validation* split, choosing its features and
regularisation by grouped 5-fold cross-validation there.

Why validation and not train: the CNN was fitted on the train split, where its logits are near perfect
(clip ROC AUC 0.9998), so a layer fitted there learns to trust the CNN alone and gives YAMNet's classes
~0 (or wrongly signed) weights. On validation the CNN's errors are real held-out errors. Folds keep every
variant of a clip, every clip of a source recording / uploader (speech: of an utterance) together. The
test split plays no part. Pure numpy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from babymon.cry.fusion import Fusion, balanced_weights, feature_matrix, fit_logistic
from babymon_lab.cry.metrics import roc_auc

FOLDS = 5
# the features the issue-16 selection kept (the last candidate less those the sign rule dropped)
_ISSUE16 = ("cnn_logit", "head_logit", "yamnet_baby_cry", "baby_laughter", "babbling", "adult_speech", "singing",
            "lullaby", "television", "not_cry_vs_cry")
CANDIDATE_FEATURES: tuple[tuple[str, ...], ...] = (
    ("cnn_logit", "yamnet_baby_cry"),
    ("cnn_logit", "head_logit"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "not_cry_vs_cry"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "cry", "laughter", "speech", "music", "siren", "crowd", "animal",
     "vehicle", "not_cry"),
    ("cnn_logit", "yamnet_baby_cry", "not_cry_vs_cry"),
    ("cnn_logit", "cry", "not_cry_vs_cry"),
    ("cnn_logit", "yamnet_baby_cry", "not_cry"),
    ("cnn_logit", "cry", "not_cry"),
    ("cnn_logit", "yamnet_baby_cry", "cry", "not_cry"),
    ("cnn_logit", "yamnet_baby_cry", "cry", "laughter", "speech", "music", "siren", "crowd", "animal", "vehicle",
     "not_cry"),
    # issue 16: the named classes of a family's living room, each its own weight
    ("cnn_logit", "yamnet_baby_cry", "living_room_vs_cry"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "living_room_vs_cry"),
    ("cnn_logit", "yamnet_baby_cry", "baby_laughter", "laughter", "babbling", "adult_speech", "child_speech",
     "music_class", "singing", "lullaby", "television", "siren"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "baby_laughter", "laughter", "babbling", "adult_speech",
     "child_speech", "music_class", "singing", "lullaby", "television", "siren"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "baby_laughter", "laughter", "babbling", "adult_speech",
     "child_speech", "music_class", "singing", "lullaby", "television", "siren", "not_cry_vs_cry"),
)
# issue 16, cries under loud noise (tried, not shipped: see the model card): YAMNet's broadband-noise classes as
# context (either sign), alone and as a gate on the cry evidence (X_x_noise: X times the noise score)
NOISE_CANDIDATES: tuple[tuple[str, ...], ...] = (
    _ISSUE16 + ("noise",),
    _ISSUE16 + ("noise", "cnn_logit_x_noise", "head_logit_x_noise", "yamnet_baby_cry_x_noise"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "baby_laughter", "laughter", "babbling", "adult_speech",
     "child_speech", "music_class", "singing", "lullaby", "television", "siren", "not_cry_vs_cry", "noise"),
    ("cnn_logit", "head_logit", "yamnet_baby_cry", "baby_laughter", "laughter", "babbling", "adult_speech",
     "child_speech", "music_class", "singing", "lullaby", "television", "siren", "not_cry_vs_cry", "noise",
     "cnn_logit_x_noise", "head_logit_x_noise", "yamnet_baby_cry_x_noise"),
)
L2_GRID = (1.0, 10.0, 100.0)


@dataclass
class FusionData:
    """Windows of one split: CNN probability, YAMNet scores, label, clip index (into the clip arrays)."""

    cnn: np.ndarray
    head: np.ndarray  # YAMNet-head probability
    scores: np.ndarray
    window_label: np.ndarray
    window_clip: np.ndarray
    window_keep: np.ndarray
    clip_label: np.ndarray
    clip_group: np.ndarray  # source group of each clip (fold assignment)


def fold_of(groups: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    return np.array([int(hashlib.sha256(str(g).encode()).hexdigest()[:8], 16) % folds for g in groups])


FREE_SIGN = ("noise",)  # context, not evidence: broadband noise over a cry is still a cry, over a dog still a dog


def expected_sign(feature: str) -> int:
    """+1: evidence for crying (the CNN, YAMNet's cry classes); -1: evidence against (every other group); 0: either
    (:data:`FREE_SIGN`); ``X_x_noise``: the sign of X."""
    if feature.endswith("_x_noise"):
        return expected_sign(feature[: -len("_x_noise")])
    if feature in FREE_SIGN:
        return 0
    return 1 if feature in ("cnn_logit", "head_logit", "yamnet_baby_cry", "cry") else -1


def _fit(data: FusionData, features: tuple[str, ...], l2: float, windows: np.ndarray) -> Fusion:
    """Fit; drop the feature whose weight has the wrong sign (the most wrong first) and refit, until every
    weight points the way its evidence does: a sound class must never *raise* the cry score because of a
    quirk of our few negatives (e.g. "music" correlating with cries mixed over melodies)."""
    mask = windows & data.window_keep
    y = data.window_label[mask]
    sample_weight = balanced_weights(y)
    full = feature_matrix(data.cnn[mask], data.scores[mask], features, data.head[mask])
    kept = list(range(len(features)))
    while True:
        weights, bias = fit_logistic(full[:, kept], y, l2, sample_weight)
        wrong = [(w * expected_sign(features[i]), position) for position, (i, w) in enumerate(zip(kept, weights))
                 if w * expected_sign(features[i]) < 0]
        if not wrong:
            break
        kept.pop(min(wrong)[1])
    return Fusion(tuple(features[i] for i in kept), tuple(float(w) for w in weights), bias)


def out_of_fold_windows(data: FusionData, features: tuple[str, ...], l2: float) -> np.ndarray:
    """Each window scored by a layer fitted without its fold (folds by source recording): (n_windows,)."""
    window_fold = fold_of(data.clip_group)[data.window_clip]
    probabilities = np.zeros(len(data.cnn))
    for fold in range(FOLDS):
        held = window_fold == fold
        if not held.any():
            continue
        fusion = _fit(data, features, l2, ~held)
        probabilities[held] = fusion.predict(data.cnn[held], data.scores[held], data.head[held])
    return probabilities


def out_of_fold(data: FusionData, features: tuple[str, ...], l2: float, clip_score_fn) -> np.ndarray:
    """Each clip scored by a layer fitted without its fold: (n_clips,) clip scores."""
    return clip_score_fn(out_of_fold_windows(data, features, l2))


def fold_aucs(data: FusionData, clip_scores: np.ndarray) -> np.ndarray:
    """ROC AUC of the clips of each fold (nan where a fold lacks one class)."""
    folds = fold_of(data.clip_group)
    return np.array([roc_auc(data.clip_label[folds == f], clip_scores[folds == f]) for f in range(FOLDS)])


def select_fusion(data: FusionData, clip_score_fn, candidates=CANDIDATE_FEATURES, l2_grid=L2_GRID):
    """(fusion fitted on all of ``data``, its out-of-fold *window* probabilities, the table of every
    candidate's out-of-fold clip ROC AUC). The chosen candidate has the highest out-of-fold ROC AUC; ties go to
    the earlier (smaller) candidate and the stronger regularisation. The table also gives each candidate's gap
    to the best, paired over the same folds, and that gap's standard error (how much of a difference is
    fold-to-fold noise)."""
    runs = []
    for features in candidates:
        for l2 in sorted(l2_grid, reverse=True):
            windows = out_of_fold_windows(data, features, l2)
            scores = clip_score_fn(windows)
            runs.append((roc_auc(data.clip_label, scores), features, l2, windows, fold_aucs(data, scores)))
    best = runs[0]
    for run in runs[1:]:
        if run[0] > best[0] + 1e-6:
            best = run
    table = []
    for run in runs:
        gap = (best[4] - run[4])[~np.isnan(best[4] - run[4])]
        table.append({"features": list(run[1]), "l2": run[2], "oof_roc_auc": run[0],
                      "fold_gap_to_best": float(np.mean(gap)) if len(gap) else float("nan"),
                      "fold_gap_standard_error": float(np.std(gap, ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else 0.0,
                      "chosen": run is best})
    _, features, l2, windows, _ = best
    return _fit(data, features, l2, np.ones(len(data.cnn), bool)), windows, table


def concat(*parts: FusionData) -> FusionData:
    """Several :class:`FusionData` one after the other (clip indices shifted)."""
    offsets = np.cumsum([0] + [len(p.clip_label) for p in parts[:-1]])
    return FusionData(cnn=np.concatenate([p.cnn for p in parts]), head=np.concatenate([p.head for p in parts]),
                      scores=np.concatenate([p.scores for p in parts]).astype(np.float32),
                      window_label=np.concatenate([p.window_label for p in parts]),
                      window_clip=np.concatenate([p.window_clip + o for p, o in zip(parts, offsets)]),
                      window_keep=np.concatenate([p.window_keep for p in parts]),
                      clip_label=np.concatenate([p.clip_label for p in parts]),
                      clip_group=np.concatenate([p.clip_group for p in parts]))


def from_living_room(living: dict[str, np.ndarray], cnn: np.ndarray, head: np.ndarray,
                     variants: np.ndarray | None = None) -> FusionData:
    """A living-room set (:func:`babymon_lab.cry.corpus.compute_living_room`) as :class:`FusionData`, folds by
    source recording; ``variants`` (a boolean mask over its clips) keeps only some of them."""
    keep_variant = np.ones(len(living["variant_label"]), bool) if variants is None else np.asarray(variants)
    new_index = np.cumsum(keep_variant) - 1
    windows = keep_variant[living["window_variant"]]
    return FusionData(cnn=cnn[windows], head=head[windows], scores=living["yamnet_scores"][windows].astype(np.float32),
                      window_label=living["variant_label"][living["window_variant"]][windows],
                      window_clip=new_index[living["window_variant"][windows]],
                      window_keep=living["window_keep"][windows],
                      clip_label=living["variant_label"][keep_variant],
                      clip_group=living["variant_group"][keep_variant])


def combine(real: dict[str, np.ndarray], synthetic: dict[str, np.ndarray], real_scores: np.ndarray,
            cnn: tuple[np.ndarray, np.ndarray], head: tuple[np.ndarray, np.ndarray],
            clip_groups: list[str]) -> FusionData:
    """One split's real variants followed by its synthetic ones as :class:`FusionData`. ``clip_groups[i]``
    is the fold group of clip ``i`` of the data set; ``cnn`` and ``head`` are the (real, synthetic) window
    probabilities (variants of no clip get a group of their own)."""
    offset = len(real["variant_label"])
    window_clip = np.concatenate([real["window_variant"], synthetic["window_variant"] + offset])
    labels = np.concatenate([real["variant_label"], synthetic["variant_label"]])
    clips = np.concatenate([real["variant_clip"], synthetic["variant_clip"]])
    groups = np.array([clip_groups[c] if c >= 0 else f"variant:{v}" for v, c in enumerate(clips)])
    return FusionData(cnn=np.concatenate(cnn), head=np.concatenate(head),
                      scores=np.concatenate([real_scores, synthetic["yamnet_scores"]]).astype(np.float32),
                      window_label=labels[window_clip], window_clip=window_clip,
                      window_keep=np.concatenate([real["window_keep"], synthetic["window_keep"]]),
                      clip_label=labels, clip_group=groups)
