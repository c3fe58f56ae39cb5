"""Perceptual (feature reconstruction) and style (Gram matrix) losses on lists of feature maps.

The features come from a frozen network, here :class:`unmask.train.features.SqueezeFeatures`'s levels
(``SqueezeFeatures(x)`` returns one ``N x C_l x H_l x W_l`` tensor per level). Every loss takes the features of
the prediction ``fx`` and of the target ``fy``; ``fy`` is treated as a constant (detached).

SqueezeNet's activations (converted from Caffe) are 10-30x larger than VGG's, whose scale the papers' loss
weights assume, and their Gram matrices 100-1000x. :func:`normalised_features` divides each level by its
typical magnitude (:data:`SQUEEZE_SCALES`) so that every level has a mean absolute activation of about 1 on
face crops and the papers' weights give balances of the same order as in the papers.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F


SQUEEZE_SCALES = (12.9, 27.9, 23.7, 31.9, 18.3, 17.7, 1.6)
"""Mean absolute activation of each :class:`~unmask.train.features.SqueezeFeatures` level, measured on 64 CelebA
validation photos (centre 160 px, resized to 128 px). At 256 px they are 0.5-1x these, at 32 px 1-2.5x."""


def normalised_features(
    net: torch.nn.Module, x: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)
) -> list[torch.Tensor]:
    """``net(x, value_range)`` with level ``l`` divided by ``net.level_scales[l]`` when the network defines
    ``level_scales``, else by :data:`SQUEEZE_SCALES` (the scales of SqueezeFeatures)."""
    feats = net(x, value_range)
    scales = getattr(net, "level_scales", SQUEEZE_SCALES)
    if len(feats) > len(scales):
        raise ValueError(f"{len(feats)} feature levels but {len(scales)} scales")
    return [f / s for f, s in zip(feats, scales)]


def _weighted_sum(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    fx: Sequence[torch.Tensor],
    fy: Sequence[torch.Tensor],
    weights: Sequence[float] | None,
) -> torch.Tensor:
    if not fx or len(fx) != len(fy):
        raise ValueError(f"need as many target levels as predicted levels, at least one (got {len(fx)}, {len(fy)})")
    ws = [1.0] * len(fx) if weights is None else list(weights)
    if len(ws) != len(fx):
        raise ValueError(f"{len(ws)} level weights for {len(fx)} feature levels")
    total = fx[0].new_zeros(())
    for w, a, b in zip(ws, fx, fy):
        total = total + w * fn(a, b.detach())
    return total


def perceptual_loss(
    fx: Sequence[torch.Tensor], fy: Sequence[torch.Tensor], weights: Sequence[float] | None = None
) -> torch.Tensor:
    """``sum_l w_l * mean |fx_l - fy_l|`` (Johnson et al. 2016 with L1, as EdgeConnect and DMFN use it)."""
    return _weighted_sum(F.l1_loss, fx, fy, weights)


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``N x C x C`` of ``f`` (``N x C x H x W``), normalised by ``C * H * W``."""
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def style_loss(
    fx: Sequence[torch.Tensor], fy: Sequence[torch.Tensor], weights: Sequence[float] | None = None
) -> torch.Tensor:
    """``sum_l w_l * mean |gram(fx_l) - gram(fy_l)|`` (Gatys et al. 2016 with L1, as in EdgeConnect)."""
    return _weighted_sum(lambda a, b: F.l1_loss(gram(a), gram(b)), fx, fy, weights)
