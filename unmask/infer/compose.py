"""Paste-back: the generator's crop goes back into the full-resolution photo, in the hole only.

The hole is the censor found at photo resolution (:mod:`unmask.infer.censors.find`) grown by a margin of a pixel or
two (anti-aliasing, JPEG ringing). :func:`hole_alpha` makes the alpha matte in photo pixels: 1 on the censor
and the inner part of the margin, feathered to 0 across the margin's outer part, exactly 0 beyond it.
:func:`paste_in_box` warps the generator's output back with the inverse of the alignment (only over the
censor's box, so the cost does not grow with the photo), matches its tone to the photo as a retoucher would, and
blends. Pixels outside the hole are never written: they stay bit-identical.

Matching the photo, as a retoucher would (the ``retouch`` of :class:`unmask.infer.pipeline.Restorer`: on for
photos, off for videos; tone matching is always on):

* **tone** (:func:`tone_field`): on a ring of known pixels just outside the hole the photo and the warped model
  output should agree; where they do not (the model's colour drifts, light falls across the face), the
  difference is carried into the hole as a smooth field (normalised Gaussian interpolation of the ring's
  differences, scale :data:`TONE_SCALE` x the hole's half-thickness), not as one constant, so a hole between a lit
  and a shaded cheek meets both;
* **grain** (:func:`grain_for`): the fill is smoother than the photo's skin. The photo's grain is measured on the
  ring (robust spread of its grey Laplacian) and so is the fill's; the missing part, up to the region's share of
  the photo's (:attr:`unmask.infer.regions.Region.grain`: ``sqrt((0.5 ring)^2 - fill^2)`` for the eyes, none for
  the mouth, where it made hole LPIPS and KID worse), is added as luminance noise correlated over :data:`GRAIN_BLUR`
  px, from a generator seeded by the box, so the same photo gives the same pixels. Half, not all: on 40
  validation eye bars (the previous dmfn-eyes, with an unsharp mask before it) grain at the full level (0.9) made
  hole LPIPS worse (0.148 -> 0.158) while the detail ratio rose to 0.73, which is noise counted as detail; at
  half, LPIPS 0.147 and detail 0.49. With this round's dmfn-eyes on 50 bars, half-level grain: detail 0.40 -> 0.49,
  hole LPIPS 0.139 -> 0.138, -0.03 dB. An unsharp mask of the fill was tried too and is not in: with the previous
  model it lowered hole LPIPS 5% for 0.3 dB, with this round's (already sharper) model it gave 0.5% for 0.3-0.4 dB,
  which took eye bars and mosaics under their PSNR floors.

Arrays: photos HxWx3 uint8 RGB; masks uint8, 255 = hole; alpha float32 in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.spec import is_hole

MAX_SHIFT = 40.0  # largest per-channel colour correction, in grey levels
TONE_SCALE = 1.0
"""Gaussian scale of the tone field, in units of the hole's half-thickness (at least 2 px)."""
TONE_STEP = 16.0
"""The tone field is worked out at one pixel per ``sigma / TONE_STEP`` photo pixels (at least one), then enlarged:
a Gaussian of ``sigma`` varies little over a sixteenth of it, and on a large photo (a hole 100+ px thick) blurring at
full resolution cost seconds a face (issue 29: 2.3 s of CPU a face on 2400 px photos). Holes under 64 px thick (sigma
under 32 px) are worked out at full resolution, as before."""
TONE_SPREAD = 6.0
"""Smallest robust deviation (grey levels) assumed for the ring's differences when clipping outliers."""
GRAIN_BLUR = 0.7
"""Gaussian (px) that correlates the grain noise as a photo's grain is."""
GRAIN_SEED = 2024
"""Base seed of the grain noise (with the box's coordinates, so results are reproducible)."""


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


def _robust_std(x: np.ndarray) -> float:
    """1.4826 x the median absolute deviation (robust to the edges a ring holds)."""
    if x.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _laplacian(grey: np.ndarray) -> np.ndarray:
    return cv2.Laplacian(grey, cv2.CV_32F, ksize=1)


def tone_field(diff: np.ndarray, band: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """HxWx3 float32 offsets carrying ``diff`` (HxWx3 float32, photo minus model output, read on ``band``) into
    the box: a Gaussian-weighted mean of the band's differences at every pixel (scale: :data:`TONE_SCALE` x the
    hole's half-thickness), falling back to the band's median where the band is far; clipped to
    :data:`MAX_SHIFT`. Band differences beyond 3 robust deviations of the median (at least :data:`TONE_SPREAD`
    grey levels each) are clipped first: a stray edge on the ring must not tint the hole, but light falling
    differently on one side of it must still be followed."""
    med = np.median(diff[band], axis=0)
    dev = np.array([max(_robust_std(diff[band][:, c]), TONE_SPREAD) for c in range(3)], np.float32)
    d = np.clip(diff, med - 3.0 * dev, med + 3.0 * dev) * band[:, :, None]
    inside = cv2.distanceTransform(np.where(hole > 0, 255, 0).astype(np.uint8), cv2.DIST_L2, 5)
    sigma = max(2.0, TONE_SCALE * float(inside.max()))
    k = max(1, int(sigma // TONE_STEP))  # the field is smooth at sigma: worked out k times smaller, then enlarged
    h, w_ = band.shape
    small = (max(1, round(w_ / k)), max(1, round(h / k)))
    weight, d = band.astype(np.float32), d.astype(np.float32)
    if k > 1:
        weight, d = (cv2.resize(a, small, interpolation=cv2.INTER_AREA) for a in (weight, d))
    w = cv2.GaussianBlur(weight, (0, 0), sigma * small[0] / w_)
    num = cv2.GaussianBlur(d, (0, 0), sigma * small[0] / w_)
    eps = 0.05 * float(w.max())
    field = (num + eps * med[None, None, :]) / (w[:, :, None] + eps)
    if k > 1:
        field = cv2.resize(field, (w_, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(field, -MAX_SHIFT, MAX_SHIFT).astype(np.float32)


def grain_for(
    roi: np.ndarray, warped: np.ndarray, band: np.ndarray, hole: np.ndarray, seed: int, level: float
) -> np.ndarray:
    """HxW float32 luminance noise that tops the fill's grain up to the photo's (see the module docstring):
    ``roi`` the photo's box (HxWx3 uint8), ``warped`` the model output over it (HxWx3 float32), ``band`` the ring
    (bool), ``hole`` (uint8, 255 = restored), ``level``: the share of the photo's grain to reach. Grain is measured as the robust spread of the grey Laplacian (the
    eval's detail measure); the noise is white noise blurred by :data:`GRAIN_BLUR` px (photo grain is not
    pixel-independent: demosaicing and JPEG correlate it). Zero when the fill already has the photo's grain."""
    grey = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY).astype(np.float32)
    fill = cv2.cvtColor(np.clip(warped, 0, 255).astype(np.float32), cv2.COLOR_RGB2GRAY)
    inner = hole > 0
    s_ring = _robust_std(_laplacian(grey)[band])
    s_fill = _robust_std(_laplacian(fill)[inner])
    amp = float(np.sqrt(max(0.0, (level * s_ring) ** 2 - s_fill**2)))
    if amp < 0.25:
        return np.zeros(grey.shape, np.float32)
    white = np.random.default_rng(seed).standard_normal(grey.shape).astype(np.float32)
    noise = cv2.GaussianBlur(white, (0, 0), GRAIN_BLUR)
    s_noise = _robust_std(_laplacian(noise)[inner])
    return (noise * (amp / max(s_noise, 1e-6))).astype(np.float32)


def paste_in_box(
    rgb: np.ndarray,
    crop_out: np.ndarray,
    matrix: np.ndarray,
    box: tuple[int, int, int, int],
    hole: np.ndarray,
    alpha: np.ndarray,
    ring: int,
    grain: float = 0.0,
) -> bool:
    """Blends the generator's ``crop_out`` (SxSx3 uint8, canonical frame; ``matrix``: photo -> crop) into
    ``rgb`` (HxWx3 uint8, in place) over ``box`` = (x0, y0, x1, y1) with ``alpha`` (float32 over the box), after
    matching its tone to the photo on a ring of ``ring`` pixels of known pixels just outside ``hole``
    (:func:`tone_field`) and topping its grain up to ``grain`` x the photo's (:func:`grain_for`; 0: none).
    Pixels where ``alpha`` is 0 keep their values exactly. Returns whether any pixel was written."""
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    inv = cv2.invertAffineTransform(matrix)
    to_box = inv.copy()
    to_box[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(crop_out, to_box, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE).astype(
        np.float32
    )
    roi = rgb[y0:y1, x0:x1]
    sel = alpha > 0
    if not sel.any():
        return False
    grown = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1)))
    band = (grown > 0) & (hole == 0)
    if band.sum() >= 16:
        warped += tone_field(roi.astype(np.float32) - warped, band, hole)
        if grain > 0:
            warped += grain_for(roi, warped, band, hole, GRAIN_SEED + 7919 * x0 + y0, grain)[:, :, None]
    # over the whole box, in place (boolean indexing cost four times as much): where alpha is 0 the sum is the
    # photo's own value exactly (v + 0 + 0.5, truncated), so those pixels are written back unchanged
    mixed = roi.astype(np.float32)
    mixed += (warped - mixed) * alpha[:, :, None]
    mixed += 0.5
    np.clip(mixed, 0, 255, out=mixed)
    roi[...] = mixed.astype(np.uint8)
    return True
