"""A folder of vision heads: the shipped ones (``models/posture`` + ``models/face_state``) or one refitted to a
nursery by ``babymon train nursery`` (``vision.models: DIR``).

A heads folder holds ``posture.npz`` and ``side.json`` (posture), ``presence.json`` (is a baby here) and
``face_state.npz`` (face state), plus ``MODEL_CARD.md`` and ``metrics.json`` written by the refit. The MobileNet
embedder, MoveNet, the face detector and the baby finder are shared: only these linear heads change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from babymon.analyzers.base import AnalyzerUnavailable

HEAD_FILES = ("posture.npz", "side.json", "presence.json", "face_state.npz")
INFO_FILE = "heads.json"  # written by the refit: what it was refitted on and when


@dataclass(frozen=True)
class Heads:
    """The loaded heads of one folder."""

    folder: Path | None  # None: the shipped heads
    posture: object  # babymon.vision.posture.PostureModel
    side: object  # babymon.vision.posture.SideModel
    presence: object  # babymon.vision.pose.PresenceModel
    face_state: object  # babymon.vision.face_state.FaceStateHead


def shipped_folders() -> tuple[Path, Path]:
    """(posture folder, face-state folder) of the shipped heads."""
    from babymon.vision.face_state import default_model_dir
    from babymon.vision.posture import DEFAULT_MODEL_DIR

    return DEFAULT_MODEL_DIR, default_model_dir()


def load_heads(folder: Path | None = None) -> Heads:
    """The heads of ``folder`` (None: the shipped ones). Raises AnalyzerUnavailable naming the file and the fault."""
    from babymon.vision.face_state import HEAD_FILE, FaceStateHead
    from babymon.vision.pose import PresenceModel
    from babymon.vision.posture import PostureModel, SideModel

    posture_dir, face_dir = shipped_folders() if folder is None else (Path(folder), Path(folder))
    if folder is not None:
        if not Path(folder).is_dir():
            raise AnalyzerUnavailable(f"models folder {folder} does not exist (make one with `babymon train nursery`)")
        missing = [name for name in HEAD_FILES if not (Path(folder) / name).is_file()]
        if missing:
            raise AnalyzerUnavailable(f"models folder {folder} has no {', '.join(missing)} "
                                      f"(a heads folder holds {', '.join(HEAD_FILES)})")
    return Heads(folder=None if folder is None else Path(folder),
                 posture=PostureModel.load(posture_dir / "posture.npz"),
                 side=SideModel.load(posture_dir / "side.json"),
                 presence=PresenceModel.load(posture_dir / "presence.json"),
                 face_state=FaceStateHead.load(face_dir / HEAD_FILE))


def check_heads_folder(folder: Path) -> None:
    """For the config check: raises ValueError naming the file and what is wrong."""
    try:
        load_heads(folder)
    except AnalyzerUnavailable as exc:
        raise ValueError(str(exc)) from None


def folder_info(folder: Path) -> dict:
    """What the refit wrote about this folder (``heads.json``), {} when nothing."""
    try:
        data = json.loads((Path(folder) / INFO_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
