"""The face record shared by detection, alignment, masks and the pipeline. Coordinates are pixels (x, y)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes (0 when both are empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Face:
    """One detected face.

    ``box``: (x0, y0, x1, y1) in image pixels. ``landmarks``: 478x2 float32 FaceMesh points (refined eyes, lips
    and irises) in image pixels. ``keypoints``: 6x2 float32 FaceDetection keypoints (right eye, left eye, nose
    tip, mouth centre, right ear, left ear; "right" = the subject's right = image left) or None. ``score``: the
    detection confidence.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    keypoints: np.ndarray | None = None
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """Face size in pixels: the larger side of its box."""
        return max(self.width, self.height)
