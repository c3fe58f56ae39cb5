"""GLCIC: Globally and Locally Consistent Image Completion.

Paper: S. Iizuka, E. Simo-Serra, H. Ishikawa, "Globally and Locally Consistent Image Completion", ACM
Transactions on Graphics 36(4), SIGGRAPH 2017.

Completion network (``forward(image, mask) -> image``, ``Nx3xSxS`` in [-1, 1], tanh): the masked image and
the mask go through strided convolutions to 1/4 resolution, 3x3 convolutions, dilated convolutions (dilation
2, 4, 8, 16, repeated when ``blocks`` > 4), two more convolutions, and transposed convolutions back to full
size; batch normalisation and ReLU as in the paper. It returns the full predicted image; the runtime blends it
into the hole.

Discriminators: ``global`` on the whole crop (5x5 stride-2 convolutions down to 4x4, then a linear layer to one
logit) and ``local``, a PatchGAN on the ``size//2`` box around the hole
(:func:`unmask.train.archs._base.hole_boxes`). Both see the completed image (prediction inside the hole, target
outside), as in the paper. Non-saturating GAN loss (binary cross-entropy).

Losses: ``l2`` (1) mean squared error in the hole, as in the paper; ``l1`` (0) the same with L1, for those
who prefer it; ``known`` (0.1) L1 outside the hole of the raw output (see deviations); ``adv`` (alpha =
0.0004, the paper's) the sum of both discriminators' generator terms.

Training schedule (:meth:`Trainer.phases`): the completion network alone for ``t_c`` steps (reconstruction
only), the discriminators alone for the next ``t_d`` steps, then both. ``t_c``/``t_d`` live in
``preset.extra``: 0/0 for ``tiny`` and ``small`` (joint from the start), 90,000/10,000 for ``paper`` (the
paper's values at its batch size of 96).

Deviations from the paper:

* residual connections around the dilated convolutions (the paper stacks them plainly);
* a PatchGAN local discriminator and a separate global one, each with its own logit, instead of one
  discriminator concatenating both branches (both with spectral normalisation instead of batch norm);
* Adam (lr 2e-4, betas 0.5/0.999) instead of ADADELTA; no Poisson blending post-processing;
* the ``known`` term keeps the raw output close to the input outside the hole, so the runtime's feathered
  blend shows no seam (the paper composites before use);
* the ``small`` preset halves the paper's widths (32 instead of 64 base channels) to train on CPU.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from unmask.train.archs import register
from unmask.train.archs._base import ArchTrainer, Batch, Logs, check_size, crop_boxes, hole_boxes
from unmask.train.archs._blocks import ConvBlock, Discriminator, UpBlock, composite, down_layers, frozen, masked_input
from unmask.train.archs._blocks import same_conv
from unmask.train.losses import adversarial, l1, mse
from unmask.spec import ArchSpec, Preset

SPEC = ArchSpec(
    name="glcic",
    title="Globally and Locally Consistent Image Completion",
    paper="Iizuka, Simo-Serra, Ishikawa: Globally and Locally Consistent Image Completion, ACM TOG 36(4), "
    "SIGGRAPH 2017",
    presets={
        "tiny": Preset(size=32, width=8, blocks=2, extra={"t_c": 0, "t_d": 0}),
        "small": Preset(size=128, width=28, blocks=4, extra={"t_c": 0, "t_d": 0}),
        "paper": Preset(size=256, width=64, blocks=4, extra={"t_c": 90_000, "t_d": 10_000}),
    },
    loss_weights={"l2": 1.0, "l1": 0.0, "known": 0.1, "adv": 0.0004},
    lr=2e-4,
    betas=(0.5, 0.999),
)

DILATIONS = (2, 4, 8, 16)
LOCAL_FRACTION = 2
"""The local discriminator sees a ``size // LOCAL_FRACTION`` square around the hole."""
GAN = "nsgan"


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class CompletionNetwork(nn.Module):
    """``forward(image, mask)``: ``Nx3xSxS`` in [-1, 1] and ``Nx1xSxS`` (1 = hole) -> ``Nx3xSxS`` in [-1, 1].
    Channels ``width``, ``2 width``, ``4 width`` at full, 1/2 and 1/4 resolution (the paper: 64, 128, 256)."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        w = width
        bn = "batch"
        self.net = nn.Sequential(
            ConvBlock(4, w, 5, norm=bn),
            ConvBlock(w, 2 * w, 3, stride=2, norm=bn),
            ConvBlock(2 * w, 2 * w, 3, norm=bn),
            ConvBlock(2 * w, 4 * w, 3, stride=2, norm=bn),
            ConvBlock(4 * w, 4 * w, 3, norm=bn),
            ConvBlock(4 * w, 4 * w, 3, norm=bn),
            *(Residual(ConvBlock(4 * w, 4 * w, 3, dilation=DILATIONS[i % 4], norm=bn)) for i in range(blocks)),
            ConvBlock(4 * w, 4 * w, 3, norm=bn),
            ConvBlock(4 * w, 4 * w, 3, norm=bn),
            UpBlock(4 * w, 2 * w, norm=bn),
            ConvBlock(2 * w, 2 * w, 3, norm=bn),
            UpBlock(2 * w, w, norm=bn),
            ConvBlock(w, w // 2, 3, norm=bn),
            same_conv(w // 2, 3, 3),
            nn.Tanh(),
        )

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(masked_input(image, mask))


def build_generator(preset: Preset) -> nn.Module:
    check_size(SPEC, preset)
    return CompletionNetwork(preset.width, preset.blocks)


def build_discriminators(preset: Preset) -> nn.ModuleDict:
    s = preset.size
    return nn.ModuleDict(
        {
            "global": Discriminator(3, preset.width, down_layers(s), k=5, head="global", size=s),
            "local": Discriminator(3, preset.width, 3, k=4, head="patch"),
        }
    )


class Trainer(ArchTrainer):
    """GLCIC's losses and three-phase schedule (see the module docstring). Logs each term unweighted and ``rec``
    (L1 in the hole)."""

    feature_keys: tuple[str, ...] = ()

    def setup(self) -> None:
        self.t_c = int(self.preset.extra.get("t_c", 0))
        self.t_d = int(self.preset.extra.get("t_d", 0))
        self.local_side = self.preset.size // LOCAL_FRACTION
        self._adversarial = True

    def phases(self, step: int) -> set[str]:
        """``{"g"}`` before ``t_c``, ``{"d"}`` for the next ``t_d`` steps, then ``{"g", "d"}``. Also switches the
        generator's adversarial term off before ``t_c + t_d``."""
        self._adversarial = step >= self.t_c + self.t_d
        if step < self.t_c:
            return {"g"}
        if step < self.t_c + self.t_d:
            return {"d"}
        return {"g", "d"}

    def _logits(self, image: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, _ = self.D["global"](image)
        loc, _ = self.D["local"](crop_boxes(image, boxes, self.local_side))
        return g, loc

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        image, mask, target = batch["image"], batch["mask"], batch["target"]
        w = self.weights
        out = self.G(image, mask)
        terms = {"l2": mse(out, target, mask), "l1": l1(out, target, mask), "known": l1(out, target, 1.0 - mask)}
        if self._adversarial and w.get("adv", 0.0):
            comp = composite(out, target, mask)
            with frozen(self.D):
                g, loc = self._logits(comp, hole_boxes(mask, self.local_side))
            terms["adv"] = adversarial.g_loss(GAN, None, g) + adversarial.g_loss(GAN, None, loc)
        total = sum(w.get(k, 0.0) * v for k, v in terms.items())
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["rec"] = logs["l1"]
        return total, logs, out  # type: ignore[return-value]

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        mask, target = batch["mask"], batch["target"]
        boxes = hole_boxes(mask, self.local_side)
        real_g, real_l = self._logits(target, boxes)
        fake_g, fake_l = self._logits(composite(fake.detach(), target, mask), boxes)
        d_global = adversarial.d_loss(GAN, real_g, fake_g)
        d_local = adversarial.d_loss(GAN, real_l, fake_l)
        return d_global + d_local, {"d_global": float(d_global.detach()), "d_local": float(d_local.detach())}


register(SPEC, sys.modules[__name__])
