"""Build ``babymon eval face`` manifests from the shared data (never copies it into the repository).

    python -m babymon_lab.vision.manifests face OUT_DIR [--split valid|train|all] [--rotate 90] [--data DIR]

Writes ``OUT_DIR/face_<split>[_rot<angle>].csv`` with paths relative to OUT_DIR:

* ``face`` rows: every HEAD box of ``vision/infant_face_parts/<split>`` that contains the centre of at least
  one EYE box ("HEAD boxes with eyes visible"), one row per head, with the head box as ``x1,y1,x2,y2``;
* ``no_face`` rows, two kinds, both honest negatives for a baby monitor:
  - ``face_down_vs_not`` photos whose only labels are "face-down" (class 0): overhead shots of sleeping babies
    whose face is not visible (whole image; a few may show part of a cheek);
  - crops of ``infant_face_parts`` images that lie clear of every HEAD box (bodies, hands, bedding), at least
    64×64 pixels, written as JPEG to ``OUT_DIR/no_face_crops/``.

``--rotate A`` (90, 180 or 270) writes rotated copies of the images to ``OUT_DIR/rot<A>/`` with boxes mapped,
to simulate a camera looking down at a baby lying the other way.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from babymon.vision.face import rotate_image
from babymon.vision.geometry import Box, Rotation, centre, contains
from babymon_lab.paths import SHARED_DATA

FACE_PARTS = Path("vision/infant_face_parts")
FACE_DOWN = Path("vision/face_down_vs_not")
EYE, HEAD = 1, 2
MIN_CROP = 64
DEFAULT_DATA = Path(os.environ.get("BABYMON_SHARED_DATA", SHARED_DATA))


def read_yolo(label_file: Path, width: int, height: int) -> list[tuple[int, Box]]:
    """YOLO ``class cx cy w h`` (normalised) lines as (class, pixel box); names the file and line when bad."""
    boxes = []
    for n, line in enumerate(label_file.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"{label_file} line {n}: expected 'class cx cy w h', got {line!r}")
        try:
            cls, cx, cy, w, h = int(parts[0]), *map(float, parts[1:])
        except ValueError:
            raise ValueError(f"{label_file} line {n}: expected 'class cx cy w h', got {line!r}") from None
        boxes.append((cls, ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)))
    return boxes


def photo_prefix(name: str) -> str:
    """A Roboflow file name without its augmentation hash: ``abc_jpg.rf.123.jpg`` → ``abc_jpg``. Roboflow
    exports hold augmented copies of one photo under one prefix: group (split) by it."""
    return name.split(".rf.", 1)[0]


def heads_with_eyes(boxes: list[tuple[int, Box]]) -> list[Box]:
    eyes = [centre(b) for c, b in boxes if c == EYE]
    return [b for c, b in boxes if c == HEAD and any(contains(b, e) for e in eyes)]


def clear_crop(width: int, height: int, avoid: list[Box]) -> tuple[int, int, int, int] | None:
    """The largest of the four strips (left, right, above, below) beside the union of ``avoid`` boxes, or None."""
    if not avoid:
        return None
    x1 = min(b[0] for b in avoid)
    y1 = min(b[1] for b in avoid)
    x2 = max(b[2] for b in avoid)
    y2 = max(b[3] for b in avoid)
    strips = [(0, 0, int(x1), height), (int(np.ceil(x2)), 0, width, height),
              (0, 0, width, int(y1)), (0, int(np.ceil(y2)), width, height)]
    strips = [s for s in strips if s[2] - s[0] >= MIN_CROP and s[3] - s[1] >= MIN_CROP]
    return max(strips, key=lambda s: (s[2] - s[0]) * (s[3] - s[1]), default=None)


def _splits(split: str) -> list[str]:
    return ["train", "valid"] if split == "all" else [split]


def build_face(data: Path, out_dir: Path, split: str = "valid", rotate: int = 0) -> Path:
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"_rot{rotate}" if rotate else ""
    crops_dir = out_dir / f"no_face_crops{suffix}"
    rot_dir = out_dir / f"rot{rotate}"
    rows: list[list] = []

    def place(image_path: Path, image: np.ndarray | None, boxes: list[Box], name: str) -> tuple[str, list[Box]]:
        """Where the row's image is (rotated copy written when asked) and its boxes in that image."""
        if not rotate:
            return os.path.relpath(image_path, out_dir), boxes
        image = cv2.imread(str(image_path)) if image is None else image
        rotation = Rotation(float(rotate), image.shape[1], image.shape[0])
        rot_dir.mkdir(exist_ok=True)
        target = rot_dir / name
        cv2.imwrite(str(target), rotate_image(image, rotation))
        mapped = []
        for b in boxes:
            pts = rotation.forward(np.array([[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]]))
            mapped.append((pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()))
        return os.path.relpath(target, out_dir), mapped

    for part in _splits(split):
        images = data / FACE_PARTS / part / "images"
        if not images.is_dir():
            raise FileNotFoundError(f"{images} does not exist (is ../shared/data there? use --data)")
        for image_path in sorted(images.glob("*.jpg")):
            label_file = image_path.parent.parent / "labels" / (image_path.stem + ".txt")
            if not label_file.is_file():
                continue
            image = cv2.imread(str(image_path))
            height, width = image.shape[:2]
            boxes = read_yolo(label_file, width, height)
            heads = heads_with_eyes(boxes)
            if heads:
                rel, mapped = place(image_path, image, heads, image_path.name)
                rows += [[rel, "face", *(round(v, 1) for v in b)] for b in mapped]
            crop = clear_crop(width, height, [b for c, b in boxes if c == HEAD])
            if crop is not None:
                crops_dir.mkdir(exist_ok=True)
                x1, y1, x2, y2 = crop
                target = crops_dir / f"{part}_{image_path.name}"
                cv2.imwrite(str(target), image[y1:y2, x1:x2])
                rel, _ = place(target, None, [], "crop_" + target.name)
                rows.append([rel, "no_face", "", "", "", ""])
        down_images = data / FACE_DOWN / part / "images"
        for image_path in sorted(down_images.glob("*.jpg")) if down_images.is_dir() else []:
            label_file = image_path.parent.parent / "labels" / (image_path.stem + ".txt")
            if not label_file.is_file():
                continue
            classes = {line.split()[0] for line in label_file.read_text().splitlines() if line.strip()}
            if classes == {"0"}:
                rel, _ = place(image_path, None, [], "down_" + image_path.name)
                rows.append([rel, "no_face", "", "", "", ""])
    manifest = out_dir / f"face_{split}{suffix}.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "x1", "y1", "x2", "y2"])
        writer.writerows(rows)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.manifests", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["face"])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--split", choices=["train", "valid", "all"], default="valid")
    parser.add_argument("--rotate", type=int, choices=[0, 90, 180, 270], default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    try:
        manifest = build_face(args.data, args.out_dir, args.split, args.rotate)
    except (FileNotFoundError, ValueError) as exc:
        print(f"manifests: {exc}", file=sys.stderr)
        return 1
    with manifest.open() as f:
        labels = [line.split(",")[1] for line in list(f)[1:]]
    print(f"{manifest}: {labels.count('face')} face, {labels.count('no_face')} no_face rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
