"""The whole of a face mask, wherever it runs: over the neck and the collar, past the face's sides over hair or
background, off the photo's edge in a close-up.

:func:`find_mask <unmask.infer.censors.surgical.find_mask>` segments the mask inside the mouth region's window,
which ends a little below the chin and at the face's sides. A mask drawn or worn larger goes on beyond it, and what
lies beyond would be left in the mask's colour. Here the mask found is carried on outside the window, over the
pixels of its own colours:

* its colours: :data:`MASK_CLUSTERS` Lab colours of the mask found (k-means, so a print's two colours and the
  shading are each one of them), 2 px in from its outline;
* the colours it borders: :data:`AROUND_CLUSTERS` of the window's pixels just outside it (skin, hair, background,
  which the segmentation refused);
* a pixel joins when it is nearer the mask's colours than the colours around it, within :data:`NEAR` (Lab), and
  is connected to the mask where the mask found meets the window's border (where the segmentation ended inside
  the window it saw the mask end; a light mask before a pale wall of about its colour is not followed into it).
  Pixels inside the window join too: a shaded mask's darker half the segmentation left.

Photo resolution, over the window's box widened by :data:`WIDEN_IOD` and lengthened downwards by
:data:`DOWN_IOD` inter-ocular distances. Arrays: photo HxWx3 uint8 RGB; masks uint8, 255 = mask.
"""

from __future__ import annotations

import cv2
import numpy as np

MASK_CLUSTERS = 4
AROUND_CLUSTERS = 6
NEAR = 20.0
"""Lab distance from the nearest of the mask's colours, at most, for a pixel beyond the window to join."""
WIDEN_IOD = 0.35
DOWN_IOD = 2.5
"""How far beyond the window's box the mask is followed: sideways, and down (inter-ocular distances)."""
AROUND_IOD = 0.2
"""The colours around the mask are taken this far beyond it (inter-ocular distances), inside the window."""
SEED = 0
"""k-means seed: the same photo gives the same mask."""
SAMPLE = 4000
"""At most this many pixels per colour model (a regular subsample)."""


def _colours(lab: np.ndarray, k: int) -> np.ndarray:
    """``k`` (or fewer) cluster centres of the Lab colours ``lab`` (N x 3 float32)."""
    if len(lab) > SAMPLE:
        lab = lab[:: int(np.ceil(len(lab) / SAMPLE))]
    k = int(min(k, len(lab)))
    cv2.setRNGSeed(SEED)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(np.ascontiguousarray(lab, np.float32), k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
    return centres


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Per pixel of ``lab`` (HxWx3), the distance to the nearest of ``centres``."""
    return np.min(np.linalg.norm(lab[..., None, :] - centres[None, None], axis=-1), axis=-1)


def whole_mask(photo: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray, window: np.ndarray,
               iod: float) -> tuple[tuple[int, int, int, int], np.ndarray]:  # fmt: skip
    """The mask found (``mask``, uint8 over ``box`` = (x0, y0, x1, y1) of ``photo``; ``window``: the window over
    the same box) carried on beyond the window over its own colours: (box, mask over it). The mask and box as
    given when nothing joins."""
    from unmask.infer.censors.find import component_at, disc, fill_holes

    h, w = photo.shape[:2]
    x0, y0, x1, y1 = box
    ex0, ex1 = max(0, int(x0 - WIDEN_IOD * iod)), min(w, int(np.ceil(x1 + WIDEN_IOD * iod)))
    ey0, ey1 = y0, min(h, int(np.ceil(y1 + DOWN_IOD * iod)))
    shape = (ey1 - ey0, ex1 - ex0)
    m = np.zeros(shape, np.uint8)
    win = np.zeros(shape, np.uint8)
    m[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0] = mask
    win[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0] = window
    inside = cv2.erode(m, disc(2)) > 0
    if inside.sum() < 50:
        inside = m > 0
    around = (cv2.dilate(m, disc(max(3.0, AROUND_IOD * iod))) > 0) & ~(cv2.dilate(m, disc(2)) > 0) & (win > 0)
    if inside.sum() < 10 or around.sum() < 10 or m.all():
        return box, mask
    lab = cv2.cvtColor(np.ascontiguousarray(photo[ey0:ey1, ex0:ex1]), cv2.COLOR_RGB2LAB).astype(np.float32)
    own, other = _colours(lab[inside], MASK_CLUSTERS), _colours(lab[around], AROUND_CLUSTERS)
    # the segmentation may have stopped short inside the window (a shaded mask's darker half): those pixels are
    # around the mask found but of its colours, not what it borders
    other = other[np.min(np.linalg.norm(other[:, None] - own[None], axis=-1), axis=1) > NEAR]
    if not len(other):
        return box, mask
    # it runs on from where it meets the window's border only: where the segmentation ended inside the window, it
    # saw the mask end (a light mask before a pale wall of about its colour)
    seeds = (m > 0) & (cv2.dilate(np.where(win > 0, 0, 255).astype(np.uint8), disc(1)) > 0)
    if not seeds.any():
        return box, mask
    ys, xs = np.nonzero(m == 0)
    d_own, d_other = _nearest(lab[ys, xs][None], own)[0], _nearest(lab[ys, xs][None], other)[0]
    near = (d_own < d_other) & (d_own <= NEAR)
    walk = seeds.copy()  # (not the rest of the mask found: it runs on from the seeds only)
    walk[ys[near], xs[near]] = True
    found = component_at(np.where(walk, 255, 0).astype(np.uint8), np.where(seeds, 255, 0).astype(np.uint8)) > 0
    grown = fill_holes(cv2.morphologyEx(np.where(found, 255, 0).astype(np.uint8), cv2.MORPH_OPEN, disc(1))) | m
    gy, gx = np.nonzero(grown)
    by0, by1, bx0, bx1 = int(gy.min()), int(gy.max()) + 1, int(gx.min()), int(gx.max()) + 1
    return (ex0 + bx0, ey0 + by0, ex0 + bx1, ey0 + by1), grown[by0:by1, bx0:bx1]


__all__ = ["whole_mask"]
