"""Pure geometry for face detection: boxes, IoU, non-maximum suppression, image rotation maps, crop regions.

Coordinates are continuous pixel coordinates: the image spans ``0..width`` × ``0..height``, pixel ``(col, row)``
covers ``[col, col+1) × [row, row+1)``. Boxes are ``(x1, y1, x2, y2)``. No OpenCV here, only numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def contains(box: Box, point: tuple[float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def nms(boxes: list[Box], scores: list[float], iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first."""
    if len(boxes) != len(scores):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        if all(iou(boxes[i], boxes[k]) <= iou_threshold for k in kept):
            kept.append(i)
    return kept


@dataclass(frozen=True)
class Rotation:
    """Rotating a ``width`` × ``height`` image clockwise (as displayed) by ``angle`` degrees onto a canvas that
    holds all of it. ``matrix`` maps original → rotated continuous coordinates; ``size`` is the rotated canvas.

    For multiples of 90° this is exactly what ``cv2.rotate`` produces.
    """

    angle: float
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the rotated canvas."""
        quarter = self._quarter()
        if quarter is not None:
            return (self.height, self.width) if quarter % 2 else (self.width, self.height)
        c, s = abs(math.cos(math.radians(self.angle))), abs(math.sin(math.radians(self.angle)))
        return (math.ceil(c * self.width + s * self.height - 1e-9), math.ceil(s * self.width + c * self.height - 1e-9))

    def _quarter(self) -> int | None:
        turns = self.angle / 90.0
        return int(round(turns)) % 4 if abs(turns - round(turns)) < 1e-9 else None

    @property
    def matrix(self) -> np.ndarray:
        """2×3 affine matrix, original → rotated, continuous coordinates."""
        theta = math.radians(self.angle)
        c, s = math.cos(theta), math.sin(theta)
        quarter = self._quarter()
        if quarter is not None:  # exact integers, so cv2.rotate and this agree to the bit
            c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][quarter]
        out_w, out_h = self.size
        cx, cy = self.width / 2, self.height / 2
        ox, oy = out_w / 2, out_h / 2
        return np.array([[c, -s, ox - c * cx + s * cy],
                         [s, c, oy - s * cx - c * cy]], dtype=np.float64)

    @property
    def inverse(self) -> np.ndarray:
        """2×3 affine matrix, rotated → original."""
        m = self.matrix
        a = m[:, :2]
        a_inv = a.T  # a rotation: inverse = transpose
        return np.hstack([a_inv, -(a_inv @ m[:, 2:3])])

    def pixel_matrix(self) -> np.ndarray:
        """The same map in OpenCV's pixel-index convention (pixel centres at integers), for ``cv2.warpAffine``."""
        m = self.matrix.copy()
        m[:, 2] = m[:, :2] @ np.array([0.5, 0.5]) + m[:, 2] - 0.5
        return m

    def forward(self, points: np.ndarray) -> np.ndarray:
        """Original → rotated, for an (N, 2) array of points."""
        return _apply(self.matrix, points)

    def backward(self, points: np.ndarray) -> np.ndarray:
        """Rotated → original, for an (N, 2) array of points."""
        return _apply(self.inverse, points)

    def box_back(self, box: Box) -> Box:
        """A box found in the rotated image, as an upright box in the original image.

        A face is closer to an ellipse than to a rectangle, so the box is the bounding box of the ellipse
        inscribed in the rotated box (exact for multiples of 90°; at 45° it is not inflated by √2 the way the
        bounding box of the four corners would be).
        """
        cx, cy = self.backward(np.array([centre(box)]))[0]
        half_w, half_h = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
        theta = math.radians(self.angle)
        c, s = abs(math.cos(theta)), abs(math.sin(theta))
        ext_x = math.hypot(half_w * c, half_h * s)
        ext_y = math.hypot(half_w * s, half_h * c)
        return (float(cx - ext_x), float(cy - ext_y), float(cx + ext_x), float(cy + ext_y))


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def region_pixels(region: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """A region given as fractions ``(x1, y1, x2, y2)`` of the frame, as whole pixels (at least 1×1)."""
    x1, y1, x2, y2 = region
    if not all(0.0 <= v <= 1.0 for v in region) or not (x1 < x2 and y1 < y2):
        raise ValueError(f"region {region}: expected fractions 0..1 with x1 < x2 and y1 < y2")
    px1, py1 = int(math.floor(x1 * width)), int(math.floor(y1 * height))
    px2, py2 = max(px1 + 1, int(math.ceil(x2 * width))), max(py1 + 1, int(math.ceil(y2 * height)))
    return px1, py1, min(px2, width), min(py2, height)


def region_view(image: np.ndarray, region: tuple[float, float, float, float] | None) -> tuple[np.ndarray, int, int]:
    """The part of ``image`` inside ``region`` (fractions; None: all of it) and its top-left corner in pixels
    (a view, not a copy), so what is found in it can be moved back by that offset."""
    if region is None:
        return image, 0, 0
    x1, y1, x2, y2 = region_pixels(region, image.shape[1], image.shape[0])
    return image[y1:y2, x1:x2], x1, y1


def clip_box(box: Box, width: float, height: float) -> Box:
    return (min(max(box[0], 0.0), width), min(max(box[1], 0.0), height),
            min(max(box[2], 0.0), width), min(max(box[3], 0.0), height))
