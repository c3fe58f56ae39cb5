"""unmask.infer.censors.outline: a drawn censor's clean outline (rectangle or ellipse, whole or cut by the window)
told from the ragged areas of a photo's own colours."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.infer.censors.outline import is_drawn, is_ellipse, is_rectangle


def _ellipse(shape=(120, 200), centre=(100, 60), axes=(80, 30), angle=8.0) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.ellipse(m, centre, axes, angle, 0, 360, 255, -1)
    return m


def test_rectangles_at_any_angle_are_rectangles_and_ellipses_are_not() -> None:
    m = np.zeros((120, 200), np.uint8)
    box = cv2.boxPoints(((100, 60), (150, 40), 11.0)).astype(np.int32)
    cv2.fillPoly(m, [box], 255)
    assert is_rectangle(m)
    assert not is_rectangle(_ellipse())


def test_an_ellipse_is_one_whole_or_cut_by_the_window() -> None:
    everywhere = np.full((120, 200), 255, np.uint8)
    assert is_ellipse(_ellipse(), everywhere)
    window = everywhere.copy()
    window[:52] = 0  # the window's top edge cuts the ellipse: only its part below is seen
    cut = _ellipse() & window
    assert is_ellipse(cut, window)
    assert not is_ellipse(cut, everywhere), "cut straight, it is no ellipse in a window that does not cut it"


def test_ragged_areas_are_not_drawn() -> None:
    rng = np.random.default_rng(0)
    blob = (cv2.GaussianBlur(rng.random((120, 200)).astype(np.float32), (0, 0), 6) > 0.5).astype(np.uint8) * 255
    n, labels, stats, _ = cv2.connectedComponentsWithStats(blob)
    biggest = np.where(labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])), 255, 0).astype(np.uint8)
    everywhere = np.full(blob.shape, 255, np.uint8)
    assert not is_drawn(biggest, everywhere)
    notched = _ellipse()
    notched[40:80, 90:110] = 0  # a bite out of its middle: a photo's area, not a drawn shape
    assert not is_drawn(notched, everywhere)


def test_the_fitted_ellipse_runs_on_past_where_the_mask_falls_short() -> None:
    """An ellipse whose ends were cut off (as a mosaic's cut blocks there go untold) is fitted whole from the rest of
    its outline; a rectangle is not taken for one."""
    from unmask.infer.censors.outline import fitted_ellipse

    truth = _ellipse()
    short = truth.copy()
    short[:, :40] = 0
    short[:, 165:] = 0  # both ends cut
    everywhere = np.full(truth.shape, 255, np.uint8)
    window = everywhere.copy()
    window[:, :40], window[:, 165:] = 0, 0  # cut by a window's edges instead: the rest of the outline fits one
    fitted = fitted_ellipse(short, window)
    assert fitted is not None
    a, b = fitted > 0, truth > 0
    assert (a & b).sum() / (a | b).sum() >= 0.95
    rect = np.zeros_like(truth)
    rect[30:90, 20:180] = 255
    assert fitted_ellipse(rect, everywhere) is None
    thin = np.zeros_like(truth)
    cv2.fillPoly(thin, [np.array([[0, 50], [199, 40], [199, 56], [0, 66]], np.int32)], 255)
    assert fitted_ellipse(thin, everywhere) is None, "a thin tilted band running off the frame"
