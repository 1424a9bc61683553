"""``babymon models list | download | verify | export``: the command-line side of :mod:`babymon.models`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from babymon import models

EXIT_PROBLEM = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``babymon models ...`` on the top-level subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model-dir", metavar="DIR",
                        help=f"where model files live (overrides ${models.ENV_MODEL_DIR}; "
                             f"default {models.DEFAULT_MODEL_DIR})")
    common.add_argument("--mirror", metavar="DIR",
                        help=f"local copy of the model files to use instead of the internet "
                             f"(overrides ${models.ENV_MIRROR})")

    parser = sub.add_parser("models", help="list, download and verify model files")
    actions = parser.add_subparsers(dest="models_command", required=True)

    p = actions.add_parser("list", parents=[common], help="every model: task, license, status, path")
    p.set_defaults(func=cmd_list)
    p = actions.add_parser("download", parents=[common],
                           help="fetch models (all when no NAME) into the model directory")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_download)
    p = actions.add_parser("verify", parents=[common], help="check sha256s; exit 1 if any model is missing or corrupt")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.set_defaults(func=cmd_verify)
    p = actions.add_parser("export", parents=[common],
                           help="convert PyTorch weights to ONNX once (needs the training extras: torch, onnx)")
    p.add_argument("target", choices=["retinaface"], help="retinaface: RetinaFace MobileNet-0.25 face detector")
    p.set_defaults(func=cmd_export)


def _apply_overrides(args: argparse.Namespace) -> None:
    """``--model-dir`` / ``--mirror`` win over the environment, for this process."""
    if args.model_dir:
        os.environ[models.ENV_MODEL_DIR] = str(Path(args.model_dir).expanduser())
    if args.mirror:
        os.environ[models.ENV_MIRROR] = str(Path(args.mirror).expanduser())


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip()
                     for row in rows)


def cmd_list(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    try:
        statuses = models.verify()
    except models.ModelError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    rows = [["NAME", "TASK", "LICENSE", "STATUS", "PATH"]]
    for s in statuses:
        where = s.path or models.model_dir() / s.spec.file
        rows.append([s.spec.name, s.spec.task, s.spec.license, s.status, str(where)])
    print(f"model directory: {models.model_dir()}")
    mirror = models.mirror_dir()
    print(f"mirror: {mirror if mirror else '(none; set ' + models.ENV_MIRROR + ' or use --mirror)'}")
    print(_table(rows))
    for s in statuses:
        for problem in s.problems:
            print(f"warning: {problem}", file=sys.stderr)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    try:
        specs = models.select(args.names)
    except models.ModelError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    source = models.mirror_dir() or "upstream URLs"
    print(f"downloading {len(specs)} model(s) into {models.model_dir()} from {source}", file=sys.stderr)
    failed: list[str] = []
    for spec in specs:
        try:
            models.download([spec.name], progress=not args.quiet)
        except models.ModelError as exc:
            print(f"babymon: {exc}", file=sys.stderr)
            failed.append(spec.name)
    if failed:
        print(f"babymon: {len(failed)} model(s) not downloaded: {', '.join(failed)}", file=sys.stderr)
        return EXIT_PROBLEM
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    try:
        statuses = models.verify(args.names)
    except models.ModelError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    bad = [s for s in statuses if not s.usable]
    for s in statuses:
        if s.usable:
            print(f"{s.spec.name}: {s.status} ({s.path})")
        else:
            print(f"{s.spec.name}: {s.status.upper()}: {models.explain(s)}")
    if bad:
        print(f"babymon: {len(bad)} model(s) missing or corrupt: {', '.join(s.spec.name for s in bad)}",
              file=sys.stderr)
        return EXIT_PROBLEM
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``babymon models export retinaface``: the ONNX file the RetinaFace detector runs, from the verified .pth."""
    from babymon.vision.retinaface_export import export_from_model_dir

    _apply_overrides(args)
    try:
        path = export_from_model_dir()
    except models.ModelError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"exported {path}")
    return 0
