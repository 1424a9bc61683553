"""The nursery folder (babymon.nursery.folder) on a real directory: frames, sidecars and labels.csv."""

from __future__ import annotations

import json
import time

import pytest

from babymon.analyzers.base import Observation
from babymon.nursery.folder import (
    Label, NurseryError, NurseryFolder, camera_folder, check_name, prediction_of, read_labels, write_labels,
)  # fmt: skip

JPEG = b"\xff\xd8\xff\xe0 a small jpeg \xff\xd9"
SAID = {"baby_present": True, "face_state": "covered", "posture": "prone", "scores": {"prone": 0.91}}
AT = time.mktime((2026, 12, 5, 3, 15, 22, 0, 0, -1)) + 0.412  # 03:15:22.412 local time


def test_save_frame_writes_the_jpeg_and_its_sidecar_and_lists_it(tmp_path):
    folder = NurseryFolder(tmp_path / "nursery")  # made on first write
    name = folder.save_frame(JPEG, SAID, "alert", taken_at=AT, event_id="e" * 32)
    assert name == "20261205-031522-412-alert.jpg"
    assert (tmp_path / "nursery" / name).read_bytes() == JPEG
    sidecar = json.loads((tmp_path / "nursery" / name).with_suffix(".json").read_text())
    assert sidecar == {"taken_at": round(AT, 3), "source": "alert", "prediction": SAID, "event_id": "e" * 32}
    [info] = folder.frames()
    assert (info.name, info.source, info.prediction, info.wrong, info.event_id) == (name, "alert", SAID, False,
                                                                                    "e" * 32)
    assert folder.find_event("e" * 32) == name and folder.find_event("f" * 32) is None


def test_frames_are_listed_oldest_first_and_same_millisecond_frames_get_their_own_name(tmp_path):
    folder = NurseryFolder(tmp_path)
    later = folder.save_frame(JPEG, {}, "capture", taken_at=AT + 60)
    first = folder.save_frame(JPEG, {}, "wrong", taken_at=AT)
    again = folder.save_frame(JPEG, {}, "wrong", taken_at=AT)
    assert again != first and again.endswith("-413-wrong.jpg")
    (tmp_path / "notes.txt").write_text("not a frame")
    assert [f.name for f in folder.frames()] == [first, again, later]


def test_mark_wrong_keeps_the_source_and_event(tmp_path):
    folder = NurseryFolder(tmp_path)
    name = folder.save_frame(JPEG, SAID, "alert", taken_at=AT, event_id="a" * 32)
    info = folder.mark_wrong(name)
    assert (info.wrong, info.source, info.event_id, info.prediction) == (True, "alert", "a" * 32, SAID)


def test_bad_source_and_bad_names_are_refused_by_name(tmp_path):
    folder = NurseryFolder(tmp_path)
    with pytest.raises(NurseryError, match="source 'guess' is not one of capture, alert, wrong"):
        folder.save_frame(JPEG, {}, "guess")
    for bad in ("../labels.csv", "20261205-031522-412-alert.jpg/../../x", "photo.jpg", ""):
        with pytest.raises(NurseryError, match="is not a nursery frame name"):
            check_name(bad)
    with pytest.raises(NurseryError, match="frame '20261205-031522-412-alert.jpg' is not in"):
        folder.frame_path("20261205-031522-412-alert.jpg")


def test_set_label_sets_keeps_and_clears_each_field(tmp_path):
    folder = NurseryFolder(tmp_path)
    name = folder.save_frame(JPEG, SAID, "capture", taken_at=AT)
    assert folder.set_label(name, posture="prone") == Label("prone", "")
    assert folder.set_label(name, face_state="covered") == Label("prone", "covered")  # the posture stays
    assert folder.labels() == {name: Label("prone", "covered")}
    assert folder.set_label(name, posture="") == Label("", "covered")
    assert folder.set_label(name, face_state="") == Label("", "")
    assert folder.labels() == {}  # an empty label is not a row
    assert folder.labels_path.read_text() == "path,posture,face_state\n"


def test_no_baby_clears_the_face_and_takes_no_face(tmp_path):
    folder = NurseryFolder(tmp_path)
    name = folder.save_frame(JPEG, SAID, "capture", taken_at=AT)
    folder.set_label(name, posture="supine", face_state="pacifier")
    assert folder.set_label(name, posture="no_baby") == Label("no_baby", "")
    with pytest.raises(NurseryError, match="a frame labelled no_baby has no face state"):
        folder.set_label(name, face_state="clear")
    assert folder.labels() == {name: Label("no_baby", "")}


@pytest.mark.parametrize(("fields", "message"), [
    ({"posture": "upside_down"}, "posture 'upside_down' is not one of supine, prone, side, sitting, standing, no_baby"),
    ({"face_state": "smiling"}, "face_state 'smiling' is not one of clear, pacifier, covered, face_not_visible"),
])
def test_a_bad_label_is_refused_naming_the_field(tmp_path, fields, message):
    folder = NurseryFolder(tmp_path)
    name = folder.save_frame(JPEG, SAID, "capture", taken_at=AT)
    with pytest.raises(NurseryError) as error:
        folder.set_label(name, **fields)
    assert str(error.value).startswith(message)
    assert not folder.labels_path.exists()  # nothing written


def test_labels_csv_round_trips(tmp_path):
    labels = {"20261205-031522-412-alert.jpg": Label("prone", "covered"),
              "20261205-031523-000-capture.jpg": Label("no_baby", ""),
              "20261205-031524-000-wrong.jpg": Label("", "pacifier"),
              "20261205-031525-000-wrong.jpg": Label()}  # empty: not written
    write_labels(tmp_path / "labels.csv", labels)
    assert (tmp_path / "labels.csv").read_text().splitlines() == [
        "path,posture,face_state", "20261205-031522-412-alert.jpg,prone,covered",
        "20261205-031523-000-capture.jpg,no_baby,", "20261205-031524-000-wrong.jpg,,pacifier"]
    assert read_labels(tmp_path / "labels.csv") == {k: v for k, v in labels.items() if not v.empty}


def test_a_bad_labels_csv_line_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("path,posture,face_state\n20261205-031522-412-alert.jpg,prone,covered\n"
                    "20261205-031523-000-capture.jpg,prone,wet\n")
    with pytest.raises(NurseryError) as error:
        read_labels(path)
    assert str(error.value).startswith(f"{path} line 3: face_state 'wet' is not one of")
    path.write_text("path,posture\nx.jpg,prone\n")
    with pytest.raises(NurseryError, match="missing column.s. face_state"):
        read_labels(path)
    assert read_labels(tmp_path / "absent.csv") == {}


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    folder = NurseryFolder(tmp_path)
    name = folder.save_frame(JPEG, SAID, "wrong", taken_at=AT)
    folder.set_label(name, posture="side", face_state="clear")
    folder.mark_wrong(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name, name.replace(".jpg", ".json"), "labels.csv"])  # no .*.tmp left behind


def test_camera_folder_and_prediction_of():
    assert camera_folder("~/nurseries", "crib").root.name == "crib"
    assert not str(camera_folder("~/nurseries", "crib").root).startswith("~")
    seen = Observation(baby_present=True, face_state="covered", posture="prone", cry_probability=0.2,
                       scores={"prone": 0.90123, "covered": 0.5})
    assert prediction_of(seen) == {"baby_present": True, "face_state": "covered", "posture": "prone",
                                   "scores": {"prone": 0.901, "covered": 0.5}}
