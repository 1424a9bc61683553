"""The face-state task was called "occlusion" until 0.2: the old command names and model folder still work."""

from __future__ import annotations

from babymon import cli
from babymon.vision import face_state


def test_the_old_task_name_still_works_on_the_command_line():
    parser = cli.build_parser()
    new, old = parser.parse_args(["train", "face_state"]), parser.parse_args(["train", "occlusion"])
    assert new.func is old.func
    assert parser.parse_args(["eval", "occlusion"]).task == "occlusion"  # mapped to face_state when it runs


def test_a_head_left_in_the_old_models_folder_is_still_found(tmp_path, monkeypatch):
    old = tmp_path / "occlusion"
    old.mkdir()
    (old / face_state.HEAD_FILE).write_bytes(b"")
    monkeypatch.setattr(face_state, "MODEL_DIR", tmp_path / "face_state")
    monkeypatch.setattr(face_state, "OLD_MODEL_DIR", old)
    assert face_state.default_model_dir() == old
    (tmp_path / "face_state").mkdir()
    (tmp_path / "face_state" / face_state.HEAD_FILE).write_bytes(b"")
    assert face_state.default_model_dir() == tmp_path / "face_state"  # the new name wins
