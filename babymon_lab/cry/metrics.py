"""Clip-level scores and metrics (pure)."""

from __future__ import annotations

import numpy as np


def smoothed(window_probs: np.ndarray) -> np.ndarray:
    """The live analyzer's smoothing: the mean of each two consecutive windows (one window: itself)."""
    p = np.asarray(window_probs, dtype=np.float64)
    return p if len(p) < 2 else (p[1:] + p[:-1]) / 2


def clip_score(window_probs: np.ndarray, confirm: int = 1) -> float:
    """A clip's cry score: the highest mean of two consecutive windows (≈1.5 s of sound); with ``confirm`` > 1
    the highest level that the smoothed probability holds for ``confirm`` consecutive hops (the hysteresis'
    ``confirm_windows``: score >= threshold exactly when the live rule would switch crying on). A clip shorter
    than that scores the lowest smoothed value it has."""
    s = smoothed(window_probs)
    if len(s) == 0:
        return 0.0
    if confirm <= 1:
        return float(np.max(s))
    if len(s) <= confirm:
        return float(np.min(s))
    return float(np.max(np.lib.stride_tricks.sliding_window_view(s, confirm).min(axis=1)))


def first_alert_seconds(window_probs: np.ndarray, threshold: float, confirm: int = 1, hop_seconds: float = 0.5,
                        window_seconds: float = 1.0) -> float | None:
    """Seconds from the clip's start to the end of the window where the rule (smoothed probability >=
    ``threshold`` for ``confirm`` consecutive hops) first fires; None if it never does."""
    run = 0
    for index, value in enumerate(smoothed(window_probs)):
        run = run + 1 if value >= threshold else 0
        if run >= confirm:
            return (index + (1 if len(window_probs) > 1 else 0)) * hop_seconds + window_seconds
    return None


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); nan when only one class is present."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allscores = np.concatenate([pos, neg])[order]
    # average ranks for ties
    i = 0
    while i < len(allscores):
        j = i
        while j + 1 < len(allscores) and allscores[j + 1] == allscores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(scores) >= threshold
    tp, fp = int(np.sum(predicted & labels)), int(np.sum(predicted & ~labels))
    fn, tn = int(np.sum(~predicted & labels)), int(np.sum(~predicted & ~labels))
    return {
        "accuracy": (tp + tn) / max(1, len(labels)),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "false_positive_rate": fp / (fp + tn) if fp + tn else float("nan"),
    }


def threshold_for_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on (labels, scores) is at most ``max_fpr``."""
    labels = np.asarray(labels).astype(bool)
    negatives = np.sort(np.asarray(scores, dtype=np.float64)[~labels])[::-1]
    allowed = int(np.floor(max_fpr * len(negatives)))
    if len(negatives) == 0:
        return 0.5
    if allowed >= len(negatives):
        return float(negatives[-1])
    return float(np.nextafter(negatives[allowed], np.inf))
