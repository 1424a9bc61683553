"""Loading a TFLite model (LiteRT) as an analyzer does: a missing runtime or an unloadable file is an
:class:`~babymon.analyzers.base.AnalyzerUnavailable` that names the file."""

from __future__ import annotations

import warnings
from pathlib import Path

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
