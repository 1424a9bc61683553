"""Build hook only (the project is described in pyproject.toml): a wheel gets copies of what lives beside the
package in the repository, so ``pip install babymon-*.whl`` runs without a checkout around it.

* ``models/`` (the weights babymon trains itself, their manifest and model cards) → ``babymon/_bundled/models``
  (``babymon.paths`` looks there when there is no checkout);
* the Home Assistant blueprints → ``babymon/_bundled/blueprints``.

Third-party weights are never in ``models/`` (they are downloaded or mirrored, see README "Models").
"""

from pathlib import Path
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = {
    ROOT / "models": ("models", ("manifest.json", "*/*.npz", "*/*.json", "*/MODEL_CARD.md")),
    ROOT / "custom_components" / "babymon" / "blueprints": ("blueprints", ("**/*.yaml",)),
}


class BuildWithBundledFiles(build_py):
    def run(self):
        super().run()
        target_root = Path(self.build_lib) / "babymon" / "_bundled"
        for source, (name, patterns) in BUNDLED.items():
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build the wheel from a full checkout")
            for pattern in patterns:
                for path in sorted(source.glob(pattern)):
                    target = target_root / name / path.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)


setup(cmdclass={"build_py": BuildWithBundledFiles})
