"""The crib-camera evaluation set (``../shared/data/vision/crib_cam``): manifests, and a report by group.

The set is real baby-monitor frames, hand-labelled (``labels.csv``: file, posture, face_state, subject, ir,
adult_present, confidence, group, note). Another model's boxes are drawn into its pixels, so it is for
**evaluating and choosing only, never for training** (nothing in the lab reads it for training).

    python -m babymon_lab.vision.crib_cam manifest OUT_DIR     # posture / face_state manifests, all, day, ir
    babymon eval posture --manifest OUT_DIR/crib_posture.csv --json   # the standard eval on them
    python -m babymon_lab.vision.crib_cam report [--json] [--predictions CSV]   # every target, by group

Scoring rules (the set's README): posture ``unknown`` and crawling on all fours ("all fours" in the note) are
left out of posture scores; empty frames (``no_baby``) are scored for presence and face state, not posture.
A "face-down" frame is one labelled prone whose face is not visible or covered.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from babymon.analyzers.base import FACE_STATES, POSTURES
from babymon_lab.vision.metrics import classification_report

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "vision" / "crib_cam"
DANGER_FACE = ("covered", "face_not_visible")


@dataclass(frozen=True)
class CribFrame:
    path: Path
    posture: str  # a POSTURES label, "no_baby" or "unknown"
    face_state: str
    subject: str
    ir: bool
    group: str
    note: str

    @property
    def scores_posture(self) -> bool:
        return self.posture in POSTURES and "all fours" not in self.note

    @property
    def face_down(self) -> bool:
        return self.posture == "prone" and self.face_state in DANGER_FACE


@dataclass(frozen=True)
class Prediction:
    posture: str  # a POSTURES label or "no_baby"
    face_state: str
    presence: float
    ms: float


def read_frames(data: Path = DEFAULT_DATA) -> list[CribFrame]:
    labels = data / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} does not exist (the crib_cam set lives in ../shared/data/vision/crib_cam)")
    frames = []
    with labels.open(newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            path = data / "images" / row["file"]
            if not path.is_file():
                raise FileNotFoundError(f"{labels} line {line}: image {path} does not exist")
            if row["face_state"] not in FACE_STATES or row["posture"] not in (*POSTURES, "no_baby", "unknown"):
                raise ValueError(f"{labels} line {line}: unknown posture {row['posture']!r} or face state "
                                 f"{row['face_state']!r}")
            frames.append(CribFrame(path=path, posture=row["posture"], face_state=row["face_state"],
                                    subject=row["subject"], ir=row["ir"] == "yes", group=row["group"],
                                    note=row.get("note", "")))
    return frames


def write_manifests(frames: Sequence[CribFrame], out_dir: Path) -> list[Path]:
    """``crib_posture[_day|_ir].csv`` and ``crib_face_state[_day|_ir].csv`` (``path,label,group``; paths
    relative to ``out_dir``), in the format ``babymon eval posture|face_state --manifest`` reads."""
    import os

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for task in ("posture", "face_state"):
        for part, keep in (("", lambda f: True), ("_day", lambda f: not f.ir), ("_ir", lambda f: f.ir)):
            path = out_dir / f"crib_{task}{part}.csv"
            with path.open("w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["path", "label", "group"])
                for frame in frames:
                    if not keep(frame) or (task == "posture" and not frame.scores_posture):
                        continue
                    label = frame.posture if task == "posture" else frame.face_state
                    writer.writerow([os.path.relpath(frame.path, out_dir), label, frame.group])
            written.append(path)
    return written


def predict(frames: Sequence[CribFrame], face_detector: str = "yunet", progress: bool = True,
            posture_models: Path | None = None, models: Path | None = None) -> list[Prediction]:
    """The vision pipeline on every frame, as a live frame (one frame, no smoothing). ``posture_models``: a
    folder with posture.npz, side.json and presence.json (``babymon train posture --out``) instead of the shipped;
    ``models``: a heads folder with those and face_state.npz (as ``vision.models`` and ``babymon eval --models``)."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.analyzer import build_face_detector
    from babymon.vision.pipeline import VisionPipeline

    locator = posture = None
    if posture_models is not None:
        from babymon.vision.pose import BabyLocator, PresenceModel
        from babymon.vision.posture import PostureClassifier

        locator = BabyLocator(presence=PresenceModel.load(posture_models / "presence.json"))
        posture = PostureClassifier(model_dir=posture_models)
    pipeline = VisionPipeline(locator=locator, posture=posture, face_detector=build_face_detector(face_detector),
                              models=models)
    out = []
    for frame in tqdm(frames, desc="crib_cam", unit="frame", disable=not progress):
        image = cv2.imread(str(frame.path), cv2.IMREAD_COLOR)
        started = time.perf_counter()
        result = pipeline.analyze(image)
        ms = (time.perf_counter() - started) * 1000.0
        out.append(Prediction(posture=result.posture or "no_baby", face_state=result.face_state,
                              presence=result.presence_score, ms=ms))
    return out


def _share(items: list[bool]) -> float | None:
    return sum(items) / len(items) if items else None


def score(frames: Sequence[CribFrame], predictions: Sequence[Prediction]) -> dict:
    """Every number the crib-camera targets name, for these frames (pure)."""
    pairs = list(zip(frames, predictions, strict=True))
    posture = [(f.posture, p.posture) for f, p in pairs if f.scores_posture]
    out: dict = {"frames": len(pairs)}
    if posture:
        truth, guess = zip(*posture, strict=True)
        report = classification_report(truth, guess, (*POSTURES, "no_baby"))
        present = [c for c in POSTURES if c in truth]
        out["posture"] = {
            "n": len(posture), "accuracy": report["accuracy"],
            "macro_f1": sum(report["per_class"][c]["f1"] for c in present) / len(present),
            "macro_f1_labels": present,
            "recall": {c: report["per_class"][c]["recall"] for c in present},
            "supine_read_prone": _share([g == "prone" for t, g in posture if t == "supine"]),
            "confusion_matrix": report["confusion_matrix"]}
    empty = [p for f, p in pairs if f.posture == "no_baby"]
    out["empty"] = {"n": len(empty), "no_baby": _share([p.face_state == "no_baby" for p in empty]),
                    "covered": sum(p.face_state == "covered" for p in empty)}
    down = [p for f, p in pairs if f.face_down]
    out["face_down"] = {"n": len(down), "not_visible_or_covered": _share([p.face_state in DANGER_FACE for p in down]),
                        "clear": sum(p.face_state == "clear" for p in down)}
    faces = [(f.face_state, p.face_state) for f, p in pairs]
    truth, guess = zip(*faces, strict=True)
    report = classification_report(truth, guess, FACE_STATES)
    present = [c for c in FACE_STATES if c in truth]
    out["face_state"] = {"n": len(faces), "accuracy": report["accuracy"],
                         "macro_f1": sum(report["per_class"][c]["f1"] for c in present) / len(present),
                         "recall": {c: report["per_class"][c]["recall"] for c in present},
                         "baby_read_no_baby": sum(t != "no_baby" and g == "no_baby" for t, g in faces),
                         "confusion_matrix": report["confusion_matrix"]}
    out["ms_per_frame"] = sum(p.ms for _, p in pairs) / len(pairs) if pairs else None
    return out


def report(frames: Sequence[CribFrame], predictions: Sequence[Prediction]) -> dict:
    """:func:`score` over all frames, day and IR apart, and per group."""
    pairs = list(zip(frames, predictions, strict=True))

    def part(keep) -> dict:
        chosen = [(f, p) for f, p in pairs if keep(f)]
        return score([f for f, _ in chosen], [p for _, p in chosen]) if chosen else {"frames": 0}

    groups = sorted({f.group for f in frames})
    return {"all": part(lambda f: True), "day": part(lambda f: not f.ir), "ir": part(lambda f: f.ir),
            "groups": {g: part(lambda f, g=g: f.group == g) for g in groups}}


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def summary(result: dict) -> str:
    lines = ["| part | frames | posture macro-F1 | posture acc | prone recall | supine→prone | empty → no_baby "
             "| empty → covered | face-down → not visible/covered | face-state acc |", "|" + "---|" * 10]
    rows = [("all", result["all"]), ("day", result["day"]), ("ir", result["ir"])]
    rows += [(g, r) for g, r in result["groups"].items()]
    for name, r in rows:
        if not r.get("frames"):
            continue
        p = r.get("posture", {})
        lines.append(f"| {name} | {r['frames']} | {_fmt(p.get('macro_f1'))} | {_fmt(p.get('accuracy'))} "
                     f"| {_fmt(p.get('recall', {}).get('prone'))} | {_fmt(p.get('supine_read_prone'))} "
                     f"| {_fmt(r['empty']['no_baby'])} | {r['empty']['covered'] if r['empty']['n'] else '—'} "
                     f"| {_fmt(r['face_down']['not_visible_or_covered'])} | {_fmt(r['face_state']['accuracy'])} |")
    overall = result["all"]
    if "posture" in overall:
        matrix = overall["posture"]["confusion_matrix"]
        lines.append("\nposture, all frames (rows true, columns predicted): " + " ".join(matrix["labels"]))
        for label, row in zip(matrix["labels"], matrix["matrix"], strict=True):
            if sum(row):
                lines.append(f"  {label:9s} {row}")
    matrix = overall["face_state"]["confusion_matrix"]
    lines.append("face state, all frames: " + " ".join(matrix["labels"]))
    for label, row in zip(matrix["labels"], matrix["matrix"], strict=True):
        if sum(row):
            lines.append(f"  {label:17s} {row}")
    lines.append(f"ms per frame: {_fmt(overall['ms_per_frame'])}")
    return "\n".join(lines)


def write_predictions(path: Path, frames: Sequence[CribFrame], predictions: Sequence[Prediction]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "group", "ir", "posture", "predicted_posture", "face_state", "predicted_face_state",
                         "presence"])
        for frame, p in zip(frames, predictions, strict=True):
            writer.writerow([frame.path.name, frame.group, "yes" if frame.ir else "no", frame.posture, p.posture,
                             frame.face_state, p.face_state, f"{p.presence:.3f}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.crib_cam", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the crib_cam folder")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("manifest", help="write the eval manifests")
    m.add_argument("out_dir", type=Path)
    r = sub.add_parser("report", help="run the vision pipeline on every frame; scores overall, day/IR, by group")
    r.add_argument("--detector", choices=("yunet", "retinaface"), default="yunet")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.add_argument("--posture-models", type=Path, help="a posture model folder (default: the shipped models/posture)")
    r.add_argument("--models", type=Path,
                   help="a heads folder (posture.npz, side.json, presence.json, face_state.npz), as `babymon eval --models`")
    r.add_argument("--predictions", type=Path, help="also write each frame's prediction to this CSV")
    args = parser.parse_args(argv)
    frames = read_frames(args.data)
    if args.command == "manifest":
        for path in write_manifests(frames, args.out_dir):
            print(path)
        return 0
    predictions = predict(frames, args.detector, progress=sys.stderr.isatty(), posture_models=args.posture_models,
                          models=args.models)
    if args.predictions:
        write_predictions(args.predictions, frames, predictions)
    result = report(frames, predictions)
    print(json.dumps(result, indent=1) if args.json else summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
