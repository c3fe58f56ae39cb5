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
* a pixel joins when it is nearer the mask's colours than the colours around it, within :data:`NEAR` (Lab), or,
  straight below the mask found, of its paint in another shade (:func:`same_paint`: chromaticity and brightness), and
  is connected to the mask where the mask found meets the window's border (where the segmentation ended inside
  the window it saw the mask end; a light mask before a pale wall of about its colour is not followed into it).
  Pixels inside the window join too: a shaded mask's darker half the segmentation left.

Photo resolution, over the window's box widened by :data:`WIDEN_IOD` and lengthened downwards by
:data:`DOWN_IOD` inter-ocular distances. Arrays: photo HxWx3 uint8 RGB; masks uint8, 255 = mask.
"""

from __future__ import annotations

from collections.abc import Callable

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
CHROMA_DAMP = 10.0
"""Added to each RGB channel before taking chromaticity (channel / sum), so dark pixels' noise stays small."""
CHROMA_SD = 0.008
"""Each chromaticity cluster's spread is at least this (sensor noise and JPEG on a plain colour)."""
CHROMA_NEAR = 3.0
"""Mahalanobis distance of a pixel's chromaticity from the nearest of the mask's chromaticity clusters, at most,
for it to be of the mask's own colour under other light (see :func:`same_paint`)."""
SHADE = (0.6, 1.2)
"""Brightness (sum over channels) of a pixel of the mask's paint in shade or light, as factors of the 5th and 95th
percentiles of the mask found."""


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


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Chromaticity (r, g of channel / sum, :data:`CHROMA_DAMP` added) of ``rgb`` (... x 3 uint8): shading and
    light scale a paint's three channels alike and leave it."""
    f = rgb.astype(np.float32) + CHROMA_DAMP
    return (f / f.sum(-1, keepdims=True))[..., :2]


def paint_of(own: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A test of the paint of ``own`` (the mask's pixels, M x 3 uint8) under other light, fitted once: it takes
    ``rgb`` (N x 3 uint8) and says per pixel whether its chromaticity lies within :data:`CHROMA_NEAR`
    (Mahalanobis) of one of the mask's chromaticity clusters (each with its own covariance, at least
    :data:`CHROMA_SD`; a print's colours are each one) and its brightness within :data:`SHADE` of the mask's. A
    mask's shaded lower half differs in Lab from its upper half by as much as the skin differs from it, but not in
    chromaticity; skin, neck, collar and background lie many spreads away from a plain paint's chromaticity."""
    if len(own) > SAMPLE:
        own = own[:: int(np.ceil(len(own) / SAMPLE))]
    c_own = _chroma(own)
    k = int(min(MASK_CLUSTERS, len(own)))
    cv2.setRNGSeed(SEED)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1e-4)
    _, labels, _ = cv2.kmeans(np.ascontiguousarray(c_own, np.float32), k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
    clusters = []
    for j in range(k):
        part = c_own[labels.ravel() == j]
        if len(part) >= 10:
            clusters.append((part.mean(0), np.linalg.inv(np.cov(part.T) + np.eye(2) * CHROMA_SD**2)))
    lo, hi = np.percentile(own.astype(np.float32).sum(-1), [5, 95])

    def test(rgb: np.ndarray) -> np.ndarray:
        c = _chroma(rgb)
        best = np.full(len(c), np.inf, np.float32)
        for mean, inv in clusters:
            diff = c - mean
            best = np.minimum(best, np.sqrt(np.einsum("ni,ij,nj->n", diff, inv, diff)))
        lum = rgb.astype(np.float32).sum(-1)
        return (best <= CHROMA_NEAR) & (lum >= SHADE[0] * lo) & (lum <= min(SHADE[1] * hi, 765.0))

    return test


def same_paint(rgb: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per pixel of ``rgb`` (N x 3 uint8), whether it is of the paint of ``own`` (M x 3 uint8): :func:`paint_of`
    fitted on ``own`` and applied once."""
    return paint_of(own)(rgb)


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
    # of the mask's colours (Lab), or of its paint in another shade (a shaded lower half differs in Lab as much as
    # the skin does) straight below the mask found (beside it lie hair or background, which a pale or grey paint
    # may match); and nearer them than the colours around
    sub = photo[ey0:ey1, ex0:ex1]
    under = np.maximum.accumulate(m > 0, axis=0)[ys, xs]
    near = (d_own < d_other) & ((d_own <= NEAR) | (under & same_paint(sub[ys, xs], sub[inside])))
    walk = seeds.copy()  # (not the rest of the mask found: it runs on from the seeds only)
    walk[ys[near], xs[near]] = True
    found = component_at(np.where(walk, 255, 0).astype(np.uint8), np.where(seeds, 255, 0).astype(np.uint8)) > 0
    grown = fill_holes(cv2.morphologyEx(np.where(found, 255, 0).astype(np.uint8), cv2.MORPH_OPEN, disc(1))) | m
    gy, gx = np.nonzero(grown)
    by0, by1, bx0, bx1 = int(gy.min()), int(gy.max()) + 1, int(gx.min()), int(gx.max()) + 1
    return (ex0 + bx0, ey0 + by0, ex0 + bx1, ey0 + by1), grown[by0:by1, bx0:bx1]


__all__ = ["paint_of", "same_paint", "whole_mask"]
