"""Loading a TFLite model (LiteRT) as an analyzer does: a missing runtime or an unloadable file is an
:class:`~babymon.analyzers.base.AnalyzerUnavailable` that names the file; and reading a quantized tensor back as
real values."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable


def load_interpreter(path: Path, what: str, threads: int = 1, preserve_all_tensors: bool = False):
    """A LiteRT interpreter for ``path`` with its tensors allocated. ``what`` names the model in errors
    ("pose model", ...). Not thread-safe: one per thread."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise AnalyzerUnavailable("the TFLite runtime is not installed (pip install ai-edge-litert)") from None
    options = {"experimental_preserve_all_tensors": True} if preserve_all_tensors else {}
    try:
        with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": YAMNet's embedding needs it
            warnings.simplefilter("ignore", UserWarning)
            interpreter = Interpreter(model_path=str(path), num_threads=threads, **options)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise AnalyzerUnavailable(f"{what} {path} could not be loaded: {exc}") from None
    return interpreter


def dequantized(raw: np.ndarray, detail: dict) -> np.ndarray:
    """A tensor read from the interpreter as float32 real values, by its ``quantization`` (scale, zero point) from
    ``get_tensor_details`` / ``get_output_details``; a float tensor (scale 0) as it is."""
    scale, zero = detail.get("quantization", (0.0, 0))
    values = np.asarray(raw).astype(np.float32)
    return (values - zero) * scale if scale else values
