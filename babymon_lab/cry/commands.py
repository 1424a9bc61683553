"""Handlers of ``babymon train cry``, ``eval cry`` and ``bench-cry`` (their flags: :mod:`babymon_lab.commands`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable

EXIT_BAD_INPUT = 2


def train_cry(args: argparse.Namespace) -> int:
    from babymon.cry.model import CRY_MODEL_DIR
    from babymon_lab.cry.corpus import DEFAULT_CACHE
    from babymon_lab.cry.train import compare, comparison_table, train

    out = args.out or CRY_MODEL_DIR
    if args.compare_only:
        summary = compare(out, seed=args.seed, cache=args.cache or DEFAULT_CACHE, audio_root=args.data)
    else:
        summary = train(out, seed=args.seed, cnn_epochs=args.cnn_epochs, head_epochs=args.head_epochs,
                        cache=args.cache or DEFAULT_CACHE, audio_root=args.data, tonal_negatives=args.tonal_negatives)
    print(comparison_table(summary))
    print(f"wrote {out}/logmel_cnn.npz, yamnet_head.npz, metrics.json (thresholds: "
          + ", ".join(f"{k} {v['test']['threshold']:.4f}" for k, v in summary["results"].items()) + ")")
    return 0


def eval_cry(args: argparse.Namespace) -> int:
    from babymon.cry.model import CryModel
    from babymon_lab.cry.audio_io import AudioFileError
    from babymon_lab.cry.evaluate import ManifestError, evaluate_manifest

    if not args.manifest:
        print("babymon: eval cry needs --manifest CSV", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        model = CryModel(None if args.model == "default" else args.model)
    except AnalyzerUnavailable as exc:
        print(f"babymon: cry model unavailable: {exc}", file=sys.stderr)
        return 1
    try:
        result = evaluate_manifest(Path(args.manifest), model, skip_unreadable=args.skip_unreadable,
                                   progress=not args.json)
    except (ManifestError, AudioFileError) as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


def bench_cry(args: argparse.Namespace) -> int:
    """Time the live path (one ``CryAnalyzer.analyze`` per 0.5 s hop) over real or generated audio."""
    from babymon.audio_windows import SAMPLE_RATE, AudioWindower
    from babymon.config import CameraConfig
    from babymon.cry.analyzer import CryAnalyzer
    from babymon.cry.model import CryModel
    from babymon_lab.cry.audio_io import AudioFileError, load_audio

    try:
        model = CryModel(None if args.model == "default" else args.model)
    except AnalyzerUnavailable as exc:
        print(f"babymon: cry model unavailable: {exc}", file=sys.stderr)
        return 1
    if args.clip:
        try:
            samples = load_audio(args.clip)
        except AudioFileError as exc:
            print(f"babymon: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        samples = np.tile(samples, int(np.ceil(args.seconds * SAMPLE_RATE / len(samples))))
    else:
        samples = (np.random.default_rng(0).standard_normal(int(args.seconds * SAMPLE_RATE)) * 0.05)
    samples = samples[: int(args.seconds * SAMPLE_RATE)].astype(np.float32)
    analyzer = CryAnalyzer("bench", CameraConfig(url="rtsp://127.0.0.1/bench"), model=model)
    windows = AudioWindower(analyzer.window_seconds, analyzer.hop_seconds).push(samples, 0.0)
    analyzer.analyze(windows[0])  # warm-up
    started = time.perf_counter()
    cpu_started = time.process_time()
    for window in windows:
        analyzer.analyze(window)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    audio_seconds = len(samples) / SAMPLE_RATE
    result = {"model": model.kind, "audio_seconds": audio_seconds, "windows": len(windows),
              "ms_per_window": round(1000 * wall / len(windows), 3),
              "ms_per_audio_second": round(1000 * wall / audio_seconds, 3),
              "real_time_factor": round(wall / audio_seconds, 5),
              "cpu_real_time_factor": round(cpu / audio_seconds, 5)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"cry analyzer ({model.kind}): {result['ms_per_window']} ms per window, "
              f"{result['ms_per_audio_second']} ms per audio second, real-time factor {result['real_time_factor']} "
              f"(CPU time: {result['cpu_real_time_factor']}); target <= 0.02")
    return 0
