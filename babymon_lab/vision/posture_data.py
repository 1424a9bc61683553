"""The posture data: which images, which labels, which split (by ``dup_group``), and the held-out manifest.

    python -m babymon_lab.vision.posture_data manifest OUT_DIR [--data DIR] [--split test|val|train]

writes ``OUT_DIR/posture_<split>.csv`` (``path,label``; paths relative to OUT_DIR, pointing into the shared
data, nothing copied) for ``babymon eval posture --manifest``: the split's infant_posture photos and its
face_down_vs_not face-down photos (label prone).

Sources (``vision/`` under the shared data folder, see its MANIFEST.md):

* ``infant_posture/labels.csv``: web photos labelled supine, prone, sitting, standing, climbing (→ standing:
  on or over the crib rail) and safe_supine_in_crib (→ supine). Many near-duplicates: rows with the same
  ``dup_group`` always go to the same split. There are no side-lying images.
* ``face_down_vs_not`` photos labelled only "face down" (overhead, babies on their front): prone. Split by
  photo (Roboflow copies of one photo share the name before ``.rf.``).
* ``keypoints_csv/data_raw.csv`` / ``data_testing_raw.csv``: MediaPipe 33-landmark rows (x, y, z; no images)
  labelled 1 supine, 2 side, 3 prone: the only side-lying data. Mapped to the 17 COCO keypoints.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon_lab.paths import SHARED_DATA
from babymon_lab.vision.manifests import photo_prefix, read_yolo


DEFAULT_DATA = Path(os.environ.get("BABYMON_SHARED_DATA", SHARED_DATA))
POSTURE_DIR = Path("vision/infant_posture")
KEYPOINTS_DIR = Path("vision/keypoints_csv")
LABEL_MAP = {"supine": "supine", "safe_supine_in_crib": "supine", "prone": "prone", "sitting": "sitting",
             "standing": "standing", "climbing": "standing"}
IMAGE_CLASSES = ("supine", "prone", "sitting", "standing")  # the classes web photos exist for
OVERHEAD_CLASSES = ("supine", "prone", "side", "sitting", "standing")  # with the labelled overhead photos
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)  # train, val, test: fractions of dup_groups
SPLIT_SEED = 20260522
# MediaPipe pose landmark index for each COCO-17 keypoint (nose, eyes, ears, shoulders ... ankles).
MEDIAPIPE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
CSV_LABELS = {"1": "supine", "2": "side", "3": "prone"}


@dataclass(frozen=True)
class PostureImage:
    path: Path  # absolute
    label: str  # one of IMAGE_CLASSES or OVERHEAD_CLASSES
    group: str  # dup_group (infant_posture) or overhead/<n> (read_overhead_images)
    source: str = "infant_posture"  # or "face_down", "overhead_labelled"


def read_posture_images(data: Path = DEFAULT_DATA) -> list[PostureImage]:
    """Every labelled image of ``infant_posture``, labels mapped to babymon's postures."""
    folder = data / POSTURE_DIR
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} does not exist (is ../shared/data there? use --data)")
    images = []
    with labels.open(newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                label = LABEL_MAP[row["label"]]
                images.append(PostureImage(path=folder / row["file"], label=label, group=row["dup_group"]))
            except KeyError as exc:
                raise ValueError(f"{labels} line {n}: unknown label or missing column {exc}") from None
    return images


def split_groups(groups: list[str], seed: int = SPLIT_SEED,
                 fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> dict[str, str]:
    """Each distinct group → "train", "val" or "test", by shuffling the sorted group names with ``seed``."""
    distinct = sorted(set(groups))
    random.Random(seed).shuffle(distinct)
    n_train = round(fractions[0] * len(distinct))
    n_val = round(fractions[1] * len(distinct))
    return {g: "train" if i < n_train else "val" if i < n_train + n_val else "test" for i, g in enumerate(distinct)}


def split_images(images: list[PostureImage], seed: int = SPLIT_SEED) -> dict[str, list[PostureImage]]:
    assignment = split_groups([im.group for im in images], seed)
    out: dict[str, list[PostureImage]] = {"train": [], "val": [], "test": []}
    for im in images:
        out[assignment[im.group]].append(im)
    return out


def mediapipe_to_coco(landmarks: np.ndarray) -> np.ndarray:
    """(33, ≥2) MediaPipe landmarks → (17, 2) x, y in COCO-17 order."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[0] != 33 or landmarks.shape[1] < 2:
        raise ValueError(f"expected (33, 2+) MediaPipe landmarks, got {landmarks.shape}")
    return landmarks[list(MEDIAPIPE_TO_COCO), :2].copy()


def read_keypoint_rows(path: Path) -> tuple[np.ndarray, list[str]]:
    """A keypoints_csv file as ((N, 17, 2) COCO x, y, labels supine/side/prone)."""
    points, labels = [], []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if len(header) != 1 + 33 * 3:
            raise ValueError(f"{path}: expected 100 columns (label + 33 × x,y,z), got {len(header)}")
        for n, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            code = row[0].split("_", 1)[0]
            if code not in CSV_LABELS or len(row) != len(header):
                raise ValueError(f"{path} line {n}: bad label {row[0]!r} or {len(row)} columns")
            points.append(mediapipe_to_coco(np.array(row[1:], dtype=np.float64).reshape(33, 3)))
            labels.append(CSV_LABELS[code])
    return np.stack(points), labels


def write_manifest(data: Path, out_dir: Path, split: str = "test") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"posture_{split}.csv"
    rows = split_images(read_posture_images(data))[split] + split_images(read_face_down_images(data))[split]
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for im in rows:
            writer.writerow([os.path.relpath(im.path, out_dir.resolve()), im.label])
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.posture_data")
    sub = parser.add_subparsers(dest="command", required=True)
    manifest = sub.add_parser("manifest", help="write the held-out posture manifest (path,label)")
    manifest.add_argument("out_dir", type=Path)
    manifest.add_argument("--data", type=Path, default=DEFAULT_DATA)
    manifest.add_argument("--split", choices=("test", "val", "train"), default="test")
    args = parser.parse_args(argv)
    try:
        target = write_manifest(args.data.resolve(), args.out_dir.resolve(), args.split)
    except (FileNotFoundError, ValueError) as exc:
        print(f"posture_data: {exc}", file=sys.stderr)
        return 2
    print(target)
    return 0



# ------------------------------------------------------------------------------------------- presence data

DETECTION_DIR = Path("vision/infant_detection")
FACE_PARTS_DIR = Path("vision/infant_face_parts")
MIN_NEGATIVE_CROP = 64
BABY_CLASS = 0  # class 0 is the baby in both infant_detection and infant_face_parts


@dataclass(frozen=True)
class PresenceItem:
    path: Path
    crop: tuple[int, int, int, int] | None  # pixels; None: the whole image
    present: bool
    source: str  # where it comes from, for the per-source numbers
    group: str  # near-duplicate group (Roboflow exports hold augmented copies of one photo: same name prefix)
    boxes: tuple = ()  # labelled baby boxes (pixels), for positives
    heads: tuple = ()  # labelled head boxes (pixels; infant_face_parts only)


def _yolo_boxes(label_file: Path, width: int, height: int, cls: int) -> list[tuple[float, float, float, float]]:
    """The pixel boxes of class ``cls`` in a YOLO label file."""
    return [box for c, box in read_yolo(label_file, width, height) if c == cls]


def clear_strips(width: int, height: int, avoid: list, min_side: int = MIN_NEGATIVE_CROP) -> list[tuple[int, int, int, int]]:
    """The strips left of, right of, above and below the union of ``avoid`` boxes that are at least
    ``min_side`` pixels both ways (pure)."""
    if not avoid:
        return []
    x1, y1 = min(b[0] for b in avoid), min(b[1] for b in avoid)
    x2, y2 = max(b[2] for b in avoid), max(b[3] for b in avoid)
    strips = [(0, 0, int(np.floor(x1)), height), (int(np.ceil(x2)), 0, width, height),
              (0, 0, width, int(np.floor(y1))), (0, int(np.ceil(y2)), width, height)]
    return [s for s in strips if s[2] - s[0] >= min_side and s[3] - s[1] >= min_side]


def presence_items(data: Path = DEFAULT_DATA) -> list[PresenceItem]:
    """Real babies (whole ``infant_detection`` and ``infant_face_parts`` images with a baby box) and real
    background (strips of those images clear of every baby box). There is no empty-crib data; see
    :func:`inpainted_negatives` for the other kind of negative."""
    import cv2

    items = []
    for dataset in (DETECTION_DIR, FACE_PARTS_DIR):
        for label_file in sorted((data / dataset).glob("*/labels/*.txt")):
            image_path = label_file.parent.parent / "images" / (label_file.stem + ".jpg")
            if not image_path.is_file():
                continue
            image = cv2.imread(str(image_path))
            if image is None:
                continue
            height, width = image.shape[:2]
            babies = _yolo_boxes(label_file, width, height, BABY_CLASS)
            heads = _yolo_boxes(label_file, width, height, 2) if dataset == FACE_PARTS_DIR else []
            group = f"{dataset.name}/{photo_prefix(image_path.name)}"
            if babies:
                items.append(PresenceItem(image_path, None, True, dataset.name, group, tuple(babies), tuple(heads)))
                for strip in clear_strips(width, height, babies):
                    items.append(PresenceItem(image_path, strip, False, f"{dataset.name} background", group))
    return items


def inpainted_negatives(data: Path, out_dir: Path) -> list[PresenceItem]:
    """``infant_detection`` photos with the baby's box filled in by OpenCV inpainting (Telea) and blurred:
    the same bed and bedding without a baby, written to ``out_dir`` (a temp folder, never the repository).
    An approximation of an empty crib: the filled area is smooth, which real bedding is not."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for label_file in sorted((data / DETECTION_DIR).glob("*/labels/*.txt")):
        image_path = label_file.parent.parent / "images" / (label_file.stem + ".jpg")
        target = out_dir / f"{label_file.parent.parent.name}_{image_path.name}"
        image = cv2.imread(str(image_path))
        if image is None:
            continue
        height, width = image.shape[:2]
        babies = _yolo_boxes(label_file, width, height, BABY_CLASS)
        if not babies:
            continue
        if not target.is_file():
            cv2.imwrite(str(target), inpaint_boxes(image, babies))
        items.append(PresenceItem(target, None, False, "infant_detection inpainted",
                                  f"{DETECTION_DIR.name}/{photo_prefix(image_path.name)}"))
    return items


def inpaint_boxes(image: np.ndarray, boxes: list) -> np.ndarray:
    """``image`` with ``boxes`` (pixels) filled by OpenCV inpainting (Telea) at ¼ size, enlarged back."""
    import cv2

    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    mask = np.zeros(small.shape[:2], dtype=np.uint8)
    for b in boxes:
        cv2.rectangle(mask, (int(b[0] / 4), int(b[1] / 4)), (int(np.ceil(b[2] / 4)), int(np.ceil(b[3] / 4))),
                      255, thickness=-1)
    filled = cv2.inpaint(small, mask, 5, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)


def empty_crib_negatives(images: list[PostureImage], body_boxes: list, out_dir: Path) -> list[PresenceItem]:
    """The ``infant_posture`` crib photos (``safe_supine_in_crib``: rails, mattress, bedding) with the baby
    inpainted out of its pose body box (``body_boxes``, pixels, grown 25 % each side; None = no pose, photo
    skipped): empty cribs, the scene a monitor watches most nights. Grouped with the photo's dup_group, so the
    posture split and this one agree. Written to ``out_dir`` (a temp folder, never the repository)."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for im, box in zip(images, body_boxes, strict=True):
        if box is None or im.path.parent.name != "safe_supine_in_crib":
            continue
        target = out_dir / f"empty_{im.path.name}"
        if not target.is_file():
            image = cv2.imread(str(im.path))
            grow = 0.25 * max(box[2] - box[0], box[3] - box[1])
            cv2.imwrite(str(target), inpaint_boxes(image, [(box[0] - grow, box[1] - grow, box[2] + grow,
                                                            box[3] + grow)]))
        items.append(PresenceItem(target, None, False, "infant_posture empty crib (inpainted)", f"posture/{im.group}"))
    return items


def occluded_positives(data: Path, out_dir: Path) -> list[PresenceItem]:
    """Babies whose face is covered or has a pacifier in: the occlusion composites
    (``babymon_lab.vision.face_state_data.render``: cloth, hand, toy, pillow, pacifier painted on real
    ``infant_face_parts`` photos), one photo per occlusion group, only groups outside the occlusion test split
    (which stays held out for ``babymon eval face_state``). Without them a close-up whose nose and mouth are
    covered gives MoveNet too few keypoints, and the presence model said "no baby". Written to ``out_dir`` (a
    temp folder, never the repository); variants 11-13 (the occlusion test manifest uses 1-2)."""
    import cv2

    from babymon_lab.vision.face_state_data import SPLIT_SEED as OCCLUSION_SEED
    from babymon_lab.vision.face_state_data import face_part_photos, one_per_group, render, split_of

    out_dir.mkdir(parents=True, exist_ok=True)
    base, _ = face_part_photos(data)
    items = []
    for photo in one_per_group([p for p in base if split_of(p.group) != "test"]):
        group = f"{FACE_PARTS_DIR.name}/{photo_prefix(photo.path.name)}"
        for variant, label in ((11, "pacifier"), (12, "covered"), (13, "covered")):
            target = out_dir / f"{photo.path.stem[:60]}_{variant}_{label}.jpg"
            if not target.is_file():
                image, _ = render(photo, label, OCCLUSION_SEED, variant=variant)
                cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            items.append(PresenceItem(target, None, True, f"{FACE_PARTS_DIR.name} {label} composites", group))
    return items


def presence_split(group: str, seed: int = SPLIT_SEED) -> str:
    """"train" or "test" (70/30) for a presence group, stable across runs (hash of seed and group)."""
    import hashlib

    digest = hashlib.sha1(f"{seed}|{group}".encode()).digest()
    return "train" if digest[0] < 0.7 * 256 else "test"


FACE_DOWN_DIR = Path("vision/face_down_vs_not")


OVERHEAD_LABELS = Path(__file__).resolve().parent / "labels" / "overhead_posture.csv"
NEAR_DUPLICATE_BITS = 10  # of 256: average-hash distance (any flip or quarter turn) under which two photos are one


def read_face_down_images(data: Path = DEFAULT_DATA) -> list[PostureImage]:
    """``face_down_vs_not`` photos whose only label is class 0 (face down): overhead shots of babies lying on
    their front, i.e. prone. Grouped as :func:`read_overhead_images` groups them."""
    return [im for im in read_overhead_images(data, labelled=False)]


def read_overhead_images(data: Path = DEFAULT_DATA, labelled: bool = True) -> list[PostureImage]:
    """The real overhead photos: ``face_down_vs_not`` class 0 (face down → prone) and, with ``labelled``, the
    ``infant_detection`` and ``face_down_vs_not`` class 1 photos labelled by eye in ``labels/overhead_posture.csv``
    (supine, prone, side; "unknown" left out). The two sets share photos, so the group (``overhead/<n>``) joins
    Roboflow copies (same name before ``.rf.``) and near-duplicates across both sets (:func:`near_duplicate_groups`),
    so one photo never lands in two splits. Each photo keeps its own label (the same photo seen twice was sometimes
    labelled side once and supine or prone once: a real ambiguity, kept), except that a labelled photo in a group
    with a face-down photo and not labelled prone is left out (the dataset's face-down label wins)."""
    face_down_dir, detection_dir = data / FACE_DOWN_DIR, data / DETECTION_DIR
    if not face_down_dir.is_dir():
        raise FileNotFoundError(f"{face_down_dir} does not exist (is ../shared/data there? use --data)")
    face_down, by_prefix = [], {}
    for label_file in sorted(face_down_dir.glob("*/labels/*.txt")):
        classes = {line.split()[0] for line in label_file.read_text().splitlines() if line.strip()}
        image = label_file.parent.parent / "images" / (label_file.stem + ".jpg")
        if image.is_file():
            by_prefix.setdefault(("face_down_vs_not", photo_prefix(image.name)), []).append(image)
            if classes == {"0"}:
                face_down.append(image)
    for image in sorted(detection_dir.glob("*/images/*.jpg")):
        by_prefix.setdefault(("infant_detection", photo_prefix(image.name)), []).append(image)
    group = near_duplicate_groups(sorted(p for paths in by_prefix.values() for p in paths))
    images = [PostureImage(path=p, label="prone", group=f"overhead/{group[p]}", source="face_down") for p in face_down]
    if not labelled:
        return images
    labels = {}
    with OVERHEAD_LABELS.open(newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            if row["posture"] not in ("supine", "prone", "side", "unknown"):
                raise ValueError(f"{OVERHEAD_LABELS} line {n}: unknown posture {row['posture']!r}")
            for path in by_prefix.get((row["dataset"], row["photo"]), []):
                labels[path] = row["posture"]
    face_down_groups = {group[p] for p in face_down}
    images += [PostureImage(path=p, label=label, group=f"overhead/{group[p]}", source="overhead_labelled")
               for p, label in sorted(labels.items())
               if label != "unknown" and p not in set(face_down) and (label == "prone" or group[p] not in face_down_groups)]
    return images


def average_hashes(paths: list[Path]) -> np.ndarray:
    """(N, 8, 256) booleans: the 16×16 average hash of each image under the 8 flips and quarter turns."""
    import cv2

    out = np.zeros((len(paths), 8, 256), dtype=bool)
    for i, path in enumerate(paths):
        small = cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (16, 16), interpolation=cv2.INTER_AREA)
        for k in range(8):
            view = np.rot90(small, k % 4)
            view = view[:, ::-1] if k >= 4 else view
            out[i, k] = (view > view.mean()).reshape(-1)
    return out


def near_duplicate_groups(paths: list[Path], bits: int = NEAR_DUPLICATE_BITS) -> dict[Path, int]:
    """Each path → a group number: Roboflow copies (same folder prefix) and photos whose average hashes are
    within ``bits`` of each other under some flip or turn are one group (union-find)."""
    parent = list(range(len(paths)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    first: dict[tuple[str, str], int] = {}
    for i, path in enumerate(paths):
        key = (path.parent.parent.parent.name, photo_prefix(path.name))
        if key in first:
            join(i, first[key])
        first.setdefault(key, i)
    hashes = average_hashes(paths)
    upright = hashes[:, 0, :].astype(np.int16)
    for k in range(8):
        view = hashes[:, k, :].astype(np.int16)
        distance = upright @ (1 - view).T + (1 - upright) @ view.T  # Hamming distance, all pairs
        for i, j in zip(*np.nonzero(distance <= bits), strict=True):
            if i < j:
                join(int(i), int(j))
    return {path: root(i) for i, path in enumerate(paths)}


if __name__ == "__main__":
    sys.exit(main())
