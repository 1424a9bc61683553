"""Crib-scale copies (babymon_lab.vision.crib_scale): the baby is pasted small, the frame keeps the bed's size."""

import numpy as np

from babymon_lab.vision.crib_scale import whole_at_crib_scale


class _NoLook:
    """A generator whose draws switch every part of the crib-camera look off (no rails, no infrared, no blur)
    and keep JPEG at its best quality, so that only the paste changes the bed."""

    def random(self):
        return 1.0

    def integers(self, low, high=None):
        return (high or low) - 1

    def uniform(self, low, high):
        return low


def test_a_photo_is_pasted_at_crib_scale_onto_the_bed():
    bed = np.full((480, 640, 3), 40, np.uint8)
    photo = np.full((300, 200, 3), 220, np.uint8)
    for seed in range(5):
        frame = whole_at_crib_scale(photo, bed, np.random.default_rng(seed), _NoLook())
        assert frame.shape == bed.shape
        changed = np.abs(frame.astype(int) - 40).max(axis=2) > 60
        share = changed.mean()
        assert 0.01 < share < 0.16, share  # 2–15 % of the frame, less the soft edge
        ys, xs = np.nonzero(changed)
        assert (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) < 0.2 * bed.shape[0] * bed.shape[1]
