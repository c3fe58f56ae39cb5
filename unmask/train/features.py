"""Pretrained SqueezeNet 1.1 features for perceptual, style and self-guided losses and for LPIPS.

Weights cannot be downloaded here; they come from a torchvision-layout state dict (``features.N...``) given by
path, else by the environment variable :data:`ENV_FEATURES`, else the copy shipped with unmask
(:mod:`unmask.weights`). Input convention of :class:`SqueezeFeatures`:
``N x 3 x H x W`` RGB in the arch's value range [-1, 1]; it normalises to torchvision's ImageNet convention
itself. Requires torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from unmask.weights import ENV_FEATURES, ENV_LPIPS, FEATURES_FILE, LPIPS_FILE, WeightsNotFound, resolve

# LPIPS slices of torchvision's squeezenet1_1().features: [0:2], [2:5], [5:8], [8:10], [10:11], [11:12], [12:13]
SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 11), (11, 12), (12, 13))
CHANNELS = (64, 128, 256, 384, 384, 512, 512)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def resolve_weights(path: str | os.PathLike | None, env: str, what: str, example: str) -> Path:
    """The weights file to use: ``path``, else ``$env``, else the shipped file named ``example``
    (:func:`unmask.weights.resolve`); raises :class:`WeightsNotFound` when that file does not exist."""
    return resolve(path, env, what, example)


__all__ = [
    "CHANNELS",
    "ENV_FEATURES",
    "ENV_LPIPS",
    "FEATURES_FILE",
    "LPIPS_FILE",
    "SLICES",
    "SqueezeFeatures",
    "WeightsNotFound",
    "resolve_weights",
]


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.squeeze(x))
        return torch.cat([self.act(self.expand1x1(x)), self.act(self.expand3x3(x))], 1)


def _squeezenet11_features() -> nn.Sequential:
    """torchvision's ``squeezenet1_1().features``, same indices, written out so torchvision is not needed."""
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(inplace=True), pool(),
        Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
        Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
        Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
    )  # fmt: skip


class SqueezeFeatures(nn.Module):
    """Frozen SqueezeNet 1.1; ``forward(x)`` returns the outputs of the first ``levels`` LPIPS slices."""

    def __init__(self, weights: str | os.PathLike | None = None, levels: int = 7) -> None:
        super().__init__()
        path = resolve_weights(weights, ENV_FEATURES, "SqueezeNet 1.1 feature", FEATURES_FILE)
        self.features = _squeezenet11_features()
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            self.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"{path}: not a torchvision SqueezeNet 1.1 features state dict ({e})") from None
        self.levels = levels
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "SqueezeFeatures":  # always frozen, always eval
        return super().train(False)

    def forward(self, x: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> list[torch.Tensor]:
        lo, hi = value_range
        x = ((x - lo) / (hi - lo) - self.mean) / self.std
        outs = []
        for a, b in SLICES[: self.levels]:
            for i in range(a, b):
                x = self.features[i](x)
            outs.append(x)
        return outs
