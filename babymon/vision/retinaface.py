"""RetinaFace (MobileNet-0.25), the accurate face detector, on ONNX Runtime.

The network is written in PyTorch (:mod:`babymon_lab.vision.retinaface_net`) and exported once to ONNX by the
lab (``babymon models export retinaface``, needs the training extras); the detector reads that export
(:mod:`babymon.vision.retinaface_onnx`) and never exports by itself. Inference needs only onnxruntime and
numpy: anchors and decoding are in :mod:`babymon.vision.retinaface_priors`. ONNX Runtime runs this graph about
1.5× as fast as OpenCV's ``cv2.dnn`` on one thread (README).

Usage (same interface as :class:`babymon.vision.face.YuNetDetector`)::

    detector = RetinaFaceDetector()                  # default angles: quarter turns
    faces = detector.detect(bgr_frame, region=(0.2, 0.1, 0.8, 0.9))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from babymon.models import ModelError
from babymon.vision.face import DEFAULT_ANGLES, Face, RotatingDetector
from babymon.vision.geometry import nms
from babymon.vision.retinaface_onnx import INPUT_NAME, OUTPUT_NAMES, check_given_onnx, find_onnx
from babymon.vision.retinaface_priors import decode_boxes, decode_landmarks, priors, to_input

# Chosen on infant_face_parts (babymon/vision/README.md, RetinaFace section).
DEFAULT_SCORE_THRESHOLD = 0.85
DEFAULT_MAX_SIDE = 320
NMS_IOU = 0.4  # within one pass, as the reference implementation
PRE_NMS_TOP_K = 100  # candidates above the threshold kept (best first) before NMS


def open_session(onnx: Path, threads: int = 1):
    """An ONNX Runtime session for ``onnx`` on the CPU with ``threads`` threads; ``ModelError`` naming the file
    when onnxruntime is missing or cannot load it."""
    try:
        import onnxruntime as ort
    except ModuleNotFoundError:
        raise ModelError("RetinaFace needs onnxruntime, which is not installed: pip install -r requirements.lock "
                         "(or `make install`)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidProtobuf / NoSuchFile types
        raise ModelError(f"RetinaFace ONNX model {onnx} cannot be loaded by onnxruntime: {exc}") from None
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if names != ([INPUT_NAME], list(OUTPUT_NAMES)):
        raise ModelError(f"RetinaFace ONNX model {onnx}: expected input {INPUT_NAME!r} and outputs "
                         f"{list(OUTPUT_NAMES)}, got {names[0]} and {names[1]} (not a babymon RetinaFace export)")
    return session


class RetinaFaceUpright:
    """One upright pass of RetinaFace at the image's own size.

    Images whose longer side is below ``min_side`` are enlarged first, and with ``max_side`` set, larger ones
    are shrunk to it; boxes and landmarks are given back in the image's own pixels. One ONNX Runtime session
    (``threads`` threads) per instance: use one detector per camera, as analyzers do.
    """

    def __init__(self, onnx: Path, score_threshold: float = DEFAULT_SCORE_THRESHOLD, nms_threshold: float = NMS_IOU,
                 min_side: int = 320, max_side: int | None = DEFAULT_MAX_SIDE, threads: int = 1):
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"score_threshold must be between 0 and 1, got {score_threshold}")
        if max_side is not None and max_side < min_side:
            raise ValueError(f"max_side ({max_side}) must be at least min_side ({min_side})")
        self._session = open_session(onnx, threads)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.min_side = min_side
        self.max_side = max_side

    def raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's outputs for one image at its own size: offsets (A, 4), scores (A, 2), landmarks (A, 10)."""
        boxes, scores, marks = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: to_input(image)})
        return boxes[0], scores[0], marks[0]

    def detect_upright(self, image: np.ndarray) -> list[Face]:
        import cv2

        height, width = image.shape[:2]
        longest = max(width, height)
        scale = 1.0
        if longest < self.min_side:
            scale = self.min_side / longest
        elif self.max_side is not None and longest > self.max_side:
            scale = self.max_side / longest
        if scale != 1.0:
            interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=interpolation)
        in_h, in_w = image.shape[:2]
        offsets, scores, mark_offsets = self.raw(image)
        face_scores = scores[:, 1]
        keep = np.flatnonzero(face_scores > self.score_threshold)
        if keep.size == 0:
            return []
        keep = keep[np.argsort(-face_scores[keep])][:PRE_NMS_TOP_K]
        anchors = priors(in_h, in_w)[keep]
        # fractions of the (resized) input → pixels of the image as given
        to_pixels = np.array([in_w, in_h], dtype=np.float64) / scale
        boxes = decode_boxes(offsets[keep], anchors).reshape(-1, 2, 2) * to_pixels
        marks = decode_landmarks(mark_offsets[keep], anchors) * to_pixels
        box_list = [tuple(float(v) for v in b.reshape(4)) for b in boxes]
        score_list = [float(s) for s in face_scores[keep]]
        return [Face(box=box_list[i], score=score_list[i], landmarks=tuple((float(x), float(y)) for x, y in marks[i]))
                for i in nms(box_list, score_list, self.nms_threshold)]


class RetinaFaceDetector(RotatingDetector):
    """RetinaFace at several rotations (quarter turns by default), like ``YuNetDetector``.

    ``onnx``: an exported model to use as it is (checked against its ``.onnx.json`` sidecar when there is one);
    by default the export in the model directory, which must be current — ``ModelError`` (an
    ``AnalyzerUnavailable``) naming the file and the command that makes it otherwise.
    ``max_side=None`` detects at full size.
    """

    def __init__(self, angles: Sequence[float] = DEFAULT_ANGLES, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                 onnx: Path | None = None, nms_iou: float = 0.3, min_side: int = 320,
                 max_side: int | None = DEFAULT_MAX_SIDE, threads: int = 1):
        path = find_onnx() if onnx is None else check_given_onnx(Path(onnx))
        upright = RetinaFaceUpright(path, score_threshold, min_side=min_side, max_side=max_side, threads=threads)
        super().__init__(upright, angles, nms_iou)

