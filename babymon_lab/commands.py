"""The lab's ``babymon`` commands: bench, train, eval, bench-cry, bench-vision and ``models export``.

:mod:`babymon.cli` loads this module only when ``babymon_lab`` is importable. It declares the commands and
their flags and imports nothing from the lab: each handler imports its module when its command runs, so
``babymon run`` loads no training code and no torch. Defaults owned by a lab module (data folder, output
folder, split seed) are left None here and filled in by that module's handler.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Callable
from pathlib import Path

from babymon.cry.model import KINDS as CRY_KINDS
from babymon.vision.face import DEFAULT_ANGLES, DEFAULT_MAX_SIDE, FACE_DETECTORS

Handler = Callable[[argparse.Namespace], int]
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
CRY_MODELS = ["default", *CRY_KINDS]


def lazy(path: str) -> Handler:
    """The handler ``module:function``, imported only when its command runs."""

    def run(args: argparse.Namespace) -> int:
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)(args)

    return run


# "occlusion" was the face-state task's name until 0.2; still accepted for one release
OLD_TASK_NAMES = {"occlusion": "face_state"}
OLD_NAMES = {"face_state": ["occlusion"]}

TRAIN_TASKS = {"cry": lazy("babymon_lab.cry.commands:train_cry"),
               "posture": lazy("babymon_lab.vision.posture_train:train_command"),
               "face_state": lazy("babymon_lab.vision.face_state_train:train_command"),
               "finder": lazy("babymon_lab.vision.finder_train:train_command")}
EVAL_TASKS = {"cry": lazy("babymon_lab.cry.commands:eval_cry"),
              "face": lazy("babymon_lab.vision.eval_face:eval_face_command"),
              "face_state": lazy("babymon_lab.vision.eval_vision:eval_face_state_command"),
              "posture": lazy("babymon_lab.vision.eval_vision:eval_posture_command")}


def add_cry_train_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cry")
    group.add_argument("--data", type=Path, help="audio data root (default: ../shared/data/audio)")
    group.add_argument("--out", type=Path, help="where weights and metrics.json go (default: models/cry)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--cnn-epochs", type=int, default=10)
    group.add_argument("--head-epochs", type=int, default=40)
    group.add_argument("--cache", type=Path, help="feature cache (default: /tmp/babymon_cry_cache)")
    group.add_argument("--tonal-negatives", type=int, default=0,
                       help="add N synthetic siren/melody clips as CNN negatives (tried; did not help, see model card)")
    group.add_argument("--compare-only", action="store_true",
                       help="no training: re-score the weights already in --out and rewrite metrics/config")


def add_posture_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="shared data folder (default ../shared/data)")
    parser.add_argument("--out", type=Path, help="where the model files go (models/posture)")
    parser.add_argument("--seed", type=int, help="split seed (groups are shuffled with it)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="feature cache (default $TMPDIR/babymon-posture-cache)")
    parser.add_argument("--compare-only", action="store_true", help="print the comparison, write nothing")
    parser.add_argument("--overhead", action="store_true",
                        help="add the labelled overhead photos and a side class learned from images (an experiment: "
                             "worse on crib_cam so far, see models/posture/MODEL_CARD.md)")
    parser.add_argument("--crib-scale", action="store_true",
                        help="presence: add crib-scale copies of the posture photos and empty beds, seen where the "
                             "baby finder points (see models/posture/MODEL_CARD.md)")
    parser.add_argument("--ir", action="store_true",
                        help="presence: train on every row again as a night-vision look-alike (same label and split)")
    parser.add_argument("--presence-only", action="store_true",
                        help="refit only the presence model (presence.json and its part of metrics.json)")
    parser.add_argument("--crop", choices=("box", "whole", "val"), default="box",
                        help="what the fused heads embed: the body box (default: its embedding is computed for "
                             "presence anyway, and it does not depend on how wide the camera's view is), the "
                             "whole frame, or whichever scores better on val")
    parser.add_argument("--training-sample", type=Path, default=None,
                        help="also write a class-balanced sample of the posture and presence training features "
                             "here (models/nursery/posture_sample.npz: what `babymon train nursery` refits on)")
    parser.add_argument("--approach", default=None,
                        help="ship the approach whose name contains this text (default: the best on val, see "
                             "MODEL_CARD.md)")


def add_face_state_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="shared data folder (default ../shared/data)")
    parser.add_argument("--crib-scale", action="store_true",
                        help="also train on the photos pasted small into empty beds (crib-camera scale), cropped as "
                             "the pipeline does")
    parser.add_argument("--out", type=Path, help="where the model files go (models/face_state)")
    parser.add_argument("--seed", type=int, help="split and composite seed")
    parser.add_argument("--cache", type=Path, default=None,
                        help="embedding cache (default $TMPDIR/babymon-face-state-cache)")
    parser.add_argument("--no-masks", action="store_true", help="leave out the adult face-mask photos")
    parser.add_argument("--training-sample", type=Path, default=None,
                        help="also write a class-balanced sample of the training features here "
                             "(models/nursery/face_state_sample.npz: what `babymon train nursery` refits on)")


def add_finder_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="shared data folder (default ../shared/data)")
    parser.add_argument("--out", type=Path, help="where finder.npz and metrics.json go (default models/finder)")
    parser.add_argument("--work", type=Path, help="where inpainted beds are written (default $TMPDIR/babymon-finder)")


TRAIN_ARGUMENTS: list[tuple[str, Callable[[argparse.ArgumentParser], None], str]] = [
    ("cry", add_cry_train_arguments, "the cry models on ../shared/data/audio (log-mel CNN, YAMNet head, fusion)"),
    ("posture", add_posture_train_arguments, "locator presence + posture heads"),
    ("face_state", add_face_state_train_arguments, "face-state head (clear/pacifier/covered/face not visible)"),
    ("finder", add_finder_train_arguments, "baby finder: where in a wide frame the baby is (cell head on MobileNet)"),
]


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=sorted([*EVAL_TASKS, *OLD_TASK_NAMES]))
    parser.add_argument("--manifest", help="CSV with columns path,label (paths relative to the CSV)")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    cry = parser.add_argument_group("cry")
    cry.add_argument("--model", choices=CRY_MODELS, default="default",
                     help="which cry model (default: the shipped one)")
    cry.add_argument("--skip-unreadable", action="store_true",
                     help="skip files that cannot be read or have no audio track (listed under 'skipped')")
    face = parser.add_argument_group("face")
    face.add_argument("--angles", default=",".join(f"{a:g}" for a in DEFAULT_ANGLES),
                      help="rotations (degrees clockwise) the face detector tries (default: %(default)s)")
    face.add_argument("--detector", choices=FACE_DETECTORS, default="yunet",
                      help="face detector: yunet (fast, default) or retinaface (RetinaFace MobileNet-0.25)")
    face.add_argument("--score-threshold", type=float, default=None,
                      help="detector score threshold (default: the detector's own; see babymon/vision/README.md)")
    face.add_argument("--max-side", type=int, default=None,
                      help="shrink images to this longer side before detecting; 0 = full size "
                           f"(default: the detector's own, {DEFAULT_MAX_SIDE} for both)")
    vision = parser.add_argument_group("face_state and posture")
    vision.add_argument("--finder", choices=("on", "off"), default="on",
                        help="the baby finder before the pose model (off: the path before it, to compare)")
    vision.add_argument("--models", type=Path, default=None,
                        help="a heads folder refitted to a nursery (`babymon train nursery`); default: the shipped heads")


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=5.0, help="detect fps per camera")
    parser.add_argument("--clip", help="video file to replay (default: a generated 640x480 clip)")
    parser.add_argument("--source-fps", type=int, default=15, help="frame rate of the generated clip")
    parser.add_argument("--broker", help="host:port of an MQTT broker (default: start mosquitto on loopback)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--log-level", choices=LOG_LEVELS)
    parser.add_argument("--analyzers", default="",
                        help="comma-separated analyzers for every camera, e.g. vision,cry (default: none, ingestion only)")
    parser.add_argument("--sweep", default=None, help="camera counts to run one after another, e.g. 1,2,4,8")
    parser.add_argument("--reuse", type=float, default=None, metavar="SECONDS",
                        help="vision.reuse_unchanged_seconds for every camera (0: the models on every frame; "
                             "default: the config default)")
    parser.add_argument("--still", default=None, metavar="IMAGE",
                        help="replay a fixed camera on this photo of a crib (noise, and something moving every 4 s) "
                             "instead of the default moving scene")


def add_bench_latency_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cuts", type=int, default=6, help="how many cuts to face down to time (default 6)")
    parser.add_argument("--segment", type=float, default=8.0, help="seconds on the back, then face down (default 8)")
    parser.add_argument("--on-delay", type=float, default=3.0, help="the prone rule's on_delay for the run (default 3)")
    parser.add_argument("--supine", default=None, help="photo of a baby on its back (default: a crib_cam frame)")
    parser.add_argument("--prone", default=None, help="photo of a baby face down (default: a crib_cam frame)")
    parser.add_argument("--reuse", type=float, default=None, metavar="SECONDS",
                        help="vision.reuse_unchanged_seconds for the run (default: the config default)")
    parser.add_argument("--stream-cut", action="store_true",
                        help="time monitor_unavailable instead: --cuts cameras stop sending, one after another")
    parser.add_argument("--smoothing", type=float, default=None, metavar="SECONDS",
                        help="vision.smoothing_seconds for the run (default: the config default)")
    parser.add_argument("--json", action="store_true")


def add_bench_vision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=40, help="distinct frames to cycle through")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel pipelines (default: cores)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    parser.add_argument("--face-detector", choices=list(FACE_DETECTORS), default="yunet")
    parser.add_argument("--finder", choices=("on", "off"), default="on",
                        help="the baby finder before the pose model (off: the path before it, to compare)")
    parser.add_argument("--data", default=None, help="shared data folder (default: ../shared/data beside the repo)")
    parser.add_argument("--json", action="store_true")


def add_commands(sub: argparse._SubParsersAction, train_tasks: argparse._SubParsersAction) -> None:
    """Register bench, the lab's ``train`` tasks (on ``train_tasks``: ``babymon train``'s subparsers, which the
    run-time command line makes for ``train nursery``), eval, bench-cry and bench-vision on ``babymon``'s
    subparsers."""
    p = sub.add_parser("bench", help="measure ingestion + publishing cost for N simulated cameras")
    add_bench_arguments(p)
    p.set_defaults(func=lazy("babymon_lab.bench:bench_command"))

    # training and evaluation: one task positional each, so more tasks can be added beside `cry`
    for task, add_arguments, help_text in TRAIN_ARGUMENTS:
        task_parser = train_tasks.add_parser(task, help=help_text, aliases=OLD_NAMES.get(task, []))
        add_arguments(task_parser)
        task_parser.set_defaults(func=TRAIN_TASKS[task])

    p = sub.add_parser("eval", help="evaluate a model on a labelled manifest")
    add_eval_arguments(p)
    p.set_defaults(func=lambda args: EVAL_TASKS[OLD_TASK_NAMES.get(args.task, args.task)](args))

    p = sub.add_parser("bench-latency", help="seconds from a baby turning face down to danger on MQTT, beyond on_delay")
    add_bench_latency_arguments(p)
    p.set_defaults(func=lazy("babymon_lab.latency_bench:bench_latency_command"))

    p = sub.add_parser("bench-cry", help="real-time factor of the cry analyzer (target <= 0.02)")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of audio to analyse")
    p.add_argument("--clip", help="audio or video file to loop (default: generated noise)")
    p.add_argument("--model", choices=CRY_MODELS, default="default")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lazy("babymon_lab.cry.commands:bench_cry"))

    p = sub.add_parser("bench-vision", help="ms per stage of the vision path and frames/s (target >= 30 at 640x480)")
    add_bench_vision_arguments(p)
    p.set_defaults(func=lazy("babymon_lab.vision.bench_vision:bench_vision_command"))


def add_models_commands(actions: argparse._SubParsersAction) -> None:
    """Register ``babymon models export`` on the ``babymon models`` subparsers."""
    from babymon.models_cli import model_dir_options

    p = actions.add_parser("export", parents=[model_dir_options()],
                           help="convert PyTorch weights to ONNX once (needs the training extras: torch, onnx)")
    p.add_argument("target", choices=["retinaface"], help="retinaface: RetinaFace MobileNet-0.25 face detector")
    p.set_defaults(func=lazy("babymon_lab.vision.retinaface_export:export_command"))
