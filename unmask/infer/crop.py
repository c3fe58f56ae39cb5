"""The crop a face is restored in, for a region: the canonical alignment (:mod:`unmask.infer.face.align`) fitted on
the landmarks the region does not cover (each region declares them: :attr:`unmask.infer.regions.Region.fit_weights`),
cross-checked with the detector's keypoints.

``Aligned.matrix`` maps image pixels to crop pixels (2x3, ``crop = M @ [x, y, 1]``). Training uses the same
functions, so a training crop and an inference crop of the same photo match.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from unmask.infer import regions
from unmask.infer.face.align import ANCHORS, Aligned, fit_similarity, template, warp_to_crop
from unmask.infer.face.types import Face


@lru_cache(maxsize=4)
def fit_weights(region: str | None) -> np.ndarray:
    """Per-landmark weights for the fit: 0 for the landmarks that ``region`` covers, 1 elsewhere (all 1 for
    None). Each region declares its own (:attr:`unmask.infer.regions.Region.fit_weights`): ``eyes`` leaves out eyes,
    irises, brows and the band between brow and lower eyelid; ``mouth`` everything below the middle of the nose.
    """
    t = template()
    if region is None:
        return np.ones(len(t))
    return regions.get(region).fit_weights(t)


def face_matrix(landmarks: np.ndarray, size: int, region: str | None = None) -> np.ndarray:
    """2x3 image->crop matrix for a face with ``landmarks`` (478x2 image px) at crop side ``size``."""
    return fit_similarity(landmarks, template() * size, fit_weights(region))


def align(rgb: np.ndarray, face: Face | np.ndarray, size: int, region: str | None = None) -> Aligned:
    """Warps the face into the canonical ``size x size`` crop. Pixels outside the photo are edge-replicated.

    Large downscales (a face of 1000 px into a 128 px crop) first shrink the face's neighbourhood with area
    averaging, so the crop is not aliased and a 24-megapixel photo costs no more than a small one.
    """
    pts = face.landmarks if isinstance(face, Face) else np.asarray(face)
    m = face_matrix(pts, size, region)
    crop = warp_to_crop(rgb, m, size)
    lm = (pts.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
    return Aligned(crop=crop, matrix=m, landmarks=lm, size=size)


KEYPOINT_TOLERANCE = 0.4
"""Median distance (inter-ocular distances) between the detector's keypoints, mapped into the crop, and where the
template puts them, beyond which the landmarks are not trusted. Measured on 60 validation faces (clean, eye bar,
surgical mask; landmarks and keypoints on the censored photo): median 0.07-0.11, worst 0.23."""


def keypoint_error(aligned: Aligned, keypoints: np.ndarray) -> float:
    """Median distance, in inter-ocular distances of the crop, between the detection keypoints (right eye, left
    eye, nose tip, mouth centre; image pixels) mapped by ``aligned.matrix`` and their template positions."""
    k = np.asarray(keypoints[:4], np.float64) @ aligned.matrix[:, :2].T + aligned.matrix[:, 2]
    target = _keypoint_targets() * aligned.size
    iod = (ANCHORS[1, 0] - ANCHORS[0, 0]) * aligned.size
    return float(np.median(np.linalg.norm(k - target, axis=1)) / iod)


def _keypoint_targets() -> np.ndarray:
    return np.stack([ANCHORS[0], ANCHORS[1], ANCHORS[2], (ANCHORS[3] + ANCHORS[4]) / 2])


def align_checked(rgb: np.ndarray, face: Face, size: int, region: str | None = None) -> tuple[Aligned, bool]:
    """:func:`align`, cross-checked with the face detector's keypoints (an independent model): when the
    landmarks disagree with them by more than :data:`KEYPOINT_TOLERANCE`, the crop is aligned on the four
    keypoints instead. Returns (aligned, whether the keypoints were used)."""
    aligned = align(rgb, face, size, region)
    if face.keypoints is None or keypoint_error(aligned, face.keypoints) <= KEYPOINT_TOLERANCE:
        return aligned, False
    m = fit_similarity(np.asarray(face.keypoints[:4], np.float64), _keypoint_targets() * size)
    crop = warp_to_crop(rgb, m, size)
    lm = (face.landmarks.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
    return Aligned(crop=crop, matrix=m, landmarks=lm, size=size), True
