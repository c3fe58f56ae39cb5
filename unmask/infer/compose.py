"""Paste-back: the generator's crop goes back into the full-resolution photo, in the hole only.

The hole is the censor found at photo resolution (:mod:`unmask.infer.censors.find`) grown by a margin of a pixel or
two (anti-aliasing, JPEG ringing). :func:`hole_alpha` makes the alpha matte in photo pixels: 1 on the censor
and the inner part of the margin, feathered to 0 across the margin's outer part, exactly 0 beyond it.
:func:`paste_in_box` warps the generator's output back with the inverse of the alignment (only over the
censor's box, so the cost does not grow with the photo), matches its colour to the photo on a ring of known
pixels just outside the hole, and blends. Pixels outside the hole are never written: they stay bit-identical.

Arrays: photos HxWx3 uint8 RGB; masks uint8, 255 = hole; alpha float32 in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.spec import is_hole

MAX_SHIFT = 40.0  # largest per-channel colour correction, in grey levels


def hole_alpha(occluder: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """(hole, alpha) over an occluder's box: the hole (uint8, 255 = restore) is every pixel within ``margin``
    (Euclidean) of the occluder (uint8, 255 = covered); alpha (float32) is 1 on the occluder and on the inner
    part of the margin, falls towards 0 across the outer half of the margin (a margin of one pixel is replaced
    whole: it holds the censor's anti-aliased edge), and is exactly 0 outside the hole, so no pixel beyond the
    censor + margin can change."""
    occ = is_hole(occluder)
    if not occ.any():
        z = np.zeros(occluder.shape, np.float32)
        return np.zeros(occluder.shape, np.uint8), z
    dist = cv2.distanceTransform(np.where(occ, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    hole = dist <= margin + 1e-3
    feather = margin // 2  # pixels of the margin's outer part the blend ramps over (none for a 1 px margin)
    alpha = np.clip((margin + 1.0 - dist) / (feather + 1.0), 0.0, 1.0).astype(np.float32)
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
    Pixels where ``alpha`` is 0 keep their values exactly. Returns whether any pixel was written."""
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
    # over the whole box, in place (boolean indexing cost four times as much): where alpha is 0 the sum is the
    # photo's own value exactly (v + 0 + 0.5, truncated), so those pixels are written back unchanged
    mixed = roi.astype(np.float32)
    mixed += (warped - mixed) * alpha[:, :, None]
    mixed += 0.5
    np.clip(mixed, 0, 255, out=mixed)
    roi[...] = mixed.astype(np.uint8)
    return True
