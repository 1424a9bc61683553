"""The nursery routes of the real aiohttp app (make_app) on a real nursery folder, and the NurseryKeeper output."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from babymon.analyzers.base import Observation, VideoFrame
from babymon.config import EvidenceConfig, parse_config
from babymon.evidence import EvidenceStore
from babymon.http.live import LiveView
from babymon.http.metrics import EventCounter
from babymon.http.server import make_app
from babymon.http.service import HttpService
from babymon.nursery.folder import NurseryFolder
from babymon.nursery.keeper import NurseryKeeper
from babymon.outputs import AnalysedFrame, FanOut
from babymon.state import build_event

TOKEN = "correct-horse-battery-staple"
AT = time.mktime((2026, 12, 5, 3, 15, 22, 0, 0, -1))


def picture(shade: int = 90) -> np.ndarray:
    image = np.full((240, 320, 3), shade, np.uint8)
    cv2.circle(image, (160, 120), 40, (40, 200, 60), -1)  # green: the raw frame has no red overlay banner
    return image


def analysed(at: float = AT, **seen) -> AnalysedFrame:
    observation = Observation(baby_present=True, **seen, scores={"prone": 0.8})
    return AnalysedFrame(VideoFrame("nursery", picture(), at, 12.0, 60), observation)


def jpeg(shade: int) -> bytes:
    return cv2.imencode(".jpg", picture(shade))[1].tobytes()


def alert(kind: str, camera: str = "nursery", at: float = AT) -> dict:
    return build_event(kind, camera=camera, name="Nursery", at=at, reasons=[kind.removesuffix("_started")])


@pytest.fixture
def nursery(tmp_path):
    base = tmp_path / "nursery"
    folder = NurseryFolder(base / "nursery")
    names = [folder.save_frame(jpeg(50), {"posture": "supine", "face_state": "clear"}, "capture", taken_at=AT),
             folder.save_frame(jpeg(100), {"posture": "prone", "face_state": "covered"}, "alert", taken_at=AT + 60,
                               event_id="a" * 32),
             folder.save_frame(jpeg(150), {"posture": "side", "face_state": "clear"}, "capture", taken_at=AT + 120)]
    folder.set_label(names[0], posture="supine", face_state="pacifier")
    return base, folder, names


def app_for(tmp_path, base, token=None, live=None, evidence=None):
    live = live or LiveView({"nursery": "Nursery", "hall": "Hall"})
    evidence = evidence or EvidenceStore(EvidenceConfig(path=tmp_path / "evidence", max_age=1e9)).open()
    return make_app(live, evidence, EventCounter(), token, nursery=base)


async def test_frames_are_listed_wrong_first_then_newest_with_labels_and_counts(tmp_path, nursery):
    base, folder, names = nursery
    folder.mark_wrong(names[1])
    async with TestClient(TestServer(app_for(tmp_path, base))) as client:
        response = await client.get("/api/nursery/nursery/frames")
        assert response.status == 200
        listing = await response.json()
    assert listing["camera"] == "nursery" and listing["folder"] == str(base / "nursery")
    assert [f["name"] for f in listing["frames"]] == [names[1], names[2], names[0]]
    wrong, newest, labelled = listing["frames"]
    assert wrong == {"name": names[1], "taken_at": AT + 60, "source": "alert", "wrong": True, "event_id": "a" * 32,
                     "prediction": {"posture": "prone", "face_state": "covered"},
                     "label": {"posture": "", "face_state": ""}, "image_url": f"/api/nursery/nursery/frames/{names[1]}"}
    assert labelled["label"] == {"posture": "supine", "face_state": "pacifier"} and not newest["wrong"]
    assert listing["counts"]["supine"] == 1 and listing["counts"]["pacifier"] == 1 and listing["counts"]["prone"] == 0
    assert (listing["unlabelled"], listing["total"]) == (2, 3)


async def test_frame_image_and_bad_names(tmp_path, nursery):
    base, folder, names = nursery
    async with TestClient(TestServer(app_for(tmp_path, base))) as client:
        image = await client.get(f"/api/nursery/nursery/frames/{names[2]}")
        assert image.status == 200 and image.content_type == "image/jpeg"
        assert await image.read() == (base / "nursery" / names[2]).read_bytes()
        for bad in ("labels.csv", "..%2Flabels.csv", "20991231-000000-000-capture.jpg"):
            missing = await client.get(f"/api/nursery/nursery/frames/{bad}")
            assert missing.status == 404 and "error" in await missing.json(), bad
        unknown = await client.get("/api/nursery/attic/frames")
        assert unknown.status == 404 and (await unknown.json())["error"] == "unknown camera 'attic'"
        empty = await client.get("/api/nursery/hall/frames")  # a camera without a folder yet: no frames
        assert (await empty.json())["frames"] == []


async def test_put_label_sets_clears_and_refuses_bad_values(tmp_path, nursery):
    base, folder, names = nursery
    path = f"/api/nursery/nursery/labels/{names[1]}"
    async with TestClient(TestServer(app_for(tmp_path, base))) as client:
        response = await client.put(path, json={"posture": "prone", "face_state": "covered"})
        assert response.status == 200
        assert await response.json() == {"name": names[1], "camera": "nursery",
                                         "label": {"posture": "prone", "face_state": "covered"}}
        response = await client.put(path, json={"face_state": ""})  # clears the face, keeps the posture
        assert (await response.json())["label"] == {"posture": "prone", "face_state": ""}

        bad = await client.put(path, json={"posture": "upside_down"})
        assert bad.status == 400 and (await bad.json())["error"].startswith("posture 'upside_down' is not one of")
        bad = await client.put(path, json={"face_state": 3})
        assert bad.status == 400 and (await bad.json())["error"].startswith("face_state must be a string")
        bad = await client.put(path, json={"postur": "prone"})
        assert bad.status == 400 and "postur" in (await bad.json())["error"]
        bad = await client.put(path, data=b"not json")
        assert bad.status == 400
        missing = await client.put("/api/nursery/nursery/labels/20991231-000000-000-capture.jpg",
                                   json={"posture": "side"})
        assert missing.status == 404 and "is not in" in (await missing.json())["error"]
        missing = await client.put(f"/api/nursery/attic/labels/{names[1]}", json={"posture": "side"})
        assert missing.status == 404
    assert folder.labels()[names[1]].posture == "prone"  # the refused requests changed nothing
    assert (base / "nursery" / "labels.csv").read_text().count("\n") == 3


async def test_a_token_is_required_for_the_nursery_routes_and_the_label_page(tmp_path, nursery):
    base, folder, names = nursery
    async with TestClient(TestServer(app_for(tmp_path, base, token=TOKEN))) as client:
        for method, path in [("GET", "/label"), ("GET", "/api/nursery/nursery/frames"),
                             ("GET", f"/api/nursery/nursery/frames/{names[0]}"),
                             ("PUT", f"/api/nursery/nursery/labels/{names[0]}"),
                             ("POST", "/api/cameras/nursery/wrong"), ("POST", f"/api/events/{'a' * 32}/wrong")]:
            refused = await client.request(method, path, json={"posture": "side"})
            assert refused.status == 401, path
        assert folder.labels()[names[0]].posture == "supine"
        page = await client.get(f"/label?token={TOKEN}")
        assert page.status == 200 and "static/label.js" in await page.text()
        script = await client.get("/static/label.js")  # holds no data: served without the token
        assert script.status == 200 and script.content_type == "text/javascript"
        listing = await client.get("/api/nursery/nursery/frames", headers={"Authorization": f"Bearer {TOKEN}"})
        assert listing.status == 200 and len((await listing.json())["frames"]) == 3


async def test_wrong_on_the_live_view_keeps_the_raw_frame(tmp_path):
    base = tmp_path / "nursery"
    live = LiveView({"nursery": "Nursery"})
    async with TestClient(TestServer(app_for(tmp_path, base, live=live))) as client:
        early = await client.post("/api/cameras/nursery/wrong")
        assert early.status == 503 and "no analysed frame yet" in (await early.json())["error"]
        live.camera_frame("nursery", analysed(face_state="clear", posture="prone"))
        response = await client.post("/api/cameras/nursery/wrong")
        assert response.status == 201
        kept = await response.json()
        assert kept["name"].endswith("-wrong.jpg")
        assert kept["image_url"] == f"/api/nursery/nursery/frames/{kept['name']}"
        image = await client.get(kept["image_url"])
        assert image.status == 200
        data = await image.read()
        listing = await (await client.get("/api/nursery/nursery/frames")).json()
        assert (await client.post("/api/cameras/attic/wrong")).status == 404
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (240, 320, 3)
    assert np.abs(decoded.astype(int) - picture()).mean() < 3  # the raw picture, no overlay drawn on it
    [frame] = listing["frames"]
    assert frame["source"] == "wrong" and frame["wrong"] is True and frame["taken_at"] == AT
    assert frame["prediction"] == {"baby_present": True, "face_state": "clear", "posture": "prone",
                                   "scores": {"prone": 0.8}}


async def test_wrong_on_an_event_marks_the_frame_kept_for_it(tmp_path, nursery):
    base, folder, names = nursery
    evidence = EvidenceStore(EvidenceConfig(path=tmp_path / "evidence", max_age=1e9)).open()
    covered, cleared = alert("face_covered_started"), build_event("face_covered_cleared", camera="nursery",
                                                                 name="Nursery", at=AT + 5)
    evidence.camera_event("nursery", covered)
    evidence.camera_event("nursery", cleared)
    kept = folder.save_frame(jpeg(200), {"face_state": "covered"}, "alert", taken_at=AT + 200, event_id=covered["id"])
    async with TestClient(TestServer(app_for(tmp_path, base, evidence=evidence))) as client:
        response = await client.post(f"/api/events/{covered['id']}/wrong")
        assert response.status == 200
        assert await response.json() == {"name": kept, "camera": "nursery",
                                         "image_url": f"/api/nursery/nursery/frames/{kept}"}
        none_kept = await client.post(f"/api/events/{cleared['id']}/wrong")
        assert none_kept.status == 404
        assert (await none_kept.json())["error"].startswith(
            f"no frame was kept for face_covered_cleared event '{cleared['id']}'")
        unknown = await client.post(f"/api/events/{'f' * 32}/wrong")
        assert unknown.status == 404 and "no frame was kept" in (await unknown.json())["error"]
    assert folder.frame(kept).wrong and not folder.frame(names[1]).wrong


async def test_a_folder_that_cannot_be_written_is_a_json_error_naming_it(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the nursery folders should be")
    live = LiveView({"nursery": "Nursery"})
    live.camera_frame("nursery", analysed())
    async with TestClient(TestServer(app_for(tmp_path, blocker, live=live))) as client:
        response = await client.post("/api/cameras/nursery/wrong")
        assert response.status == 500
        assert (await response.json())["error"].startswith(f"nursery folder {blocker / 'nursery'}: ")


async def test_without_a_nursery_path_the_routes_say_so(tmp_path):
    live = LiveView({"nursery": "Nursery"})
    live.camera_frame("nursery", analysed())
    app = make_app(live, EvidenceStore(EvidenceConfig(path=tmp_path, max_age=1e9)).open(), EventCounter(), None)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/api/nursery/nursery/frames")
        assert response.status == 503 and "nursery.path" in (await response.json())["error"]
        assert (await client.post("/api/cameras/nursery/wrong")).status == 503
    assert not any(p.suffix == ".jpg" for p in tmp_path.rglob("*"))


# ------------------------------------------------------------------------------------------------ keeper

def test_the_keeper_keeps_the_frame_an_alert_started_on(tmp_path):
    keeper = NurseryKeeper(tmp_path, ["nursery", "hall"])
    keeper.camera_event("nursery", alert("prone_started"))  # no frame yet: nothing kept, nothing raised
    keeper.camera_frame("nursery", analysed(AT, face_state="covered", posture="supine"))
    keeper.camera_event("nursery", build_event("snoozed", camera="nursery", name="Nursery", at=AT))
    keeper.camera_event("nursery", alert("danger_started"))  # not a condition: its conditions' starts keep the frame
    keeper.camera_event("nursery", alert("face_covered_cleared"))
    assert not (tmp_path / "nursery").exists()

    covered = alert("face_covered_started")
    keeper.camera_event("nursery", covered)
    folder = NurseryFolder(tmp_path / "nursery")
    [frame] = folder.frames()
    assert (frame.source, frame.event_id, frame.taken_at) == ("alert", covered["id"], AT)
    assert frame.prediction == {"baby_present": True, "face_state": "covered", "posture": "supine",
                                "scores": {"prone": 0.8}}
    decoded = cv2.imdecode(np.frombuffer(folder.frame_path(frame.name).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(decoded.astype(int) - picture()).mean() < 3
    assert folder.find_event(covered["id"]) == frame.name
    assert not (tmp_path / "hall").exists()  # the other camera had no frame


def test_the_keeper_never_raises_into_the_daemon(tmp_path, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the nursery folder should be")
    keeper = NurseryKeeper(blocker, ["nursery"])
    keeper.camera_frame("nursery", analysed())
    keeper.camera_event("nursery", alert("cry_started"))  # does not raise
    assert "could not be kept" in caplog.text
    keeper.camera_event("nursery", "not an event")  # type: ignore[arg-type]


def test_the_http_service_adds_the_keeper_when_alert_frames_are_kept(tmp_path):
    def service(nursery: dict) -> HttpService:
        config = parse_config({"cameras": {"nursery": "rtsp://cam/stream"}, "nursery": nursery,
                               "http": {"evidence": {"path": str(tmp_path / "evidence")}}})
        return HttpService(config.http, {"nursery": "Nursery"}, nursery=config.nursery)

    kept = service({"path": str(tmp_path / "frames")})
    [keeper] = [o for o in kept.outputs if isinstance(o, NurseryKeeper)]
    assert keeper.base == tmp_path / "frames"
    FanOut(kept.outputs).camera_frame("nursery", analysed())
    FanOut(kept.outputs).camera_event("nursery", alert("standing_started"))
    assert [f.source for f in NurseryFolder(tmp_path / "frames" / "nursery").frames()] == ["alert"]
    off = service({"path": str(tmp_path / "frames"), "keep_alert_frames": False})
    assert not any(isinstance(o, NurseryKeeper) for o in off.outputs)
    assert not any(isinstance(o, NurseryKeeper) for o in HttpService(off.config, {}).outputs)



def test_the_keeper_deletes_old_unlabelled_alert_frames_beyond_its_maximum(tmp_path):
    keeper = NurseryKeeper(tmp_path, ["nursery"], max_alert_frames=2)
    folder = NurseryFolder(tmp_path / "nursery")
    names = []
    for i in range(5):
        keeper.camera_frame("nursery", analysed(AT + 60 * i, face_state="covered", posture="supine"))
        keeper.camera_event("nursery", alert("face_covered_started"))
        names.append(folder.frames()[-1].name)
        if i == 0:
            folder.set_label(names[0], posture="supine", face_state="clear")  # the parent's work is kept
        if i == 1:
            folder.mark_wrong(names[1])
    kept = [f.name for f in folder.frames()]
    assert kept == [names[0], names[1], names[3], names[4]]
    assert not (folder.root / names[2]).with_suffix(".json").exists()
