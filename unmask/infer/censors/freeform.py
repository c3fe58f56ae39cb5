"""Random free-form stroke masks (registry entry ``freeform``, training only: no region, no finder), in the style
of gated-convolution inpainting works."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.infer.censors import Censor, register
from unmask.spec import is_hole


def freeform_mask(shape: tuple[int, int], rng: np.random.Generator, strokes: tuple[int, int] = (2, 6)) -> np.ndarray:
    """HxW uint8 mask (255 = hole) of random thick polylines covering a few percent to a third of the image."""
    h, w = shape[:2]
    mask = np.zeros((h, w), np.uint8)
    side = min(h, w)
    for _ in range(int(rng.integers(*strokes))):
        x, y = rng.uniform(0.15, 0.85) * w, rng.uniform(0.2, 0.85) * h
        width = int(max(2, rng.uniform(0.03, 0.09) * side))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.uniform(-1.0, 1.0)
            length = rng.uniform(0.05, 0.2) * side
            nx = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 255, width)
            x, y = nx, ny
    return mask


def draw_freeform(
    img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with random strokes blanked to 0, stroke mask HxW uint8 255 = hole); ``pts`` is not
    used (strokes fall anywhere), ``rng`` defaults to a fixed seed."""
    if rng is None:
        rng = np.random.default_rng(0)
    m = freeform_mask(img.shape, rng)
    out = img.copy()
    out[is_hole(m)] = 0
    return out, m


CENSOR = register(Censor("freeform", draw_freeform))
