"""Image embeddings: the mirrored MobileNet V1 (ImageNet) feature extractor, 1024 numbers per 224×224 crop.

The occlusion and posture classifiers are small heads on these embeddings (there are no ImageNet weights in
the project to fine-tune, and a few thousand images are too few to train a CNN from scratch well). The model is
Coral's ``mobilenet_v1_1.0_224_quant_embedding_extractor.tflite`` (uint8 in, uint8 out, Apache-2.0), run with the
TFLite runtime (ai-edge-litert, already used for YAMNet): ~12 ms per crop on one core of the 2-core dev box.

Usage::

    embedder = ImageEmbedder()                          # model from babymon.models ("mobilenet_v1_embedding")
    vectors = embedder.embed([crop_square(frame, box)])  # (1, 1024) float32
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.tflite import dequantized

EMBEDDING_SIZE = 1024
INPUT_SIZE = 224


class ImageEmbedder:
    """Not thread-safe (one TFLite interpreter): one per thread, as analyzers are (one per camera)."""

    def __init__(self, model: Path | None = None, threads: int = 1):
        from babymon.models import model_path

        path = model or model_path("mobilenet_v1_embedding")
        from babymon.tflite import load_interpreter

        self._interpreter = load_interpreter(path, "image embedding model", threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        expected = (1, INPUT_SIZE, INPUT_SIZE, 3)
        if tuple(self._input["shape"]) != expected:
            raise AnalyzerUnavailable(f"image embedding model {path}: input shape {tuple(self._input['shape'])}, "
                                      f"expected {expected}")

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of BGR uint8 crops of INPUT_SIZE×INPUT_SIZE (see ``babymon.vision.crops``): (N, 1024)."""
        out = np.empty((len(crops), EMBEDDING_SIZE), dtype=np.float32)
        for i, crop in enumerate(crops):
            if crop.shape != (INPUT_SIZE, INPUT_SIZE, 3) or crop.dtype != np.uint8:
                raise ValueError(f"crop {i}: expected a {INPUT_SIZE}x{INPUT_SIZE}x3 uint8 image, "
                                 f"got {crop.shape} {crop.dtype}")
            rgb = np.ascontiguousarray(crop[None, :, :, ::-1])
            self._interpreter.set_tensor(self._input["index"], rgb)
            self._interpreter.invoke()
            out[i] = dequantized(self._interpreter.get_tensor(self._output["index"]).reshape(-1), self._output)
        return out
