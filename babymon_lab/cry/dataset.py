"""The labelled clips in ``../shared/data/audio`` and their train/val/test split.

Clips are split by *source recording*, never by cut: all cuts of one home recording, all clips of one
donateacry uploader id, all digits of one speaker and all ESC clips of one fold land in the same split.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from babymon_lab.paths import SHARED_DATA

SPLITS = ("train", "val", "test")

# hand-assigned splits for the few long recordings (too few groups to split by hash)
RECORDING_SPLIT = {
    "margot": "train", "V_2017-04-01+08_06_22=0_30": "train", "Louise_01": "test",
    "laugh_1": "train", "laugh_2": "test",
    "silence": "train",  # only one room-silence recording exists
}
SPEAKER_SPLIT = {"george": "train", "jackson": "train", "lucas": "train", "nicolas": "val", "theo": "test"}
ESC_FOLD_SPLIT = {"1": "train", "2": "train", "3": "val", "4": "test"}
# the long Speech-Commands background recordings are cut in time: [start, end) fractions per split
NOISE_SPAN = {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}


def default_audio_root() -> Path:
    """``$BABYMON_SHARED_DATA/audio``, else ``../shared/data/audio`` beside the repository."""
    shared = os.environ.get("BABYMON_SHARED_DATA")
    base = Path(shared) if shared else SHARED_DATA
    return base / "audio"


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int  # 1 = cry, 0 = not cry
    source: str  # which collection: donateacry, esc10, esc50_extra, recorded, speech
    kind: str  # finer class: hungry, dog_bark, baby_laugh, speech ...
    group: str  # the source recording: clips sharing a group always share a split
    split: str


def _hash_split(group: str, val: float = 0.15, test: float = 0.2) -> str:
    value = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if value < test else ("val" if value < test + val else "train")


_DONATEACRY_ID = re.compile(r"^(.*?)-\d{10,13}-")
_RECORDING = re.compile(r"^(.*?)\.(?:m4a|mp3|wav)_\d+\.ogg$")


def list_clips(audio_root: Path) -> list[Clip]:
    """Every labelled clip under ``audio_root`` (``../shared/data/audio``) with its split."""
    clips: list[Clip] = []
    for path in sorted((audio_root / "donateacry").glob("*/*.ogg")):
        match = _DONATEACRY_ID.match(path.name)
        group = "donateacry:" + (match.group(1).lower() if match else path.stem)
        clips.append(Clip(path, 1, "donateacry", path.parent.name, group, _hash_split(group)))
    for path in sorted((audio_root / "esc10").glob("*/*.ogg")):
        fold, clip_id = path.stem.split("-")[:2]
        clips.append(Clip(path, int(path.parent.name == "baby_cry"), "esc10", path.parent.name,
                          f"esc:{fold}-{clip_id}", ESC_FOLD_SPLIT[fold]))
    for path in sorted((audio_root / "esc50_extra" / "noise").glob("*.ogg")):
        fold, clip_id = path.stem.split("-")[:2]
        clips.append(Clip(path, 0, "esc50_extra", "esc50_noise", f"esc:{fold}-{clip_id}", ESC_FOLD_SPLIT[fold]))
    for path in sorted((audio_root / "recorded_segments").glob("*/*.ogg")):
        match = _RECORDING.match(path.name)
        recording = match.group(1) if match else path.stem.rsplit("_", 1)[0]
        kind = path.parent.name
        split = RECORDING_SPLIT.get(recording, _hash_split(recording))
        clips.append(Clip(path, int(kind == "crying_baby"), "recorded", kind, f"recorded:{recording}", split))
    for path in sorted((audio_root / "speech_fsdd").glob("*/*.ogg")):
        speaker = path.parent.name
        clips.append(Clip(path, 0, "speech", "speech", f"speaker:{speaker}", SPEAKER_SPLIT.get(speaker, "train")))
    return clips


def background_recordings(audio_root: Path) -> list[Path]:
    return sorted((audio_root / "background_noise").glob("*.ogg"))


def check_disjoint(clips: list[Clip]) -> None:
    """Raise if a source recording appears in two splits."""
    seen: dict[str, str] = {}
    for clip in clips:
        if seen.setdefault(clip.group, clip.split) != clip.split:
            raise AssertionError(f"group {clip.group} is in both {seen[clip.group]} and {clip.split}")
