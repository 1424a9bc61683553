"""The shipped cry model: loads ``models/cry/`` and scores 1 s windows of 16 kHz audio."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.cry.hysteresis import HysteresisSettings
from babymon.paths import bundled_models

log = logging.getLogger(__name__)

CRY_MODEL_DIR = bundled_models("cry")
CONFIG_FILE = "config.json"
KINDS = ("logmel_cnn_yamnet", "logmel_cnn_yamnet_fusion", "logmel_cnn", "yamnet_head", "yamnet_zero_shot")
SENSITIVITIES = ("low", "normal", "high")


@dataclass(frozen=True)
class CryModelConfig:
    kind: str
    threshold: float  # clip-level threshold (on the 2-window smoothed probability) chosen on validation data
    stop_threshold: float
    fallback: str | None  # kind to use when ``kind`` cannot load (e.g. YAMNet file missing)
    thresholds: dict[str, float]


def read_config(directory: Path = CRY_MODEL_DIR) -> dict:
    path = directory / CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AnalyzerUnavailable(f"cry model configuration {path} is missing") from None
    except json.JSONDecodeError as exc:
        raise AnalyzerUnavailable(f"cry model configuration {path} is not valid JSON: {exc}") from None


def _one_blas_thread():
    """Small matrices: a multi-threaded BLAS only fights the other cameras' threads for the cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class CryModel:
    """Window → cry probability with the model named in ``models/cry/config.json`` (or ``kind``)."""

    def __init__(self, kind: str | None = None, directory: Path = CRY_MODEL_DIR, sensitivity: str = "normal"):
        if sensitivity not in SENSITIVITIES:
            raise AnalyzerUnavailable(f"cry sensitivity '{sensitivity}' is not one of {SENSITIVITIES}")
        config = read_config(directory)
        requested = kind or config.get("default")
        if requested not in KINDS:
            raise AnalyzerUnavailable(f"cry model kind '{requested}' is not one of {KINDS}")
        self._fusion = None
        if requested == "logmel_cnn_yamnet_fusion":
            from babymon.cry.fusion import Fusion

            try:
                self._fusion = Fusion.from_json(config.get("fusion") or {})
            except ValueError as exc:
                raise AnalyzerUnavailable(f"{directory / CONFIG_FILE}: bad 'fusion' settings: {exc}") from None
        try:
            self._load(requested, directory)
        except AnalyzerUnavailable as exc:
            fallback = config.get("fallback")
            if kind is not None or not fallback or fallback == requested:
                raise
            log.warning("cry model '%s' unavailable (%s); using '%s'", requested, exc, fallback)
            self._fusion = None
            self._load(fallback, directory)
        thresholds = config.get("thresholds", {})
        if self.kind not in thresholds:
            raise AnalyzerUnavailable(f"{directory / CONFIG_FILE} has no threshold for '{self.kind}'")
        self.sensitivity = sensitivity
        # per-home sensitivity: thresholds measured on validation for ~1 / 2 / 5 % false alarms (config.json)
        levels = config.get("sensitivity", {}).get(self.kind, {})
        self.threshold = float(levels.get(sensitivity, thresholds[self.kind]) if sensitivity != "normal"
                               else thresholds[self.kind])
        self.yamnet_weight = float(config.get("yamnet_weight", 0.5))
        self.hysteresis = HysteresisSettings(start=self.threshold,
                                             stop=self.threshold * float(config.get("stop_ratio", 0.5)),
                                             min_on_seconds=float(config.get("min_on_seconds", 2.0)),
                                             min_off_seconds=float(config.get("min_off_seconds", 3.0)),
                                             confirm_windows=int(config.get("confirm_windows", 1)))

    def _load(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self._cnn = self._head = self._yamnet = None
        if kind in ("logmel_cnn", "logmel_cnn_yamnet", "logmel_cnn_yamnet_fusion"):
            from babymon.cry.features import log_mel
            from babymon.cry.nets import LogMelCnn

            path = directory / "logmel_cnn.npz"
            if not path.is_file():
                raise AnalyzerUnavailable(f"cry CNN weights {path} are missing")
            try:
                self._cnn = LogMelCnn.load(path)
            except (OSError, ValueError, KeyError, EOFError) as exc:
                raise AnalyzerUnavailable(f"cannot read cry CNN weights {path}: {exc}") from None
            try:
                log_mel(np.zeros((1, 16000), np.float32))  # import librosa and warm up now, not on the first window
            except ImportError as exc:
                raise AnalyzerUnavailable(f"the cry CNN needs {exc.name}, which is not installed") from None
        if kind != "logmel_cnn":
            from babymon.cry.yamnet import Yamnet

            self._yamnet = Yamnet()
        if kind == "yamnet_head" or (kind == "logmel_cnn_yamnet_fusion" and self._fusion.needs_head):
            from babymon.cry.nets import EmbeddingHead

            path = directory / "yamnet_head.npz"
            if not path.is_file():
                raise AnalyzerUnavailable(f"YAMNet head weights {path} are missing")
            try:
                self._head = EmbeddingHead.load(path)
            except (OSError, ValueError, KeyError, EOFError) as exc:
                raise AnalyzerUnavailable(f"cannot read YAMNet head weights {path}: {exc}") from None

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(n, samples) 16 kHz windows → (n,) cry probabilities."""
        windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
        with _one_blas_thread():
            return self._predict(windows)

    def _predict(self, windows: np.ndarray) -> np.ndarray:
        cnn = None
        if self._cnn is not None:
            from babymon.cry.features import log_mel

            cnn = self._cnn.predict(log_mel(windows))
            if self._yamnet is None:
                return cnn
        results = [self._yamnet.run(w) for w in windows]
        head = None if self._head is None else self._head.predict(np.stack([embedding for _, embedding in results]))
        if self._fusion is not None:
            return self._fusion.predict(cnn, np.stack([scores for scores, _ in results]), head)
        if head is not None:
            return head
        yamnet_cry = np.array([scores[self._yamnet.cry_index] for scores, _ in results], dtype=np.float32)
        if cnn is not None:
            from babymon.cry.nets import combine_with_yamnet

            return combine_with_yamnet(cnn, yamnet_cry, self.yamnet_weight)
        return yamnet_cry

    def timed_predict(self, windows: np.ndarray) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        probabilities = self.predict(windows)
        return probabilities, (time.perf_counter() - started) * 1000
