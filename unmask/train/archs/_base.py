"""The contract between an architecture and the generic training loop (``unmask.train``).

A training batch is a dict of tensors, all ``N x C x S x S`` in the arch's value range unless said:

* ``target``: the clean aligned face crop (3 channels);
* ``image``: the model input, i.e. the censored crop with hole pixels filled per ``hole_fill``;
* ``mask``: 1 channel, ``1`` = hole, ``0`` = known;
* ``edges``: 1 channel in [0, 1], only for archs listing it in ``SPEC.extra_inputs`` (Canny edges of the
  target in training, of the known region at inference).

The loop calls, per step: ``phases(step)`` to learn which optimisers step, then ``generator_loss`` (if "g"),
backward + G optimiser step, then ``discriminator_loss`` (if "d") on the detached output, backward + D step.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from unmask.codec import hole_of
from unmask.spec import ArchSpec, Preset, is_hole

Batch = Mapping[str, torch.Tensor]
Logs = dict[str, float]


class ArchTrainer(nn.Module):
    """Owns the generator ``G`` and the discriminators ``D`` (a ModuleDict, may be empty) of one arch.

    ``weights`` are the loss weights (spec defaults merged with user overrides); ``features`` is an optional
    frozen feature extractor (``unmask.train.losses.perceptual``) for perceptual/style/self-guided losses.
    """

    def __init__(
        self,
        spec: ArchSpec,
        preset: Preset,
        G: nn.Module,
        D: nn.ModuleDict,
        weights: Mapping[str, float],
        features: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.preset = preset
        self.G = G
        self.D = D
        self.weights = dict(weights)
        self.features = features
        self.setup()
        needed = [k for k in self.feature_keys if float(self.feature_weights().get(k, 0.0)) != 0.0]
        if needed and features is None:
            raise ValueError(
                f"arch {spec.name!r}: loss(es) {', '.join(needed)} need a feature network "
                "(unmask.train.features.SqueezeFeatures); pass one or set their weights to 0"
            )

    feature_keys: tuple[str, ...] = ()
    """Loss weights that need the feature network when non-zero."""

    def setup(self) -> None:
        """Arch-specific state derived from ``spec``, ``preset`` and ``weights`` (called by ``__init__``)."""

    def feature_weights(self) -> Mapping[str, float]:
        """The weights checked against :attr:`feature_keys` (an arch may switch losses off by stage)."""
        return self.weights

    # -- what the loop calls ------------------------------------------------------------------------------
    def phases(self, step: int) -> set[str]:
        """Which optimisers step at ``step``: a subset of {"g", "d"}. Default: both, when D exists."""
        return {"g", "d"} if len(self.D) else {"g"}

    def generator_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """Positional inputs of ``G`` (and of the exported ONNX graph), in ``SPEC.extra_inputs`` order."""
        return (batch["image"], batch["mask"], *(batch[k] for k in self.spec.extra_inputs))

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        """Returns (total loss, logged scalars, completed image) for one generator step."""
        raise NotImplementedError

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """Returns (total loss, logged scalars) for one discriminator step; ``fake`` is detached."""
        raise NotImplementedError

    def export_module(self) -> nn.Module:
        """The module exported to ONNX: takes ``generator_inputs`` and returns the completed image."""
        return self.G


def check_size(spec: ArchSpec, preset: Preset) -> None:
    """Raises ValueError unless ``preset.size`` is a multiple of the arch's ``pad_multiple``."""
    if preset.size % spec.pad_multiple:
        raise ValueError(f"{spec.name} needs a size divisible by {spec.pad_multiple} (got {preset.size})")


def requires_features(weights: Mapping[str, float], keys: tuple[str, ...]) -> bool:
    """True when any of ``keys`` has a non-zero weight (so a feature network must be loaded)."""
    return any(float(weights.get(k, 0.0)) != 0.0 for k in keys)


def hole_boxes(mask: torch.Tensor, side: int) -> torch.Tensor:
    """Per sample, the ``side x side`` box (y0, x0) centred on the hole's bounding box, clamped inside the crop.

    ``mask``: ``N x 1 x S x S``, 1 = hole. Returns a long tensor ``N x 2``. Used by local discriminators.
    """
    n, _, h, w = mask.shape
    out = torch.empty(n, 2, dtype=torch.long)
    m = is_hole(hole_of(mask.detach().float().cpu().numpy()[:, 0]))
    for i in range(n):
        ys, xs = np.nonzero(m[i])
        if len(ys) == 0:
            cy, cx = h // 2, w // 2
        else:
            cy = int(ys.min() + ys.max()) // 2
            cx = int(xs.min() + xs.max()) // 2
        y0 = min(max(cy - side // 2, 0), h - side)
        x0 = min(max(cx - side // 2, 0), w - side)
        out[i, 0], out[i, 1] = y0, x0
    return out


def crop_boxes(x: torch.Tensor, boxes: torch.Tensor, side: int) -> torch.Tensor:
    """Crops ``side x side`` patches at ``boxes`` (from :func:`hole_boxes`) from ``x`` (``N x C x S x S``)."""
    return torch.stack([x[i, :, y0 : y0 + side, x0 : x0 + side] for i, (y0, x0) in enumerate(boxes.tolist())])


def merge_weights(spec: ArchSpec, overrides: Mapping[str, Any] | None) -> dict[str, float]:
    """Spec loss weights updated with user overrides; unknown keys are an error."""
    weights = {k: float(v) for k, v in spec.loss_weights.items()}
    for k, v in (overrides or {}).items():
        if k not in weights:
            raise KeyError(f"arch {spec.name!r} has no loss weight {k!r} (has {', '.join(sorted(weights))})")
        weights[k] = float(v)
    return weights
