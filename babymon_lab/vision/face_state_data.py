"""Face-state data: real infant photos, seeded occluder composites, a leak-free split, and the eval manifest.

    python -m babymon_lab.vision.face_state_data manifest OUT_DIR [--split test|train|all] [--data DIR] [--seed N]

writes full-image composites (JPEG) into ``OUT_DIR/images/`` and ``OUT_DIR/occlusion_<split>.csv``
(``path,label``; paths relative to the CSV; originals are referenced in ../shared/data, never copied) for
``babymon eval face_state --manifest``.

Sources (all under ``--data``, default ../shared/data):

* ``vision/infant_face_parts`` (train+valid pooled): photos with exactly one HEAD box holding a MOUTH and a NOSE
  box are the base faces. Each gives a ``clear`` row (the photo as it is), a ``pacifier`` composite and a
  ``covered`` composite (cloth, hand, toy or pillow; see ``face_state_occluders``). The Roboflow export holds
  augmented copies of a photo (same name before ``.rf.``) in both of its splits, so we split by that prefix.
  Photos with a HEAD but no MOUTH are mostly tubes, tape, bottles or crops: left out, except the few we checked
  by eye (``REAL_PACIFIER`` / ``REAL_HAND_OVER_MOUTH`` below), which are kept as a small real test set.
* ``vision/face_down_vs_not``: overhead sleeping babies with a head box; class 0 (face down) →
  ``face_not_visible``, class 1 → ``clear``; split by prefix the same way.
* ``vision/face_mask_adult`` (training only, optional): adult faces with a mask → ``covered``, without → ``clear``;
  a stand-in for a covered lower face (adults, not infants; at most ``MASK_LIMIT`` of each).

Split: a group (source + prefix) goes to ``test`` when sha1(f"{seed}:{group}") falls in the lowest
``TEST_FRACTION``; everything else is ``train`` (validation for choices is taken from train inside training).
Composites: the random stream of a composite is ``numpy.random.default_rng([seed, sha1(file name) & 0xFFFFFFFF,
variant])``, so a given seed always paints the same pixels.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.vision.geometry import Box, area, centre, contains
from babymon_lab.paths import SHARED_DATA
from babymon_lab.vision.manifests import photo_prefix, read_yolo
from babymon_lab.vision.face_state_occluders import (
    COVERING_PAINTERS,
    FaceParts,
    paint_cloth,
    paint_hand,
    paint_pacifier,
    paint_pillow,
    paint_toy,
)

FACE_PARTS = Path("vision/infant_face_parts")
FACE_DOWN = Path("vision/face_down_vs_not")
MASKS = Path("vision/face_mask_adult")
BABY, EYE, HEAD, MOUTH, NOSE = 0, 1, 2, 3, 4
SPLIT_SEED = 20261122
TEST_FRACTION = 0.2
MASK_LIMIT = 250
DEFAULT_DATA = Path(os.environ.get("BABYMON_SHARED_DATA", SHARED_DATA))

# HEAD-without-MOUTH photos of infant_face_parts, checked by eye (one contact sheet of all 76 such prefixes):
# a pacifier in the mouth, or a hand/fist over the mouth. Tubes, tape, bottles and crops were left out.
REAL_PACIFIER = ("crawler_baby_eyes_000036_jpg", "crawler_baby_eyes_000119_jpg", "crawler_baby_eyes_000213_jpg",
                 "crawler_baby_eyes_000256_jpg", "crawler_baby_eyes_000375_jpg", "crawler_baby_eyes_000402_jpg",
                 "crawler_baby_ng_tube_000011_jpg")
REAL_HAND_OVER_MOUTH = ("crawler_baby_eyes_000027_jpg", "crawler_baby_eyes_000051_jpg",
                        "crawler_baby_eyes_000261_jpg", "crawler_baby_hospital_000005_jpg")


@dataclass(frozen=True)
class Photo:
    """One labelled photo. ``box``: the head (None for mask photos, where the face is the whole image);
    ``parts``: the labelled face parts, for base faces that occluders can be painted on; ``label``: the face
    state of the photo as it is."""

    path: Path
    group: str
    label: str
    box: Box | None = None
    parts: FaceParts | None = None


def split_of(group: str, seed: int = SPLIT_SEED) -> str:
    digest = hashlib.sha1(f"{seed}:{group}".encode()).digest()
    return "test" if int.from_bytes(digest[:4], "big") / 2**32 < TEST_FRACTION else "train"


def file_seed(path: Path) -> int:
    return int.from_bytes(hashlib.sha1(path.name.encode()).digest()[:4], "big")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return image.shape[1], image.shape[0]


def _labelled_boxes(data: Path, dataset: Path) -> Iterator[tuple[Path, list[tuple[int, Box]]]]:
    """(image, its YOLO boxes in pixels) for every labelled image of ``dataset``'s train and valid folders."""
    for part in ("train", "valid"):
        folder = data / dataset / part
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} does not exist (is ../shared/data there? use --data)")
        for image_path in sorted((folder / "images").glob("*.jpg")):
            label_file = folder / "labels" / (image_path.stem + ".txt")
            if label_file.is_file():
                yield image_path, read_yolo(label_file, *image_size(image_path))


def _inside(boxes: list[Box], head: Box) -> list[Box]:
    return [b for b in boxes if contains(head, centre(b))]


def face_part_photos(data: Path) -> tuple[list[Photo], list[Photo]]:
    """(base faces labelled ``clear`` with parts, the real pacifier / hand-over-mouth photos)."""
    base: list[Photo] = []
    real: list[Photo] = []
    real_seen: set[str] = set()
    for image_path, boxes in _labelled_boxes(data, FACE_PARTS):
        heads = [b for c, b in boxes if c == HEAD]
        if len(heads) != 1:
            continue
        head = heads[0]
        group = "faces:" + photo_prefix(image_path.name)
        name = photo_prefix(image_path.name)
        if name in REAL_PACIFIER or name in REAL_HAND_OVER_MOUTH:
            if name not in real_seen:  # one copy of each
                real_seen.add(name)
                label = "pacifier" if name in REAL_PACIFIER else "covered"
                real.append(Photo(image_path, group, label, head))
            continue
        mouths = _inside([b for c, b in boxes if c == MOUTH], head)
        noses = _inside([b for c, b in boxes if c == NOSE], head)
        eyes = tuple(_inside([b for c, b in boxes if c == EYE], head))
        if not mouths or not noses:
            continue
        parts = FaceParts(head=head, mouth=max(mouths, key=area), nose=max(noses, key=area), eyes=eyes[:2])
        base.append(Photo(image_path, group, "clear", head, parts))
    return base, real


def face_down_photos(data: Path) -> list[Photo]:
    photos = []
    for image_path, boxes in _labelled_boxes(data, FACE_DOWN):
        if len(boxes) != 1:
            continue
        cls, box = boxes[0]
        label = "face_not_visible" if cls == 0 else "clear"
        photos.append(Photo(image_path, "down:" + photo_prefix(image_path.name), label, box))
    return photos


def mask_photos(data: Path, limit: int = MASK_LIMIT) -> list[Photo]:
    photos = []
    for folder, label in (("with_mask", "covered"), ("without_mask", "clear")):
        files = sorted((data / MASKS / folder).glob("*.jpg"))[:limit]
        photos += [Photo(p, "mask:" + p.stem, label) for p in files]
    return photos


# ------------------------------------------------------------------------------------------------ composites

def bedding_patch(image: np.ndarray, head: Box, rng: np.random.Generator) -> np.ndarray | None:
    """A random patch of the photo away from the head (bedding, clothes, background), or None when the head
    fills the photo. Used as real cloth texture."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in head)
    strips = [(0, 0, max(0, x1), h), (min(w, x2), 0, w, h), (0, 0, w, max(0, y1)), (0, min(h, y2), w, h)]
    strips = [s for s in strips if s[2] - s[0] >= 24 and s[3] - s[1] >= 24]
    if not strips:
        return None
    sx1, sy1, sx2, sy2 = strips[rng.integers(len(strips))]
    side = int(min(sx2 - sx1, sy2 - sy1, max(24, rng.uniform(0.3, 1.0) * min(sx2 - sx1, sy2 - sy1))))
    px = int(rng.integers(sx1, sx2 - side + 1))
    py = int(rng.integers(sy1, sy2 - side + 1))
    return image[py:py + side, px:px + side].copy()


def covering_kind(rng: np.random.Generator) -> str:
    """Cloth most often (blankets are the commonest hazard), then hands, pillows, toys."""
    return str(rng.choice(COVERING_PAINTERS, p=[0.45, 0.2, 0.15, 0.2]))


def composite(image: np.ndarray, parts: FaceParts, kind: str, rng: np.random.Generator,
              donor: np.ndarray | None = None) -> np.ndarray:
    """``image`` with one occluder of ``kind`` (``pacifier`` or one of ``COVERING_PAINTERS``) painted on.
    Cloth and pillows take their texture from the photo's own bedding (or from ``donor``, a patch of another
    photo) half of the time, else a procedural fabric."""
    if kind == "pacifier":
        return paint_pacifier(image, parts, rng)
    if kind == "hand":
        return paint_hand(image, parts, rng)
    if kind == "toy":
        return paint_toy(image, parts, rng)
    texture = None
    if rng.random() < 0.5:
        texture = bedding_patch(image, parts.head, rng) if donor is None or rng.random() < 0.5 else donor
    if kind == "cloth":
        return paint_cloth(image, parts, rng, texture)
    if kind == "pillow":
        return paint_pillow(image, parts, rng, texture)
    raise ValueError(f"occluder kind: expected 'pacifier' or one of {COVERING_PAINTERS}, got {kind!r}")


def variant_rng(seed: int, path: Path, variant: int) -> np.random.Generator:
    return np.random.default_rng([seed, file_seed(path), variant])


def render(photo: Photo, label: str, seed: int, variant: int = 0) -> tuple[np.ndarray, str]:
    """The full image for ``photo`` in face state ``label`` (``clear`` = as it is, ``pacifier``, ``covered``),
    and the occluder kind used ("none" for the photo as it is)."""
    import cv2

    image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {photo.path}")
    if label == photo.label or photo.parts is None:
        return image, "none"
    rng = variant_rng(seed, photo.path, variant)
    kind = "pacifier" if label == "pacifier" else covering_kind(rng)
    return composite(image, photo.parts, kind, rng), kind


# ------------------------------------------------------------------------------------------------ manifest

def one_per_group(photos: list[Photo]) -> list[Photo]:
    seen: dict[str, Photo] = {}
    for photo in photos:
        seen.setdefault(photo.group, photo)
    return list(seen.values())


def build_manifest(data: Path, out_dir: Path, split: str = "test", seed: int = SPLIT_SEED,
                   progress: bool = True) -> Path:
    """Write the composites and ``occlusion_<split>.csv`` (see the module docstring); returns the CSV path."""
    import cv2
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    images_dir = out_dir / "images"
    images_dir.mkdir(exist_ok=True)
    base, real = face_part_photos(data)
    down = face_down_photos(data)

    def wanted(photo: Photo) -> bool:
        return split == "all" or split_of(photo.group, seed) == split

    rows: list[tuple[str, str, str]] = []
    faces = one_per_group([p for p in base if wanted(p)])
    for photo in tqdm(faces, desc="composites", unit="face", disable=not progress):
        rows.append((os.path.relpath(photo.path, out_dir), "clear", "none"))
        for n, label in enumerate(("pacifier", "covered"), start=1):
            image, kind = render(photo, label, seed, variant=n)
            target = images_dir / f"{photo.path.stem[:60]}_{label}.jpg"
            cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            rows.append((os.path.relpath(target, out_dir), label, kind))
    for photo in one_per_group([p for p in down if wanted(p)]):
        rows.append((os.path.relpath(photo.path, out_dir), photo.label, "none"))
    if split in ("test", "all"):
        rows += [(os.path.relpath(p.path, out_dir), p.label, "real") for p in real]
    manifest = out_dir / f"occlusion_{split}.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "occluder"])
        writer.writerows(rows)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.face_state_data",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["manifest"])
    parser.add_argument("out_dir", type=Path, help="where composites and the CSV go (a temp folder, not the repo)")
    parser.add_argument("--split", choices=["test", "train", "all"], default="test")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="split and composite seed")
    args = parser.parse_args(argv)
    try:
        manifest = build_manifest(args.data, args.out_dir, args.split, args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"face_state_data: {exc}", file=sys.stderr)
        return 1
    with manifest.open() as f:
        labels = [row["label"] for row in csv.DictReader(f)]
    counts = ", ".join(f"{labels.count(k)} {k}" for k in sorted(set(labels)))
    print(f"{manifest}: {len(labels)} rows ({counts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
