"""How much a nursery refit helps, measured on nurseries nobody trained on.

    python -m babymon_lab.vision.nursery_eval [--data ../shared/data] [--json OUT] [--shares 0.1,0.5,1]

* ``crib_cam`` (hand-labelled monitor frames, evaluation only): per group (one recording or camera) with at least
  8 frames, the frames in name order are cut in two halves; the heads are refitted on one half's labels and both
  the shipped and the refitted heads are scored on the other half, then the halves swap (2 folds). The boxes and
  labels another model drew into these pixels are the same on both halves, which makes this optimistic.
* a learning curve: only the first n frames of the labelled half (n = 2, 5, 10, 15).
* frames without drawings: one frame a second of the two test videos in ``../shared/data/video``, labelled by eye
  (:data:`VIDEO_LABELS`), first half refitted on, second half scored.

Features are extracted once per frame (the shipped pipeline's looks) and cached in ``$TMPDIR/babymon-nursery-eval``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

from babymon.nursery.folder import Label
from babymon.nursery.refit import NURSERY_SHARE, LabelledFrame, refit, refusals, score, thumbnail

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CACHE = Path(tempfile.gettempdir()) / "babymon-nursery-eval"
MIN_GROUP = 8
CURVE = (2, 5, 10, 15)
# What the two clips show, by eye (every sampled frame): a newborn on its back, face uncovered.
VIDEO_LABELS = {"newborn_supine_720p_aac.mp4": Label("supine", "clear"),
                "overhead_supine_portrait_aac.mp4": Label("supine", "clear")}


def crib_cam_labels(data: Path) -> list[tuple[Path, str, Label]]:
    """(image, group, label) of every crib_cam frame; posture "unknown" and face "no_baby" carry no label."""
    folder = data / "vision" / "crib_cam"
    rows = []
    with (folder / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            posture = "" if row["posture"] == "unknown" else row["posture"]
            face = "" if row["face_state"] in ("no_baby", "unknown") or posture == "no_baby" else row["face_state"]
            rows.append((folder / "images" / row["file"], row["group"], Label(posture, face)))
    return rows


def video_frames(data: Path, every: float = 1.0) -> list[tuple[Path, str, Label]]:
    """One frame every ``every`` seconds of each labelled clip, written as JPEG (640 wide) into the cache."""
    import cv2

    out = []
    for name, label in VIDEO_LABELS.items():
        video = data / "video" / name
        if not video.is_file():
            continue
        folder = CACHE / "video" / video.stem
        folder.mkdir(parents=True, exist_ok=True)
        capture = cv2.VideoCapture(str(video))
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        index = kept = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % max(1, round(fps * every)) == 0:
                scale = 640 / frame.shape[1]
                frame = cv2.resize(frame, (640, round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
                path = folder / f"{kept:04d}.jpg"
                if not path.exists():
                    cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
                out.append((path, video.stem, label))
                kept += 1
            index += 1
        capture.release()
    return out


def features_of(rows: list[tuple[Path, str, Label]], name: str) -> list[LabelledFrame]:
    import cv2
    from tqdm import tqdm

    from babymon.nursery.features import extract
    from babymon.vision.pipeline import VisionPipeline

    cache = CACHE / f"{name}.pkl"
    if cache.is_file():
        with cache.open("rb") as handle:
            return pickle.load(handle)
    pipeline = VisionPipeline()
    frames = []
    for path, group, label in tqdm(rows, desc=f"features {name}", unit="frame"):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        frames.append(LabelledFrame(name=f"{group}/{path.name}", features=extract(pipeline, image), label=label,
                                    thumbnail=thumbnail(image)))
    CACHE.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as handle:
        pickle.dump(frames, handle)
    return frames


def by_group(frames: list[LabelledFrame]) -> dict[str, list[LabelledFrame]]:
    groups: dict[str, list[LabelledFrame]] = {}
    for frame in sorted(frames, key=lambda f: f.name):
        groups.setdefault(frame.name.split("/")[0], []).append(frame)
    return groups


def summary(report: dict) -> dict:
    return {task: {"macro_f1": report[task]["macro_f1"], "accuracy": report[task]["accuracy"],
                   "danger_recall": report[task]["danger_recall"], "n": report[task]["n"]}
            for task in ("posture", "face_state")}


def halves(frames: list[LabelledFrame]) -> list[tuple[list[LabelledFrame], list[LabelledFrame]]]:
    middle = len(frames) // 2
    return [(frames[:middle], frames[middle:]), (frames[middle:], frames[:middle])]


def compare(shipped, samples, fit: list[LabelledFrame], test: list[LabelledFrame], share: float,
            sample_only=None) -> dict:
    """Shipped vs refitted on ``test``; ``sample_only``: the heads refitted on the training sample alone (no
    nursery frame), to tell what the nursery's frames add from what the sample's recipe adds."""
    refitted = refit(shipped, samples, fit, share)
    before, after = score(shipped, test), score(refitted, test)
    out = {"n_fit": len(fit), "n_test": len(test), "shipped": summary(before), "refitted": summary(after),
           "check_would_refuse": refusals(before, after, len(test))}
    if sample_only is not None:
        out["sample_only"] = summary(score(sample_only, test))
    return out


def mean_delta(results: list[dict], task: str) -> float | None:
    deltas = [r["refitted"][task]["macro_f1"] - r["shipped"][task]["macro_f1"] for r in results
              if r["shipped"][task]["macro_f1"] is not None]
    return float(np.mean(deltas)) if deltas else None


def pooled(results: list[dict], task: str, which: str) -> float | None:
    values = [r[which][task]["macro_f1"] for r in results if r[which][task]["macro_f1"] is not None]
    return float(np.mean(values)) if values else None


def danger_changes(results: list[dict]) -> dict:
    """Per danger class: how many folds lost / gained recall."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for task in ("posture", "face_state"):
            for label, recall in r["shipped"][task]["danger_recall"].items():
                after = r["refitted"][task]["danger_recall"][label]
                entry = out.setdefault(label, {"lower": 0, "same": 0, "higher": 0})
                entry["lower" if after < recall - 1e-9 else "higher" if after > recall + 1e-9 else "same"] += 1
    return out


def is_empty(frame: LabelledFrame) -> bool:
    """A frame labelled as having no baby in it."""
    return frame.label.posture == "no_baby" or frame.label.face_state == "no_baby"


def empty_crib_curve(shipped, samples, frames: list[LabelledFrame], draws: int = 10, babies: int = 5,
                     seed: int = 0) -> dict[int, dict[str, float]]:
    """One scene with empty-crib frames (``frames``): ``k`` empty frames and ``babies`` baby frames labelled at
    random (``draws`` times), the heads refitted on them, and the other frames scored: the share of the other
    empty frames read "no baby", how many of them read ``covered`` (mean per draw), and the share of the other
    baby frames read "no baby". ``k`` = 0 is the shipped heads on every frame."""
    import random

    from babymon.nursery.features import predict

    empty = [f for f in frames if is_empty(f)]
    baby = [f for f in frames if not is_empty(f)]

    def scored(heads, test: list[LabelledFrame]) -> tuple[float, int]:
        answers = [predict(heads, f.features) for f in test]
        return (sum(a.posture == "no_baby" for a in answers) / len(test) if test else 0.0,
                sum(a.face_state == "covered" for a in answers))

    shipped_empty, shipped_covered = scored(shipped, empty)
    out = {0: {"empty_no_baby": shipped_empty, "empty_covered": float(shipped_covered),
               "baby_no_baby": scored(shipped, baby)[0], "empty_scored": len(empty)}}
    rng = random.Random(seed)
    for k in range(1, min(4, len(empty) - 1)):
        rows = []
        for _ in range(draws):
            fit = rng.sample(empty, k) + rng.sample(baby, min(babies, len(baby)))
            heads = refit(shipped, samples, fit, NURSERY_SHARE)
            no_baby, covered = scored(heads, [f for f in empty if f not in fit])
            rows.append((no_baby, covered, scored(heads, [f for f in baby if f not in fit])[0]))
        mean = np.mean(rows, axis=0)
        out[k] = {"empty_no_baby": float(mean[0]), "empty_covered": float(mean[1]), "baby_no_baby": float(mean[2]),
                  "empty_scored": len(empty) - k}
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.nursery_eval")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    parser.add_argument("--shares", default=f"0.1,0.25,{NURSERY_SHARE},1,2",
                        help="nursery shares to compare (default %(default)s)")
    parser.add_argument("--sample-weight", type=float, default=None,
                        help="try this babymon.nursery.refit.SAMPLE_WEIGHT instead of the shipped one")
    args = parser.parse_args(argv)
    if args.sample_weight is not None:
        import babymon.nursery.refit as refit_module

        refit_module.SAMPLE_WEIGHT = args.sample_weight
    if not (args.data / "vision" / "crib_cam" / "labels.csv").is_file():
        print(f"no crib_cam in {args.data}", file=sys.stderr)
        return 2
    from babymon.nursery.heads import load_heads
    from babymon.nursery.sample import load_sample

    shipped = load_heads(None)
    samples = {head: load_sample(head) for head in ("posture", "presence", "face_state")}
    crib = by_group(features_of(crib_cam_labels(args.data), "crib_cam"))
    video = by_group(features_of(video_frames(args.data), "video"))
    out: dict = {"shares": {}, "groups": {}, "curve": {}, "video": {}}
    shares = [float(s) for s in args.shares.split(",")]
    groups = {g: frames for g, frames in crib.items() if len(frames) >= MIN_GROUP}
    baseline = refit(shipped, samples, [], NURSERY_SHARE)  # the sample alone, no nursery frame
    for share in shares:
        results = [compare(shipped, samples, fit, test, share) for frames in groups.values()
                   for fit, test in halves(frames)]
        out["shares"][share] = {"posture_delta": mean_delta(results, "posture"),
                                "face_state_delta": mean_delta(results, "face_state"),
                                "danger": danger_changes(results)}
        print(f"share {share:g}: mean macro-F1 change posture {out['shares'][share]['posture_delta']:+.3f}, "
              f"face state {out['shares'][share]['face_state_delta']:+.3f}; danger recall folds "
              f"{json.dumps(out['shares'][share]['danger'])}", flush=True)
    share = NURSERY_SHARE
    print(f"\nper group, share {share:g} (2 folds: each half refitted on, the other scored):")
    for group, frames in groups.items():
        folds = [compare(shipped, samples, fit, test, share, baseline) for fit, test in halves(frames)]
        out["groups"][group] = folds
        for task in ("posture", "face_state"):
            before, after = pooled(folds, task, "shipped"), pooled(folds, task, "refitted")
            alone = pooled(folds, task, "sample_only")
            if before is None:
                continue
            recalls = "; ".join(f"{label} {sum(f['shipped'][task]['danger_recall'].get(label, 0) for f in folds) / 2:.2f}"
                                f"→{sum(f['refitted'][task]['danger_recall'].get(label, 0) for f in folds) / 2:.2f}"
                                for label in sorted({k for f in folds for k in f['shipped'][task]['danger_recall']}))
            print(f"  {group:26s} n={len(frames):2d} {task:10s} macro-F1 {before:.3f} → {after:.3f} "
                  f"(sample alone {alone:.3f})  {recalls}")
    print("\nlearning curve (labelled frames from one half, scored on the other, mean over groups and folds):")
    for n in CURVE:
        results = [compare(shipped, samples, fit[:n], test, share, baseline) for frames in groups.values()
                   for fit, test in halves(frames) if len(fit) >= n]
        if not results:
            continue
        out["curve"][n] = {"folds": len(results), **{f"{task}_{which}": pooled(results, task, which)
                                                     for task in ("posture", "face_state")
                                                     for which in ("shipped", "sample_only", "refitted")}}
        c = out["curve"][n]
        print(f"  n={n:2d} ({len(results)} folds): posture {c['posture_shipped']:.3f} → {c['posture_refitted']:.3f} "
              f"(sample alone {c['posture_sample_only']:.3f}), face state {c['face_state_shipped']:.3f} → "
              f"{c['face_state_refitted']:.3f} (sample alone {c['face_state_sample_only']:.3f})")
    print("\nframes without drawings (test videos, one frame a second; first half refitted on, second scored):")
    for group, frames in video.items():
        middle = len(frames) // 2
        result = compare(shipped, samples, frames[:middle], frames[middle:], share, baseline)
        out["video"][group] = result
        print(f"  {group:30s} n={len(frames)} posture accuracy {result['shipped']['posture']['accuracy']:.3f} → "
              f"{result['refitted']['posture']['accuracy']:.3f} (sample alone "
              f"{result['sample_only']['posture']['accuracy']:.3f}), face state accuracy "
              f"{result['shipped']['face_state']['accuracy']:.3f} → {result['refitted']['face_state']['accuracy']:.3f}"
              f" (sample alone {result['sample_only']['face_state']['accuracy']:.3f})")
    print("\nan empty bassinet (the crib_cam photo series with empty frames): k empty + 5 baby frames labelled at "
          "random, 10 draws, the rest scored:")
    out["empty_crib"] = {}
    for group, frames in crib.items():
        if not any(is_empty(f) for f in frames):
            continue
        out["empty_crib"][group] = curve = empty_crib_curve(shipped, samples, frames)
        for k, c in curve.items():
            print(f"  {group:26s} k={k} other empty frames read no baby {c['empty_no_baby']:.2f}, covered "
                  f"{c['empty_covered']:.1f} of {c['empty_scored']}; other babies read no baby {c['baby_no_baby']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
