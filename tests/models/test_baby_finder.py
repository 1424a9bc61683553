"""The baby finder on real images: it points at the baby in an overhead photo, also when the photo is a small part
of a wide frame, and sees no baby in a blank frame."""

from __future__ import annotations

import numpy as np
import pytest

from babymon.vision.baby_finder import BabyFinder, focus_region
from babymon.vision.geometry import centre, contains
from babymon_lab.vision.posture_data import _yolo_boxes
from tests.conftest import shared_file
from tests.models.test_pose import DETECTION_IMAGE


@pytest.fixture(scope="module")
def finder() -> BabyFinder:
    return BabyFinder()


def _photo():
    import cv2

    path = shared_file(DETECTION_IMAGE)
    image = cv2.imread(str(path))
    [truth] = _yolo_boxes(path.parent.parent / "labels" / (path.stem + ".txt"), image.shape[1], image.shape[0], 0)
    return image, truth


def test_the_finder_points_at_the_baby(finder):
    image, truth = _photo()
    found = finder.find(image)
    assert found.present and found.box is not None
    assert contains(found.box, centre(truth))


def test_a_small_baby_in_a_wide_frame_is_found_and_focused_on(finder):
    import cv2

    image, truth = _photo()
    small = cv2.resize(image, (image.shape[1] // 3, image.shape[0] // 3), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)  # a plain grey mattress around it
    ox, oy = 400, 250
    frame[oy:oy + small.shape[0], ox:ox + small.shape[1]] = small
    baby = (ox + truth[0] / 3, oy + truth[1] / 3, ox + truth[2] / 3, oy + truth[3] / 3)
    found = finder.find(frame)
    assert found.present and contains(found.box, centre(baby))
    x1, y1, x2, y2 = focus_region(found.box, 640, 480)
    assert contains((x1 * 640, y1 * 480, x2 * 640, y2 * 480), centre(baby))
    assert (x2 - x1) * (y2 - y1) < 0.75  # the pose and face models look at a part of the frame, around the baby

    # with a crib region that leaves the baby out, it is not found there
    assert not contains(finder.find(frame, region=(0.0, 0.0, 0.5, 0.5)).box or (0, 0, 0, 0), centre(baby))


def test_a_blank_frame_has_no_baby(finder):
    found = finder.find(np.full((480, 640, 3), 128, np.uint8))
    assert not found.present and found.box is None


class _FinderPointingAway:
    """A finder that is wrong: it sees a baby in the top-left corner, where there is none."""

    def find(self, image, region=None):
        from babymon.vision.baby_finder import Found

        return Found(box=(0.0, 0.0, 40.0, 40.0), score=0.99, present=True, probs=np.zeros((14, 14)))


def test_a_wrong_finder_never_makes_the_baby_go_missing():
    from babymon.vision.pose import BabyLocator

    image, truth = _photo()
    location = BabyLocator(finder=_FinderPointingAway()).locate(image)
    assert location.baby_present  # the whole view was looked at when the focus held no baby
    assert location.focus is None and contains(location.baby_box, centre(truth))


def test_the_locator_looks_where_the_finder_points(finder):
    from babymon.vision.pose import BabyLocator

    image, truth = _photo()
    location = BabyLocator(finder=finder).locate(image)
    assert location.baby_present and location.focus is not None and location.finder_score >= 0.5
    assert contains(location.baby_box, centre(truth))
