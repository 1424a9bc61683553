"""Draw what babymon thinks onto a frame (pure: image in, new image out).

OpenCV draws the text and encodes the JPEG: the live view, and the one snapshot of each alert (MQTT and evidence).
"""

from __future__ import annotations

import cv2
import numpy as np

from babymon.analyzers.base import Observation

GREEN, RED, AMBER, WHITE, GREY, BLACK = (80, 200, 80), (40, 40, 230), (0, 170, 255), (255, 255, 255), (150, 150, 150), (0, 0, 0)
FACE_COLOURS = {"clear": GREEN, "pacifier": GREEN, "covered": RED, "face_not_visible": AMBER, "no_baby": GREY}
CRY_THRESHOLD = 0.5


def draw_overlay(image_bgr: np.ndarray, observation: Observation, state: dict | None) -> np.ndarray:
    """Face box, face state, posture, a cry meter and the danger / monitoring status."""
    out = image_bgr.copy()
    height, width = out.shape[:2]
    scale = max(0.4, width / 700.0)
    thick = max(1, round(width / 320))
    if observation.baby_box is not None:
        _box(out, observation.baby_box, WHITE, thick)
    if observation.face_box is not None:
        _box(out, observation.face_box, FACE_COLOURS.get(observation.face_state or "", AMBER), thick + 1)
    lines = [
        (f"face: {observation.face_state or 'unknown'}", FACE_COLOURS.get(observation.face_state or "", GREY)),
        (f"posture: {observation.posture or 'unknown'}",
         RED if observation.posture in ("prone", "standing") else WHITE),
    ]
    _banner(out, state, scale, thick)
    line_height = int(26 * scale) + 4
    y = int(30 * scale) + line_height + 6
    for text, colour in lines:
        _text(out, text, (6, y), colour, scale, thick)
        y += line_height
    _cry_meter(out, observation.cry_probability, scale, thick)
    return out


def _box(image: np.ndarray, box, colour, thick: int) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float, thick: int) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, thick + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def _banner(image: np.ndarray, state: dict | None, scale: float, thick: int) -> None:
    if state is None:
        text, colour = "starting", GREY
    elif not state.get("monitoring", False):
        text, colour = "NOT MONITORING", AMBER
    elif state.get("danger"):
        text, colour = "DANGER: " + ", ".join(state.get("reasons") or []), RED
    else:
        text, colour = "ok", GREEN
    height = int(30 * scale) + 4
    cv2.rectangle(image, (0, 0), (image.shape[1], height), colour, -1)
    cv2.putText(image, text, (6, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, thick, cv2.LINE_AA)


def _cry_meter(image: np.ndarray, probability: float | None, scale: float, thick: int) -> None:
    height, width = image.shape[:2]
    bar_w = max(8, width // 32)
    x2, x1 = width - 6, width - 6 - bar_w
    top, bottom = int(40 * scale) + 10, height - int(30 * scale) - 10
    cv2.rectangle(image, (x1, top), (x2, bottom), BLACK, -1)
    if probability is not None:
        level = bottom - int(round((bottom - top) * min(1.0, max(0.0, probability))))
        cv2.rectangle(image, (x1, level), (x2, bottom), RED if probability >= CRY_THRESHOLD else GREEN, -1)
    threshold_y = bottom - int(round((bottom - top) * CRY_THRESHOLD))
    cv2.line(image, (x1 - 3, threshold_y), (x2 + 3, threshold_y), WHITE, 1)
    cv2.rectangle(image, (x1, top), (x2, bottom), WHITE, 1)
    label = "cry" if probability is not None else "cry n/a"
    size = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, thick)[0]
    _text(image, label, (max(0, x2 - size[0]), height - 8), WHITE, scale * 0.8, thick)


def encode_jpeg(image_bgr: np.ndarray, quality: int = 80) -> bytes:
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
