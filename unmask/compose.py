"""Paste-back: the generator's crop goes back into the full-resolution photo, in the hole only.

The hole (canonical crop pixels) is dilated by :data:`DILATE` and feathered by a Gaussian of :data:`FEATHER`
(both in crop pixels, as fractions of the crop side) into an alpha matte; the generator's output is colour-matched
to the photo on a ring of known pixels around the hole, warped back with the inverse of the alignment, and
alpha-blended. Pixels whose alpha is zero, i.e. farther than :func:`blend_margin` from the hole, are returned
bit-for-bit unchanged, and only the hole's neighbourhood of the photo is ever warped, so the cost does not grow
with the photo's size.
"""

from __future__ import annotations

import cv2
import numpy as np

DILATE = 0.02  # of the crop side
FEATHER = 0.025  # Gaussian sigma, of the crop side
RING = 0.05  # width of the colour-matching ring, of the crop side
MAX_SHIFT = 40.0  # largest per-channel colour correction, in grey levels


def blend_margin(size: int) -> float:
    """How far (crop pixels) beyond the hole the blend can reach: the dilation plus three feather sigmas."""
    return DILATE * size + 3.0 * FEATHER * size + 1.0


def alpha_matte(hole: np.ndarray) -> np.ndarray:
    """SxS float32 alpha in [0, 1] from a SxS uint8 hole (255 = hole): 1 on the dilated hole, feathered out,
    exactly 0 beyond :func:`blend_margin`."""
    size = hole.shape[0]
    r = max(1, int(round(DILATE * size)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    grown = cv2.dilate((hole > 127).astype(np.uint8), k).astype(np.float32)
    sigma = FEATHER * size
    ksize = 2 * int(np.ceil(3 * sigma)) + 1
    alpha = cv2.GaussianBlur(grown, (ksize, ksize), sigma, borderType=cv2.BORDER_CONSTANT)
    alpha = np.minimum(np.maximum(alpha, grown), 1.0)  # the hole itself is fully replaced; the blur's sum can exceed 1
    alpha[alpha < 1.0 / 255] = 0.0
    return alpha


def match_colour(output: np.ndarray, reference: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``output`` shifted per channel so that its mean on a ring of known pixels around the hole equals
    ``reference``'s there (the generator's small colour casts disappear at the seam). Crops SxSx3 uint8."""
    size = hole.shape[0]
    h = (hole > 127).astype(np.uint8)
    r_in = max(1, int(round(DILATE * size)))
    r_out = r_in + max(2, int(round(RING * size)))
    ell = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    ring = (cv2.dilate(h, ell(r_out)) > 0) & ~(cv2.dilate(h, ell(r_in)) > 0)
    if ring.sum() < 16:
        return output
    shift = reference[ring].astype(np.float32).mean(0) - output[ring].astype(np.float32).mean(0)
    shift = np.clip(shift, -MAX_SHIFT, MAX_SHIFT)
    return np.clip(output.astype(np.float32) + shift, 0, 255).astype(np.uint8)


def paste(
    rgb: np.ndarray,
    crop_out: np.ndarray,
    hole: np.ndarray,
    matrix: np.ndarray,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Blends ``crop_out`` (SxSx3 uint8, the generator's result in the canonical frame) into ``rgb`` (HxWx3
    uint8) in place, through the hole ``hole`` (SxS uint8, 255 = hole) and the image->crop ``matrix`` (2x3).

    ``reference``: the aligned input crop, for colour matching (skipped when None).
    Returns (``rgb``, the touched box (x0, y0, x1, y1) in image pixels or None when nothing was touched).
    """
    if reference is not None:
        crop_out = match_colour(crop_out, reference, hole)
    alpha = alpha_matte(hole)
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:
        return rgb, None
    inv = cv2.invertAffineTransform(matrix)
    corners = np.array(
        [[xs.min() - 1, ys.min() - 1, 1], [xs.max() + 2, ys.min() - 1, 1], [xs.min() - 1, ys.max() + 2, 1],
         [xs.max() + 2, ys.max() + 2, 1]], np.float64) @ inv.T  # fmt: skip
    h, w = rgb.shape[:2]
    x0 = int(max(np.floor(corners[:, 0].min()), 0))
    y0 = int(max(np.floor(corners[:, 1].min()), 0))
    x1 = int(min(np.ceil(corners[:, 0].max()) + 1, w))
    y1 = int(min(np.ceil(corners[:, 1].max()) + 1, h))
    if x1 <= x0 or y1 <= y0:
        return rgb, None
    # crop -> ROI pixels: image matrix shifted by the ROI origin
    to_roi = inv.copy()
    to_roi[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(crop_out, to_roi, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpAffine(alpha, to_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a[a < 1.0 / 255] = 0.0
    roi = rgb[y0:y1, x0:x1]
    sel = a > 0
    if not sel.any():
        return rgb, None
    af = a[sel][:, None]
    roi[sel] = np.clip(af * warped[sel].astype(np.float32) + (1 - af) * roi[sel].astype(np.float32) + 0.5, 0, 255).astype(np.uint8)
    return rgb, (x0, y0, x1, y1)


def hole_to_image(hole: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The crop-frame hole (SxS uint8) warped into an HxW uint8 image-frame mask (for ``--save-mask``)."""
    inv = cv2.invertAffineTransform(matrix)
    return cv2.warpAffine(hole, inv, (shape[1], shape[0]), flags=cv2.INTER_NEAREST, borderValue=0)


# -- tight holes at photo resolution ---------------------------------------------------------------------------
RING_PX = 0.08
"""Width of the colour-matching ring around a photo-resolution hole, in inter-ocular distances (at least 3 px)."""


def hole_alpha(occluder: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """(hole, alpha) over an occluder's box: the hole (uint8, 255 = restore) is every pixel within ``margin``
    (Euclidean) of the occluder (uint8, 255 = covered); alpha (float32) is 1 on the occluder and on the inner
    part of the margin, falls to 0 across the outer half of the margin (at least one pixel), and is exactly 0
    outside the hole, so no pixel beyond hole + margin can change."""
    occ = occluder > 0
    if not occ.any():
        z = np.zeros(occluder.shape, np.float32)
        return np.zeros(occluder.shape, np.uint8), z
    dist = cv2.distanceTransform(np.where(occ, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    hole = dist <= margin + 1e-3
    feather = max(1.0, margin / 2.0)
    alpha = np.clip((margin + 1.0 - dist) / feather, 0.0, 1.0).astype(np.float32)
    alpha[~hole] = 0.0
    alpha[occ] = 1.0
    return np.where(hole, 255, 0).astype(np.uint8), alpha


def paste_in_box(
    rgb: np.ndarray,
    crop_out: np.ndarray,
    matrix: np.ndarray,
    box: tuple[int, int, int, int],
    hole: np.ndarray,
    alpha: np.ndarray,
    ring: int,
) -> bool:
    """Blends the generator's ``crop_out`` (SxSx3 uint8, canonical frame; ``matrix``: photo -> crop) into
    ``rgb`` (HxWx3 uint8, in place) over ``box`` = (x0, y0, x1, y1) with ``alpha`` (float32 over the box), after
    matching its colour to the photo on a ring of ``ring`` pixels of known pixels just outside ``hole``.
    Pixels where ``alpha`` is 0 are not written. Returns whether any pixel was written."""
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    inv = cv2.invertAffineTransform(matrix)
    to_box = inv.copy()
    to_box[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(crop_out, to_box, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    roi = rgb[y0:y1, x0:x1]
    sel = alpha > 0
    if not sel.any():
        return False
    grown = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1)))
    band = (grown > 0) & (hole == 0)
    if band.sum() >= 16:
        shift = roi[band].astype(np.float32).mean(0) - warped[band].mean(0)
        warped += np.clip(shift, -MAX_SHIFT, MAX_SHIFT)
    a = alpha[sel][:, None]
    roi[sel] = np.clip(a * warped[sel] + (1 - a) * roi[sel].astype(np.float32) + 0.5, 0, 255).astype(np.uint8)
    return True
