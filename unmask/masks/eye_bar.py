"""The black (or any colour) censor bar over both eyes, as people draw it, and its jitter for training."""

from __future__ import annotations

import numpy as np

from unmask.masks.geometry import eye_frame, polygon_mask, rotated_rect

# In inter-ocular distances: half the bar's length and height, its nominal shape.
HALF_LEN = 1.0
HALF_H = 0.26


def eye_bar_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """4x2 corners of an eye bar for landmarks ``pts`` (478x2, any frame). With ``rng``: jittered in length,
    height, angle and position the way hand-drawn bars vary."""
    c, u, n, d = eye_frame(pts)
    half_len, half_h = HALF_LEN * d, HALF_H * d
    if rng is not None:
        half_len *= rng.uniform(0.85, 1.3)
        half_h *= rng.uniform(0.8, 1.45)
        ang = np.deg2rad(rng.uniform(-6, 6))
        rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        u, n = rot @ u, rot @ n
        c = c + n * d * rng.uniform(-0.08, 0.08) + u * d * rng.uniform(-0.06, 0.06)
    return rotated_rect(c, u, n, half_len, half_h)


def bar_colour(rng: np.random.Generator | None) -> tuple[int, int, int]:
    """Black without ``rng``; with it, mostly near-black, sometimes grey, white or any colour."""
    if rng is None:
        return (0, 0, 0)
    p = rng.uniform()
    if p < 0.6:
        v = int(rng.integers(0, 25))
        return (v, v, v)
    if p < 0.8:
        v = int(rng.integers(25, 256))
        return (v, v, v)
    return tuple(int(x) for x in rng.integers(0, 256, 3))  # type: ignore[return-value]


def draw_eye_bar(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (censored copy of ``img`` (HxWx3 uint8), bar mask HxW uint8 255 = bar)."""
    mask = polygon_mask(img.shape, eye_bar_polygon(pts, rng))
    out = img.copy()
    out[mask > 0] = bar_colour(rng)
    return out, mask
