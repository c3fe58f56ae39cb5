"""Pixel losses with an optional per-pixel weight (e.g. the hole mask).

``pred`` and ``target`` are ``N x C x H x W``; ``weight`` is broadcastable to them, typically ``N x 1 x H x W``
(``1`` = counts). A weighted loss is the weighted mean: ``sum(w * err) / sum(w)`` over every element, so it is
independent of how large the hole is, and ``0`` when the weight is all zero.
"""

from __future__ import annotations

import torch


def weighted_mean(err: torch.Tensor, weight: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """Mean of ``err`` over all elements, weighted by ``weight`` (broadcast to ``err``) when given."""
    if weight is None:
        return err.mean()
    w = weight.expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(eps)


def l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error, weighted by ``weight`` when given."""
    return weighted_mean((pred - target).abs(), weight)


def mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error, weighted by ``weight`` when given."""
    return weighted_mean((pred - target).square(), weight)
