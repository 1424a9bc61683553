"""``babymon train face_state``: fit the face-state head (clear / pacifier / covered / face_not_visible).

    babymon train face_state [--data ../shared/data] [--out models/face_state] [--seed N] [--cache DIR] [--no-masks]

1. Photos and split from ``babymon_lab.vision.face_state_data`` (by photo prefix: Roboflow copies of one photo never
   straddle the split). Train groups are split again (15 %, by hash) into fit / validation.
2. Training crops: every base face as it is (clear), with a seeded pacifier and with two seeded covering occluders
   (cloth, hand, toy, pillow); face-down heads (×4, one per quarter turn); optionally adult faces with/without
   masks. Each crop is the labelled head box with box jitter (size ×0.8-1.45, centre ±8 %), a random quarter
   turn half of the time (every turn for the overhead face-down photos), a mirror half of the time and IR-like
   grayscale 30 % of the time. On top, "pipeline" crops:
   each fit image (clear, pacifier, covered, face-down) run through the locator and YuNet and cropped exactly as
   the running pipeline does (the detected face turned upright, else the pose head box).
3. One MobileNet embedding per crop (the runtime's ``ImageEmbedder``); a logistic-regression head (C chosen on
   validation macro-F1), then a bias on the covered logit chosen on validation: the smallest that gives covered
   recall ≥ 0.95 there (safety first), which also sets how many pacifiers get flagged.
4. Reports on the held-out test groups (clean head-box crops, jittered crops, IR-like grayscale crops, and pipeline
   crops) and on the 11 real pacifier / hand-over-mouth photos checked by eye; writes ``face_state.npz`` and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from babymon.vision.crops import ir_like
from babymon.vision.face_state import FACE_CLASSES, HEAD_FILE, HEAD_MARGIN, FACE_MARGIN, FaceStateHead
from babymon_lab.paths import bundled_models
from babymon_lab.vision.face_state_data import (
    DEFAULT_DATA,
    SPLIT_SEED,
    Photo,
    face_down_photos,
    face_part_photos,
    mask_photos,
    one_per_group,
    render,
    split_of,
)

DEFAULT_OUT = bundled_models("face_state")
C_GRID = (0.003, 0.01, 0.03, 0.1)
COVERED_RECALL_TARGET = 0.95  # on validation; the card's target is 0.90 on held-out data
VAL_FRACTION = 0.15
CACHE_VERSION = "v2"
COVERED = FACE_CLASSES.index("covered")
PACIFIER = FACE_CLASSES.index("pacifier")


# -------------------------------------------------------------------------------------------- crops

@dataclass(frozen=True)
class CropSpec:
    """How one training/eval crop is made from a photo."""

    photo: Photo
    label: str  # the face state painted / shown
    variant: int  # composite variant (seeds the occluder)
    jitter: bool
    turns: int  # quarter turns, or -1 for "random half of the time"
    gray: bool | None  # None: random (30 %)
    pipeline: bool = False  # crop as the running pipeline does: detected face, else the pose head box
    crib: bool = False  # pipeline crop of the image pasted at crib scale (babymon_lab.vision.crib_scale)


def augment_crop(image: np.ndarray, box: tuple[float, float, float, float] | None, rng: np.random.Generator,
                 jitter: bool, turns: int, gray: bool | None) -> np.ndarray:
    import cv2

    from babymon.vision.crops import crop_square

    height, width = image.shape[:2]
    if box is None:  # the face fills the photo (adult mask photos)
        box = (0.0, 0.0, float(width), float(height))
    x1, y1, x2, y2 = box
    if jitter:
        side = max(x2 - x1, y2 - y1)
        s = rng.uniform(0.8, 1.45)
        cx = (x1 + x2) / 2 + rng.normal(0, 0.08) * side
        cy = (y1 + y2) / 2 + rng.normal(0, 0.08) * side
        hw, hh = (x2 - x1) * s / 2, (y2 - y1) * s / 2
        box = (cx - hw, cy - hh, cx + hw, cy + hh)
    k = turns if turns >= 0 else (int(rng.integers(1, 4)) if rng.random() < 0.5 else 0)
    crop = crop_square(image, box, margin=HEAD_MARGIN, quarter_turns=k)
    if jitter and rng.random() < 0.5:
        crop = np.ascontiguousarray(crop[:, ::-1])
    if gray if gray is not None else rng.random() < 0.3:
        g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if jitter:
            g = g * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25) + rng.normal(0, 3, g.shape)
        crop = cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return crop


def spec_seed(spec: CropSpec, seed: int) -> list[int]:
    key = f"{spec.photo.path.name}|{spec.label}|{spec.variant}|{spec.jitter}|{spec.turns}|{spec.gray}"
    if spec.pipeline:
        key += "|pipeline"
    if spec.crib:
        key += "|crib"
    return [seed, int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big")]


class PipelineCropper:
    """The crop the running pipeline would classify: YuNet's best face (upright), else the pose head box
    (taken even when the presence model says "no baby", so that training sees those crops too), else the body
    box or the whole frame (``pipeline.head_region``)."""

    def __init__(self, embedder):
        from babymon.vision.face import YuNetDetector
        from babymon.vision.pose import BabyLocator

        self.locator = BabyLocator(embedder=embedder)
        self.detector = YuNetDetector()

    def crop(self, image: np.ndarray) -> np.ndarray:
        from babymon.vision.face_state import face_crop
        from babymon.vision.pipeline import best_face, head_region
        from babymon.vision.pose import head_box

        location = self.locator.locate(image)
        face = best_face(self.detector.detect(image), location.baby_box)
        head = location.head_box
        if head is None and location.pose is not None:
            head = head_box(location.pose, image.shape[1], image.shape[0])
        return face_crop(image, face, head or head_region(location, image), FACE_MARGIN, HEAD_MARGIN)



def embed_specs(specs: list[CropSpec], seed: int, cache: Path, name: str, embedder,
                cropper: PipelineCropper | None = None, beds=None) -> np.ndarray:
    """Embeddings of the specs' crops, cached in ``cache/<name>.npy`` (keyed by the spec list). ``beds``
    (``crib_scale.CribBeds``): where crib-scale specs are pasted."""
    import cv2
    from tqdm import tqdm

    from babymon_lab.vision.crib_scale import whole_at_crib_scale

    key = hashlib.sha1(("|".join(str(spec_seed(s, seed)) for s in specs) + CACHE_VERSION).encode()).hexdigest()[:16]
    target = cache / f"{name}_{key}.npy"
    if target.is_file():
        return np.load(target)
    out = np.empty((len(specs), 1024), np.float32)
    last: tuple[Path, str, int] | None = None
    image = None
    for i, spec in enumerate(tqdm(specs, desc=f"embed {name}", unit="crop")):
        if (spec.photo.path, spec.label, spec.variant) != last:
            if spec.photo.parts is None and spec.label == spec.photo.label:
                image = cv2.imread(str(spec.photo.path), cv2.IMREAD_COLOR)
            else:
                image, _ = render(spec.photo, spec.label, seed, spec.variant)
            last = (spec.photo.path, spec.label, spec.variant)
        rng = np.random.default_rng(spec_seed(spec, seed))
        if spec.crib:  # the crib-camera look includes its own infrared share
            assert cropper is not None and beds is not None
            crop = cropper.crop(whole_at_crib_scale(image, beds.pick(rng), rng, rng))
        elif spec.pipeline:
            assert cropper is not None
            gray = spec.gray if spec.gray is not None else bool(rng.random() < 0.3)
            crop = cropper.crop(ir_like(image) if gray else image)
        else:
            crop = augment_crop(image, spec.photo.box, rng, spec.jitter, spec.turns, spec.gray)
        out[i] = embedder.embed([crop])[0]
    cache.mkdir(parents=True, exist_ok=True)
    np.save(target, out)
    return out


def training_specs(base: list[Photo], down: list[Photo], masks: list[Photo]) -> list[CropSpec]:
    specs = []
    for photo in base:
        specs += [CropSpec(photo, label, v, True, -1, None)
                  for v, label in enumerate(("clear", "pacifier", "covered", "covered"))]
    for photo in down:
        specs += [CropSpec(photo, photo.label, 0, True, k, None) for k in range(4)]
    specs += [CropSpec(photo, photo.label, 0, True, 0, None) for photo in masks]
    return specs


def eval_specs(base: list[Photo], down: list[Photo], jitter: bool, gray: bool) -> list[CropSpec]:
    """One crop per (photo, state); the composites use variants 1 and 2, as the eval manifest does."""
    specs = []
    for photo in one_per_group(base):
        specs += [CropSpec(photo, label, v, jitter, -1 if jitter else 0, gray)
                  for v, label in enumerate(("clear", "pacifier", "covered"))]
    specs += [CropSpec(photo, photo.label, 0, jitter, -1 if jitter else 0, gray) for photo in one_per_group(down)]
    return specs


def pipeline_specs(base: list[Photo], down: list[Photo], gray: bool | None, every: bool = False) -> list[CropSpec]:
    """Crops as the running pipeline makes them (see :class:`PipelineCropper`), one per (photo, state); all
    photos with ``every``, else one per group (the composites use the eval manifest's variants 1 and 2)."""
    faces = base if every else one_per_group(base)
    specs = []
    for photo in faces:
        specs += [CropSpec(photo, label, v, False, 0, gray, pipeline=True)
                  for v, label in enumerate(("clear", "pacifier", "covered"))]
    photos = down if every else one_per_group(down)
    specs += [CropSpec(photo, photo.label, 0, False, 0, gray, pipeline=True) for photo in photos]
    return specs


def crib_specs(base: list[Photo], down: list[Photo], every: bool = False) -> list[CropSpec]:
    """:func:`pipeline_specs`, each image first pasted whole at crib scale on an empty bed (2–15 % of the frame,
    any quarter turn, crib rails, infrared, blur, JPEG: ``crib_scale.whole_at_crib_scale``)."""
    return [replace(spec, crib=True) for spec in pipeline_specs(base, down, False, every)]


# -------------------------------------------------------------------------------------------- fitting

def fit_logistic(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> FaceStateHead:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0).astype(np.float64)
    scale = x.std(axis=0).astype(np.float64) + 1e-6
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    model.fit((x - mean) / scale, y)
    k = len(FACE_CLASSES)
    coef = np.zeros((k, x.shape[1]))
    intercept = np.full(k, -30.0)  # a class with no training rows is never predicted
    for row, cls in enumerate(model.classes_):
        coef[cls] = model.coef_[row]
        intercept[cls] = model.intercept_[row]
    return FaceStateHead(FACE_CLASSES, mean, scale, coef, intercept, np.zeros(k), FACE_MARGIN, HEAD_MARGIN)


def with_bias(head: FaceStateHead, covered_bias: float) -> FaceStateHead:
    bias = np.zeros(len(FACE_CLASSES))
    bias[COVERED] = covered_bias
    return FaceStateHead(head.classes, head.mean, head.scale, head.coef, head.intercept, bias,
                         head.face_margin, head.head_margin)


def safety_numbers(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    covered = y == COVERED
    pacifier = y == PACIFIER
    return {"covered_recall": float(np.mean(predicted[covered] == COVERED)) if covered.any() else None,
            "pacifier_not_flagged": float(np.mean(predicted[pacifier] != COVERED)) if pacifier.any() else None}


def choose_covered_bias(head: FaceStateHead, x: np.ndarray, y: np.ndarray) -> float:
    """The smallest covered-logit bias (from a grid) that reaches the covered recall target on (x, y)."""
    for b in np.arange(-2.0, 4.01, 0.25):
        predicted = with_bias(head, float(b)).probabilities(x).argmax(axis=1)
        recall = safety_numbers(y, predicted)["covered_recall"]
        if recall is not None and recall >= COVERED_RECALL_TARGET:
            return float(b)
    return 4.0


def report(head: FaceStateHead, x: np.ndarray, y: np.ndarray) -> dict:
    from babymon_lab.vision.metrics import classification_report

    predicted = head.probabilities(x).argmax(axis=1)
    result = classification_report([FACE_CLASSES[i] for i in y], [FACE_CLASSES[i] for i in predicted],
                                   FACE_CLASSES)
    present = [c for c in FACE_CLASSES if result["per_class"][c]["support"]]
    result["macro_f1"] = float(np.mean([result["per_class"][c]["f1"] for c in present]))
    result.update(safety_numbers(y, predicted))
    return result


def labels_of(specs: list[CropSpec]) -> np.ndarray:
    return np.array([FACE_CLASSES.index(s.label) for s in specs])


def _val_group(group: str, seed: int) -> bool:
    digest = hashlib.sha1(f"val:{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < VAL_FRACTION


def train_command(args) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from babymon.vision.embedding import ImageEmbedder

    started = time.time()
    # the flags' defaults (babymon_lab.commands leaves them None so that building the parser imports nothing)
    args.data = args.data or DEFAULT_DATA
    args.out = args.out or DEFAULT_OUT
    args.seed = seed = SPLIT_SEED if args.seed is None else args.seed
    cache = args.cache or Path(tempfile.gettempdir()) / "babymon-face-state-cache"
    try:
        base, real = face_part_photos(args.data)
        down = face_down_photos(args.data)
        masks = [] if args.no_masks else mask_photos(args.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"train face_state: {exc}", file=sys.stderr)
        return 1
    embedder = ImageEmbedder(threads=1)

    def part(photos: list[Photo], which: str) -> list[Photo]:
        chosen = []
        for p in photos:
            if split_of(p.group, seed) == "test":
                if which == "test":
                    chosen.append(p)
            elif which != "test" and (which == "val") == _val_group(p.group, seed):
                chosen.append(p)
        return chosen

    cropper = PipelineCropper(embedder)
    fit_specs = training_specs(part(base, "fit"), part(down, "fit"), masks)
    val_specs = eval_specs(part(base, "val"), part(down, "val"), jitter=True, gray=None)
    test_sets = {
        "test_clean": eval_specs(part(base, "test"), part(down, "test"), jitter=False, gray=False),
        "test_jittered": eval_specs(part(base, "test"), part(down, "test"), jitter=True, gray=False),
        "test_ir_gray": eval_specs(part(base, "test"), part(down, "test"), jitter=False, gray=True),
        "test_pipeline": pipeline_specs(part(base, "test"), part(down, "test"), gray=False),
        "test_crib_scale": crib_specs(part(base, "test"), part(down, "test")),
        "real_checked_by_eye": [CropSpec(p, p.label, 0, False, 0, False) for p in real],
    }
    from babymon_lab.vision.crib_scale import CribBeds

    train_beds, test_beds = CribBeds(args.data, "train"), CribBeds(args.data, "test")
    fit_pipe = pipeline_specs(part(base, "fit"), part(down, "fit"), None, every=True)
    fit_parts = [(fit_specs, "fit", None), (fit_pipe, "fit_pipeline", cropper)]
    val_pipe = pipeline_specs(part(base, "val"), part(down, "val"), None)
    val_parts = [(val_specs, "val", None), (val_pipe, "val_pipeline", cropper)]
    if args.crib_scale:  # the same photos pasted small into empty beds, cropped as the pipeline does
        fit_parts.append((crib_specs(part(base, "fit"), part(down, "fit"), every=True), "fit_crib", cropper))
        val_parts.append((crib_specs(part(base, "val"), part(down, "val")), "val_crib", cropper))
    x_fit = np.vstack([embed_specs(specs, seed, cache, name, embedder, crops, train_beds)
                       for specs, name, crops in fit_parts])
    y_fit = np.concatenate([labels_of(specs) for specs, _, _ in fit_parts])
    x_val = np.vstack([embed_specs(specs, seed, cache, name, embedder, crops, train_beds)
                       for specs, name, crops in val_parts])
    y_val = np.concatenate([labels_of(specs) for specs, _, _ in val_parts])
    # the covered bias is chosen on the close-up validation crops only (its target was set there); at crib scale
    # a face the detector misses leaves the head nothing to tell covered from clear by (models/face_state/MODEL_CARD.md)
    close_up = np.concatenate([np.full(len(specs), name != "val_crib") for specs, name, _ in val_parts])

    choices = []
    for c in C_GRID:
        head = fit_logistic(x_fit, y_fit, c, seed)
        choices.append((report(head, x_val, y_val)["macro_f1"], c))
        print(f"C={c}: validation macro-F1 {choices[-1][0]:.3f}")
    best_c = max(choices)[1]
    # refit on fit + val with the chosen C; the bias comes from the val-only model's validation scores
    head_fit = fit_logistic(x_fit, y_fit, best_c, seed)
    covered_bias = choose_covered_bias(head_fit, x_val[close_up], y_val[close_up])
    head = with_bias(fit_logistic(np.vstack([x_fit, x_val]), np.concatenate([y_fit, y_val]), best_c, seed),
                     covered_bias)
    print(f"chosen C={best_c}, covered bias {covered_bias:+.2f}")
    if getattr(args, "training_sample", None):
        from babymon_lab.vision.training_sample import save_face_state_sample

        save_face_state_sample(args.training_sample, np.vstack([x_fit, x_val]), np.concatenate([y_fit, y_val]), seed,
                               best_c)
        print(f"wrote the training sample {args.training_sample}")

    metrics: dict = {
        "classes": list(FACE_CLASSES), "seed": seed, "C": best_c, "covered_bias": covered_bias,
        "crib_scale_training": bool(args.crib_scale),
        "validation": report(with_bias(head_fit, covered_bias), x_val, y_val),
        "counts": {"fit_crops": len(y_fit), "val_crops": len(y_val),
                   "fit_base_faces": len(part(base, "fit")), "mask_photos": len(masks),
                   "test_groups_faces": len(one_per_group(part(base, "test"))),
                   "test_groups_face_down": len(one_per_group(part(down, "test")))},
    }
    for name, specs in test_sets.items():
        x, y = embed_specs(specs, seed, cache, name, embedder, cropper, test_beds), labels_of(specs)
        metrics[name] = report(head, x, y)
        if name == "real_checked_by_eye":
            predicted = head.probabilities(x).argmax(axis=1)
            metrics[name]["rows"] = [{"file": s.photo.path.name, "label": s.label, "predicted": FACE_CLASSES[p]}
                                     for s, p in zip(specs, predicted, strict=True)]
        m = metrics[name]
        print(f"{name}: n={m['n']} acc={m['accuracy']:.3f} covered recall={m['covered_recall']} "
              f"pacifier not flagged={m['pacifier_not_flagged']}")

    # speed of the runtime path (crop + one embedding + head), one thread
    from babymon.vision.face_state import face_crop

    probe = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    timings = []
    for _ in range(30):
        t = time.perf_counter()
        head.probabilities(embedder.embed([face_crop(probe, None, (200.0, 100.0, 360.0, 260.0))]))
        timings.append((time.perf_counter() - t) * 1000)
    metrics["ms_per_face_state"] = float(np.median(timings[5:]))
    metrics["train_seconds"] = round(time.time() - started, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    head.save(args.out / HEAD_FILE)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    from babymon.models import record_bundled

    record_bundled([args.out / HEAD_FILE])  # the sha256 in models/manifest.json
    print(f"wrote {args.out / HEAD_FILE} and metrics.json ({metrics['ms_per_face_state']:.1f} ms per face state)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from babymon_lab.commands import add_face_state_train_arguments

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.face_state_train",
                                     description=__doc__.split("\n")[0])
    add_face_state_train_arguments(parser)
    return train_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
