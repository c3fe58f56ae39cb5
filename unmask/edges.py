"""Edge maps for models with an ``edges`` input (EdgeConnect): one function, used by training and the runtime.

Canny on the grayscale crop, after a light Gaussian blur; inside the hole the edges are unknown and set to 0.
The thresholds travel in the model's metadata (``options["canny"]``), so training and inference agree.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_CANNY = (60, 140)


def canny_edges(rgb: np.ndarray, hole: np.ndarray | None = None, thresholds: tuple[int, int] = DEFAULT_CANNY) -> np.ndarray:
    """HxW float32 edge map in {0, 1} of ``rgb`` (HxWx3 uint8); zero where ``hole`` (HxW uint8, 255 = hole)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray, (3, 3), 0)
    edges = (cv2.Canny(gray, int(thresholds[0]), int(thresholds[1])) > 0).astype(np.float32)
    if hole is not None:
        edges[hole > 127] = 0.0
    return edges
