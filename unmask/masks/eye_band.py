"""A pixelated band over the eyes (mosaic censoring), and its randomisation (size, block side, grid phase)."""

from __future__ import annotations

import numpy as np

from unmask.masks.geometry import eye_frame, polygon_mask, rotated_rect

HALF_LEN = 1.05
HALF_H = 0.32
BLOCK = 0.2  # mosaic block side, in inter-ocular distances
BLOCK_RANGE = (0.5, 1.75)  # random block side, as factors of BLOCK


def eye_band_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    c, u, n, d = eye_frame(pts)
    half_len, half_h = HALF_LEN * d, HALF_H * d
    if rng is not None:
        half_len *= rng.uniform(0.85, 1.25)
        half_h *= rng.uniform(0.8, 1.4)
        c = c + n * d * rng.uniform(-0.08, 0.08)
    # mosaics are drawn axis-aligned: take the bounding rectangle of the rotated band
    poly = rotated_rect(c, u, n, half_len, half_h)
    (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def pixelate(img: np.ndarray, mask: np.ndarray, block: float, phase: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``img`` with the pixels under ``mask`` replaced by a mosaic of ``block``-pixel squares, each the exact mean
    of the pixels it covers (the grid starts at the mask's top-left corner, moved back by ``phase`` = (dy, dx)
    pixels; the first and last rows and columns of squares are cut where the mask's box ends, and average what
    they cover)."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return img.copy()
    b = max(2, int(round(block)))
    y0, x0 = ys.min(), xs.min()
    y1, x1 = ys.max() + 1, xs.max() + 1
    region = img[y0:y1, x0:x1].astype(np.float64)
    h, w = region.shape[:2]
    py, px = (int(v) % b for v in phase)
    starts_y = np.unique(np.clip(np.arange(-py, h, b), 0, None))
    starts_x = np.unique(np.clip(np.arange(-px, w, b), 0, None))
    sums = np.add.reduceat(np.add.reduceat(region, starts_y, axis=0), starts_x, axis=1)
    rows, cols = np.diff(np.append(starts_y, h)), np.diff(np.append(starts_x, w))
    counts = np.outer(rows, cols)[..., None]
    means = np.rint(sums / counts).astype(np.uint8)
    mosaic = np.repeat(np.repeat(means, rows, axis=0), cols, axis=1)
    out = img.copy()
    sub = mask[y0:y1, x0:x1] > 0
    out[y0:y1, x0:x1][sub] = mosaic[sub]
    return out


def draw_eye_band(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with a pixelated eye band, band mask HxW uint8 255 = band)."""
    _, _, _, d = eye_frame(pts)
    mask = polygon_mask(img.shape, eye_band_polygon(pts, rng))
    block = BLOCK * d * (rng.uniform(*BLOCK_RANGE) if rng is not None else 1.0)
    phase = (0, 0) if rng is None else tuple(int(v) for v in rng.integers(0, max(2, int(round(block))), 2))
    return pixelate(img, mask, block, phase), mask
