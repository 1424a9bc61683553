"""The trained cry models as plain numpy (no torch needed to run them): a small log-mel CNN and an MLP head
on YAMNet embeddings. Weights are ``.npz`` files written by ``babymon train cry``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _conv3x3_relu(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (N, O, H, W): 3×3 convolution, 'same' padding, batch norm folded in, then ReLU."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    columns = np.stack([padded[:, :, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=2)
    out = weight.reshape(weight.shape[0], c * 9) @ columns.reshape(n, c * 9, h * w)  # N, O, H*W
    out += bias[:, None]
    np.maximum(out, 0, out=out)
    return out.reshape(n, weight.shape[0], h, w)


def _maxpool2(x: np.ndarray) -> np.ndarray:
    """2×2 max pooling (odd last rows/columns dropped, as torch does)."""
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    top = np.maximum(x[:, :, 0:h:2, 0:w:2], x[:, :, 0:h:2, 1:w:2])
    bottom = np.maximum(x[:, :, 1:h:2, 0:w:2], x[:, :, 1:h:2, 1:w:2])
    return np.maximum(top, bottom, out=top)


class LogMelCnn:
    """4 conv blocks (16-32-48-64 channels) on a 64×101 log-mel, global mean+max pooling, one logit."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.convs = []
        i = 0
        while f"conv{i}_w" in weights:
            self.convs.append((weights[f"conv{i}_w"], weights[f"conv{i}_b"]))
            i += 1
        if not self.convs or "fc_w" not in weights:
            raise AnalyzerUnavailable("cry CNN weights are incomplete (need conv0_w… and fc_w)")
        self.fc_w, self.fc_b = weights["fc_w"].reshape(-1), float(weights["fc_b"].reshape(-1)[0])

    @classmethod
    def load(cls, path: Path) -> LogMelCnn:
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k].astype(np.float32) for k in data.files})

    def pooled(self, logmel: np.ndarray) -> np.ndarray:
        """(n, mels, frames) log-mel → (n, 2 × channels) mean+max pooled last-block activations."""
        x = np.asarray(logmel, dtype=np.float32)[:, None]
        for index, (weight, bias) in enumerate(self.convs):
            x = _conv3x3_relu(x, weight, bias)
            if index < len(self.convs) - 1:
                x = _maxpool2(x)
        return np.concatenate([x.mean(axis=(2, 3)), x.max(axis=(2, 3))], axis=1)

    def predict(self, logmel: np.ndarray) -> np.ndarray:
        """(n, mels, frames) log-mel → (n,) cry probability."""
        return _sigmoid(self.pooled(logmel) @ self.fc_w + self.fc_b)


class EmbeddingHead:
    """A one-hidden-layer MLP on YAMNet's 1024-d embedding."""

    def __init__(self, weights: dict[str, np.ndarray]):
        try:
            self.w1, self.b1 = weights["w1"], weights["b1"]
            self.w2, self.b2 = weights["w2"].reshape(-1), float(weights["b2"].reshape(-1)[0])
        except KeyError as exc:
            raise AnalyzerUnavailable(f"YAMNet head weights lack {exc}") from None

    @classmethod
    def load(cls, path: Path) -> EmbeddingHead:
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k].astype(np.float32) for k in data.files})

    def predict(self, embedding: np.ndarray) -> np.ndarray:
        hidden = np.maximum(np.asarray(embedding, dtype=np.float32) @ self.w1 + self.b1, 0)
        return _sigmoid(hidden @ self.w2 + self.b2)


YAMNET_WEIGHT = 0.5
YAMNET_FLOOR = 1e-4  # added to YAMNet's score before the log: the strongest veto is weight · log(floor)


def combine_with_yamnet(cnn_probability: np.ndarray, yamnet_cry: np.ndarray, weight: float = YAMNET_WEIGHT,
                        floor: float = YAMNET_FLOOR) -> np.ndarray:
    """CNN and YAMNet zero-shot together: logit(cnn) + weight · log(YAMNet "Baby cry" score + floor), squashed again.

    YAMNet's prior from AudioSet vetoes confident CNN mistakes on sounds our training data lacks, while the
    CNN (trained under noise) keeps cries that YAMNet loses in white noise.
    """
    p = np.clip(np.asarray(cnn_probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    return _sigmoid(np.log(p / (1 - p)) + weight * np.log(np.asarray(yamnet_cry, dtype=np.float64) + floor))
