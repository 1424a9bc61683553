"""Crib-scale copies of the held-out posture photos: is the baby still found, and its posture read, when small?

``crib_cam`` has no boxes and few small babies, so "find a baby at 2–15 % of the frame" is measured here on
copies of the **held-out** posture test photos (``posture_data`` split; never trained on): each photo is pasted
whole at 2–15 % of an empty bed or background strip of the finder's **test** split (``finder_train.composite``:
lying babies at a random quarter turn or mirrored, sitting and standing ones upright), then seen as a cheap crib
camera sees it (``finder_train.crib_frame_look``: rails, infrared, blur, JPEG). Labels are the photos' own.

    python -m babymon_lab.vision.crib_scale manifest OUT_DIR      # OUT_DIR/crib_scale_posture.csv + the frames
    babymon eval posture --manifest OUT_DIR/crib_scale_posture.csv --json
    python -m babymon_lab.vision.crib_scale face-manifest OUT_DIR # OUT_DIR/crib_scale_face_state.csv + the frames
    babymon eval face_state --manifest OUT_DIR/crib_scale_face_state.csv --json
    python -m babymon_lab.vision.crib_scale compare OUT_DIR/crib_scale_posture.csv [--manifest OTHER.csv ...]
        # the vision path with and without the baby finder, same run: accuracy, macro-F1, no-baby share, ms

Synthetic, so an approximation of a crib camera (the paste leaves the photo's own background around the baby);
use it to compare methods, and ``crib_cam`` for the real thing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.analyzers.base import POSTURES
from babymon_lab.vision.finder_train import composite, crib_frame_look, empty_beds, read_item, split_of
from babymon_lab.vision.metrics import classification_report
from babymon_lab.vision.posture_data import (
    DEFAULT_DATA,
    SPLIT_SEED,
    read_posture_images,
    split_images,
)

SEED = 7
UPRIGHT = ("sitting", "standing")  # a wall or rail camera sees these upright


class _NoTurn:
    """A random generator whose first ``integers`` draw (``composite``'s quarter turns) is 0."""

    def __init__(self, rng: np.random.Generator):
        self._rng, self._first = rng, True

    def integers(self, *args, **kwargs):
        if self._first:
            self._first = False
            return 0
        return self._rng.integers(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._rng, name)


def write_manifest(out_dir: Path, data: Path = DEFAULT_DATA, work: Path | None = None) -> Path:
    import tempfile

    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    work = work or Path(tempfile.gettempdir()) / "babymon-finder"
    beds = [e for e in empty_beds(data, work) if split_of(e.group) == "test"]
    pick = np.random.default_rng(SEED)
    rows = []
    for i, photo in enumerate(split_images(read_posture_images(data))["test"]):
        bed = _camera_sized(read_item(beds[int(pick.integers(len(beds)))]))
        frame = crib_copy(photo, bed, np.random.default_rng([SEED, i]), np.random.default_rng([SEED + 1, i]))
        name = f"{i:04d}_{photo.label}.jpg"
        cv2.imwrite(str(out_dir / name), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append((name, photo.label))
    manifest = out_dir / "crib_scale_posture.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label"])
        writer.writerows(rows)
    return manifest


def write_face_state_manifest(out_dir: Path, data: Path = DEFAULT_DATA, work: Path | None = None) -> Path:
    """Crib-scale copies of the **held-out** face-state test images (``face_state_data`` test split: clear photos
    with their pacifier and covered composites, face-down photos, the real pacifier and hand-over-mouth photos),
    each pasted whole at 2–15 % of a test-split empty bed at a random quarter turn or mirrored (a baby seen from
    above lies any way round) and seen through the crib-camera look. Labels are the images' own."""
    import cv2

    from babymon_lab.vision.face_state_data import build_manifest

    out_dir.mkdir(parents=True, exist_ok=True)
    occlusion = build_manifest(data, out_dir / "occlusion", "test", progress=False)
    beds = CribBeds(data, "test", work)
    pick = np.random.default_rng(SEED + 2)
    rows = []
    with occlusion.open(newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            image = cv2.imread(str(occlusion.parent / row["path"]), cv2.IMREAD_COLOR)
            frame = whole_at_crib_scale(image, beds.pick(pick), np.random.default_rng([SEED + 2, i]),
                                        np.random.default_rng([SEED + 3, i]))
            name = f"{i:04d}_{row['label']}.jpg"
            cv2.imwrite(str(out_dir / name), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            rows.append((name, row["label"], row["occluder"]))
    manifest = out_dir / "crib_scale_face_state.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "occluder"])
        writer.writerows(rows)
    return manifest


class CribBeds:
    """The finder's empty beds and background strips of one split (``finder_train.split_of``), camera-sized, to
    paste babies on; read once, on first use."""

    def __init__(self, data: Path, split: str, work: Path | None = None):
        self.data, self.split, self.work = data, split, work
        self._beds: list | None = None

    def pick(self, rng: np.random.Generator) -> np.ndarray:
        import tempfile

        if self._beds is None:
            work = self.work or Path(tempfile.gettempdir()) / "babymon-finder"
            self._beds = [e for e in empty_beds(self.data, work) if split_of(e.group) == self.split]
        return _camera_sized(read_item(self._beds[int(rng.integers(len(self._beds)))]))


def whole_at_crib_scale(image: np.ndarray, bed: np.ndarray, turn_rng, look_rng: np.random.Generator) -> np.ndarray:
    """``image`` pasted whole onto ``bed`` at 2–15 % of its area (turned and mirrored by ``turn_rng``:
    ``finder_train.composite``) and seen through the crib-camera look (``finder_train.crib_frame_look``)."""
    frame, _ = composite(image, (0, 0, image.shape[1], image.shape[0]), bed, turn_rng)
    return crib_frame_look(frame, look_rng)


@dataclass(frozen=True)
class PresenceFrame:
    """A crib-scale frame for the presence model: where the locator looks at run time (the finder's focus, in
    pixels; None when the finder sees no baby: the whole frame), and whether a baby is in it."""

    path: Path
    crop: tuple[int, int, int, int] | None
    present: bool
    source: str
    split: str  # "train" or "test", as the presence model's other rows
    group: str


def presence_frames(data: Path, out_dir: Path, seed: int = SPLIT_SEED) -> list[PresenceFrame]:
    """Crib-scale copies of every posture photo (babies; the posture split's train part → train, val and test
    → test) and of every empty bed and background strip (no baby; by photo group), each with the focus the
    finder picks on it. Frames are written once to ``out_dir`` (a temp folder, never the repository)."""
    import cv2

    from babymon.vision.baby_finder import BabyFinder, focus_region
    from babymon.vision.geometry import region_pixels
    from babymon_lab.vision.posture_data import presence_split

    out_dir.mkdir(parents=True, exist_ok=True)
    finder = BabyFinder()
    beds = empty_beds(data, out_dir.parent)
    by_split = {part: [b for b in beds if presence_split(b.group, seed) == part] for part in ("train", "test")}
    jobs = [(photo, "train" if part == "train" else "test", i)
            for part, photos in split_images(read_posture_images(data), seed).items() for i, photo in enumerate(photos)]
    frames = []
    for photo, split, i in jobs:
        target = out_dir / f"baby_{split}_{i:04d}_{photo.label}.jpg"
        if not target.is_file():
            pick = np.random.default_rng([seed, 11, i, split == "train"])
            bed = _camera_sized(read_item(by_split[split][int(pick.integers(len(by_split[split])))]))
            rng = np.random.default_rng([seed, 12, i, split == "train"])
            cv2.imwrite(str(target), crib_copy(photo, bed, rng, rng), [cv2.IMWRITE_JPEG_QUALITY, 92])
        frames.append((target, True, f"crib-scale {photo.label}", split, f"posture/{photo.group}"))
    for i, bed in enumerate(beds):
        split = presence_split(bed.group, seed)
        target = out_dir / f"empty_{split}_{i:04d}.jpg"
        if not target.is_file():
            rng = np.random.default_rng([seed, 13, i])
            cv2.imwrite(str(target), crib_frame_look(_camera_sized(read_item(bed)), rng), [cv2.IMWRITE_JPEG_QUALITY, 92])
        frames.append((target, False, "crib-scale empty bed", split, bed.group))
    out = []
    for path, present, source, split, group in frames:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        found = finder.find(image)
        crop = None
        if found.present and found.box is not None:
            crop = region_pixels(focus_region(found.box, image.shape[1], image.shape[0]), image.shape[1], image.shape[0])
        out.append(PresenceFrame(path, crop, present, source, split, group))
    return out


def crib_copy(photo, bed: np.ndarray, turn_rng: np.random.Generator, look_rng: np.random.Generator) -> np.ndarray:
    """A posture photo pasted whole onto ``bed`` at crib scale (lying babies turned or mirrored by ``turn_rng``,
    sitting and standing ones kept upright) and seen through the crib-camera look (``look_rng``)."""
    import cv2

    image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    return whole_at_crib_scale(image, bed, _NoTurn(turn_rng) if photo.label in UPRIGHT else turn_rng, look_rng)


def _camera_sized(bed: np.ndarray, side: int = 480) -> np.ndarray:
    """A background strip enlarged so its longer side is at least ``side`` px (a camera frame is that big)."""
    import cv2

    if max(bed.shape[:2]) >= side:
        return bed
    scale = side / max(bed.shape[:2])
    return cv2.resize(bed, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)


def compare(manifest: Path, finder: bool) -> dict:
    """The default vision path (with or without the baby finder) on a ``path,label`` posture manifest."""
    import cv2

    from babymon.vision.pipeline import VisionPipeline
    from babymon.vision.pose import BabyLocator

    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    pipeline = VisionPipeline(locator=BabyLocator(use_finder=finder))
    truth, guess, ms = [], [], []
    for row in rows:
        image = cv2.imread(str(manifest.parent / row["path"]), cv2.IMREAD_COLOR)
        started = time.perf_counter()
        result = pipeline.analyze(image)
        ms.append((time.perf_counter() - started) * 1000.0)
        truth.append(row["label"])
        guess.append(result.posture or "no_baby")
    report = classification_report(truth, guess, (*POSTURES, "no_baby"))
    present = sorted(set(truth))  # macro-F1 over the classes the manifest has
    matrix = dict(zip(report["confusion_matrix"]["labels"], report["confusion_matrix"]["matrix"], strict=True))
    labels = report["confusion_matrix"]["labels"]
    return {"n": report["n"], "accuracy": report["accuracy"],
            "macro_f1": float(np.mean([report["per_class"][c]["f1"] for c in present])),
            "no_baby": guess.count("no_baby") / len(guess), "ms_per_frame": float(np.mean(ms)),
            "confusion": {c: {g: v for g, v in zip(labels, matrix[c], strict=True) if v} for c in present}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.crib_scale", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("manifest", help="write the crib-scale frames and their manifest")
    m.add_argument("out_dir", type=Path)
    m.add_argument("--data", type=Path, default=DEFAULT_DATA)
    fm = sub.add_parser("face-manifest", help="write crib-scale copies of the held-out face-state images and their manifest")
    fm.add_argument("out_dir", type=Path)
    fm.add_argument("--data", type=Path, default=DEFAULT_DATA)
    c = sub.add_parser("compare", help="the vision path with and without the baby finder, same run")
    c.add_argument("manifests", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "manifest":
        print(write_manifest(args.out_dir, args.data))
        return 0
    if args.command == "face-manifest":
        print(write_face_state_manifest(args.out_dir, args.data))
        return 0
    print("| manifest | finder | frames | accuracy | macro-F1 | read no baby | ms per frame |")
    print("|---|---|---|---|---|---|---|")
    for manifest in args.manifests:
        for finder in (False, True):
            r = compare(manifest, finder)
            print(f"| {manifest.name} | {'yes' if finder else 'no'} | {r['n']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} "
                  f"| {r['no_baby']:.3f} | {r['ms_per_frame']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
