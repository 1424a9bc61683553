"""Where the lab finds things: the bundled models (from :mod:`babymon.paths`) and ``../shared/data``."""

from __future__ import annotations

from babymon.paths import BUNDLED_MODELS, SOURCE_ROOT, bundled_models

SHARED_DATA = SOURCE_ROOT.parent / "shared" / "data"  # test and training data beside the checkout (never committed)

__all__ = ["BUNDLED_MODELS", "SHARED_DATA", "bundled_models"]
