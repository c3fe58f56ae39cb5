"""A surgical mask over nose, mouth, cheeks and chin: its outline from landmarks, and a plausible rendering."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.face import landmarks as L
from unmask.masks.geometry import eye_frame, inflate, polygon_mask

# In inter-ocular distances, below the eye line: where the outline leaves the face oval, the under-eye
# corners of the top edge, the nose bridge; and how far the outline is pushed out beyond the oval.
SIDE_TOP = 0.38
UNDER_EYE = 0.42
UNDER_EYE_SPREAD = 0.6
BRIDGE = 0.3
OUTSET = 0.08

_COLOURS = ((165, 200, 225), (235, 235, 235), (40, 40, 45), (200, 215, 235), (120, 170, 210), (230, 200, 205))


def surgical_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Kx2 outline of a surgical mask for landmarks ``pts`` (478x2, any frame); jittered with ``rng``."""
    pts = np.asarray(pts, np.float64)
    c, u, n, d = eye_frame(pts)
    top, bridge, outset = SIDE_TOP, BRIDGE, OUTSET
    if rng is not None:
        shift = rng.uniform(-0.08, 0.1)
        top, bridge = top + shift, bridge + shift
        outset *= rng.uniform(0.5, 2.0)
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


def draw_surgical(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with a surgical mask drawn on, mask HxW uint8 255 = covered)."""
    poly = surgical_polygon(pts, rng)
    mask = polygon_mask(img.shape, poly)
    ys, xs = np.nonzero(mask)
    out = img.copy()
    if len(ys) == 0:
        return out, mask
    colour = np.array(_COLOURS[int(rng.integers(len(_COLOURS)))] if rng is not None else _COLOURS[0], np.float32)
    _, u, n, d = eye_frame(pts)
    y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    along_n = (gx - gx.mean()) * n[0] + (gy - gy.mean()) * n[1]
    # soft shading top to bottom and three pleats across the mask
    shade = 1.0 - 0.08 * along_n / max(d, 1.0)
    pleat = 1.0 - 0.10 * np.clip(np.cos(along_n / max(d * 0.22, 1.0) * np.pi) - 0.7, 0, None) / 0.3
    tex = colour[None, None, :] * (shade * pleat)[..., None]
    if rng is not None:
        tex = tex + rng.normal(0, 3.0, tex.shape).astype(np.float32)
    tex = np.clip(tex, 0, 255).astype(np.uint8)
    tex = cv2.GaussianBlur(tex, (3, 3), 0)
    sub = mask[y0:y1, x0:x1] > 0
    out[y0:y1, x0:x1][sub] = tex[sub]
    return out, mask
