"""Night-vision look-alike copies of an eval manifest (``path,label[,...]``), for ``babymon eval ... --manifest``.

    python -m babymon_lab.vision.ir_manifest IN.csv OUT_DIR     # → OUT_DIR/<IN stem>_ir.csv and the copies

Each image becomes grayscale × 0.8 + 20 with Gaussian sensor noise of σ 6 (seeded by its row), a look made
differently from the training copies (``crops.ir_like`` draws contrast, brightness and noise per file), so the
held-out numbers are not measured on the augmentation the heads were trained with. Other columns are kept.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np


def ir_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grayscale × 0.8 + 20, noise σ 6, as three channels (pure but for the generator)."""
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) * 0.8 + 20.0
    gray = np.clip(gray + rng.normal(0.0, 6.0, gray.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def write_ir_manifest(manifest: Path, out_dir: Path) -> Path:
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    with manifest.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames or [], list(reader)
    if "path" not in fields:
        raise ValueError(f"{manifest}: no 'path' column")
    for i, row in enumerate(rows, start=2):
        source = manifest.parent / row["path"]
        image = cv2.imread(str(source), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{manifest} line {i}: cannot read {source}")
        target = out_dir / f"{i:05d}_{source.stem}.jpg"
        cv2.imwrite(str(target), ir_look(image, np.random.default_rng(i)), [cv2.IMWRITE_JPEG_QUALITY, 95])
        row["path"] = target.name
    out = out_dir / f"{manifest.stem}_ir.csv"
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.ir_manifest", description=__doc__.split("\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        print(write_ir_manifest(args.manifest, args.out_dir))
    except (OSError, ValueError) as exc:
        print(f"ir_manifest: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
