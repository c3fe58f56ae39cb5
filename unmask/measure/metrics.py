"""Image-quality metrics for inpainting, measured on the hole.

Array conventions: ``pred`` and ``target`` are ``HxWx3`` ``uint8`` RGB of the same shape; ``hole`` is ``HxW``
``uint8`` with ``255`` = hole (values above 127 count as hole, so a resampled mask still works). An empty hole is
an error: there is nothing to measure.

* :func:`psnr_hole`, :func:`l1_hole`: over the hole pixels only (all three channels).
* :func:`ssim_box`: SSIM on the hole's bounding box, after putting ``target``'s pixels outside the hole into
  ``pred`` (the composited result the pipeline produces), so only what was synthesised is judged, with its
  surroundings as context.
* :class:`LPIPS`: LPIPS v0.1 (SqueezeNet) on whole images; needs torch and the weights (given, or named by
  ``$UNMASK_LPIPS_WEIGHTS`` and ``$UNMASK_PERCEPTUAL_WEIGHTS``).
* :func:`summarize`: mean and a 95% bootstrap interval over per-image values.
* :meth:`LPIPS.pooled`: pooled SqueezeNet features of images, for KID (:mod:`unmask.measure.texture`).

This module imports torch and scikit-image only where they are needed, so it imports without either.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from unmask.spec import is_hole

if TYPE_CHECKING:  # pragma: no cover
    import torch

PSNR_CAP = 100.0
"""PSNR in dB reported when the hole is reproduced exactly (MSE 0), instead of infinity: per-image values stay
finite, so means and intervals stay defined. Any non-zero error on 8-bit data over a hole of up to 3.9 megapixel
scores below it (the smallest non-zero MSE is 1/(3n) for n hole pixels)."""

DATA_RANGE = 255.0
SSIM_MIN_SIDE = 7
"""Side of scikit-image's default SSIM window; the SSIM box is grown to at least this."""

LPIPS_MIN_SIDE = 17
"""Smallest image side the seven SqueezeNet 1.1 slices accept (its stride-2 stem and three ceil-mode pools)."""

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def _hole_bool(hole: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    hole = np.asarray(hole)
    if hole.ndim != 2 or hole.shape != tuple(shape[:2]):
        raise ValueError(f"hole must be HxW matching the image {shape[:2]}, got {hole.shape}")
    m = is_hole(hole)
    if not m.any():
        raise ValueError("hole is empty: nothing to measure")
    return m


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[2] != 3:
        raise ValueError(f"pred and target must both be HxWx3, got {pred.shape} and {target.shape}")
    return pred, target


def _hole_diff(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> np.ndarray:
    pred, target = _pair(pred, target)
    m = _hole_bool(hole, pred.shape)
    return pred[m].astype(np.float64) - target[m].astype(np.float64)


def psnr_hole(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """PSNR in dB over the hole pixels (data range 255); :data:`PSNR_CAP` when they are identical."""
    mse = float(np.mean(_hole_diff(pred, target, hole) ** 2))
    if mse == 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(DATA_RANGE**2 / mse))


def l1_hole(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """Mean absolute error over the hole pixels in [0, 1] units (grey levels / 255)."""
    return float(np.mean(np.abs(_hole_diff(pred, target, hole))) / DATA_RANGE)


def hole_box(hole: np.ndarray, min_side: int = SSIM_MIN_SIDE) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the hole's bounding box, grown symmetrically to at least ``min_side`` per axis
    and shifted to stay inside the image (an axis shorter than ``min_side`` is taken whole)."""
    m = _hole_bool(hole, np.shape(hole))
    ys, xs = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
    out = []
    for lo, hi, n in ((ys[0], ys[-1] + 1, m.shape[0]), (xs[0], xs[-1] + 1, m.shape[1])):
        grow = max(0, min_side - (hi - lo))
        lo, hi = lo - grow // 2, hi + grow - grow // 2
        lo, hi = max(0, lo - max(0, hi - n)), min(n, hi + max(0, -lo))
        out += [int(lo), int(hi)]
    return out[0], out[1], out[2], out[3]


def ssim_box(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """SSIM (scikit-image defaults: 7x7 uniform window, data range 255, per channel, averaged) on the hole's
    bounding box grown to at least 7x7. Outside the hole ``pred`` is replaced by ``target`` first, so only the
    hole's content counts. The image must be at least 7x7."""
    from skimage.metrics import structural_similarity

    pred, target = _pair(pred, target)
    m = _hole_bool(hole, pred.shape)
    if min(m.shape) < SSIM_MIN_SIDE:
        raise ValueError(f"image {m.shape} smaller than the {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE} SSIM window")
    comp = np.where(m[..., None], pred, target)
    y0, y1, x0, x1 = hole_box(hole)
    return float(
        structural_similarity(comp[y0:y1, x0:x1], target[y0:y1, x0:x1], channel_axis=-1, data_range=DATA_RANGE)
    )


def hole_iou(hole: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two HxW masks (values above 127 count); 1 when both are empty."""
    a, b = is_hole(hole), is_hole(truth)
    union = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def spill(out: np.ndarray, before: np.ndarray, censor: np.ndarray, distance: float = 3, level: int = 12) -> float:
    """Visible pixels changed by a restoration, per censor pixel: pixels of ``out`` farther than ``distance`` px
    from ``censor`` (HxW uint8, >127 = hidden) that differ from ``before`` (the censored photo; HxWx3 uint8) by
    more than ``level`` grey levels in some channel, divided by the censor's pixel count."""
    import cv2

    c = is_hole(censor)
    n = int(np.count_nonzero(c))
    if not n:
        return 0.0
    dist = cv2.distanceTransform(np.where(c, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    changed = np.abs(out.astype(np.int16) - before.astype(np.int16)).max(axis=2) > level
    return float(np.count_nonzero(changed & (dist > distance)) / n)


def summarize(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean and a 95% percentile-bootstrap interval of the mean (2000 resamples, fixed
    seed, so the same values always give the same interval).

    One value gives the zero-width interval ``(v, v, v)`` (one sample says nothing about spread). Infinite
    values make the mean infinite and the interval ``(mean, mean)``; NaN, mixed signs of infinity and an empty
    input are errors.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("no values to summarize")
    if np.isnan(x).any():
        raise ValueError("values contain NaN")
    if not np.isfinite(x).all():
        if np.isposinf(x).any() and np.isneginf(x).any():
            raise ValueError("values contain both +inf and -inf: the mean is undefined")
        inf = float(x[~np.isfinite(x)][0])
        return inf, inf, inf
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    chunk = max(1, 4_000_000 // x.size)  # bound memory: chunk * n indices at a time
    means = np.concatenate(
        [
            x[rng.integers(0, x.size, size=(min(chunk, BOOTSTRAP_RESAMPLES - i), x.size))].mean(axis=1)
            for i in range(0, BOOTSTRAP_RESAMPLES, chunk)
        ]
    )
    alpha = (1.0 - CONFIDENCE) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return mean, float(min(lo, mean)), float(max(hi, mean))


def _as_batch(images: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    out = [np.asarray(im) for im in images]
    for im in out:
        if im.ndim != 3 or im.shape[2] != 3:
            raise ValueError(f"images must be HxWx3, got {im.shape}")
        if min(im.shape[:2]) < LPIPS_MIN_SIDE:
            raise ValueError(f"image {im.shape[:2]} too small for LPIPS (min side {LPIPS_MIN_SIDE})")
    return out


class LPIPS:
    """LPIPS v0.1 with SqueezeNet 1.1 (Zhang et al., CVPR 2018), as the ``lpips`` package computes it.

    For each of the seven SqueezeNet slices: features of both images (inputs in [-1, 1]; the backbone applies
    torchvision's normalisation, which equals lpips' scaling layer), each unit-normalised over channels
    (``x / (sqrt(sum_c x^2) + 1e-10)``), squared difference, the slice's 1x1 linear head (no bias), spatial
    mean; the distance is the sum over slices. Lower is more similar; 0 for identical images.

    ``weights``: the linear heads (``lin0.model.1.weight`` .. ``lin6.model.1.weight``), default
    ``$UNMASK_LPIPS_WEIGHTS`` (a ``lpips_squeeze_v0.1.pth``); ``features_weights``: the
    backbone, as :class:`unmask.train.features.SqueezeFeatures` resolves it. Raises
    :class:`unmask.train.features.WeightsNotFound` when either is missing. Requires torch.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        features_weights: str | os.PathLike | None = None,
        device: str = "cpu",
        batch_size: int = 16,
    ) -> None:
        import torch

        from unmask.train.features import CHANNELS, SqueezeFeatures
        from unmask.train.losses.texture import load_lpips_heads

        heads = [w.to(device=device, dtype=torch.float32) for w in load_lpips_heads(weights)]
        self.device = torch.device(device)
        self.heads = heads
        self.net = SqueezeFeatures(features_weights, levels=len(CHANNELS)).to(self.device)
        self.batch_size = batch_size

    def _distance(self, a: "torch.Tensor", b: "torch.Tensor") -> "torch.Tensor":
        import torch.nn.functional as F

        total = None
        for fa, fb, w in zip(self.net(a), self.net(b), self.heads):
            na = fa / (fa.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            nb = fb / (fb.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            d = F.conv2d((na - nb) ** 2, w).mean(dim=(1, 2, 3))
            total = d if total is None else total + d
        assert total is not None
        return total

    def _tensor(self, images: list[np.ndarray]) -> "torch.Tensor":
        import torch

        x = torch.from_numpy(np.stack(images).astype(np.float32)).permute(0, 3, 1, 2)
        return (x / 127.5 - 1.0).to(self.device)

    def pooled(self, images: np.ndarray | Sequence[np.ndarray], unit: bool = True) -> np.ndarray:
        """NxD float64 features of ``HxWx3`` uint8 RGB images (a list or ``NxHxWx3``; sizes may differ): the last
        SqueezeNet slice (D = 512), averaged over space: what :func:`unmask.measure.texture.kid` compares. With
        ``unit``, each vector is scaled to length sqrt(D), so that ``a.b / D`` in KID's kernel is their cosine (0 to
        1): raw, these features are about 2 per dimension, ``a.b / D`` about 20, and the cubic kernel's values ~10^4 swamp KID's
        usual scale (features normalised over channels, as LPIPS does with its slices)."""
        import torch

        xs = _as_batch(images)
        out, i = [], 0
        with torch.no_grad():
            while i < len(xs):
                j = i + 1
                while j < len(xs) and j - i < self.batch_size and xs[j].shape == xs[i].shape:
                    j += 1
                out.append(self.net(self._tensor(xs[i:j]))[-1].mean(dim=(2, 3)).double().cpu().numpy())
                i = j
        f = np.concatenate(out) if out else np.zeros((0, self.heads[-1].shape[1]))
        if unit:
            f = f * (np.sqrt(f.shape[1]) / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-10))
        return f

    def __call__(self, a: np.ndarray | Sequence[np.ndarray], b: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Per-pair distances (float64 array of length N) for two batches of ``HxWx3`` uint8 RGB images, given
        as lists or ``NxHxWx3`` arrays (a single ``HxWx3`` image counts as a batch of one). Pair ``i`` must have
        one shape; pairs may differ in size from each other."""
        import torch

        xa, xb = _as_batch(a), _as_batch(b)
        if len(xa) != len(xb):
            raise ValueError(f"batches differ in length: {len(xa)} vs {len(xb)}")
        out = np.empty(len(xa), dtype=np.float64)
        i = 0
        with torch.no_grad():
            while i < len(xa):
                if xa[i].shape != xb[i].shape:
                    raise ValueError(f"pair {i}: shapes differ, {xa[i].shape} vs {xb[i].shape}")
                j = i + 1  # run of equal shapes, so it can be stacked
                while j < len(xa) and j - i < self.batch_size and xa[j].shape == xb[j].shape == xa[i].shape:
                    j += 1
                d = self._distance(self._tensor(xa[i:j]), self._tensor(xb[i:j]))
                out[i:j] = d.double().cpu().numpy()
                i = j
        return out
