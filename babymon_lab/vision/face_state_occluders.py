"""Procedural occluders painted onto real face photos: pacifiers (safe) and cloth, hands, toys, pillows (covered).

Everything here is pure numpy + OpenCV drawing on one BGR ``uint8`` image, driven by a ``numpy.random.Generator``
(so a seed gives the same picture) and placed with the face's labelled parts (:class:`FaceParts`: the HEAD,
MOUTH, NOSE and EYE boxes of ``infant_face_parts``). Each painter returns a new image; the input is not changed.

* :func:`paint_pacifier`: a shield (oval or butterfly) in a typical plastic colour, translucent, shaded, with a
  highlight, two vent holes, a centre button and often a ring handle, over the mouth; its width is
  0.95-1.35 × the eye-to-mouth distance (a real 5 cm shield on an infant face). The nose and eyes stay visible.
* :func:`paint_cloth`: a blanket/muslin edge pulled over the nose and mouth (or most of the face): a wavy edge at
  a random tilt, fold shading, soft edge, a shadow on the face; the cloth texture is a patch of the photo's own
  bedding/background away from the head (when ``texture`` is given) or a procedural woven pastel fabric.
* :func:`paint_hand`: a palm and fingers in the face's own skin colour (median of the cheeks) with shading and
  finger creases, laid over the nose and mouth.
* :func:`paint_toy`: a plush blob (body, head, ears) with fur-like noise and round shading, over nose and mouth.
* :func:`paint_pillow`: a thick, smooth, puffy edge (strong shading towards its rim) from a random side.

The covering painters check with their own mask that the nose tip and both mouth corners are under the
occluder (otherwise they retry with new random draws), so a "covered" composite really covers nose and mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babymon.vision.geometry import Box

PLASTIC_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (235, 160, 60),   # blue
    (200, 120, 240),  # pink
    (120, 210, 140),  # mint green
    (245, 245, 245),  # white
    (60, 150, 250),   # orange
    (220, 110, 160),  # purple
    (90, 220, 240),   # yellow
    (215, 200, 120),  # turquoise
)
FABRIC_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (235, 240, 245), (200, 225, 240), (210, 190, 240), (235, 210, 180), (200, 200, 200),
    (160, 215, 235), (205, 230, 200), (140, 160, 190), (180, 150, 120), (120, 120, 130),
)
TOY_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (60, 100, 150), (140, 180, 215), (190, 170, 240), (170, 170, 170), (235, 235, 235), (200, 150, 110),
    (110, 200, 230),
)
MAX_TRIES = 12


@dataclass(frozen=True)
class FaceParts:
    """A face's labelled parts in image pixels. ``mouth`` and ``nose`` are required to place occluders."""

    head: Box
    mouth: Box
    nose: Box
    eyes: tuple[Box, ...] = ()

    @property
    def mouth_centre(self) -> np.ndarray:
        return _centre(self.mouth)

    @property
    def nose_centre(self) -> np.ndarray:
        return _centre(self.nose)

    @property
    def eye_centre(self) -> np.ndarray:
        if self.eyes:
            return np.mean([_centre(e) for e in self.eyes], axis=0)
        # no eye box: the eyes sit about as far above the nose as the mouth is below it
        return 2 * self.nose_centre - self.mouth_centre

    @property
    def down(self) -> np.ndarray:
        """Unit vector from the eyes towards the mouth (the face's own "down")."""
        v = self.mouth_centre - self.eye_centre
        n = float(np.linalg.norm(v))
        return v / n if n > 1e-6 else np.array([0.0, 1.0])

    @property
    def eye_mouth(self) -> float:
        """Eye-to-mouth distance in pixels (at least a quarter of the head size)."""
        head_size = max(self.head[2] - self.head[0], self.head[3] - self.head[1])
        return max(float(np.linalg.norm(self.mouth_centre - self.eye_centre)), 0.25 * head_size)

    @property
    def head_size(self) -> float:
        return float(max(self.head[2] - self.head[0], self.head[3] - self.head[1]))

    def must_cover(self) -> np.ndarray:
        """Points that a covering occluder must hide: the nose tip and both ends of the mouth."""
        m = self.mouth
        perp = np.array([-self.down[1], self.down[0]])
        half = 0.4 * max(m[2] - m[0], m[3] - m[1])
        c = self.mouth_centre
        nose_tip = self.nose_centre + 0.15 * self.down * (self.nose[3] - self.nose[1])
        return np.array([nose_tip, c, c + perp * half, c - perp * half])


def _centre(box: Box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float64)


def _composite(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray, shadow: np.ndarray | None = None,
               shadow_strength: float = 0.0) -> np.ndarray:
    """Alpha-blend a float colour layer (H×W×3, 0-255) over ``image``; optionally darken under a shadow mask."""
    base = image.astype(np.float32)
    if shadow is not None and shadow_strength > 0:
        base *= (1.0 - shadow_strength * np.clip(shadow, 0, 1))[..., None]
    a = np.clip(alpha, 0, 1)[..., None]
    out = base * (1 - a) + np.clip(colour, 0, 255) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma <= 0.3:
        return mask
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def _noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in [-1, 1] with features about ``scale`` pixels wide."""
    import cv2

    h, w = shape
    small = rng.standard_normal((max(2, int(h / max(scale, 1)) + 2), max(2, int(w / max(scale, 1)) + 2)))
    big = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return big / (np.abs(big).max() + 1e-6)


def _shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    import cv2

    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask, m, (mask.shape[1], mask.shape[0]), borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _covers(mask: np.ndarray, points: np.ndarray, level: float = 0.6) -> bool:
    h, w = mask.shape
    for x, y in points:
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h) or mask[yi, xi] < level:
            return False
    return True


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    return xs, ys


def _face_coords(parts: FaceParts, shape: tuple[int, int], turn_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's (across, along) coordinates relative to the eye centre, "along" = the face's down axis
    turned by ``turn_deg``."""
    xs, ys = _grid(shape)
    theta = np.deg2rad(turn_deg)
    d = parts.down
    down = np.array([d[0] * np.cos(theta) - d[1] * np.sin(theta), d[0] * np.sin(theta) + d[1] * np.cos(theta)])
    across = np.array([-down[1], down[0]])
    ex, ey = parts.eye_centre
    dx, dy = xs - ex, ys - ey
    return dx * across[0] + dy * across[1], dx * down[0] + dy * down[1]


# ------------------------------------------------------------------------------------------------ pacifier

def paint_pacifier(image: np.ndarray, parts: FaceParts, rng: np.random.Generator) -> np.ndarray:
    """A pacifier over the mouth (see the module docstring). Returns a new image."""
    import cv2

    h, w = image.shape[:2]
    em = parts.eye_mouth
    width = em * rng.uniform(0.95, 1.35)
    height = width * rng.uniform(0.55, 0.8)
    down = parts.down
    centre = parts.mouth_centre + down * em * rng.uniform(-0.05, 0.1)
    angle = np.degrees(np.arctan2(down[1], down[0])) - 90 + rng.uniform(-12, 12)
    colour = np.array(PLASTIC_COLOURS_BGR[rng.integers(len(PLASTIC_COLOURS_BGR))], dtype=np.float32)
    colour = np.clip(colour * rng.uniform(0.85, 1.05), 0, 255)

    shield = np.zeros((h, w), np.float32)
    c = (float(centre[0]), float(centre[1]))
    if rng.random() < 0.5:  # oval shield
        cv2.ellipse(shield, (c, (width, height), angle), 1.0, -1, cv2.LINE_AA)
    else:  # butterfly: two lobes and a waist
        across = np.array([-down[1], down[0]])
        for side in (-1, 1):
            lobe = centre + across * side * width * 0.24
            cv2.ellipse(shield, ((float(lobe[0]), float(lobe[1])), (width * 0.55, height), angle), 1.0, -1, cv2.LINE_AA)
        cv2.ellipse(shield, (c, (width * 0.5, height * 0.7), angle), 1.0, -1, cv2.LINE_AA)
    # vent holes: the skin shows through
    across = np.array([-down[1], down[0]])
    holes = np.zeros_like(shield)
    for side in (-1, 1):
        hole = centre + across * side * width * 0.3
        cv2.ellipse(holes, ((float(hole[0]), float(hole[1])), (width * 0.13, height * 0.22), angle), 1.0, -1,
                    cv2.LINE_AA)
    opacity = rng.uniform(0.72, 0.95)
    alpha = _blur(shield, 0.6) * (1 - 0.8 * holes) * opacity

    # shading: lit from a random side, darker rim, a specular highlight
    xs, ys = _grid((h, w))
    light = rng.uniform(0, 2 * np.pi)
    lx, ly = np.cos(light), np.sin(light)
    proj = ((xs - centre[0]) * lx + (ys - centre[1]) * ly) / (width / 2)
    rim = 1 - _blur(shield, width * 0.06)
    shade = np.clip(1.0 + 0.18 * proj - 0.35 * rim, 0.45, 1.3)
    layer = colour[None, None, :] * shade[..., None]
    # centre button and (often) a ring handle, opaque
    button = np.zeros_like(shield)
    br = width * rng.uniform(0.11, 0.16)
    cv2.circle(button, (int(round(c[0])), int(round(c[1]))), max(2, int(round(br))), 1.0, -1, cv2.LINE_AA)
    if rng.random() < 0.65:
        ring_r = width * rng.uniform(0.26, 0.4)
        ring_centre = centre + down * ring_r * rng.uniform(0.0, 0.9)  # facing the camera or hanging down
        thickness = max(2, int(round(width * rng.uniform(0.05, 0.08))))
        ring_size = (2 * ring_r, 2 * ring_r * rng.uniform(0.6, 1.0))
        cv2.ellipse(button, ((float(ring_centre[0]), float(ring_centre[1])), ring_size, angle), 1.0, thickness,
                    cv2.LINE_AA)
    button = _blur(button, 0.7)
    knob = colour
    if rng.random() >= 0.5:
        knob = np.array(PLASTIC_COLOURS_BGR[rng.integers(len(PLASTIC_COLOURS_BGR))], np.float32)
    knob_shade = np.clip(1.05 + 0.2 * proj - 0.3 * (1 - _blur(button, width * 0.03)), 0.4, 1.3)
    layer = layer * (1 - button[..., None]) + (knob[None, None, :] * knob_shade[..., None]) * button[..., None]
    alpha = np.maximum(alpha, button * 0.97)
    # highlight
    spot = np.zeros_like(shield)
    hl = centre - np.array([lx, ly]) * width * 0.22
    cv2.ellipse(spot, ((float(hl[0]), float(hl[1])), (width * 0.18, height * 0.1), angle + 20), 1.0, -1, cv2.LINE_AA)
    spot = _blur(spot, width * 0.03) * shield * rng.uniform(0.3, 0.6)
    layer = layer * (1 - spot[..., None]) + 255 * spot[..., None]
    shadow = _shift(_blur(np.maximum(shield, button), width * 0.05), lx * -width * 0.06, ly * -width * 0.06)
    return _composite(image, layer, alpha, shadow * (1 - shield), 0.35)


# ------------------------------------------------------------------------------------------------ textures

def fabric_texture(shape: tuple[int, int], rng: np.random.Generator, patch: np.ndarray | None = None,
                   scale: float = 100.0) -> np.ndarray:
    """A float BGR texture (H×W×3): ``patch`` (a real bedding/background cut) stretched to cover, or a woven
    pastel fabric with an optional print. ``scale``: the face size in pixels (sets the weave and print size)."""
    import cv2

    h, w = shape
    if patch is not None and patch.size and min(patch.shape[:2]) >= 8:
        tex = cv2.resize(patch, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        if rng.random() < 0.5:
            tex = tex[::-1] if rng.random() < 0.5 else tex[:, ::-1]
        return np.ascontiguousarray(tex)
    base = np.array(FABRIC_COLOURS_BGR[rng.integers(len(FABRIC_COLOURS_BGR))], dtype=np.float32)
    xs, ys = _grid((h, w))
    period = max(2.5, scale * rng.uniform(0.02, 0.04))
    weave = 0.04 * (np.sin(2 * np.pi * xs / period) * np.sin(2 * np.pi * ys / period))
    grain = 0.03 * rng.standard_normal((h, w)).astype(np.float32)
    tex = base[None, None, :] * (1 + weave + grain)[..., None]
    kind = rng.random()
    if kind < 0.25:  # dots
        dots = np.zeros((h, w), np.float32)
        step = max(6, int(scale * rng.uniform(0.15, 0.3)))
        radius = max(1, int(step * 0.18))
        for y in range(int(rng.integers(step)), h, step):
            for x in range(int(rng.integers(step)) + (y // step % 2) * step // 2, w, step):
                cv2.circle(dots, (x, y), radius, 1.0, -1, cv2.LINE_AA)
        ink = np.array(FABRIC_COLOURS_BGR[rng.integers(len(FABRIC_COLOURS_BGR))], np.float32) * 0.7
        tex = tex * (1 - dots[..., None]) + ink[None, None, :] * dots[..., None]
    elif kind < 0.45:  # stripes
        period = scale * rng.uniform(0.15, 0.35)
        theta = rng.uniform(0, np.pi)
        stripe = (np.sin(2 * np.pi * (xs * np.cos(theta) + ys * np.sin(theta)) / period) > 0.3).astype(np.float32)
        stripe = _blur(stripe, 0.8)
        ink = np.array(FABRIC_COLOURS_BGR[rng.integers(len(FABRIC_COLOURS_BGR))], np.float32)
        tex = tex * (1 - 0.6 * stripe[..., None]) + ink[None, None, :] * 0.6 * stripe[..., None]
    return tex


def _folds(shape: tuple[int, int], scale: float, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A shading multiplier (around 1) of soft parallel folds, bent by smooth noise."""
    xs, ys = _grid(shape)
    theta = rng.uniform(0, np.pi)
    wavelength = scale * rng.uniform(0.18, 0.45)
    warp = _noise(shape, scale * 0.5, rng) * wavelength * 0.6
    phase = (xs * np.cos(theta) + ys * np.sin(theta) + warp) / wavelength
    folds = np.sin(2 * np.pi * phase) + 0.5 * np.sin(4 * np.pi * phase + 1.3)
    return 1 + strength * folds / 1.5 + 0.08 * _noise(shape, scale * 0.3, rng)


# ------------------------------------------------------------------------------------------------ covering

def _edge_mask(parts: FaceParts, shape: tuple[int, int], rng: np.random.Generator, most_of_face: bool,
               wave: float, max_turn: float) -> np.ndarray:
    """1 beyond a wavy, tilted edge that starts above the nose (or above the eyes for ``most_of_face``)."""
    em = parts.eye_mouth
    across, along = _face_coords(parts, shape, rng.uniform(-max_turn, max_turn))
    nose_t = float(np.dot(parts.nose_centre - parts.eye_centre, parts.down))
    if most_of_face:
        start = rng.uniform(-0.7, -0.15) * em
    else:
        start = rng.uniform(0.05 * em, max(0.1 * em, nose_t - 0.2 * em))
    tilt = rng.uniform(-0.25, 0.25)
    period = em * rng.uniform(0.6, 1.6)
    edge = start + tilt * across + wave * em * np.sin(2 * np.pi * across / period + rng.uniform(0, 6.3))
    edge += 0.5 * wave * em * _noise(shape, em * 0.5, rng)
    reach = parts.head_size * rng.uniform(1.0, 2.0)
    return ((along > edge) & (np.abs(across) < reach)).astype(np.float32)


def paint_cloth(image: np.ndarray, parts: FaceParts, rng: np.random.Generator, texture: np.ndarray | None = None,
                most_of_face: bool | None = None) -> np.ndarray:
    """A blanket or muslin edge over the nose and mouth (or most of the face); ``texture``: an optional real
    bedding patch (BGR) to use as the cloth."""
    h, w = image.shape[:2]
    most = bool(rng.random() < 0.3) if most_of_face is None else most_of_face
    scale = parts.head_size
    for _ in range(MAX_TRIES):
        mask = _edge_mask(parts, (h, w), rng, most, wave=rng.uniform(0.03, 0.15), max_turn=40)
        soft = _blur(mask, max(0.8, scale * 0.012))
        if _covers(soft, parts.must_cover()):
            break
    tex = fabric_texture((h, w), rng, texture, scale)
    shade = _folds((h, w), scale, rng, rng.uniform(0.08, 0.22))
    # the edge rolls: darker just inside it, slightly lighter on the roll's top
    inner = _blur(mask, scale * 0.06)
    shade = shade * (0.72 + 0.28 * np.clip(inner * 1.6 - 0.3, 0, 1))
    layer = tex * shade[..., None]
    shadow = _blur(_shift(mask, *(-parts.down * scale * 0.04)), scale * 0.05)
    return _composite(image, layer, soft, shadow * (1 - soft), rng.uniform(0.2, 0.45))


def paint_pillow(image: np.ndarray, parts: FaceParts, rng: np.random.Generator,
                 texture: np.ndarray | None = None) -> np.ndarray:
    """A pillow or cushion edge pressed over the nose and mouth from any side: thick, smooth, puffy."""
    h, w = image.shape[:2]
    scale = parts.head_size
    for _ in range(MAX_TRIES):
        mask = _edge_mask(parts, (h, w), rng, most_of_face=bool(rng.random() < 0.35), wave=rng.uniform(0.0, 0.05),
                          max_turn=100)
        soft = _blur(mask, max(0.8, scale * 0.01))
        if _covers(soft, parts.must_cover()):
            break
    if texture is not None and rng.random() < 0.5:
        tex = fabric_texture((h, w), rng, texture, scale)
    else:
        base = np.array(FABRIC_COLOURS_BGR[rng.integers(4)], np.float32)  # light colours
        tex = base[None, None, :] * (1 + 0.02 * rng.standard_normal((h, w)).astype(np.float32))[..., None]
    depth = _blur(mask, scale * rng.uniform(0.12, 0.25))  # 0 at the rim, 1 well inside: a rounded bulge
    shade = 0.55 + 0.5 * np.sqrt(np.clip(depth * 1.8 - 0.1, 0, 1)) + 0.05 * _noise((h, w), scale * 0.4, rng)
    layer = tex * np.clip(shade, 0.4, 1.15)[..., None]
    shadow = _blur(mask, scale * 0.08)
    return _composite(image, layer, soft, shadow * (1 - soft), rng.uniform(0.3, 0.5))


def _cheek_patches(image: np.ndarray, parts: FaceParts) -> list[np.ndarray]:
    """Square patches of both cheeks (beside the nose, between the eyes and the mouth)."""
    across = np.array([-parts.down[1], parts.down[0]])
    em = parts.eye_mouth
    h, w = image.shape[:2]
    patches = []
    for side in (-1, 1):
        c = parts.eye_centre + parts.down * em * 0.5 + across * side * em * 0.45
        r = max(2, int(em * 0.12))
        x, y = int(c[0]), int(c[1])
        patch = image[max(0, y - r):min(h, y + r), max(0, x - r):min(w, x + r)]
        if patch.shape[0] >= 3 and patch.shape[1] >= 3:
            patches.append(patch)
    return patches


def skin_colour(image: np.ndarray, parts: FaceParts) -> np.ndarray:
    """The median BGR of the cheeks, as float32 (a typical infant skin tone when the cheeks are off-image)."""
    patches = _cheek_patches(image, parts)
    if not patches:
        return np.array([140, 170, 220], np.float32)
    return np.median(np.concatenate([p.reshape(-1, 3) for p in patches]), axis=0).astype(np.float32)


def skin_texture(image: np.ndarray, parts: FaceParts, shape: tuple[int, int], colour: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """A float BGR skin layer of ``shape`` at ``colour`` with grain as strong as the face's own cheek skin
    (the cheek's fine detail, measured, then drawn as fresh noise: tiling a patch would show a pattern)."""
    patches = _cheek_patches(image, parts)
    grain = 3.0
    if patches:
        patch = patches[0].astype(np.float32)
        grain = float(np.clip((patch - _blur(patch, max(1.0, min(patch.shape[:2]) / 6))).std(), 1.0, 5.0))
    noise = _blur(rng.standard_normal(shape).astype(np.float32), 0.8)
    noise *= grain / (noise.std() + 1e-6)
    return colour[None, None, :] + noise[..., None]


def paint_hand(image: np.ndarray, parts: FaceParts, rng: np.random.Generator) -> np.ndarray:
    """A hand (the baby's or an adult's) over the nose and mouth, in the face's own skin colour."""
    import cv2

    h, w = image.shape[:2]
    scale = parts.head_size * rng.uniform(0.8, 1.3)
    target = (parts.nose_centre + parts.mouth_centre) / 2
    for _ in range(MAX_TRIES):
        hand = np.zeros((h, w), np.float32)
        creases = np.zeros((h, w), np.float32)
        direction = rng.uniform(0, 2 * np.pi)  # the way the fingers point
        d = np.array([np.cos(direction), np.sin(direction)])
        across = np.array([-d[1], d[0]])
        palm = target - d * scale * rng.uniform(0.05, 0.35) + across * scale * rng.uniform(-0.1, 0.1)
        angle = float(np.degrees(direction))
        if rng.random() < 0.4:  # a fist at the mouth, the forearm running away from the face
            fist = target + across * scale * rng.uniform(-0.08, 0.08)
            cv2.ellipse(hand, ((float(fist[0]), float(fist[1])), (scale * 0.6, scale * 0.5), angle), 1.0, -1,
                        cv2.LINE_AA)
            elbow = fist - d * scale * rng.uniform(0.9, 1.4)
            cv2.line(hand, tuple(int(v) for v in fist), tuple(int(v) for v in elbow), 1.0,
                     max(3, int(scale * 0.35)), cv2.LINE_AA)
            for offset in (-1, 0, 1):  # creases between the curled fingers
                k1 = fist + d * scale * 0.12 + across * offset * scale * 0.09
                k2 = k1 + d * scale * 0.15
                cv2.line(creases, tuple(int(v) for v in k1), tuple(int(v) for v in k2), 1.0,
                         max(1, int(scale * 0.012)), cv2.LINE_AA)
            soft = _blur(hand, max(0.8, scale * 0.008))
            if _covers(soft, parts.must_cover()):
                break
            continue
        cv2.ellipse(hand, ((float(palm[0]), float(palm[1])), (scale * 0.5, scale * 0.55), angle), 1.0, -1, cv2.LINE_AA)
        finger_w = scale * rng.uniform(0.1, 0.13)
        spread = rng.uniform(0.0, 0.25)
        for k, offset in enumerate((-1.5, -0.5, 0.5, 1.5)):
            base = palm + d * scale * 0.2 + across * offset * finger_w * 1.02
            fd = d + across * offset * spread * 0.3
            fd /= np.linalg.norm(fd)
            length = scale * (0.38 if k in (1, 2) else 0.31) * rng.uniform(0.85, 1.1)
            tip = base + fd * length
            p1, p2 = tuple(int(round(v)) for v in base), tuple(int(round(v)) for v in tip)
            cv2.line(hand, p1, p2, 1.0, max(2, int(round(finger_w))), cv2.LINE_AA)
            cv2.circle(hand, p2, max(1, int(round(finger_w / 2))), 1.0, -1, cv2.LINE_AA)
            if k < 3:  # a crease between this finger and the next
                c1 = base + across * finger_w * 0.5
                c2 = c1 + fd * length * 0.9
                cv2.line(creases, tuple(int(v) for v in c1), tuple(int(v) for v in c2), 1.0,
                         max(1, int(finger_w * 0.12)), cv2.LINE_AA)
        thumb_side = 1 if rng.random() < 0.5 else -1
        tb = palm + across * thumb_side * scale * 0.22
        tt = tb + (d * 0.5 + across * thumb_side) / np.linalg.norm(d * 0.5 + across * thumb_side) * scale * 0.3
        cv2.line(hand, tuple(int(v) for v in tb), tuple(int(v) for v in tt), 1.0,
                 max(2, int(round(finger_w * 1.15))), cv2.LINE_AA)
        soft = _blur(hand, max(0.8, scale * 0.008))
        if _covers(soft, parts.must_cover()):
            break
    skin = skin_colour(image, parts) * rng.uniform(0.85, 1.1)
    if rng.random() < 0.3:  # an adult's hand: a different skin tone
        skin = np.array([(110, 140, 200), (150, 180, 225), (60, 90, 140), (90, 120, 170)][rng.integers(4)], np.float32)
    light = rng.uniform(0, 2 * np.pi)
    xs, ys = _grid((h, w))
    proj = ((xs - target[0]) * np.cos(light) + (ys - target[1]) * np.sin(light)) / scale
    rim = 1 - _blur(hand, scale * 0.04)
    shade = (1.0 + 0.15 * proj - 0.3 * rim - 0.12 * _blur(creases, max(1.0, scale * 0.01))
             + 0.04 * _noise((h, w), scale * 0.1, rng))
    layer = skin_texture(image, parts, (h, w), skin, rng) * np.clip(shade, 0.5, 1.25)[..., None]
    shadow = _blur(_shift(hand, -np.cos(light) * scale * 0.05, -np.sin(light) * scale * 0.05), scale * 0.05)
    return _composite(image, layer, soft, shadow * (1 - soft), 0.4)


def paint_toy(image: np.ndarray, parts: FaceParts, rng: np.random.Generator) -> np.ndarray:
    """A plush toy (body, head, two ears) lying over the nose and mouth."""
    import cv2

    h, w = image.shape[:2]
    scale = parts.head_size * rng.uniform(0.7, 1.3)
    target = (parts.nose_centre + parts.mouth_centre) / 2
    for _ in range(MAX_TRIES):
        toy = np.zeros((h, w), np.float32)
        direction = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(direction), np.sin(direction)])
        across = np.array([-d[1], d[0]])
        body = target + d * scale * rng.uniform(-0.15, 0.15) + across * scale * rng.uniform(-0.1, 0.1)
        angle = float(np.degrees(direction))
        cv2.ellipse(toy, ((float(body[0]), float(body[1])), (scale * 0.8, scale * 0.62), angle), 1.0, -1, cv2.LINE_AA)
        head = body + d * scale * 0.5
        cv2.circle(toy, tuple(int(v) for v in head), int(scale * 0.3), 1.0, -1, cv2.LINE_AA)
        for side in (-1, 1):
            ear = head + d * scale * 0.22 + across * side * scale * 0.2
            cv2.circle(toy, tuple(int(v) for v in ear), int(scale * 0.11), 1.0, -1, cv2.LINE_AA)
        soft = _blur(toy, max(1.0, scale * 0.015))
        if _covers(soft, parts.must_cover()):
            break
    colour = np.array(TOY_COLOURS_BGR[rng.integers(len(TOY_COLOURS_BGR))], np.float32)
    fur = _blur(rng.standard_normal((h, w)).astype(np.float32), max(0.6, scale * 0.006))
    fur /= np.abs(fur).max() + 1e-6
    depth = _blur(toy, scale * 0.12)
    shade = 0.6 + 0.5 * np.sqrt(np.clip(depth * 1.6, 0, 1)) + 0.12 * fur + 0.05 * _noise((h, w), scale * 0.3, rng)
    layer = colour[None, None, :] * np.clip(shade, 0.35, 1.25)[..., None]
    if rng.random() < 0.5:  # button eyes on the toy's head
        eyes = np.zeros((h, w), np.float32)
        for side in (-1, 1):
            e = head + across * side * scale * 0.1 + d * scale * 0.05
            cv2.circle(eyes, tuple(int(v) for v in e), max(1, int(scale * 0.03)), 1.0, -1, cv2.LINE_AA)
        layer = layer * (1 - eyes[..., None]) + 20 * eyes[..., None]
    shadow = _blur(toy, scale * 0.08)
    return _composite(image, layer, soft, shadow * (1 - soft), 0.4)


COVERING_PAINTERS = ("cloth", "hand", "toy", "pillow")
