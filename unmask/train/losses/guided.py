"""Self-guided regression loss (Hui et al., "Image Fine-grained Inpainting", 2020, the DMFN paper).

The per-pixel error of the current prediction, normalised to [0, 1] per image, guides a feature loss: feature
differences at pixels the generator gets most wrong weigh up to twice as much. As in the authors' code the
weight is ``1 + guidance`` (so well-predicted pixels still count) and the guidance is a constant (detached).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def guidance_map(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``N x 1 x H x W`` in [0, 1]: the mean absolute error over channels, divided by its per-image maximum.

    ``pred``/``target``: ``N x C x H x W``. Detached (a weight, not something to optimise)."""
    err = (pred.detach() - target.detach()).abs().mean(dim=1, keepdim=True)
    return err / err.amax(dim=(2, 3), keepdim=True).clamp_min(eps)


def self_guided_loss(
    fx: Sequence[torch.Tensor],
    fy: Sequence[torch.Tensor],
    guidance: torch.Tensor,
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """``sum_l w_l * mean((1 + g_l) * |fx_l - fy_l|)`` where ``g_l`` is ``guidance`` average-pooled to level
    ``l``'s size. ``fx``/``fy``: feature maps of prediction and target (``fy`` detached); ``guidance`` from
    :func:`guidance_map`; ``weights`` default to 1 per level."""
    ws = [1.0] * len(fx) if weights is None else list(weights)
    if len(ws) != len(fx) or len(fy) != len(fx):
        raise ValueError("feature levels, target levels and weights differ in number")
    total = fx[0].new_zeros(())
    for w, a, b in zip(ws, fx, fy):
        g = F.adaptive_avg_pool2d(guidance, a.shape[-2:])
        total = total + w * ((1.0 + g) * (a - b.detach()).abs()).mean()
    return total
