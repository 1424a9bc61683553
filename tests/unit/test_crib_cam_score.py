"""The crib-camera report's scoring rules (pure; the real set is evaluated by the lab command)."""

from pathlib import Path

from babymon_lab.vision.crib_cam import CribFrame, Prediction, report, score, write_manifests


def frame(posture: str, face: str, group: str = "g", ir: bool = False, note: str = "") -> CribFrame:
    return CribFrame(path=Path(f"/x/{posture}_{face}_{group}.jpg"), posture=posture, face_state=face,
                     subject="infant", ir=ir, group=group, note=note)


def guess(posture: str, face: str) -> Prediction:
    return Prediction(posture=posture, face_state=face, presence=0.5, ms=10.0)


def test_posture_scores_leave_out_unknown_all_fours_and_empty_frames():
    frames = [frame("supine", "clear"), frame("prone", "face_not_visible"), frame("unknown", "clear"),
              frame("prone", "clear", note="crawling, all fours"), frame("no_baby", "no_baby")]
    preds = [guess("prone", "clear"), guess("prone", "clear"), guess("sitting", "clear"),
             guess("supine", "clear"), guess("no_baby", "covered")]
    result = score(frames, preds)
    assert result["posture"]["n"] == 2
    assert result["posture"]["macro_f1_labels"] == ["supine", "prone"]
    assert result["posture"]["recall"] == {"supine": 0.0, "prone": 1.0}
    assert result["posture"]["supine_read_prone"] == 1.0
    assert result["empty"] == {"n": 1, "no_baby": 0.0, "covered": 1}
    assert result["face_down"] == {"n": 1, "not_visible_or_covered": 0.0, "clear": 1}


def test_report_splits_day_ir_and_groups(tmp_path):
    frames = [frame("supine", "clear", "a"), frame("prone", "covered", "b", ir=True)]
    result = report(frames, [guess("supine", "clear"), guess("prone", "covered")])
    assert result["day"]["frames"] == 1 and result["ir"]["frames"] == 1
    assert set(result["groups"]) == {"a", "b"}
    assert result["ir"]["face_down"]["not_visible_or_covered"] == 1.0
    paths = write_manifests(frames, tmp_path)
    ir_posture = (tmp_path / "crib_posture_ir.csv").read_text().splitlines()
    assert len(paths) == 6 and ir_posture[0] == "path,label,group" and ir_posture[1].endswith(",prone,b")
