"""The landmark region to restore, in the canonical crop (what ``--force`` restores when no censor is found): the
union of where the region's outline is expected (the template, fitted on the uncovered landmarks, so it does
not drift) and where the landmarks put it (each region's outline: :attr:`unmask.infer.regions.Region.outline`), made
generous enough for hand-drawn bars and masks."""

from __future__ import annotations

import numpy as np

from unmask.infer import regions
from unmask.infer.face.geometry import dilate, eye_frame, polygon_mask
from unmask.infer.face.align import template

# The dilation of the hole, in inter-ocular distances. The regions' outlines are sized so that, in `unmask eval`
# on 200 validation faces, the censors the project draws lie inside the hole (see benchmarks/RESULTS.md, "censor
# in hole").
MARGIN = 0.05


def hole_mask(landmarks: np.ndarray, size: int, region: str) -> np.ndarray:
    """SxS uint8 hole (255 = restore) for ``region`` ("eyes" or "mouth") of a face whose landmarks
    (478x2) are in the pixels of a canonical crop of side ``size`` (see :func:`unmask.infer.crop.align`)."""
    outline = regions.get(region).outline
    shape = (size, size)
    out = np.zeros(shape, np.uint8)
    d_ref = 0.0
    for pts in (template() * size, np.asarray(landmarks, np.float64)):
        d_ref = max(d_ref, eye_frame(pts)[3])
        out |= polygon_mask(shape, outline(pts))
    return dilate(out, MARGIN * d_ref)
