"""``babymon train nursery --labels CSV [--out DIR] [--force]``: refit the heads to one nursery's labelled frames.

Run-time dependencies only (the MobileNet/MoveNet/face models babymon runs anyway, numpy, scikit-learn); no
PyTorch, no ``../shared/data``. Writes a heads folder for ``vision.models`` (see :mod:`babymon.nursery.heads`) with
its own ``MODEL_CARD.md`` and ``metrics.json``; exit code 3 when the check refuses the refit (``--force`` writes it
anyway, and says so in the card).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from babymon.nursery.folder import NurseryError, read_labels

if TYPE_CHECKING:
    from babymon.nursery.refit import LabelledFrame

EXIT_REFUSED = 3


def add_train_nursery_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", type=Path, required=True,
                        help="labels.csv of a nursery folder (path,posture,face_state; paths relative to it)")
    parser.add_argument("--out", type=Path, default=None, help="the heads folder to write (default: heads/ beside "
                                                               "the labels)")
    parser.add_argument("--force", action="store_true", help="write the heads even when the check refuses them")
    parser.add_argument("-c", "--config", default=None, help="config file: the camera's crib_region and face "
                                                             "detector are used to look at the frames")
    parser.add_argument("--camera", default=None, help="camera key in --config (default: the only one)")
    parser.add_argument("--share", type=float, default=None,
                        help="the nursery frames' total weight as a share of the training sample's rows "
                             "(default: babymon.nursery.refit.NURSERY_SHARE)")


def labelled_frames(labels_csv: Path, pipeline, progress: bool = True) -> list[LabelledFrame]:
    """Every labelled frame of ``labels_csv`` with its features, in time order (sidecar times, else names)."""
    import cv2
    from tqdm import tqdm

    from babymon.nursery.features import extract
    from babymon.nursery.refit import LabelledFrame, thumbnail

    labels = read_labels(labels_csv)
    if not labels:
        raise NurseryError(f"{labels_csv}: no labelled frames (label some at /label, or check the file)")
    rows = []
    for name, label in labels.items():
        path = (labels_csv.parent / name).resolve()
        taken_at = None
        try:
            taken_at = float(json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["taken_at"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        rows.append((taken_at if taken_at is not None else float("inf"), name, path, label))
    rows.sort(key=lambda r: (r[0], r[1]))
    frames = []
    for taken_at, name, path, label in tqdm(rows, desc="looking at the labelled frames", unit="frame",
                                            disable=not progress):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise NurseryError(f"{labels_csv}: cannot read the image of '{name}' ({path})")
        frames.append(LabelledFrame(name=name, features=extract(pipeline, image), label=label,
                                    taken_at=None if taken_at == float("inf") else taken_at,
                                    thumbnail=thumbnail(image)))
    return frames


def check_and_refit(frames: list[LabelledFrame], share: float | None = None, log=print) -> dict:
    """The held-back check and the final refit: {"heads", "shipped", "check", "refitted_on_held_back",
    "reasons", "held_back", "runs"}."""
    from babymon.nursery.heads import load_heads
    from babymon.nursery.refit import NURSERY_SHARE, held_back, refit, refusals, runs, score
    from babymon.nursery.sample import load_sample

    share = NURSERY_SHARE if share is None else share
    shipped = load_heads(None)
    samples = {head: load_sample(head) for head in ("posture", "presence", "face_state")}
    run_ids = runs(frames)
    held = held_back(run_ids)
    fit_part = [f for f, h in zip(frames, held, strict=True) if not h]
    check_part = [f for f, h in zip(frames, held, strict=True) if h]
    log(f"{len(frames)} labelled frames in {len(set(run_ids))} runs: {len(check_part)} held back to check, "
        f"{len(fit_part)} to fit")
    log("refitting without the held-back frames (the check) …")
    checked = refit(shipped, samples, fit_part, share)
    before, after = score(shipped, check_part), score(checked, check_part)
    reasons = refusals(before, after, len(check_part))
    log("refitting on every labelled frame …")
    final = refit(shipped, samples, frames, share)
    return {"heads": final, "shipped": before, "refitted": after, "reasons": reasons,
            "held_back": [f.name for f in check_part], "runs": len(set(run_ids)), "share": share,
            "sample_rows": {head: int(len(s.y)) for head, s in samples.items()}}


def label_counts(frames: list[LabelledFrame]) -> dict:
    return {"posture": dict(Counter(f.label.posture for f in frames if f.label.posture)),
            "face_state": dict(Counter(f.label.face_state for f in frames if f.label.face_state))}


def _line(name: str, report: dict) -> str:
    if report["macro_f1"] is None:
        return f"  {name:10s} no labels held back"
    recalls = ", ".join(f"{k} {v:.2f}" for k, v in report["danger_recall"].items()) or "no danger class held back"
    return f"  {name:10s} macro-F1 {report['macro_f1']:.3f}  accuracy {report['accuracy']:.3f}  recall: {recalls}"


def write_folder(out: Path, result: dict, counts: dict, labels_csv: Path, forced: bool) -> None:
    from babymon.nursery.heads import INFO_FILE

    heads = result["heads"]
    out.mkdir(parents=True, exist_ok=True)
    heads.posture.save(out / "posture.npz")
    (out / "side.json").write_text(json.dumps(heads.side.to_json(), indent=1) + "\n")
    (out / "presence.json").write_text(json.dumps(heads.presence.to_json(), indent=1) + "\n")
    heads.face_state.save(out / "face_state.npz")
    metrics = {key: result[key] for key in ("shipped", "refitted", "reasons", "held_back", "runs", "share",
                                            "sample_rows")}
    metrics.update(labels=str(labels_csv), counts=counts, forced=forced, posture_classes=list(heads.posture.classes))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (out / INFO_FILE).write_text(json.dumps({"kind": "nursery refit", "labels": str(labels_csv),
                                             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                             "frames": sum(counts["posture"].values()), "forced": forced,
                                             "refused": result["reasons"]}, indent=1) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(result, counts, labels_csv, forced))


def model_card(result: dict, counts: dict, labels_csv: Path, forced: bool) -> str:
    def table(task: str) -> str:
        rows = ["| | shipped | refitted |", "|---|---|---|"]
        before, after = result["shipped"][task], result["refitted"][task]
        if before["macro_f1"] is None:
            return "(no frames with this label were held back)\n"
        rows.append(f"| macro-F1 | {before['macro_f1']:.3f} | {after['macro_f1']:.3f} |")
        rows.append(f"| accuracy | {before['accuracy']:.3f} | {after['accuracy']:.3f} |")
        for label, recall in before["danger_recall"].items():
            rows.append(f"| {label} recall | {recall:.3f} | {after['danger_recall'][label]:.3f} |")
        return "\n".join(rows) + f"\n\n{before['n']} held-back frames.\n"

    def count_line(part: str) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counts[part].items())) or "none"

    verdict = ("**Refused by the check, written with --force:** " + "; ".join(result["reasons"])
               if result["reasons"] else "Passed the check: no worse macro-F1 and no lower danger-class recall on the "
                                         "held-back frames.")
    return f"""# Heads refitted to one nursery

Written by `babymon train nursery --labels {labels_csv}` on {time.strftime('%Y-%m-%d %H:%M')}. Use it with
`vision.models: <this folder>` (per camera or in `defaults`). Not a medical device: nothing here monitors
breathing or any vital sign.

## What was refitted
The posture, presence and face-state heads (linear, on the same MobileNet embeddings, MoveNet keypoints and face
features as the shipped heads), on the shipped training sample (`models/nursery/`) plus this nursery's labelled
frames, which together weigh {result['share']:g} × the sample's rows, each frame the same; the fit is pulled
towards the shipped heads, so where these frames say nothing the shipped answer stays. The baby
finder, MoveNet, the face detector and the embedder are the shipped ones.

Labelled frames: posture: {count_line('posture')}; face state: {count_line('face_state')}.
Posture classes: {', '.join(result['heads'].posture.classes)}.

## Check on held-back frames
The labelled frames were cut into {result['runs']} runs of near-identical consecutive frames; every third run
was held back, the heads refitted without them, and both scored on them (a frame read as "no baby" is a miss).

### Posture
{table('posture')}
### Face state
{table('face_state')}
{verdict}

The heads in this folder were then refitted on every labelled frame, held-back ones included.

## Caveats
Few frames from one camera: the numbers above are from a handful of frames and move a lot with each one. The
shipped heads were trained on web photos without a license for redistribution (see `models/posture/MODEL_CARD.md`).
"""


def train_nursery_command(args: argparse.Namespace) -> int:
    from babymon.analyzers.base import AnalyzerUnavailable
    from babymon.cli import _load
    from babymon.nursery.sample import SampleError
    from babymon.vision.analyzer import build_face_detector
    from babymon.vision.pipeline import VisionPipeline

    labels_csv = args.labels.expanduser()
    if not labels_csv.is_file():
        print(f"babymon: --labels {labels_csv}: no such file (the labelling page writes labels.csv in the camera's "
              f"nursery folder)", file=sys.stderr)
        return 2
    region, detector = None, "yunet"
    if args.config:
        config = _load(args.config)
        key = args.camera or (next(iter(config.cameras)) if len(config.cameras) == 1 else None)
        if key not in config.cameras:
            print(f"babymon: --camera: name one of {', '.join(config.cameras)}", file=sys.stderr)
            return 2
        region, detector = config.cameras[key].crib_region, config.cameras[key].vision.face_detector
    if args.share is not None and not 0 < args.share <= 10:
        print(f"babymon: --share {args.share}: expected a number in (0, 10]", file=sys.stderr)
        return 2
    started = time.time()
    try:
        pipeline = VisionPipeline(face_detector=build_face_detector(detector), region=region)
        frames = labelled_frames(labels_csv, pipeline)
        result = check_and_refit(frames, args.share)
    except (NurseryError, SampleError, AnalyzerUnavailable) as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return 2
    counts = label_counts(frames)
    print("on the held-back frames:")
    for task in ("posture", "face_state"):
        print(_line(f"{task} shipped", result["shipped"][task]))
        print(_line(f"{task} refit", result["refitted"][task]))
    out = (args.out or labels_csv.parent / "heads").expanduser()
    if result["reasons"]:
        print("the refit is refused:\n  - " + "\n  - ".join(result["reasons"]), file=sys.stderr)
        if not args.force:
            print("nothing written (--force writes it anyway)", file=sys.stderr)
            return EXIT_REFUSED
    write_folder(out, result, counts, labels_csv, forced=bool(result["reasons"]))
    print(f"wrote {out} in {time.time() - started:.0f} s: use it with `vision.models: {out}`")
    return 0

