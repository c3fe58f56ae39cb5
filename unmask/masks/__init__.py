"""Mask builders: censors as people draw them (eye bar, pixelated eye band, surgical mask), random free-form
holes for training, and the hole to restore per region. Masks are HxW uint8 with 255 = hole.

:func:`censor` is what training and ``unmask eval`` use to hide a region of a clean face, with the same
geometry as the holes the pipeline restores.
"""

from __future__ import annotations

import numpy as np

from unmask.masks.eye_band import draw_eye_band
from unmask.masks.eye_bar import draw_eye_bar
from unmask.masks.freeform import freeform_mask
from unmask.masks.geometry import dilate, eye_frame
from unmask.masks.hole import hole_mask
from unmask.masks.surgical import draw_surgical

CENSOR_KINDS = ("bar", "pixelate", "surgical", "freeform")
KIND_REGION = {"bar": "eyes", "pixelate": "eyes", "surgical": "mouth", "freeform": None}
REGION_KINDS = {"eyes": ("bar", "pixelate"), "mouth": ("surgical",)}


def draw_censor(img: np.ndarray, pts: np.ndarray, kind: str, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draws censor ``kind`` on ``img`` (HxWx3 uint8, any frame) for landmarks ``pts`` (478x2, same frame).
    Returns (censored copy, occluder mask HxW uint8 255 = covered). ``rng`` jitters shape and colour."""
    if kind == "bar":
        return draw_eye_bar(img, pts, rng)
    if kind == "pixelate":
        return draw_eye_band(img, pts, rng)
    if kind == "surgical":
        return draw_surgical(img, pts, rng)
    if kind == "freeform":
        if rng is None:
            rng = np.random.default_rng(0)
        m = freeform_mask(img.shape, rng)
        out = img.copy()
        out[m > 0] = 0
        return out, m
    raise ValueError(f"unknown censor kind {kind!r} (choose from {', '.join(CENSOR_KINDS)})")


def censor(crop: np.ndarray, landmarks: np.ndarray, kind: str, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Censors a canonical crop (SxSx3 uint8; ``landmarks`` 478x2 in crop pixels) as training and evaluation
    need it. Returns (censored crop, hole SxS uint8) where the hole is what the pipeline would restore for that
    kind's region (:func:`hole_mask`) joined with the occluder, slightly dilated; free-form: the strokes."""
    censored, occ = draw_censor(crop, landmarks, kind, rng)
    region = KIND_REGION[kind]
    if region is None:
        return censored, occ
    hole = hole_mask(landmarks, crop.shape[0], region) | dilate(occ, 0.03 * eye_frame(landmarks)[3])
    return censored, hole


__all__ = ["CENSOR_KINDS", "KIND_REGION", "REGION_KINDS", "censor", "draw_censor", "hole_mask"]
