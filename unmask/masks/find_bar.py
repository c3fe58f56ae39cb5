"""Finding an eye bar: a flat area of one colour (any colour) across the eye line.

1. The bar's colour is the median of the core (the line between the eye centres, which every bar covers); the
   core must be mostly that one colour, else there is no bar.
2. Candidates are the window's pixels close to that colour (a tolerance that follows the core's own noise, so
   JPEG-compressed bars are found too).
3. A thin opening cuts narrow bridges into similar surroundings (black hair, a dark background); the
   components that meet the core are the bar, filled (JPEG specks inside) and then given back the candidate
   pixels the opening shaved off its rim.
4. It must look like a bar: it fills most of its smallest enclosing rectangle, which is clearly longer than
   high. A bar is convex (a rectangle, square or rounded corners, at any angle): when the found area fills most of its
   convex hull, the hull is taken, closing notches that noise bit out of the edge; a hull that fills its
   enclosing rectangle is a square-cornered bar, and the rectangle is taken (its corners back).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.masks.find import Occluder, Search, component_at, disc, downscaled, fill_holes, margin_px, upscaled

CORE_SHARE = 0.7  # share of core pixels within tolerance of the median for a bar
TOL_MIN, TOL_MAX = 14.0, 40.0  # colour distance tolerance (RGB, grey levels)
OPEN = (0.035, 0.07, 0.12)  # opening radii tried, inter-ocular distances
MIN_AREA = 0.25  # a bar covers at least this many square inter-ocular distances
SOLIDITY = 0.85
SQUARE = 0.96  # hull area / its enclosing rectangle's area above which the bar has square corners  # area / hull area above which the hull is taken
RECT_FILL = 0.6  # area / its smallest enclosing rectangle's area, at least
ASPECT = 1.8  # the enclosing rectangle is at least this much longer than high
MAX_TILT = 30.0  # degrees between the bar's long side and the eye line, at most


def find_bar(s: Search) -> Occluder | None:
    """The bar in ``s``'s window, or None."""
    w = downscaled(s)
    f = w.rgb.astype(np.float32)
    core = w.core > 0
    med = np.median(f[core], axis=0)
    dist = np.linalg.norm(f - med, axis=2)
    spread = float(np.percentile(dist[core], 75))
    tol = float(np.clip(3.0 * spread + 6.0, TOL_MIN, TOL_MAX))
    if (dist[core] <= tol).mean() < CORE_SHARE:
        return None
    cand = np.where((dist <= tol) & (w.window > 0), 255, 0).astype(np.uint8)
    for radius in OPEN:  # wider openings cut wider bridges into black hair or a dark background
        bar = _shape(cand, w, radius * w.iod)
        if bar is not None:
            break
    else:
        return None
    return Occluder("bar", s.box, upscaled(bar, w), margin_px(s.iod), s.iod)


def _shape(cand: np.ndarray, w: Search, radius: float) -> np.ndarray | None:
    """The bar among the candidate pixels after an opening of ``radius`` px, or None when what meets the core
    does not have a bar's shape."""
    opened = cv2.morphologyEx(cand, cv2.MORPH_OPEN, disc(radius))
    bar = component_at(opened, w.core)
    if not bar.any():
        return None
    bar = fill_holes(bar)
    rim = cv2.dilate(bar, disc(radius + 1)) & cand
    grown = fill_holes(bar | component_at(rim, bar))
    if _bar_like(grown, w):
        bar = grown
    elif not _bar_like(bar, w):
        return None
    pts = cv2.findNonZero(bar)
    area = float(np.count_nonzero(bar))
    hull = cv2.convexHull(pts)
    hull_area = max(cv2.contourArea(hull), 1.0)
    if area / hull_area >= SOLIDITY:
        rect = cv2.minAreaRect(hull)
        if hull_area / max(rect[1][0] * rect[1][1], 1.0) >= SQUARE:  # square corners: JPEG and the opening
            hull = np.round(cv2.boxPoints(rect)).astype(np.int32)  # round them off; the rectangle has them
        cv2.fillPoly(bar, [hull], 255)
        bar &= np.where(w.window > 0, 255, 0).astype(np.uint8)
    return bar


def _bar_like(bar: np.ndarray, w: Search) -> bool:
    """Large enough, filling most of its smallest enclosing rectangle, which is clearly longer than high and
    lies along the eye line."""
    area = float(np.count_nonzero(bar))
    if area < MIN_AREA * w.iod**2:
        return False
    rect = cv2.minAreaRect(cv2.findNonZero(bar))
    rw, rh = rect[1]
    if area / max(rw * rh, 1.0) < RECT_FILL or max(rw, rh) < ASPECT * min(rw, rh):
        return False
    corners = cv2.boxPoints(rect)
    sides = [corners[1] - corners[0], corners[2] - corners[1]]
    long_side = max(sides, key=lambda v: float(np.hypot(*v)))
    along = long_side / max(float(np.hypot(*long_side)), 1e-9)
    return abs(float(along @ w.up)) <= np.sin(np.deg2rad(MAX_TILT))
