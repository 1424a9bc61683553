"""``babymon eval face_state|posture --manifest CSV [--json]``: the whole vision pipeline on labelled images.

The manifest is a CSV with columns ``path,label`` (``path`` relative to the CSV file). Labels:

* ``face_state`` (old name ``occlusion``): ``clear``, ``pacifier``, ``covered``, ``face_not_visible``, ``no_baby``: compared with the
  pipeline's face state;
* ``posture``: ``supine``, ``prone``, ``side``, ``sitting``, ``standing``: compared with the pipeline's posture;
  an image where the pipeline finds no baby is predicted ``no_baby`` (a miss, listed in the confusion matrix).

Each image goes through the same path as a live frame (locate → face → face state → posture; one frame, no
temporal smoothing). The JSON holds ``n``, ``accuracy``, ``macro_f1`` (over the task's labels that occur in
the manifest, listed in ``macro_f1_labels``: a class with no images has no F1),
``per_class`` ({label: {precision, recall, f1, support}}), ``confusion_matrix`` ({"labels", "matrix": rows true,
columns predicted}) and ``ms_per_image`` (pipeline time per image, decoding excluded), plus ``task``,
``manifest`` and ``face_detector``; for ``face_state`` also ``covered_recall`` and ``pacifier_not_flagged`` (the
share of pacifier images not called covered).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from babymon.analyzers.base import AnalyzerUnavailable, FACE_STATES, POSTURES
from babymon_lab.vision.eval_face import ManifestError, read_manifest
from babymon_lab.vision.metrics import classification_report

TASK_LABELS: dict[str, tuple[str, ...]] = {"face_state": FACE_STATES, "posture": POSTURES}


def evaluate(task: str, manifest: Path, face_detector: str = "yunet", progress: bool = True,
             finder: bool = True, models: Path | None = None) -> dict:
    import cv2
    from tqdm import tqdm

    from babymon.vision.analyzer import build_face_detector
    from babymon.vision.pipeline import VisionPipeline
    from babymon_lab.vision.retinaface_export import prepare

    labels = TASK_LABELS[task]
    rows = read_manifest(manifest, labels)
    if not rows:
        raise ManifestError(f"manifest {manifest} has no rows")
    prepare(face_detector)
    # the shipped heads, or a refitted folder (loaded once; a broken one is refused by name)
    pipeline = VisionPipeline(face_detector=build_face_detector(face_detector), models=models, use_finder=finder)
    truth, predicted, elapsed, failures = [], [], 0.0, []
    for row in tqdm(rows, desc=f"eval {task}", unit="image", disable=not progress):
        image = cv2.imread(str(row.path), cv2.IMREAD_COLOR)
        if image is None:
            raise ManifestError(f"manifest {manifest} line {row.line}: cannot read image {row.path}")
        started = time.perf_counter()
        result = pipeline.analyze(image)
        elapsed += time.perf_counter() - started
        guess = result.face_state if task == "face_state" else (result.posture or "no_baby")
        truth.append(row.label)
        predicted.append(guess)
        if guess != row.label:
            failures.append({"path": str(row.path), "label": row.label, "predicted": guess})
    report_labels = labels if task == "face_state" else (*labels, "no_baby")
    report = classification_report(truth, predicted, report_labels)
    present = [label for label in labels if label in set(truth)]  # a class absent from the manifest has no F1
    report["macro_f1"] = sum(report["per_class"][label]["f1"] for label in present) / len(present)
    report["macro_f1_labels"] = present
    report["ms_per_image"] = 1000.0 * elapsed / len(rows)
    if task == "face_state":
        report["covered_recall"] = report["per_class"]["covered"]["recall"]
        pacifier = [p for t, p in zip(truth, predicted, strict=True) if t == "pacifier"]
        report["pacifier_not_flagged"] = (sum(p != "covered" for p in pacifier) / len(pacifier)) if pacifier else None
    report.update({"task": task, "manifest": str(manifest), "face_detector": face_detector,
                   "models": str(models) if models else "shipped",
                   "mistakes": failures[:50]})
    return report


def summary(report: dict) -> str:
    lines = [f"{report['task']}: n={report['n']} accuracy={report['accuracy']:.3f} macro_f1={report['macro_f1']:.3f} "
             f"ms/image={report['ms_per_image']:.1f}"]
    for label, stats in report["per_class"].items():
        if stats["support"] or stats["precision"]:
            lines.append(f"  {label:17s} precision={stats['precision']:.3f} recall={stats['recall']:.3f} n={stats['support']}")
    if report["task"] == "face_state":
        lines.append(f"  covered recall={report['covered_recall']:.3f} pacifier not flagged={report['pacifier_not_flagged']}")
    return "\n".join(lines)


def _command(task: str, args) -> int:
    if not args.manifest:
        print(f"babymon: eval {task} needs --manifest CSV", file=sys.stderr)
        return 1
    detector = getattr(args, "detector", None) or "yunet"
    try:
        report = evaluate(task, Path(args.manifest), detector, progress=not args.json,
                          finder=getattr(args, "finder", "on") != "off", models=getattr(args, "models", None))
    except (ManifestError, ValueError, AnalyzerUnavailable) as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0


def eval_face_state_command(args) -> int:
    return _command("face_state", args)


def eval_posture_command(args) -> int:
    return _command("posture", args)
