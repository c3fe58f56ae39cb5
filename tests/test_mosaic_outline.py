"""Mosaics of any outline (issue 31): bands clipped to a tilted rectangle, an ellipse or a rounded box, blocks cut
at the outline, square or not, on a lattice whose origin is anywhere, longer than the eye window: found whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.censors import jpeg
from unmask.measure.stress_draw import coverage, frame, outline, pixelated

from test_find import _find


# (outline, tilt in degrees, block (side_y, side_x), lattice origin, block means of the whole block, JPEG quality,
# share of the band in the hole at least). The finder before issue 31 (the rectangle of rows and columns within
# the window) had 0.45-0.68 of each band in its hole.
@pytest.mark.parametrize(
    "shape, tilt, block, origin, whole, quality, covered",
    [
        ("ellipse", 0, (8, 8), (3, 5), True, 0, 0.93),
        ("rect", 9, (12, 12), (0, 7), False, 0, 0.94),
        ("rect", -7, (10, 14), (5, 1), True, 90, 0.95),
        ("ellipse", 5, (16, 16), (9, 2), False, 90, 0.84),  # large JPEG blocks: their cut parts are told less well
        ("rounded", 4, (6, 6), (1, 4), True, 85, 0.98),
    ],
)
def test_bands_of_any_outline_are_found_whole(
    astronaut, astronaut_face, shape, tilt, block, origin, whole, quality, covered
) -> None:
    c, u, n, d = frame(astronaut_face.landmarks)
    t = np.deg2rad(tilt)
    u = np.array([u[0] * np.cos(t) - u[1] * np.sin(t), u[0] * np.sin(t) + u[1] * np.cos(t)])
    n = np.array([-u[1], u[0]])
    grow = 1.1 if shape == "ellipse" else 1.0
    band = coverage(astronaut.shape, outline(shape, c, u, n, 1.25 * d * grow, 0.4 * d * grow, 0.3 * d), False) > 0
    censored = pixelated(astronaut, band, block, origin, whole)
    if quality:
        censored = jpeg(censored, quality)
    occ = _find(censored, astronaut_face, "eyes")
    assert occ is not None and occ.kind == "pixelate"
    hole = occ.in_photo(band.shape, occ.hole()) > 0
    assert hole[band].mean() >= covered, hole[band].mean()
    beyond = cv2.distanceTransform(np.where(band, 0, 255).astype(np.uint8), cv2.DIST_L2, 5) > 3
    assert (hole & beyond).sum() <= 0.02 * band.sum(), "the hole stays on the band"
    assert occ.lattice is not None and {occ.lattice[2], occ.lattice[3]} == set(block)
