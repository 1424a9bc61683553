"""YAMNet (AudioSet, 521 classes) through the TFLite runtime: per-window class scores and 1024-d embeddings."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable

YAMNET_SAMPLES = 15_600  # 0.975 s at 16 kHz: the model's fixed input
BABY_CRY_CLASS = "Baby cry, infant cry"
_EMBEDDING_TENSOR = "yamnet_frames/global_average_pooling2d/Mean"


def cry_class_index(class_map: Path) -> int:
    with class_map.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["display_name"] == BABY_CRY_CLASS:
                return int(row["index"])
    raise AnalyzerUnavailable(f"{class_map} has no class '{BABY_CRY_CLASS}'")


class Yamnet:
    """One TFLite interpreter (not thread-safe: one per analyzer instance)."""

    def __init__(self, model: Path | None = None, class_map: Path | None = None, threads: int = 1):
        from babymon.tflite import load_interpreter

        if model is None or class_map is None:
            from babymon.models import model_path

            model = model or model_path("yamnet")
            class_map = class_map or model_path("yamnet_class_map")
        self._interpreter = load_interpreter(model, "YAMNet model", threads, preserve_all_tensors=True)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._scores = self._interpreter.get_output_details()[0]["index"]
        names = {d["name"]: d["index"] for d in self._interpreter.get_tensor_details()}
        if _EMBEDDING_TENSOR not in names:
            raise AnalyzerUnavailable(f"{model} has no tensor '{_EMBEDDING_TENSOR}': not the expected YAMNet")
        self._embedding = names[_EMBEDDING_TENSOR]
        self.cry_index = cry_class_index(class_map)

    def run(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores[521], embedding[1024]) of one window; its last 0.975 s are used (zero-padded if shorter)."""
        samples = np.asarray(window, dtype=np.float32).reshape(-1)[-YAMNET_SAMPLES:]
        if len(samples) < YAMNET_SAMPLES:
            samples = np.pad(samples, (YAMNET_SAMPLES - len(samples), 0))
        self._interpreter.set_tensor(self._input, samples[None, :])
        self._interpreter.invoke()
        scores = self._interpreter.get_tensor(self._scores).reshape(-1).copy()
        embedding = self._interpreter.get_tensor(self._embedding).reshape(-1).copy()
        return scores, embedding

    def cry_score(self, window: np.ndarray) -> float:
        return float(self.run(window)[0][self.cry_index])
