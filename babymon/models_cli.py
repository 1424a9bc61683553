"""``babymon models list | download | verify`` (the lab adds ``export``): the command line of :mod:`babymon.models`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from babymon import models, models_download

EXIT_PROBLEM = 1


def model_dir_options() -> argparse.ArgumentParser:
    """``--model-dir`` and ``--mirror``, the parent parser of every ``babymon models`` action."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model-dir", metavar="DIR",
                        help=f"where model files live (overrides ${models.ENV_MODEL_DIR}; "
                             f"default {models.DEFAULT_MODEL_DIR})")
    common.add_argument("--mirror", metavar="DIR",
                        help=f"local copy of the model files to use instead of the internet "
                             f"(overrides ${models.ENV_MIRROR})")
    return common


def add_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Register ``babymon models list | download | verify`` on the top-level subparsers; returns the actions'
    subparsers (the lab adds ``export`` there)."""
    common = model_dir_options()
    parser = sub.add_parser("models", help="list, download and verify model files")
    actions = parser.add_subparsers(dest="models_command", required=True)

    p = actions.add_parser("list", parents=[common], help="every model: task, license, status, path")
    p.add_argument("-c", "--config", default=None,
                   help="also list the vision heads each camera uses (vision.models; default: config.yaml when "
                        "there is one)")
    p.set_defaults(func=cmd_list)
    p = actions.add_parser("download", parents=[common],
                           help="fetch models (all when no NAME) into the model directory")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_download)
    p = actions.add_parser("verify", parents=[common], help="check sha256s; exit 1 if any model is missing or corrupt")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.set_defaults(func=cmd_verify)
    return actions


def apply_overrides(args: argparse.Namespace) -> None:
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
    apply_overrides(args)
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
    config_file = args.config or ("config.yaml" if Path("config.yaml").is_file() else None)
    if config_file:
        print(f"vision heads per camera ({config_file}):")
        print(heads_lines(config_file))
    return 0


def heads_lines(config_file: str) -> str:
    """One line per camera: the shipped heads, or the refitted folder it names and what the refit wrote of it."""
    from babymon.cli import _load
    from babymon.nursery.heads import folder_info

    config = _load(config_file)
    lines = []
    for key, camera in config.cameras.items():
        folder = camera.vision.models
        if folder is None:
            lines.append(f"  {key}: shipped (models/posture, models/face_state)")
            continue
        info = folder_info(folder)
        about = (f"{info.get('kind', 'heads')}, {info.get('frames', '?')} labelled frames, {info.get('created', '?')}"
                 + (", FORCED past the check" if info.get("forced") else "")) if info else "no heads.json"
        lines.append(f"  {key}: {folder} ({about})")
    return "\n".join(lines)


def cmd_download(args: argparse.Namespace) -> int:
    apply_overrides(args)
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
            models_download.download([spec.name], progress=not args.quiet)
        except models.ModelError as exc:
            print(f"babymon: {exc}", file=sys.stderr)
            failed.append(spec.name)
    if failed:
        print(f"babymon: {len(failed)} model(s) not downloaded: {', '.join(failed)}", file=sys.stderr)
        return EXIT_PROBLEM
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    apply_overrides(args)
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

