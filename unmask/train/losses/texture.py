"""Losses on the hole's box: what a restored eye or mouth looks like close up, not over the whole face.

A tight censor is a few per cent of the face crop, so a loss averaged over the crop barely feels it. These
losses first cut each sample's **hole box** (:func:`box_crops`: the hole's bounding box, padded by
:data:`BOX_PAD` of its height on every side, clamped to the crop) and resample it to one fixed
``BOX_SHAPE`` (height x width), so that every sample weighs the same whatever its hole's size, and the
texture inside is seen at about the resolution the eval's hole LPIPS sees it (short side 64 px).

* :func:`lpips_distance`: LPIPS v0.1 (Zhang et al., CVPR 2018) on SqueezeNet features, differentiable, as
  :class:`unmask.measure.metrics.LPIPS` computes it for scores (per level: channel-unit-normalised features,
  squared difference, the level's linear head, spatial mean; summed over levels);
* the box crops also feed the patch discriminator of the arch (see :mod:`unmask.train.archs.dmfn`).

Tensors: images ``N x 3 x S x S`` in the arch's value range, masks ``N x 1 x S x S`` with 1 = hole.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

BOX_SHAPE = (64, 128)
"""(height, width) every hole box is resampled to: an eye band's box is about twice as wide as high."""
BOX_PAD = 0.25
"""Padding of the hole's bounding box on each side, as a fraction of its height (the eval's hole box too)."""


def hole_box_coords(mask: torch.Tensor, pad: float = BOX_PAD) -> list[tuple[int, int, int, int]]:
    """Per sample, ``(y0, y1, x0, x1)`` of the hole's bounding box padded by ``pad`` x its height on every side,
    clamped to the crop (the whole crop when a sample has no hole)."""
    m = mask.detach()[:, 0] > 0.5
    n, h, w = m.shape
    out = []
    rows, cols = m.any(dim=2).cpu().numpy(), m.any(dim=1).cpu().numpy()
    for i in range(n):
        ys, xs = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        if not len(ys):
            out.append((0, h, 0, w))
            continue
        y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
        p = int(round(pad * (y1 - y0)))
        out.append((max(0, y0 - p), min(h, y1 + p), max(0, x0 - p), min(w, x1 + p)))
    return out


def box_crops(
    images: Sequence[torch.Tensor], coords: list[tuple[int, int, int, int]], shape: tuple[int, int] = BOX_SHAPE
) -> list[torch.Tensor]:
    """Each tensor of ``images`` (``N x C x S x S``) cut at ``coords`` (:func:`hole_box_coords`) and resampled
    bilinearly to ``shape``: one ``N x C x H x W`` tensor per input, gradients kept."""
    outs = []
    for x in images:
        parts = [
            F.interpolate(x[i : i + 1, :, y0:y1, x0:x1], size=shape, mode="bilinear", align_corners=False)
            for i, (y0, y1, x0, x1) in enumerate(coords)
        ]
        outs.append(torch.cat(parts, dim=0))
    return outs


def load_lpips_heads(path: str | os.PathLike | None = None) -> list[torch.Tensor]:
    """The seven LPIPS v0.1 SqueezeNet linear heads (``1 x C x 1 x 1``), from ``path`` or as
    :func:`unmask.train.features.resolve_weights` finds them."""
    from unmask.train.features import CHANNELS, ENV_LPIPS, LPIPS_FILE, resolve_weights

    p = resolve_weights(path, ENV_LPIPS, "LPIPS SqueezeNet v0.1", LPIPS_FILE)
    state = torch.load(p, map_location="cpu", weights_only=True)
    heads = []
    for i, c in enumerate(CHANNELS):
        w = state.get(f"lin{i}.model.1.weight") if isinstance(state, dict) else None
        if w is None or tuple(w.shape) != (1, c, 1, 1):
            raise ValueError(f"{p}: not LPIPS v0.1 SqueezeNet heads (lin{i}.model.1.weight (1,{c},1,1))")
        heads.append(w.float())
    return heads


def lpips_distance(
    fx: Sequence[torch.Tensor], fy: Sequence[torch.Tensor], heads: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Mean LPIPS over the batch from the raw (not rescaled) SqueezeNet features of prediction ``fx`` and target
    ``fy`` (the target's are detached), one head per level."""
    if not (len(fx) == len(fy) == len(heads)):
        raise ValueError(f"{len(fx)} / {len(fy)} feature levels for {len(heads)} heads")
    total = fx[0].new_zeros(())
    for a, b, w in zip(fx, fy, heads):
        b = b.detach()
        na = a / (a.pow(2).sum(dim=1, keepdim=True).add(1e-20).sqrt() + 1e-10)
        nb = b / (b.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
        total = total + F.conv2d((na - nb) ** 2, w.to(a)).mean()
    return total
