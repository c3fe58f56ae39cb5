"""Mask builders: censors as people draw them (eye bar, pixelated eye band, surgical mask), random free-form
holes for training, and the landmark region of each face part. Masks are HxW uint8 with 255 = hole.

:func:`censor` is what training uses to hide part of a clean face crop: the hole the model is given is the
censor's own pixels grown by a margin of a pixel or two (:data:`TRAIN_MARGIN`), as the occluder finders
(:mod:`unmask.masks.find`) give it at inference, never the whole landmark region.
"""

from __future__ import annotations

import numpy as np

from unmask.masks.eye_band import draw_eye_band
from unmask.masks.eye_bar import draw_eye_bar
from unmask.masks.freeform import freeform_mask
from unmask.masks.geometry import dilate
from unmask.masks.hole import hole_mask
from unmask.masks.surgical import draw_surgical
from unmask.spec import CENSOR_KINDS, KIND_REGION, REGION_KINDS, is_hole


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
        out[is_hole(m)] = 0
        return out, m
    raise ValueError(f"unknown censor kind {kind!r} (choose from {', '.join(CENSOR_KINDS)})")


TRAIN_MARGIN = (1, 2)
"""Crop pixels (inclusive range, drawn per sample) by which a training hole exceeds the censor: the margin the
finders add at inference for anti-aliasing and JPEG ringing, plus the pixel that warping a photo hole into the
crop adds."""

JPEG_P = 0.5
JPEG_QUALITY = (60, 96)
"""Share of training samples whose censored crop is JPEG-compressed, and the quality range: censors met in the
wild have been through JPEG (ringing at a bar's edge, mosaic blocks no longer flat)."""


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (HxWx3 uint8 RGB) after a JPEG round trip at ``quality``."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def censor(crop: np.ndarray, landmarks: np.ndarray, kind: str, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Censors a canonical crop (SxSx3 uint8; ``landmarks`` 478x2 in crop pixels) as training needs it.
    Returns (censored crop, hole SxS uint8): the censor's pixels grown by :data:`TRAIN_MARGIN` (free-form: the
    strokes). With ``rng`` the censor is randomised and the censored crop is JPEG-compressed on some samples."""
    censored, occ = draw_censor(crop, landmarks, kind, rng)
    if rng is None:
        return censored, dilate(occ, TRAIN_MARGIN[0])
    if rng.random() < JPEG_P:
        censored = jpeg(censored, int(rng.integers(*JPEG_QUALITY)))
    return censored, dilate(occ, int(rng.integers(TRAIN_MARGIN[0], TRAIN_MARGIN[1] + 1)))


__all__ = ["CENSOR_KINDS", "KIND_REGION", "REGION_KINDS", "TRAIN_MARGIN", "censor", "draw_censor", "hole_mask", "jpeg"]
