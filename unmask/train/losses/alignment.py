"""Geometric alignment loss (Hui et al., "Image Fine-grained Inpainting", 2020, the DMFN paper).

Each feature channel is read as a distribution over positions (its non-negative activation divided by its
sum); its centre is the expected ``(x, y)`` in coordinates running from -1 (left/top) to 1 (right/bottom).
The loss is the mean squared distance between the centres of prediction and target, channel by channel, so
it penalises misplaced structures (eyes, mouth corners) that a per-pixel distance barely sees.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def feature_centres(f: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``N x C x 2`` (x, y) centres of the channels of ``f`` (``N x C x H x W``), each in [-1, 1].

    Negative activations count as 0; ``eps`` keeps an all-zero channel at the centre of the map."""
    n, c, h, w = f.shape
    p = f.clamp_min(0) + eps
    p = p / p.sum(dim=(2, 3), keepdim=True)
    xs = torch.linspace(-1.0, 1.0, w, dtype=f.dtype, device=f.device) if w > 1 else f.new_zeros(1)
    ys = torch.linspace(-1.0, 1.0, h, dtype=f.dtype, device=f.device) if h > 1 else f.new_zeros(1)
    cx = (p.sum(dim=2) * xs).sum(dim=-1)
    cy = (p.sum(dim=3) * ys).sum(dim=-1)
    return torch.stack([cx, cy], dim=-1)


def alignment_loss(fx: torch.Tensor, fy: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the channel centres of ``fx`` (prediction) and ``fy`` (target, detached)."""
    return F.mse_loss(feature_centres(fx), feature_centres(fy.detach()))
