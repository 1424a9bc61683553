"""The aiohttp application: JSON API, snapshots, MJPEG, metrics and the web page.

Routes (all but ``/static/`` need the token when one is configured, as ``Authorization: Bearer …`` or
``?token=…``):

``/`` page · ``/api/health`` · ``/api/cameras`` · ``/api/cameras/{camera}/state`` · ``…/snapshot.jpg`` ·
``…/stream.mjpeg`` · ``/api/events`` · ``/api/events/{id}/snapshot.jpg`` · ``…/clip.mp4`` · ``/metrics``

Teaching babymon the nursery (frames in ``nursery.path/<camera>``, see :mod:`babymon.nursery.folder`):

``GET /label`` the labelling page ·
``GET /api/nursery/{camera}/frames`` the camera's kept frames, those marked wrong first, then newest first, each
with what babymon said, the parent's label and its ``image_url``; ``counts`` per label, ``unlabelled``, ``total`` ·
``GET /api/nursery/{camera}/frames/{name}`` a frame (JPEG) ·
``PUT /api/nursery/{camera}/labels/{name}`` ``{"posture": …, "face_state": …}`` (either optional, ``""`` clears)
→ ``{"name", "label"}`` (400 naming the field for a bad value) ·
``POST /api/cameras/{camera}/wrong`` keep the latest analysed frame as wrong → 201 ``{"name", "image_url"}``
(503 before the first frame) ·
``POST /api/events/{id}/wrong`` mark the frame kept for that alert wrong → ``{"name", "image_url"}`` (404 when
none was kept)
"""

from __future__ import annotations

import hmac
import logging
import time
from importlib import resources
from pathlib import Path

from aiohttp import web

from babymon.evidence import EvidenceStore
from babymon.http.live import LiveView
from babymon.http.metrics import EventCounter, render_metrics

log = logging.getLogger(__name__)

# the only files served besides the pages
STATIC = {"common.js": "text/javascript", "app.js": "text/javascript", "label.js": "text/javascript",
          "style.css": "text/css"}
MJPEG_BOUNDARY = "babymonframe"
MJPEG_CHECK = 0.5  # seconds a stream waits for a frame before it looks whether its client is still there
MAX_STREAMS = 16  # concurrent MJPEG clients (each costs a little CPU)

LIVE = web.AppKey("live", LiveView)
EVIDENCE = web.AppKey("evidence", EvidenceStore)
EVENTS = web.AppKey("events", EventCounter)
TOKEN = web.AppKey("token", str)
STREAMS = web.AppKey("streams", list)
HOSTS = web.AppKey("hosts", frozenset)
NURSERY = web.AppKey("nursery", Path)  # nursery.path: one folder per camera (absent: no nursery)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "localhost.localdomain", "ip6-localhost"})


def json_error(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _as_bytes(text: str) -> bytes:
    """Header and query values as bytes; a value that is not UTF-8 keeps its raw bytes (and so never matches)."""
    return text.encode("utf-8", "surrogateescape")


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    """Without a token, only requests addressed to a loopback name (or the configured host) are served: a web
    page elsewhere cannot reach the API by pointing its own host name at 127.0.0.1 (DNS rebinding)."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host in allowed


@web.middleware
async def auth_and_errors(request: web.Request, handler):
    token = request.app[TOKEN]
    if not token and not host_allowed(request.headers.get("Host"), request.app[HOSTS]):
        return json_error(403, "this address only answers requests for a loopback host name "
                               "(set http.token to serve other names)")
    if token and not request.path.startswith("/static/"):  # the page's script and style hold no data
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        if not hmac.compare_digest(_as_bytes(given), _as_bytes(token)):
            response = json_error(401, "a valid token is required (Authorization: Bearer … or ?token=…)")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return json_error(exc.status, exc.reason)
        raise


def _camera(request: web.Request) -> str:
    camera = request.match_info["camera"]
    cameras = request.app[LIVE].cameras
    if camera not in cameras:
        raise _NotFound(f"unknown camera '{camera}'", cameras=sorted(cameras))
    return camera


class _NotFound(Exception):
    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra


@web.middleware
async def not_found(request: web.Request, handler):
    try:
        return await handler(request)
    except _NotFound as exc:
        return json_error(404, str(exc), **exc.extra)


def _html(name: str) -> web.Response:
    text = resources.files("babymon.http").joinpath(f"static/{name}").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


async def page(request: web.Request) -> web.Response:
    return _html("index.html")


async def label_page(request: web.Request) -> web.Response:
    return _html("label.html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise _NotFound(f"no such file '{name}'")
    text = resources.files("babymon.http").joinpath(f"static/{name}").read_text(encoding="utf-8")
    return web.Response(text=text, content_type=STATIC[name], headers={"Cache-Control": "no-store"})


def health_report(live: LiveView, evidence_problem: str | None = None) -> tuple[bool, dict]:
    """Healthy (HTTP 200) when every camera whose monitoring is switched on is being monitored.

    ``status`` says more: ``ok``; ``degraded`` when all is monitored but a camera is switched off or the
    evidence store cannot write (``problems`` says what); ``unhealthy`` (503) when a camera that should be
    watched is not."""
    cameras, healthy, problems = {}, True, []
    for key, view in live.cameras.items():
        state = view.state
        restarts = state["health"]["restarts"] if state else 0
        if not view.enabled:
            cameras[key] = {"enabled": False, "monitoring": False, "reasons": ["monitoring is switched off"],
                            "restarts": restarts}
            problems.append(f"camera {key}: monitoring is switched off")
            continue
        reasons = ["starting: no state yet"] if state is None else list(state["not_monitoring_reasons"])
        cameras[key] = {"enabled": True, "monitoring": not reasons, "reasons": reasons, "restarts": restarts}
        healthy = healthy and not reasons
    if evidence_problem:
        problems.append(f"evidence: {evidence_problem}")
    status = "unhealthy" if not healthy else ("degraded" if problems else "ok")
    return healthy, {"status": status, "problems": problems, "evidence": evidence_problem or "ok",
                     "cameras": cameras}


async def health(request: web.Request) -> web.Response:
    healthy, report = health_report(request.app[LIVE], getattr(request.app[EVIDENCE], "problem", None))
    return web.json_response(report, status=200 if healthy else 503)


async def cameras(request: web.Request) -> web.Response:
    out = []
    for key, view in request.app[LIVE].cameras.items():
        state = view.state or {}
        base = f"/api/cameras/{key}"
        out.append({
            "camera": key, "name": view.name, "enabled": view.enabled,
            "monitoring": state.get("monitoring", False), "danger": state.get("danger"),
            "reasons": state.get("reasons", []), "undetectable": state.get("undetectable", []),
            "state_url": f"{base}/state", "snapshot_url": f"{base}/snapshot.jpg", "stream_url": f"{base}/stream.mjpeg",
        })
    return web.json_response({"cameras": out})


async def camera_state(request: web.Request) -> web.Response:
    camera = _camera(request)
    state = request.app[LIVE].state(camera)
    if state is None:
        return json_error(503, f"camera '{camera}' has no state yet")
    return web.json_response(state)


async def snapshot(request: web.Request) -> web.Response:
    camera = _camera(request)
    jpeg = request.app[LIVE].jpeg(camera)
    if jpeg is None:
        return json_error(503, f"camera '{camera}' has no analysed frame yet")
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def stream(request: web.Request) -> web.StreamResponse:
    camera, live = _camera(request), request.app[LIVE]
    streams = request.app[STREAMS]
    if len(streams) >= MAX_STREAMS:
        return json_error(503, f"too many live streams open ({MAX_STREAMS})")
    response = web.StreamResponse(headers={
        "Content-Type": f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}",
        "Cache-Control": "no-store", "Connection": "close"})
    await response.prepare(request)
    streams.append(response)
    seen = -1
    try:
        while request.transport is not None and not request.transport.is_closing():  # a closed client frees its slot
            latest = await live.next_frame(camera, seen, MJPEG_CHECK)
            if latest != seen:
                seen = latest
                jpeg = live.jpeg(camera)
                if jpeg:
                    await response.write(f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    finally:
        streams.remove(response)
    return response


def _public_event(record: dict) -> dict:
    event = {k: v for k, v in record.items() if k != "files"}
    files = record.get("files", {})
    base = f"/api/events/{record['id']}"
    event["snapshot_url"] = f"{base}/snapshot.jpg" if "snapshot" in files else None
    event["clip_url"] = f"{base}/clip.mp4" if "clip" in files else None
    return event


async def events(request: web.Request) -> web.Response:
    query = request.query
    camera = query.get("camera")
    if camera is not None and camera not in request.app[LIVE].cameras:
        raise _NotFound(f"unknown camera '{camera}'", cameras=sorted(request.app[LIVE].cameras))
    try:
        limit = min(5000, max(1, int(query.get("limit", "100"))))
        since = float(query["since"]) if "since" in query else None
    except ValueError:
        return json_error(400, "limit must be an integer and since a Unix time in seconds")
    records = request.app[EVIDENCE].events(camera=camera, limit=limit, since=since)
    return web.json_response({"now": round(time.time(), 3), "events": [_public_event(r) for r in records]})


async def event_file(request: web.Request) -> web.StreamResponse:
    kind = {"snapshot.jpg": "snapshot", "clip.mp4": "clip"}[request.match_info["file"]]
    path = request.app[EVIDENCE].file_path(request.match_info["event_id"], kind)
    if path is None:
        raise _NotFound(f"no {kind} stored for event '{request.match_info['event_id']}'")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg" if kind == "snapshot" else "video/mp4"})


async def metrics(request: web.Request) -> web.Response:
    text = render_metrics(request.app[LIVE], request.app[EVENTS], request.app[EVIDENCE].total_bytes())
    return web.Response(body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def make_app(live: LiveView, evidence: EvidenceStore, event_counter: EventCounter, token: str | None,
             host: str = "127.0.0.1", nursery: Path | None = None) -> web.Application:
    """``nursery``: ``nursery.path`` (one folder per camera); without it the nursery routes answer 503."""
    app = web.Application(middlewares=[auth_and_errors, not_found])
    app[LIVE] = live
    app[EVIDENCE] = evidence
    app[EVENTS] = event_counter
    app[TOKEN] = token or ""
    app[STREAMS] = []
    app[HOSTS] = LOOPBACK_NAMES | {host.lower()}
    if nursery is not None:
        app[NURSERY] = Path(nursery).expanduser()
    app.router.add_get("/", page)
    app.router.add_get("/label", label_page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/cameras", cameras)
    app.router.add_get("/api/cameras/{camera}/state", camera_state)
    app.router.add_get("/api/cameras/{camera}/snapshot.jpg", snapshot)
    app.router.add_get("/api/cameras/{camera}/stream.mjpeg", stream)
    app.router.add_get("/api/events", events)
    app.router.add_get(r"/api/events/{event_id}/{file:snapshot\.jpg|clip\.mp4}", event_file)
    app.router.add_get("/metrics", metrics)
    from babymon.http.nursery_routes import add_nursery_routes  # imports this module: here, not at the top

    add_nursery_routes(app)
    return app
