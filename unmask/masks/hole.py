"""The region to restore, in the canonical crop: the union of where the covered part is expected (the template,
fitted on the uncovered landmarks, so it does not drift) and where the landmarks put it, made generous enough
for hand-drawn bars and masks."""

from __future__ import annotations

import numpy as np

from unmask.face.align import template
from unmask.masks.geometry import dilate, eye_frame, inflate, polygon_mask, rotated_rect
from unmask.masks.surgical import surgical_polygon

# In inter-ocular distances: the eye hole's half length and half height, how far the mouth hole reaches beyond a
# nominal surgical mask (the largest outset the censor jitter draws), and the dilation of both holes. Sized so
# that, in `unmask eval` on 200 validation faces, the censors the project draws lie inside the hole (see
# benchmarks/RESULTS.md, "censor in hole").
EYE_HALF_LEN = 1.3
EYE_HALF_H = 0.45
MOUTH_OUTSET = 0.1
MARGIN = 0.05


def hole_mask(landmarks: np.ndarray, size: int, region: str) -> np.ndarray:
    """SxS uint8 hole (255 = restore) for ``region`` ("eyes" or "mouth") of a face whose landmarks
    (478x2) are in the pixels of a canonical crop of side ``size`` (see :func:`unmask.face.align.align`)."""
    shape = (size, size)
    out = np.zeros(shape, np.uint8)
    d_ref = 0.0
    for pts in (template() * size, np.asarray(landmarks, np.float64)):
        if region == "eyes":
            c, u, n, d = eye_frame(pts)
            poly = rotated_rect(c, u, n, EYE_HALF_LEN * d, EYE_HALF_H * d)
        elif region == "mouth":
            d = eye_frame(pts)[3]
            poly = inflate(surgical_polygon(pts), MOUTH_OUTSET * d)
        else:
            raise ValueError(f"unknown region {region!r}")
        d_ref = max(d_ref, d)
        out |= polygon_mask(shape, poly)
    return dilate(out, MARGIN * d_ref)
