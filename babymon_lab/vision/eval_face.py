"""``babymon eval face --manifest CSV [--detector yunet|retinaface] [--json]``: how well a face detector finds
faces in labelled images.

The manifest is a CSV with columns ``path,label`` (``path`` relative to the CSV file, ``label`` ``face`` or
``no_face``) and optionally ``x1,y1,x2,y2``: a face box in the image's pixels. Scoring is per row:

* a ``no_face`` row is predicted ``face`` when the detector finds any face in the image;
* a ``face`` row without a box is predicted ``face`` when any face is found;
* a ``face`` row with a box is predicted ``face`` only when a detected box overlaps it with IoU ≥ 0.3 or the
  detected box's centre lies inside it (so an image with two babies has two rows, and each must be found).

The JSON holds ``n``, ``accuracy``, ``macro_f1``, ``per_class`` ({label: {precision, recall, f1, support}}),
``confusion_matrix`` ({"labels", "matrix": rows true, columns predicted}) and ``ms_per_image`` (detector time
per distinct image, reading excluded), plus ``task``, ``manifest``, ``detector``, ``angles``, ``max_side`` and
``score_threshold``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from babymon.vision.face import (
    DEFAULT_ANGLES,
    DEFAULT_MAX_SIDE,
    FACE_DETECTORS,
    Face,
    FaceDetector,
    RotatingDetector,
)
from babymon.vision.geometry import Box, centre, contains, iou
from babymon_lab.vision.metrics import classification_report

LABELS = ("face", "no_face")
DETECTORS = FACE_DETECTORS
YUNET_SCORE_THRESHOLD = 0.6
BOX_COLUMNS = ("x1", "y1", "x2", "y2")
MATCH_IOU = 0.3


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class Row:
    path: Path
    label: str
    box: Box | None
    line: int


def read_manifest(csv_path: Path, labels: Sequence[str] = LABELS) -> list[Row]:
    """Read and check a ``path,label[,x1,y1,x2,y2]`` manifest; image paths are resolved against its folder."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"manifest {csv_path} does not exist")
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ("path", "label") if c not in columns]
        if missing:
            raise ManifestError(f"manifest {csv_path}: missing column(s) {', '.join(missing)} (header: {columns})")
        has_box = [c for c in BOX_COLUMNS if c in columns]
        if has_box and len(has_box) != 4:
            raise ManifestError(f"manifest {csv_path}: box columns must be all of x1,y1,x2,y2, got {has_box}")
        rows = [_row(record, csv_path, line, labels, bool(has_box)) for line, record in enumerate(reader, start=2)]
    if not rows:
        raise ManifestError(f"manifest {csv_path}: no rows")
    return rows


def _row(record: dict, csv_path: Path, line: int, labels: Sequence[str], has_box: bool) -> Row:
    where = f"manifest {csv_path} line {line}"
    label = (record.get("label") or "").strip()
    if label not in labels:
        raise ManifestError(f"{where}: label {label!r} is not one of {', '.join(labels)}")
    rel = (record.get("path") or "").strip()
    if not rel:
        raise ManifestError(f"{where}: empty path")
    path = (csv_path.parent / rel).resolve()
    if not path.is_file():
        raise ManifestError(f"{where}: image {path} does not exist")
    box = None
    if has_box and any((record.get(c) or "").strip() for c in BOX_COLUMNS):
        try:
            box = tuple(float(record[c]) for c in BOX_COLUMNS)
        except (TypeError, ValueError):
            raise ManifestError(f"{where}: x1,y1,x2,y2 must all be numbers, got "
                                f"{[record.get(c) for c in BOX_COLUMNS]}") from None
        if not (box[0] < box[2] and box[1] < box[3]):
            raise ManifestError(f"{where}: box {box} needs x1 < x2 and y1 < y2")
        if label != "face":
            raise ManifestError(f"{where}: only 'face' rows may have a box")
    return Row(path=path, label=label, box=box, line=line)  # type: ignore[arg-type]


def matches(face_box: Box, truth: Box) -> bool:
    """A detection counts for a labelled face box when IoU ≥ 0.3 or its centre lies inside the labelled box."""
    return iou(face_box, truth) >= MATCH_IOU or contains(truth, centre(face_box))


def predict(row: Row, faces: list[Face]) -> str:
    if row.box is None:
        return "face" if faces else "no_face"
    return "face" if any(matches(f.box, row.box) for f in faces) else "no_face"


def evaluate(rows: list[Row], detector: FaceDetector) -> dict:
    """Run ``detector`` once per distinct image and score every row (see the module docstring)."""
    import cv2

    detections: dict[Path, list[Face]] = {}
    seconds = 0.0
    for row in rows:
        if row.path in detections:
            continue
        image = cv2.imread(str(row.path), cv2.IMREAD_COLOR)
        if image is None:
            raise ManifestError(f"line {row.line}: image {row.path} cannot be decoded")
        start = time.perf_counter()
        detections[row.path] = detector.detect(image)
        seconds += time.perf_counter() - start
    report = classification_report([r.label for r in rows], [predict(r, detections[r.path]) for r in rows], LABELS)
    report["ms_per_image"] = 1000.0 * seconds / len(detections)
    return report


def detector_defaults(detector: str) -> tuple[float, int | None]:
    """(score threshold, max_side) each detector uses by default."""
    if detector == "retinaface":
        from babymon.vision import retinaface

        return retinaface.DEFAULT_SCORE_THRESHOLD, retinaface.DEFAULT_MAX_SIDE
    if detector == "yunet":
        return YUNET_SCORE_THRESHOLD, DEFAULT_MAX_SIDE
    raise ValueError(f"detector: expected one of {', '.join(DETECTORS)}, got {detector!r}")


def build_detector(detector: str, angles: Sequence[float], score_threshold: float,
                   max_side: int | None, threads: int = 1) -> RotatingDetector:
    """A detector by name. ``threads``: ONNX Runtime threads for RetinaFace (YuNet uses OpenCV's global setting)."""
    detector_defaults(detector)  # checks the name
    if detector == "retinaface":
        from babymon.vision.retinaface import RetinaFaceDetector
        from babymon_lab.vision.retinaface_export import prepare

        prepare(detector)
        return RetinaFaceDetector(angles=angles, score_threshold=score_threshold, max_side=max_side, threads=threads)
    from babymon.vision.face import YuNetDetector

    return YuNetDetector(angles=angles, score_threshold=score_threshold, max_side=max_side)


def run(manifest: Path, angles: Sequence[float] = DEFAULT_ANGLES, score_threshold: float | None = None,
        max_side: int | None = DEFAULT_MAX_SIDE, detector: str = "yunet") -> dict:
    """Evaluate ``detector`` on ``manifest``; ``score_threshold`` None: the detector's default."""
    if score_threshold is None:
        score_threshold = detector_defaults(detector)[0]
    rows = read_manifest(manifest)
    report = evaluate(rows, build_detector(detector, angles, score_threshold, max_side))
    return {"task": "face", "manifest": str(manifest), "detector": detector, "angles": list(angles),
            "max_side": max_side, "score_threshold": score_threshold, **report}


def summary(report: dict) -> str:
    lines = [f"{report.get('detector', 'yunet')}: {report['n']} rows: accuracy {report['accuracy']:.3f}, "
             f"macro F1 {report['macro_f1']:.3f}, {report['ms_per_image']:.1f} ms/image"]
    for label, c in report["per_class"].items():
        lines.append(f"  {label:8s} precision {c['precision']:.3f} recall {c['recall']:.3f} support {c['support']}")
    cm = report["confusion_matrix"]
    lines.append(f"  confusion (rows true, columns predicted {cm['labels']}): {cm['matrix']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- command line

def parse_angles(text: str) -> tuple[float, ...]:
    """``"0,90,180,270"`` → (0.0, 90.0, 180.0, 270.0)."""
    try:
        angles = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--angles: expected comma-separated degrees such as 0,90,180,270, got {text!r}") from None
    if not angles:
        raise ValueError("--angles: give at least one angle (0 = upright)")
    return angles


def eval_face_command(args) -> int:
    """``babymon eval face --manifest CSV [--json] [--angles ...]``."""
    import json
    import sys

    from babymon.analyzers.base import AnalyzerUnavailable

    if not args.manifest:
        print("babymon: eval face needs --manifest CSV", file=sys.stderr)
        return 1
    try:
        max_side = detector_defaults(args.detector)[1] if args.max_side is None else (args.max_side or None)
        report = run(Path(args.manifest), parse_angles(args.angles), args.score_threshold, max_side, args.detector)
    except (ManifestError, ValueError, AnalyzerUnavailable) as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0
