"""Train the baby finder (``babymon/vision/baby_finder.py``): a logistic head on MobileNet's feature-map cells.

    BABYMON_MODEL_MIRROR=../shared/models python -m babymon_lab.vision.finder_train [--out DIR]   # = babymon train finder

Data (``../shared/data/vision``, never ``crib_cam``, which is for evaluation only):

* real photos with labelled baby boxes: ``infant_detection`` (overhead lying infants) and ``infant_face_parts``
  (BABY boxes, mostly close-ups);
* empty beds: the ``infant_detection`` photos with the baby inpainted out (``posture_data.inpainted_negatives``),
  and the strips of every labelled photo clear of the baby's box (real bedding, rails, floor; at least 128 px);
* **crib-camera composites** (:func:`composite`): a baby cut from a labelled box, turned by a quarter turn or
  mirrored, shrunk to 2–15 % of the frame and pasted with a soft edge onto an empty bed or strip of the same split, then
  seen as a cheap crib camera sees it (:func:`crib_frame_look`: rails in front, infrared, blur, JPEG); and the
  same look on empty beds alone.

Split by photo group (``posture_data.presence_split``: 70 % train / 30 % test, Roboflow copies of one photo
together); a fifth of the train groups is the validation part that the thresholds are chosen on. The cell
head is fitted on every positive cell and as many sampled negative cells of each image. Writes
``finder.npz`` and ``metrics.json`` to ``--out`` (default ``models/finder``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.paths import bundled_models
from babymon.vision.baby_finder import (
    GRID,
    FeatureMaps,
    FinderModel,
    Letterbox,
    cell_features,
    cell_labels,
    grid_box,
    letterbox,
)
from babymon.vision.crops import ir_like
from babymon.vision.geometry import Box, iou
from babymon.vision.linear import LinearHead
from babymon_lab.vision.posture_data import DEFAULT_DATA, inpainted_negatives, presence_items, presence_split

SEED = 20261205
CELLS_PER_IMAGE = 24  # negative cells sampled per image (and at most this many positive ones)
CELL_THRESHOLD = 0.5  # cells at or over this P make the baby's box
# The finder only rules a baby out when it sees none anywhere: its present threshold keeps this share of validation
# babies (and is at most CELL_THRESHOLD). On real empty bassinets its best cell is as high as on babies
# (MODEL_CARD.md), so whether a located thing is a baby stays the presence model's call.
PRESENCE_RECALL = 0.995


@dataclass
class Sample:
    """One training or test image: its feature maps (uint8 as the model gives them), its baby boxes (pixels), where
    it comes from, its split."""

    fine: np.ndarray
    coarse: np.ndarray
    labels: np.ndarray  # (14, 14) cell_labels
    boxes: list
    letterbox: Letterbox
    source: str
    split: str


def split_of(group: str) -> str:
    """train / val / test for a photo group: presence_split's test part, and a fifth of its train part as val."""
    if presence_split(group) == "test":
        return "test"
    return "val" if hashlib.sha1(f"finder|{group}".encode()).digest()[0] < 0.2 * 256 else "train"


def crib_frame_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A frame as a cheap crib camera shows it: crib rails in front on 40 % (vertical bars, white, wood or grey,
    2–4 % wide, every 8–15 %), infrared on 30 % (``crops.ir_like``), a little blur on half, JPEG quality 25–70."""
    import cv2

    height, width = image.shape[:2]
    out = image.copy()
    if rng.random() < 0.4:
        period = rng.uniform(0.08, 0.15) * width
        bar = rng.uniform(0.02, 0.04) * width
        colour = np.array([(235, 235, 235), (70, 120, 170), (128, 128, 128)][int(rng.integers(3))], np.float32)
        shade = np.clip(colour * rng.uniform(0.8, 1.1), 0, 255).astype(np.uint8)
        x = rng.uniform(0, period)
        while x < width:
            out[:, int(x):int(min(x + bar, width))] = shade
            x += period
    if rng.random() < 0.3:
        out = ir_like(out, rng)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.5, 1.2))
    ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 71))])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def composite(baby: np.ndarray, box: Box, background: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    """The baby in ``box`` of ``baby`` (grown 5 %), turned and mirrored at random, shrunk to 2–15 % of
    ``background``'s area and pasted at a random place with a soft edge. Returns the frame and the baby's box."""
    import cv2

    height, width = baby.shape[:2]
    grow = 0.05 * max(box[2] - box[0], box[3] - box[1])
    x1, y1 = int(max(0, box[0] - grow)), int(max(0, box[1] - grow))
    x2, y2 = int(min(width, box[2] + grow)), int(min(height, box[3] + grow))
    cut = baby[y1:y2, x1:x2]
    inner = (box[0] - x1, box[1] - y1, box[2] - x1, box[3] - y1)
    for _ in range(int(rng.integers(4))):  # quarter turns clockwise: (x, y) → (h - y, x)
        h = cut.shape[0]
        cut = np.ascontiguousarray(np.rot90(cut, k=-1))
        inner = (h - inner[3], inner[0], h - inner[1], inner[2])
    if rng.random() < 0.5:
        w = cut.shape[1]
        cut = np.ascontiguousarray(cut[:, ::-1])
        inner = (w - inner[2], inner[1], w - inner[0], inner[3])
    bh, bw = background.shape[:2]
    share = rng.uniform(0.02, 0.15)
    scale = np.sqrt(share * bh * bw / max(1.0, (inner[2] - inner[0]) * (inner[3] - inner[1])))
    scale = min(scale, 0.9 * bw / cut.shape[1], 0.9 * bh / cut.shape[0])
    new_w, new_h = max(4, int(cut.shape[1] * scale)), max(4, int(cut.shape[0] * scale))
    small = cv2.resize(cut, (new_w, new_h), interpolation=cv2.INTER_AREA)
    px, py = int(rng.integers(0, bw - new_w + 1)), int(rng.integers(0, bh - new_h + 1))
    mask = np.zeros((new_h, new_w), np.float32)
    edge = max(1, min(new_w, new_h) // 12)
    mask[edge:-edge, edge:-edge] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), edge)[:, :, None]
    out = background.copy()
    region = out[py:py + new_h, px:px + new_w].astype(np.float32)
    out[py:py + new_h, px:px + new_w] = (mask * small + (1 - mask) * region).astype(np.uint8)
    s = new_w / cut.shape[1]
    return out, (px + inner[0] * s, py + inner[1] * s, px + inner[2] * s, py + inner[3] * s)


MIN_STRIP = 128  # background strips narrower than this (pixels) are not used as empty frames


def read_item(item) -> np.ndarray:
    """The image of a presence item, cut to its crop (a background strip) when it has one."""
    import cv2

    image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
    if item.crop is not None:
        x1, y1, x2, y2 = item.crop
        image = np.ascontiguousarray(image[y1:y2, x1:x2])
    return image


def empty_beds(data: Path, work: Path, items: list | None = None) -> list:
    """The empty frames: ``infant_detection`` photos with the baby inpainted out (written under ``work``) and the
    background strips of ``items`` (``presence_items``) at least ``MIN_STRIP`` pixels both ways."""
    items = presence_items(data) if items is None else items
    strips = [item for item in items if not item.present and min(item.crop[2] - item.crop[0],
                                                                  item.crop[3] - item.crop[1]) >= MIN_STRIP]
    return inpainted_negatives(data, work / "inpainted") + strips


def build_samples(data: Path, work: Path, progress: bool = True) -> list[Sample]:
    """Every real photo, inpainted bed, composite and empty look-alike, with its feature maps."""
    from tqdm import tqdm

    maps = FeatureMaps()
    rng = np.random.default_rng(SEED)
    items = presence_items(data)
    babies = [item for item in items if item.present and item.crop is None]
    empties = empty_beds(data, work, items)
    beds = {s: [e for e in empties if split_of(e.group) == s] for s in ("train", "val", "test")}
    jobs = [("real", item) for item in babies] + [("empty", item) for item in empties]
    jobs += [("composite", item) for item in babies for _ in range(2 if "detection" in item.source else 1)]
    jobs += [("empty look", item) for item in empties]
    samples = []
    for kind, item in tqdm(jobs, desc="finder features", unit="image", disable=not progress):
        split = split_of(item.group)
        image = read_item(item)
        boxes = list(item.boxes) if kind == "real" else []
        source = f"{item.source}" if kind in ("real", "empty") else f"{item.source} {kind}"
        if kind == "composite":
            bed = beds[split][int(rng.integers(len(beds[split])))]
            background = read_item(bed)
            image, box = composite(image, item.boxes[int(rng.integers(len(item.boxes)))], background, rng)
            image, boxes, source = crib_frame_look(image, rng), [box], f"{item.source.split()[0]} crib composite"
        elif kind == "empty look":
            image = crib_frame_look(image, rng)
        square = Letterbox.of(image.shape[1], image.shape[0])
        fine, coarse, _ = maps.run(letterbox(image))
        samples.append(Sample(fine=fine.astype(np.float16), coarse=coarse.astype(np.float16),
                              labels=cell_labels(boxes, square), boxes=boxes, letterbox=square,
                              source=source, split=split))
    return samples


def training_rows(samples: list[Sample], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for s in samples:
        feats = cell_features(s.fine.astype(np.float32), s.coarse.astype(np.float32))
        labels = s.labels.reshape(-1)
        pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        pick = np.concatenate([rng.permutation(pos)[:CELLS_PER_IMAGE], rng.permutation(neg)[:CELLS_PER_IMAGE]])
        x.append(feats[pick])
        y.append(labels[pick])
    return np.concatenate(x), np.concatenate(y).astype(np.int64)


def fit(x: np.ndarray, y: np.ndarray, c: float) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    model = LogisticRegression(C=c, max_iter=300, class_weight="balanced")
    model.fit(((x - mean) / scale).astype(np.float32), y)
    return LinearHead(mean=mean.astype(np.float64), scale=scale.astype(np.float64),
                      coef=model.coef_.astype(np.float64), intercept=model.intercept_.astype(np.float64))


def grids(head: LinearHead, samples: list[Sample]) -> list[np.ndarray]:
    model = FinderModel(head=head, cell_threshold=0.5, present_threshold=0.5)
    return [model.cell_probabilities(cell_features(s.fine.astype(np.float32), s.coarse.astype(np.float32)))
            .reshape(GRID, GRID) for s in samples]


def found(sample: Sample, probs: np.ndarray, cell_threshold: float) -> bool:
    """The grid's box is on a labelled baby: IoU ≥ 0.3, or the baby's centre is inside it."""
    box, _ = grid_box(probs, cell_threshold)
    if box is None:
        return False
    box = sample.letterbox.to_view(box)
    for b in sample.boxes:
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        if iou(box, b) >= 0.3 or (box[0] <= cx <= box[2] and box[1] <= cy <= box[3]):
            return True
    return False


def evaluate(samples: list[Sample], probs: list[np.ndarray], model: FinderModel) -> dict:
    """Per source: babies found (box on the baby and present) and empty frames read present."""
    out: dict = {}
    for source in sorted({s.source for s in samples}):
        chosen = [(s, p) for s, p in zip(samples, probs, strict=True) if s.source == source]
        if chosen[0][0].boxes:
            hits = [p.max() >= model.present_threshold and found(s, p, model.cell_threshold) for s, p in chosen]
            present = [p.max() >= model.present_threshold for s, p in chosen]
            out[source] = {"n": len(chosen), "present": float(np.mean(present)), "found": float(np.mean(hits))}
        else:
            out[source] = {"n": len(chosen), "read_present": float(np.mean([p.max() >= model.present_threshold
                                                                             for _, p in chosen]))}
    return out


def train(data: Path, out: Path, work: Path, log, progress: bool = True) -> dict:
    rng = np.random.default_rng(SEED)
    started = time.time()
    samples = build_samples(data, work, progress)
    log(f"{len(samples)} images with feature maps in {time.time() - started:.0f} s")
    parts = {s: [x for x in samples if x.split == s] for s in ("train", "val", "test")}
    x, y = training_rows(parts["train"], rng)
    log(f"cell rows: {len(y)} ({int(y.sum())} baby cells) from {len(parts['train'])} training images")
    results = {}
    for c in (0.002, 0.01, 0.05):
        head = fit(x, y, c)
        val = grids(head, parts["val"])
        baby = [float(p.max()) for s, p in zip(parts["val"], val, strict=True) if s.boxes]
        empty = [float(p.max()) for s, p in zip(parts["val"], val, strict=True) if not s.boxes]
        present = min(CELL_THRESHOLD, float(np.quantile(baby, 1 - PRESENCE_RECALL)))
        model = FinderModel(head=head, cell_threshold=CELL_THRESHOLD, present_threshold=present)
        false_present = float(np.mean([e >= present for e in empty]))
        found_share = float(np.mean([found(s, p, CELL_THRESHOLD) for s, p in zip(parts["val"], val, strict=True)
                                     if s.boxes]))
        results[c] = (0.1 * false_present - found_share, model, {"C": c, "present_threshold": present,
                                                            "val_empty_read_present": false_present,
                                                            "val_babies_found": found_share})
        log(f"C={c}: present threshold {present:.3f}; val empty frames read present {false_present:.3f}; val "
            f"babies found (box on the baby) {found_share:.3f}")
    _, model, chosen = min(results.values(), key=lambda r: r[0])
    test = grids(model.head, parts["test"])
    metrics = {"chosen": chosen, "candidates": [r[2] for r in results.values()],
               "images": {s: len(v) for s, v in parts.items()},
               "test": evaluate(parts["test"], test, model), "val": evaluate(parts["val"], grids(model.head, parts["val"]), model)}
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "finder.npz")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    for source, r in metrics["test"].items():
        log(f"test {source}: {r}")
    log(f"wrote {out / 'finder.npz'} in {time.time() - started:.0f} s")
    return metrics


def train_command(args: argparse.Namespace) -> int:
    """``babymon train finder``."""
    import tempfile

    work = getattr(args, "work", None) or Path(tempfile.gettempdir()) / "babymon-finder"
    out = args.out or bundled_models("finder")
    train(args.data or DEFAULT_DATA, out, work, lambda line: print(line, flush=True), progress=sys.stderr.isatty())
    from babymon.models import record_bundled

    record_bundled([out / "finder.npz"])  # the sha256 in models/manifest.json
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="babymon train finder", description=__doc__.split("\n")[0])
    from babymon_lab.commands import add_finder_train_arguments

    add_finder_train_arguments(parser)
    return train_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
