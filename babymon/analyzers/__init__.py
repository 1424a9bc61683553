"""The analyzer interface: video frames or audio windows in, observations out.

Vision (issue: face, occlusion, posture) and cry detection plug in here by name; see :mod:`registry`.
"""

from babymon.analyzers.base import (
    FACE_STATES,
    POSTURES,
    AnalyzerUnavailable,
    AudioAnalyzer,
    Observation,
    VideoAnalyzer,
    VideoFrame,
)
from babymon.analyzers.registry import LoadedAnalyzers, load_analyzers

__all__ = [
    "FACE_STATES",
    "POSTURES",
    "AnalyzerUnavailable",
    "AudioAnalyzer",
    "LoadedAnalyzers",
    "Observation",
    "VideoAnalyzer",
    "VideoFrame",
    "load_analyzers",
]
