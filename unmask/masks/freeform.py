"""Random free-form stroke masks (training only), in the style of gated-convolution inpainting works."""

from __future__ import annotations

import cv2
import numpy as np


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
