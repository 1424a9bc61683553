"""Which runtime runs the exported RetinaFace fastest: ONNX Runtime or OpenCV's cv2.dnn (1 thread, same images).

    python -m babymon_lab.vision.retinaface_bench [--frames 30] [--rounds 3] [--threads 1] [--json]

cv2.dnn cannot load the dynamic-shape export (its ONNX importer rejects the FPN's Shape → Resize), so each input
size gets a fixed-size export too; ONNX Runtime runs both. Network time only (input conversion included, decoding
excluded). Needs torch and onnx (the training extras) for the exports; frames are ``infant_face_parts/valid``
images resized to each size. Prints the best of ``--rounds`` rounds in ms per frame, and the largest difference
from the PyTorch outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from babymon.models import ModelError
from babymon.vision.retinaface_onnx import OUTPUT_NAMES, SOURCE_MODEL
from babymon.vision.retinaface_priors import to_input
from babymon_lab.vision.bench_face import load_frames
from babymon_lab.vision.manifests import DEFAULT_DATA, FACE_PARTS
from babymon_lab.vision.retinaface_export import can_export, export_onnx

# (width, height): a 640x480 frame shrunk to the default max_side 320, the same turned a quarter, and full size
SIZES: tuple[tuple[int, int], ...] = ((320, 240), (240, 320), (640, 480))


def _time(run: Callable[[np.ndarray], object], frames: list[np.ndarray], rounds: int) -> float:
    run(to_input(frames[0]))  # warm-up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for frame in frames:
            run(to_input(frame))
        best = min(best, (time.perf_counter() - start) / len(frames))
    return 1000.0 * best


def compare(frames: list[np.ndarray], rounds: int = 3, threads: int = 1) -> list[dict]:
    import cv2
    import torch

    from babymon.models import find_spec, model_path
    from babymon.vision.retinaface import open_session
    from babymon_lab.vision.retinaface_net import load_retinaface

    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)
    weights, sha = model_path(SOURCE_MODEL), find_spec(SOURCE_MODEL).sha256
    net = load_retinaface(weights)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        dynamic = open_session(export_onnx(weights, Path(tmp) / "dynamic.onnx", sha), threads)
        for width, height in SIZES:
            fixed_path = export_onnx(weights, Path(tmp) / f"fixed_{width}x{height}.onnx", sha, (width, height))
            fixed = open_session(fixed_path, threads)
            dnn = cv2.dnn.readNetFromONNX(str(fixed_path))
            sized = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames]

            def run_dnn(blob: np.ndarray, dnn=dnn) -> list[np.ndarray]:
                dnn.setInput(blob)
                return dnn.forward(list(OUTPUT_NAMES))

            runners: dict[str, Callable[[np.ndarray], object]] = {
                "onnxruntime dynamic": lambda blob: dynamic.run(None, {"input": blob}),
                "onnxruntime fixed": lambda blob, fixed=fixed: fixed.run(None, {"input": blob}),
                "cv2.dnn fixed": run_dnn,
            }
            blob = to_input(sized[0])
            with torch.no_grad():
                reference = [t.numpy() for t in net(torch.from_numpy(blob))]
            row: dict = {"size": f"{width}x{height}", "ms_per_frame": {}, "max_abs_diff_vs_torch": {}}
            for name, run in runners.items():
                outputs = run(blob)
                row["max_abs_diff_vs_torch"][name] = max(
                    float(np.abs(np.asarray(o).reshape(r.shape) - r).max()) for o, r in zip(outputs, reference))
                row["ms_per_frame"][name] = _time(run, sized, rounds)
            with torch.no_grad():
                row["ms_per_frame"]["torch (eager)"] = _time(lambda b: net(torch.from_numpy(b)), sized, rounds)
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.retinaface_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_DATA / FACE_PARTS / "valid" / "images")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not can_export():
        print("retinaface_bench: needs torch and onnx (pip install -r requirements-train.txt)", file=sys.stderr)
        return 1
    try:
        results = compare(load_frames(args.images, args.frames), args.rounds, args.threads)
    except (FileNotFoundError, ValueError, ModelError) as exc:
        print(f"retinaface_bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"RetinaFace network only, {args.threads} thread(s), best of {args.rounds} rounds, ms per frame")
    for row in results:
        cells = ", ".join(f"{name} {ms:.1f}" for name, ms in row["ms_per_frame"].items())
        worst = max(row["max_abs_diff_vs_torch"].values())
        print(f"  {row['size']:>7s}: {cells}  (max |diff| vs torch {worst:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
