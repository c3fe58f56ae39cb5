"""Training augmentation of aligned crops. Torch-free.

A horizontal flip must also mirror the landmarks: x -> S - 1 - x, and each FaceMesh point becomes its mirror
partner (the subject's right eye corner becomes the left one), or the landmark sets (``RIGHT_EYE``, ...) would
name the wrong side. The partner of every point comes from the canonical template: the assignment of the
x-mirrored template onto itself with the least total distance (FaceMesh's topology is left-right symmetric, so
this is an involution; checked on load).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def mirror_permutation() -> np.ndarray:
    """Index array ``p`` with ``p[i]`` = the mirror partner of landmark ``i`` (``p[p] == arange``)."""
    from scipy.optimize import linear_sum_assignment

    from unmask.infer.face.align import template

    t = template()
    m = t.copy()
    m[:, 0] = 1.0 - m[:, 0]
    cost = ((m[:, None, :] - t[None, :, :]) ** 2).sum(-1)
    _, perm = linear_sum_assignment(cost)
    if not np.array_equal(perm[perm], np.arange(len(perm))):
        raise RuntimeError("landmark template is not left-right symmetric enough to pair points")
    return perm


def flip_face(crop: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirrors a crop (SxSx3) and its landmarks (478x2, crop px) left-right."""
    w = crop.shape[1]
    out = landmarks[mirror_permutation()].copy()
    out[:, 0] = (w - 1) - out[:, 0]
    return np.ascontiguousarray(crop[:, ::-1]), out
