"""The face record shared by detection, alignment, masks and the pipeline. Coordinates are pixels (x, y)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
