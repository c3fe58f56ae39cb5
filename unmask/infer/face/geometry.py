"""Shapes on a face from its landmarks, shared by the censors (their builders and finders) and the regions: scale
(inter-ocular distance), the eye line, polygon rasterising, and a nominal surgical mask's outline.

Builders work in any frame (photo or canonical crop): every length is a multiple of the inter-ocular distance
``d`` of the landmarks given, so the same code censors a full photo and a training crop.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.infer.face import landmarks as L

_SHIFT = 4  # fixed-point bits for sub-pixel polygon vertices


def eye_frame(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(centre, along, down, d): midpoint of the eye centres, unit vector from the image-left eye to the
    image-right eye, the unit normal pointing towards the chin, and the inter-ocular distance."""
    r, l = L.eye_centres(np.asarray(pts, np.float64))
    v = l - r
    d = float(np.hypot(*v))
    u = v / max(d, 1e-6)
    n = np.array([-u[1], u[0]])
    if n @ (pts[L.CHIN] - (r + l) / 2) < 0:
        n = -n
    return (r + l) / 2, u, n, d


def rotated_rect(centre: np.ndarray, u: np.ndarray, n: np.ndarray, half_len: float, half_h: float) -> np.ndarray:
    """4x2 corners of the rectangle centred at ``centre`` with axes ``u`` (length) and ``n`` (height)."""
    a, b = u * half_len, n * half_h
    return np.stack([centre - a - b, centre + a - b, centre + a + b, centre - a + b])


def fill(mask: np.ndarray, polygon: np.ndarray, value: int = 255) -> np.ndarray:
    """Fills ``polygon`` (Kx2 float, x y) into ``mask`` (HxW uint8) in place, with sub-pixel vertices."""
    p = np.round(np.asarray(polygon, np.float64) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [p], value, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """HxW uint8 mask, 255 inside ``polygon``."""
    return fill(np.zeros(shape[:2], np.uint8), polygon)


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary dilation with a disc of ``radius`` pixels (no-op below 0.5)."""
    r = int(round(radius))
    if r < 1:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask, k)


def inflate(polygon: np.ndarray, amount: float) -> np.ndarray:
    """Moves each vertex ``amount`` pixels away from the polygon's centroid."""
    c = polygon.mean(0)
    v = polygon - c
    norm = np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-6)[:, None]
    return polygon + v / norm * amount


def rounded_rect(
    centre: np.ndarray, u: np.ndarray, n: np.ndarray, half_len: float, half_h: float, radius: float, steps: int = 6
) -> np.ndarray:
    """Outline (Kx2) of the rectangle of :func:`rotated_rect` with corners rounded to ``radius`` pixels (square
    corners, 4 points, when ``radius`` is below half a pixel)."""
    r = float(min(max(radius, 0.0), half_len, half_h))
    if r < 0.5:
        return rotated_rect(centre, u, n, half_len, half_h)
    pts = []
    # corner centres in (along, across) units, each with the quarter it sweeps, going round as rotated_rect does
    for (sa, sb), start in (((-1, -1), np.pi), ((1, -1), 1.5 * np.pi), ((1, 1), 0.0), ((-1, 1), 0.5 * np.pi)):
        ca, cb = sa * (half_len - r), sb * (half_h - r)
        for t in np.linspace(start, start + 0.5 * np.pi, steps):
            pts.append(centre + u * (ca + r * np.cos(t)) + n * (cb + r * np.sin(t)))
    return np.asarray(pts)


def coverage_mask(shape: tuple[int, ...], polygon: np.ndarray, antialias: bool = False) -> np.ndarray:
    """HxW uint8 coverage of ``polygon``: 255 inside; with ``antialias`` the edge pixels hold partial coverage
    (1-254) as an anti-aliased drawing program leaves them."""
    if not antialias:
        return polygon_mask(shape, polygon)
    p = np.round(np.asarray(polygon, np.float64) * (1 << _SHIFT)).astype(np.int32)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [p], 255, lineType=cv2.LINE_AA, shift=_SHIFT)
    return mask


# In inter-ocular distances, below the eye line: where the outline leaves the face oval, the under-eye
# corners of the top edge, the nose bridge; and how far the outline is pushed out beyond the oval.
SIDE_TOP = 0.38
UNDER_EYE = 0.42
UNDER_EYE_SPREAD = 0.6
BRIDGE = 0.3
OUTSET = 0.08


def surgical_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Kx2 outline of a surgical mask for landmarks ``pts`` (478x2, any frame); jittered with ``rng``."""
    pts = np.asarray(pts, np.float64)
    c, u, n, d = eye_frame(pts)
    top, bridge, outset = SIDE_TOP, BRIDGE, OUTSET
    if rng is not None:
        shift = rng.uniform(-0.1, 0.12)  # cloth masks sit higher or lower than surgical ones
        top, bridge = top + shift, bridge + shift
        outset *= rng.uniform(0.5, 2.5)
    oval = pts[list(L.FACE_OVAL)]
    proj = (oval - c) @ n
    keep = np.nonzero(proj >= top * d)[0]
    if len(keep) < 3:  # degenerate landmarks: fall back to a box under the eyes
        keep = np.argsort(-proj)[:3]
    # FACE_OVAL is ordered from the forehead round the image-right side, chin, image-left side: the kept
    # indices form one run unless it wraps, which it cannot for points below the eyes.
    run = oval[np.sort(keep)]
    under = UNDER_EYE + (bridge - BRIDGE)
    top_edge = np.stack([
        c - u * UNDER_EYE_SPREAD * d + n * under * d,
        c + n * bridge * d,
        c + u * UNDER_EYE_SPREAD * d + n * under * d,
    ])  # fmt: skip
    poly = np.concatenate([run, top_edge])
    return inflate(poly, outset * d)
