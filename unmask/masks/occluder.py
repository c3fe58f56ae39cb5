"""Which region of a face is covered, and where exactly the occluder is, from pixels of the canonical crop.

Cues (all in the canonical crop, so scale-free):

* an eye bar is a band of near-constant colour across both eyes: low colour spread and few edges in a core
  band that any bar covers;
* a pixelated band has edges only on a block grid: within the band, rows and columns are exact repeats of
  their neighbours far more often than in a photo;
* a surgical mask is a large smooth area over nose and mouth whose colour differs from the skin above it.

:func:`covered` returns the decision and its scores, :func:`occluder_pixels` the connected flat area that a
found bar or mask occupies, so that the hole can be grown to cover a bar drawn larger than usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from unmask.face.align import template
from unmask.masks.geometry import eye_frame, polygon_mask, rotated_rect
from unmask.masks.surgical import surgical_polygon

# Decision thresholds, calibrated on CelebA validation faces (see tests/test_auto.py and benchmarks/).
FLAT_GRAD = 6.0  # grey levels: a gradient below this is "flat"
# Measured on 60 CelebA validation faces, censored in the photo, JPEG q90, re-detected (scripts/calibrate_auto.py):
# clean faces: eye_flat <= 0.14, eye_repeat <= 0.05, mouth_flat <= 0.40; bars: eye_flat >= 0.58; mosaics:
# eye_flat >= 0.28, eye_repeat >= 0.22; surgical masks: mouth_flat >= 0.54 with mouth_spread <= 15.7.
EYE_FLAT = 0.30  # fraction of flat pixels in the eye core band: a bar or a mosaic
EYE_REPEAT = 0.12  # fraction of exactly repeated neighbour pixels in the eye core band: a mosaic
BAR_SPREAD = 12.0  # colour standard deviation in the eye core band below which it is a bar, not a mosaic
MASK_FLAT = 0.47  # fraction of flat pixels in the lower-face core for a mask
MASK_SPREAD = 18.0  # colour standard deviation in the lower-face core for a mask


@dataclass
class Decision:
    region: str | None
    kind: str | None  # "bar", "pixelate", "surgical" or None
    scores: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        if self.region is None:
            return "nothing covered"
        return f"{self.kind} over the {self.region}"


def _core_eye_band(size: int) -> np.ndarray:
    c, u, n, d = eye_frame(template() * size)
    return polygon_mask((size, size), rotated_rect(c, u, n, 0.85 * d, 0.14 * d)) > 0


def _core_mouth(size: int) -> np.ndarray:
    t = template() * size
    c, u, n, d = eye_frame(t)
    # a band from below the nose tip to above the chin, between the mouth corners widened
    centre = c + n * 1.05 * d
    return polygon_mask((size, size), rotated_rect(centre, u, n, 0.55 * d, 0.3 * d)) > 0


def _grad(gray: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 4
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 4
    return np.hypot(gx, gy)


def _repeat_fraction(gray: np.ndarray, sel: np.ndarray) -> float:
    """Fraction of pixels equal (within 1 level) to the pixel on their left and to the one above."""
    g = gray.astype(np.int16)
    same_x = np.zeros_like(sel)
    same_y = np.zeros_like(sel)
    same_x[:, 1:] = np.abs(g[:, 1:] - g[:, :-1]) <= 1
    same_y[1:, :] = np.abs(g[1:, :] - g[:-1, :]) <= 1
    return float((same_x & same_y)[sel].mean()) if sel.any() else 0.0


def scores(crop: np.ndarray) -> dict[str, float]:
    """The cues for a canonical crop (SxSx3 uint8, aligned with region=None)."""
    size = crop.shape[0]
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    grad = _grad(gray)
    eye, mouth = _core_eye_band(size), _core_mouth(size)
    f = crop.astype(np.float32)
    out = {
        "eye_flat": float((grad[eye] < FLAT_GRAD).mean()),
        "eye_spread": float(f[eye].std(0).mean()),
        "eye_repeat": _repeat_fraction(gray, eye),
        "mouth_flat": float((grad[mouth] < FLAT_GRAD).mean()),
        "mouth_spread": float(f[mouth].std(0).mean()),
    }
    return out


def covered(crop: np.ndarray) -> Decision:
    """Decides which region of the face in ``crop`` (canonical, aligned with region=None) is covered."""
    s = scores(crop)
    eyes = s["eye_flat"] >= EYE_FLAT or s["eye_repeat"] >= EYE_REPEAT
    mouth = s["mouth_flat"] >= MASK_FLAT and s["mouth_spread"] <= MASK_SPREAD
    if eyes:
        return Decision("eyes", "bar" if s["eye_spread"] <= BAR_SPREAD else "pixelate", s)
    if mouth:
        return Decision("mouth", "surgical", s)
    return Decision(None, None, s)


def occluder_pixels(crop: np.ndarray, hole: np.ndarray, tolerance: float = 12.0) -> np.ndarray:
    """Pixels of a flat occluder that the hole (SxS uint8) only partly covers: the connected area, touching the
    hole, whose colour stays within ``tolerance`` of the hole's median colour and whose gradient is flat.
    Returns SxS uint8 (255 = occluder). Empty when the hole's content is not flat (no bar there)."""
    inside = hole > 127
    if not inside.any():
        return np.zeros_like(hole)
    f = crop.astype(np.float32)
    med = np.median(f[inside], 0)
    near = np.linalg.norm(f - med, axis=2) <= tolerance
    flat = _grad(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)) < FLAT_GRAD
    cand = (near & flat).astype(np.uint8)
    if cand[inside].mean() < 0.5:
        return np.zeros_like(hole)
    n, labels = cv2.connectedComponents(cand, connectivity=4)
    touching = np.unique(labels[inside & (cand > 0)])
    out = np.isin(labels, touching[touching > 0])
    return (out * 255).astype(np.uint8)


__all__ = ["Decision", "covered", "occluder_pixels", "scores", "surgical_polygon"]
