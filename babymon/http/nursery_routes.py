"""The HTTP routes that teach babymon the nursery (frames in ``nursery.path/<camera>``, see
:mod:`babymon.nursery.folder`); the route list is in :mod:`babymon.http.server`'s docstring."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

from aiohttp import web

from babymon.http.server import EVIDENCE, LIVE, NURSERY, _camera, _NotFound, json_error
from babymon.nursery.folder import FACE_STATE_LABELS, POSTURE_LABELS, Label, NurseryError, NurseryFolder, camera_folder
from babymon.nursery.keeper import keep_frame

log = logging.getLogger(__name__)


def _folder(request: web.Request) -> tuple[str, NurseryFolder]:
    camera = _camera(request)
    base = request.app.get(NURSERY)
    if base is None:
        raise web.HTTPServiceUnavailable(reason="no nursery folder is configured (nursery.path)")
    return camera, camera_folder(base, camera)


def _not_written(root: Path, exc: OSError) -> web.Response:
    """A nursery folder that cannot be read or written (full, read-only, not a folder): 500 naming it."""
    log.error("nursery: %s: %s", root, exc)
    return json_error(500, f"nursery folder {root}: {exc.strerror or exc}")


def _image_url(camera: str, name: str) -> str:
    return f"/api/nursery/{camera}/frames/{name}"


def _frame_list(camera: str, folder: NurseryFolder) -> dict:
    """The listing of ``GET /api/nursery/{camera}/frames`` (reads the folder: run it in a thread)."""
    labels = folder.labels()
    frames = sorted(folder.frames(), key=lambda f: (not (f.wrong or f.source == "wrong"), -f.taken_at, f.name))
    counts = Counter({label: 0 for label in (*POSTURE_LABELS, *FACE_STATE_LABELS)})
    out, unlabelled = [], 0
    for info in frames:
        label = labels.get(info.name, Label())
        if label.empty:
            unlabelled += 1
        counts.update(x for x in (label.posture, label.face_state) if x)
        out.append({"name": info.name, "taken_at": info.taken_at, "source": info.source,
                    "wrong": info.wrong or info.source == "wrong", "event_id": info.event_id,
                    "prediction": info.prediction, "label": {"posture": label.posture, "face_state": label.face_state},
                    "image_url": _image_url(camera, info.name)})
    return {"camera": camera, "folder": str(folder.root), "frames": out, "counts": dict(counts),
            "unlabelled": unlabelled, "total": len(out)}


async def nursery_frames(request: web.Request) -> web.Response:
    camera, folder = _folder(request)
    try:
        listing = await asyncio.to_thread(_frame_list, camera, folder)
    except NurseryError as exc:  # a labels.csv edited by hand into something unreadable
        return json_error(500, str(exc))
    except OSError as exc:
        return _not_written(folder.root, exc)
    return web.json_response(listing)


async def nursery_image(request: web.Request) -> web.StreamResponse:
    _, folder = _folder(request)
    try:
        path = folder.frame_path(request.match_info["name"])
    except NurseryError as exc:
        raise _NotFound(str(exc)) from None
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"})


async def nursery_label(request: web.Request) -> web.Response:
    camera, folder = _folder(request)
    name = request.match_info["name"]
    try:
        folder.frame_path(name)
    except NurseryError as exc:
        raise _NotFound(str(exc)) from None
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, 'the body must be JSON: {"posture": "...", "face_state": "..."}')
    if not isinstance(body, dict):
        return json_error(400, 'the body must be a JSON object: {"posture": "...", "face_state": "..."}')
    unknown = sorted(set(body) - {"posture", "face_state"})
    if unknown:
        return json_error(400, f"unknown field(s) {', '.join(unknown)}; expected posture and/or face_state")
    for key, value in body.items():
        if value is not None and not isinstance(value, str):
            return json_error(400, f"{key} must be a string (\"\" clears it)")
    try:
        label = await asyncio.to_thread(folder.set_label, name, body.get("posture"), body.get("face_state"))
    except NurseryError as exc:
        return json_error(400, str(exc))
    except OSError as exc:
        return _not_written(folder.root, exc)
    return web.json_response({"name": name, "camera": camera,
                              "label": {"posture": label.posture, "face_state": label.face_state}})


async def camera_wrong(request: web.Request) -> web.Response:
    camera = _camera(request)
    base = request.app.get(NURSERY)
    if base is None:
        raise web.HTTPServiceUnavailable(reason="no nursery folder is configured (nursery.path)")
    analysed = request.app[LIVE].latest(camera)
    if analysed is None:
        return json_error(503, f"camera '{camera}' has no analysed frame yet")
    try:
        name = await asyncio.to_thread(keep_frame, base, camera, analysed, "wrong")
    except OSError as exc:
        return _not_written(base / camera, exc)
    log.info("nursery: camera %s: kept %s, marked wrong on the live view", camera, name)
    return web.json_response({"name": name, "camera": camera, "image_url": _image_url(camera, name)}, status=201)


def _mark_event_wrong(base: Path, cameras: list[str], event_id: str) -> tuple[str, str] | None:
    for camera in cameras:
        folder = camera_folder(base, camera)
        name = folder.find_event(event_id)
        if name is not None:
            folder.mark_wrong(name)
            return camera, name
    return None


async def event_wrong(request: web.Request) -> web.Response:
    event_id = request.match_info["event_id"]
    base = request.app.get(NURSERY)
    if base is None:
        raise web.HTTPServiceUnavailable(reason="no nursery folder is configured (nursery.path)")
    known = request.app[LIVE].cameras
    record = next((r for r in request.app[EVIDENCE].events(limit=10**9) if r.get("id") == event_id), None)
    cameras = [record["camera"]] if record is not None and record.get("camera") in known else sorted(known)
    try:
        found = await asyncio.to_thread(_mark_event_wrong, base, cameras, event_id)
    except OSError as exc:
        return _not_written(base, exc)
    if found is None:
        what = f"{record['type']} event" if record is not None else "event"
        raise _NotFound(f"no frame was kept for {what} '{event_id}' (alert frames are kept while "
                        "nursery.keep_alert_frames is on)")
    camera, name = found
    log.info("nursery: camera %s: %s (event %s) marked wrong", camera, name, event_id)
    return web.json_response({"name": name, "camera": camera, "image_url": _image_url(camera, name)})


def add_nursery_routes(app: web.Application) -> None:
    app.router.add_get("/api/nursery/{camera}/frames", nursery_frames)
    app.router.add_get("/api/nursery/{camera}/frames/{name}", nursery_image)
    app.router.add_put("/api/nursery/{camera}/labels/{name}", nursery_label)
    app.router.add_post("/api/cameras/{camera}/wrong", camera_wrong)
    app.router.add_post("/api/events/{event_id}/wrong", event_wrong)
