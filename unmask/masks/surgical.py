"""A surgical mask over nose, mouth, cheeks and chin: its outline from landmarks, and a plausible rendering."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.face import landmarks as L
from unmask.masks.geometry import coverage_mask, eye_frame, inflate

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


def mask_colour(rng: np.random.Generator | None) -> np.ndarray:
    """A mask's base colour: the nominal light blue without ``rng``; with it, one of the common surgical and
    cloth colours, or (a third of the time) any colour."""
    if rng is None:
        return np.array(_COLOURS[0], np.float32)
    if rng.random() < 0.33:
        return rng.integers(0, 256, 3).astype(np.float32)
    return np.array(_COLOURS[int(rng.integers(len(_COLOURS)))], np.float32)


def _texture(shape: tuple[int, int], along_n: np.ndarray, along_u: np.ndarray, d: float, colour: np.ndarray,
             rng: np.random.Generator | None) -> np.ndarray:
    """HxWx3 float32: ``colour`` with soft shading top to bottom and pleats across; with ``rng`` also a random
    print (dots or stripes in a second colour) on some masks, and sensor noise."""
    shade = 1.0 - 0.08 * along_n / max(d, 1.0)
    pleat_w, pleat_a = 0.22, 0.10
    if rng is not None:
        shade = 1.0 - rng.uniform(0.0, 0.2) * along_n / max(d, 1.0) - rng.uniform(-0.1, 0.1) * along_u / max(d, 1.0)
        pleat_w, pleat_a = rng.uniform(0.15, 0.35), rng.uniform(0.0, 0.2)
    pleat = 1.0 - pleat_a * np.clip(np.cos(along_n / max(d * pleat_w, 1.0) * np.pi) - 0.7, 0, None) / 0.3
    tex = colour[None, None, :] * (shade * pleat)[..., None]
    if rng is not None and rng.random() < 0.3:
        other = rng.integers(0, 256, 3).astype(np.float32)
        period = max(d * rng.uniform(0.12, 0.35), 3.0)
        if rng.random() < 0.5:  # dots
            fy = np.mod(along_n, period) - period / 2
            fx = np.mod(along_u, period) - period / 2
            ink = (np.hypot(fx, fy) < period * rng.uniform(0.15, 0.35)).astype(np.float32)
        else:  # stripes
            ang = rng.uniform(0, np.pi)
            ink = (np.mod(np.cos(ang) * along_u + np.sin(ang) * along_n, period) < period * 0.4).astype(np.float32)
        tex = tex * (1 - ink[..., None]) + other[None, None, :] * (shade * ink)[..., None]
    if rng is not None:
        tex = tex + rng.normal(0, rng.uniform(1.0, 4.0), tex.shape).astype(np.float32)
    return tex


def draw_surgical(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with a surgical or cloth mask drawn on, mask HxW uint8 255 = covered).

    With ``rng`` the outline, colour, shading, pleats and print vary, and half of the masks have anti-aliased
    edges (the mask then holds every pixel the drawing touches)."""
    poly = surgical_polygon(pts, rng)
    aa = rng is not None and rng.random() < 0.5
    cover = coverage_mask(img.shape, poly, antialias=aa)
    ys, xs = np.nonzero(cover)
    out = img.copy()
    if len(ys) == 0:
        return out, cover
    _, u, n, d = eye_frame(pts)
    y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    along_n = (gx - gx.mean()) * n[0] + (gy - gy.mean()) * n[1]
    along_u = (gx - gx.mean()) * u[0] + (gy - gy.mean()) * u[1]
    tex = np.clip(_texture(cover.shape, along_n, along_u, d, mask_colour(rng), rng), 0, 255).astype(np.uint8)
    tex = cv2.GaussianBlur(tex, (3, 3), 0).astype(np.float32)
    a = (cover[y0:y1, x0:x1].astype(np.float32) / 255.0)[..., None]
    sub = cover[y0:y1, x0:x1] > 0
    mixed = np.clip(out[y0:y1, x0:x1].astype(np.float32) * (1 - a) + tex * a + 0.5, 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1][sub] = mixed[sub]
    return out, np.where(cover > 0, 255, 0).astype(np.uint8)
