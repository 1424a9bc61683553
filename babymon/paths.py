"""Where the bundled model files are, resolved here only.

From a checkout (or an editable install) they are the repository's top-level ``models/`` folder, where training
writes them. An installed wheel carries a copy inside the package (``babymon/_bundled/models``, put there at build
time by ``setup.py``), because a wheel has no repository around it. Every module (run time and lab) takes the
folder from :data:`BUNDLED_MODELS` or :func:`bundled_models`.
"""

from __future__ import annotations

from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]  # in a checkout: the folder holding babymon/, babymon_lab/, models/
PACKAGED = Path(__file__).resolve().parent / "_bundled"  # in an installed wheel: the copies setup.py put there


def _models_folder() -> Path:
    checkout = SOURCE_ROOT / "models"
    if (checkout / "manifest.json").is_file():
        return checkout
    return PACKAGED / "models"


BUNDLED_MODELS = _models_folder()


def bundled_models(*parts: str) -> Path:
    """A path inside the bundled models folder, e.g. ``bundled_models("cry")`` → ``<repo>/models/cry``."""
    return BUNDLED_MODELS.joinpath(*parts)
