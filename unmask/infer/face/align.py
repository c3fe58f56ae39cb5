"""Canonical alignment: a similarity transform from the photo to a square crop of the model's size.

The canonical face is :data:`TEMPLATE`, the mean 478-point FaceMesh shape in unit coordinates (x, y in [0, 1]
of the crop), built by ``scripts/make_template.py`` from five anchors placed at :data:`ANCHORS`. A face is
aligned by a least-squares similarity fit of its landmarks onto the template, using only the landmarks that
the region being restored does not cover (:func:`unmask.infer.crop.fit_weights`): landmarks under an eye bar or a surgical mask
drift (measured on 80 faces: the eye centres 0.10 inter-ocular distances under a bar, the mouth 0.11 under a
mask), the rest of the face does not (under 0.02). Training uses the same function, so a training crop and
an inference crop of the same photo match.

``Aligned.matrix`` maps image pixels to crop pixels (2x3, ``crop = M @ [x, y, 1]``).

This module holds the canonical frame and the fit, knowing no region; the crop a region is restored in (the fit
weights each region declares, the keypoint cross-check) is :mod:`unmask.infer.crop`'s, so that the face wing is
imported by the regions and censors and imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.face import landmarks as L

# Where the five anchors sit in the unit crop: right eye, left eye (image left, image right), nose tip,
# mouth corners. Loose enough that brows, cheeks and chin are inside the crop.
ANCHORS = np.array([[0.355, 0.40], [0.645, 0.40], [0.50, 0.555], [0.385, 0.685], [0.615, 0.685]], dtype=np.float64)

_TEMPLATE_FILE = Path(__file__).with_name("template.npy")


@lru_cache(maxsize=1)
def template() -> np.ndarray:
    """The 478x2 canonical shape in unit crop coordinates (float64)."""
    return np.load(_TEMPLATE_FILE).astype(np.float64)


def anchor_points(pts: np.ndarray) -> np.ndarray:
    """The five anchors (eye centres, nose tip, mouth corners) of a 478x2 landmark array."""
    r, l = L.eye_centres(pts)
    return np.stack([r, l, pts[L.NOSE_TIP], pts[L.MOUTH_RIGHT], pts[L.MOUTH_LEFT]]).astype(np.float64)


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares similarity (rotation, uniform scale, translation; no reflection) mapping
    ``src`` (Nx2) onto ``dst`` (Nx2). Returns the 2x3 matrix. Umeyama's method."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var = (w * (s**2).sum(1)).sum()
    scale = (sig * sign).sum() / var
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


@dataclass
class Aligned:
    """A face in the canonical frame. ``crop``: SxSx3 uint8; ``matrix``: 2x3 image->crop; ``landmarks``:
    478x2 float32 in crop pixels; ``size``: S."""

    crop: np.ndarray
    matrix: np.ndarray
    landmarks: np.ndarray
    size: int

    @property
    def inverse(self) -> np.ndarray:
        """2x3 crop->image matrix."""
        return cv2.invertAffineTransform(self.matrix)


def matrix_scale(m: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def warp_to_crop(rgb: np.ndarray, m: np.ndarray, size: int, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``cv2.warpAffine`` of ``rgb`` by the image->crop matrix ``m``, with area pre-shrinking when ``m``
    downscales by more than 2x."""
    scale = matrix_scale(m)
    if scale < 0.5:
        # the image window the crop sees, with a margin
        inv = cv2.invertAffineTransform(m)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inv.T
        h, w = rgb.shape[:2]
        x0 = int(max(np.floor(corners[:, 0].min()) - 2, 0))
        y0 = int(max(np.floor(corners[:, 1].min()) - 2, 0))
        x1 = int(min(np.ceil(corners[:, 0].max()) + 2, w))
        y1 = int(min(np.ceil(corners[:, 1].max()) + 2, h))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            f = min(1.0, 1.5 * scale)
            window = rgb[y0:y1, x0:x1]
            nw, nh = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
            small = cv2.resize(window, (nw, nh), interpolation=cv2.INTER_AREA)
            fx, fy = nw / (x1 - x0), nh / (y1 - y0)
            # small px -> image px, pixel centres matched as cv2.resize does: x = (u + 0.5) / fx - 0.5 + x0
            to_img = np.array(
                [[1 / fx, 0, x0 + 0.5 / fx - 0.5], [0, 1 / fy, y0 + 0.5 / fy - 0.5], [0, 0, 1]], np.float64
            )
            m2 = np.vstack([m, [0, 0, 1]]) @ to_img
            return cv2.warpAffine(small, m2[:2], (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(rgb, m, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)


TEMPLATE_TOLERANCE = 0.25
"""Median distance (inter-ocular distances of the template) between a face's landmarks, fitted onto the template by
a similarity, and the template's own points, beyond which the landmarks are not a face's. On 339 faces of the
detection benchmark (bare, barred, pixelated, masked; turned 0-45 degrees; benchmarks/detect_recall.py): median
0.06, 99th percentile 0.14, largest 0.17."""


def template_error(landmarks: np.ndarray) -> float:
    """Median distance, in the template's inter-ocular distances, between ``landmarks`` (478x2, any frame) fitted
    onto the template (all points, similarity) and the template."""
    t = template()
    m = fit_similarity(landmarks, t)
    fitted = np.asarray(landmarks, np.float64) @ m[:, :2].T + m[:, 2]
    return float(np.median(np.linalg.norm(fitted - t, axis=1)) / (ANCHORS[1, 0] - ANCHORS[0, 0]))


def fits_template(landmarks: np.ndarray) -> bool:
    """Whether ``landmarks`` have a face's shape: :func:`template_error` within :data:`TEMPLATE_TOLERANCE`."""
    return template_error(landmarks) <= TEMPLATE_TOLERANCE
