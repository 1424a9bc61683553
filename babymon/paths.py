"""Where the bundled model files are: the repository's top-level ``models/`` folder, resolved here only.

Every module (run time and lab) takes the folder from :data:`BUNDLED_MODELS` or :func:`bundled_models`.
"""

from __future__ import annotations

from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding babymon/, babymon_lab/ and models/
BUNDLED_MODELS = SOURCE_ROOT / "models"


def bundled_models(*parts: str) -> Path:
    """A path inside the bundled models folder, e.g. ``bundled_models("cry")`` → ``<repo>/models/cry``."""
    return BUNDLED_MODELS.joinpath(*parts)
