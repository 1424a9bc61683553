"""The linear softmax heads the vision classifiers run at run time (numpy only; trained with scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """Standardise, then ``x @ coef.T + intercept`` = one logit per class."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != self.coef.shape[1]:
            raise ValueError(f"expected {self.coef.shape[1]} features, got {x.shape[-1]}")
        return ((x - self.mean) / self.scale) @ self.coef.T + self.intercept

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """The same head with the standardisation folded in: ``x @ weights.T + bias`` gives the same logits, one
        product and no per-call arithmetic on ``x``. Returns ``(weights (classes, features), bias (classes,))``."""
        return self.coef / self.scale, self.intercept - np.sum(self.coef * self.mean / self.scale, axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
