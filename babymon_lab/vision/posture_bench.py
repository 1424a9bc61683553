"""Time the locator and the posture classifier per frame (prints numbers; no pass/fail).

    python -m babymon_lab.vision.posture_bench [--data ../shared/data] [--images 80] [--size 640x480]
    python -m babymon_lab.vision.posture_bench --manifest posture_test.csv     # accuracy of locator + posture only

Runs over held-out infant_posture photos resized to ``--size``: one MoveNet pass, the crop embedding,
``BabyLocator.locate`` (1–2 MoveNet passes + embedding + presence) and ``PostureClassifier.predict`` (embedding
reused), one thread each. Medians and means in ms, and how often the locator ran its second (upright) pass.

With ``--manifest`` (``path,label`` as written by ``python -m babymon_lab.vision.posture_data manifest``) it instead
scores this part alone (no face detector, no face state; a photo where no baby is found still gets the
classifier's answer, and is counted under ``not_present``) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from babymon_lab.vision.posture_data import DEFAULT_DATA, read_posture_images, split_images


def main(argv: list[str] | None = None) -> int:
    import cv2

    from babymon.vision.pose import BabyLocator, body_crop, upright_turns
    from babymon.vision.posture import PostureClassifier

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.posture_bench")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=80)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT the photos are resized to")
    parser.add_argument("--manifest", type=Path, help="score locator + posture on this path,label CSV instead")
    args = parser.parse_args(argv)
    if args.manifest:
        return score_manifest(args.manifest)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"posture_bench: --size {args.size!r}: expected WIDTHxHEIGHT, e.g. 640x480", file=sys.stderr)
        return 2
    photos = split_images(read_posture_images(args.data))["test"][: args.images]
    frames = [cv2.resize(cv2.imread(str(p.path)), (width, height)) for p in photos]
    locator = BabyLocator(threads=1)
    classifier = PostureClassifier(embedder=locator.embedder)
    for frame in frames[:3]:  # warm-up
        classifier.predict(frame, locator.locate(frame))
    times: dict[str, list[float]] = {"movenet pass": [], "crop embedding": [], "locate": [], "posture predict": []}
    second = 0
    for frame in frames:
        started = time.perf_counter()
        pose = locator.estimator.estimate(frame)
        times["movenet pass"].append(time.perf_counter() - started)
        second += upright_turns(pose) != 0
        crop, _ = body_crop(frame, pose)
        if locator.embedder is not None:
            started = time.perf_counter()
            locator.embedder.embed([crop])
            times["crop embedding"].append(time.perf_counter() - started)
        started = time.perf_counter()
        location = locator.locate(frame)
        times["locate"].append(time.perf_counter() - started)
        started = time.perf_counter()
        classifier.predict(frame, location)
        times["posture predict"].append(time.perf_counter() - started)
    print(f"{len(frames)} frames {width}x{height}, 1 thread")
    for name, values in times.items():
        if values:
            print(f"  {name:16s} median {1000 * np.median(values):6.1f} ms   mean {1000 * np.mean(values):6.1f} ms")
    print(f"  second (upright) MoveNet pass on {second / max(len(frames), 1):.0%} of frames")
    return 0


def score_manifest(manifest: Path) -> int:
    import csv
    import json

    import cv2

    from babymon.analyzers.base import POSTURES
    from babymon.vision.pose import BabyLocator
    from babymon.vision.posture import PostureClassifier
    from babymon_lab.vision.metrics import classification_report

    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    locator = BabyLocator(threads=1)
    classifier = PostureClassifier(embedder=locator.embedder)
    truth, predicted, not_present, seconds = [], [], 0, 0.0
    for n, row in enumerate(rows, start=2):
        image = cv2.imread(str(manifest.parent / row["path"]))
        if image is None or row["label"] not in POSTURES:
            print(f"posture_bench: {manifest} line {n}: unreadable image {row['path']!r} or label {row['label']!r}",
                  file=sys.stderr)
            return 2
        started = time.perf_counter()
        location = locator.locate(image)
        probs = classifier.predict(image, location)
        seconds += time.perf_counter() - started
        not_present += not location.baby_present
        truth.append(row["label"])
        predicted.append(max(probs, key=probs.__getitem__))
    report = classification_report(truth, predicted, POSTURES)
    present = [c for c in POSTURES if report["per_class"][c]["support"]]
    report["macro_f1_over_present_classes"] = float(np.mean([report["per_class"][c]["f1"] for c in present]))
    report["not_present"] = not_present
    report["ms_per_image"] = 1000 * seconds / max(len(rows), 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
