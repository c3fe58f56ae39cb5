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


def color_jitter(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random photometric change of a whole crop (HxWx3 uint8 RGB -> same), so that skin tones, exposures
    and colour casts CelebA has few of are met in training. In linear light (gamma 2.2): an exposure gain
    (log-normal, 0.35-1.6, with one draw in three darkened and warmed as deeper skin is: gains about 0.4-0.75
    and blue lowered against red), a per-channel cast (sd 6%); then, in the encoded values, contrast 0.8-1.2
    about the mean and saturation 0.6-1.3. Target and input are made from the same jittered crop, so the
    model learns to continue whatever tone the visible skin has."""
    lin = (crop.astype(np.float32) / 255.0) ** 2.2
    if rng.random() < 1.0 / 3.0:
        gain = rng.uniform(0.4, 0.75) * np.array([1.0, rng.uniform(0.85, 0.95), rng.uniform(0.7, 0.88)], np.float32)
    else:
        gain = np.float32(np.clip(np.exp(rng.normal(0.0, 0.3)), 0.35, 1.6)) * np.ones(3, np.float32)
    gain = gain * np.clip(rng.normal(1.0, 0.06, 3), 0.85, 1.15).astype(np.float32)
    x = np.clip(lin * gain, 0.0, 1.0) ** (1 / 2.2)
    mean = x.mean(axis=(0, 1), keepdims=True)
    x = (x - mean) * rng.uniform(0.8, 1.2) + mean
    grey = x.mean(axis=2, keepdims=True)
    x = (x - grey) * rng.uniform(0.6, 1.3) + grey
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
