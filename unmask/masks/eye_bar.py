"""The censor bar over both eyes, as people draw it, and its randomisation for training and evaluation.

Bars met in the wild differ in colour (mostly black, also grey, white or any colour), length, height, angle,
position and corner shape (square or rounded), and are often anti-aliased and then JPEG-compressed. With an
``rng`` :func:`eye_bar_polygon` and :func:`draw_eye_bar` draw all of that; without one, the nominal black bar.
"""

from __future__ import annotations

import numpy as np

from unmask.masks.geometry import coverage_mask, eye_frame, rotated_rect, rounded_rect

# In inter-ocular distances: half the bar's length and height, its nominal shape.
HALF_LEN = 1.0
HALF_H = 0.26
# The random range of each, as factors of the nominal shape, the angle (degrees, against the eye line) and the
# corner radius (as a fraction of the half height).
LEN_RANGE = (0.8, 1.45)
H_RANGE = (0.8, 1.6)
MAX_ANGLE = 10.0
SHIFT_DOWN = 0.08
SHIFT_ALONG = 0.08


def eye_bar_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Kx2 outline of an eye bar for landmarks ``pts`` (478x2, any frame). Without ``rng``: the nominal
    rectangle (4 corners); with it: jittered in length, height, angle and position the way hand-drawn bars vary,
    and with rounded corners on some."""
    c, u, n, d = eye_frame(pts)
    half_len, half_h = HALF_LEN * d, HALF_H * d
    if rng is None:
        return rotated_rect(c, u, n, half_len, half_h)
    half_len *= rng.uniform(*LEN_RANGE)
    half_h *= rng.uniform(*H_RANGE)
    ang = np.deg2rad(rng.uniform(-MAX_ANGLE, MAX_ANGLE))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    u, n = rot @ u, rot @ n
    c = c + n * d * rng.uniform(-SHIFT_DOWN, SHIFT_DOWN) + u * d * rng.uniform(-SHIFT_ALONG, SHIFT_ALONG)
    radius = half_h * (rng.uniform(0.1, 1.0) if rng.random() < 0.35 else 0.0)
    return rounded_rect(c, u, n, half_len, half_h, radius)


def bar_colour(rng: np.random.Generator | None) -> tuple[int, int, int]:
    """Black without ``rng``; with it, mostly near-black, sometimes grey, white or any colour."""
    if rng is None:
        return (0, 0, 0)
    p = rng.uniform()
    if p < 0.55:
        v = int(rng.integers(0, 25))
        return (v, v, v)
    if p < 0.75:
        v = int(rng.integers(25, 256))
        return (v, v, v)
    return tuple(int(x) for x in rng.integers(0, 256, 3))  # type: ignore[return-value]


def draw_eye_bar(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (censored copy of ``img`` (HxWx3 uint8), bar mask HxW uint8 255 = bar).

    With ``rng`` half of the bars are anti-aliased: their edge pixels mix the bar's colour with the photo's, and
    the mask holds every pixel the bar touches."""
    poly = eye_bar_polygon(pts, rng)
    aa = rng is not None and rng.random() < 0.5
    cover = coverage_mask(img.shape, poly, antialias=aa)
    colour = np.asarray(bar_colour(rng), np.float32)
    a = (cover.astype(np.float32) / 255.0)[..., None]
    out = np.clip(img.astype(np.float32) * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    out[cover == 0] = img[cover == 0]
    return out, np.where(cover > 0, 255, 0).astype(np.uint8)
