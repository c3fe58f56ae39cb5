"""Context Encoder: an encoder-decoder with a channel-wise fully connected bottleneck.

Paper: D. Pathak, P. Krähenbühl, J. Donahue, T. Darrell, A. A. Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016.

Generator (``forward(image, mask) -> image``, ``Nx3xSxS`` in [-1, 1], tanh): ``blocks`` stride-2 4x4
convolutions (channels ``width``, doubling, capped at ``8 width``; batch norm and LeakyReLU as in DCGAN) bring
the masked image down to ``S / 2**blocks`` pixels; a channel-wise fully connected layer (per channel, a dense
layer over all bottleneck positions, no mixing across channels) followed by a 1x1 convolution that mixes the
channels; then ``blocks`` transposed 4x4 convolutions back to full size. It returns the full predicted image;
the runtime blends it into the hole.

The channel-wise layer is a batched matrix product with weights ``C x P x P`` (``P`` positions of the fixed
bottleneck size the preset implies), so the exported graph has fixed spatial size and a dynamic batch axis.

Discriminator: DCGAN-style (stride-2 4x4 convolutions, batch norm, LeakyReLU, a linear layer to one logit) on
the completed crop (prediction in the hole, target outside). Non-saturating GAN loss.

Losses: ``l2`` (0.999) mean squared error in the hole, ``adv`` (0.001), the paper's joint weights; ``known``
(0.1) L1 outside the hole of the raw output. Adam, lr 2e-4, betas (0.5, 0.999); as in the paper the encoder's
learning rate is 10x the discriminator's (``d_lr`` 2e-5).

Deviations from the paper:

* the mask is an input channel (the paper feeds the masked image only) and holes are arbitrary masks (eye
  bands, surgical masks), not a central square or random blocks;
* the network predicts the whole crop, not only the missing region; ``known`` keeps its output close to the
  input outside the hole (standing in for the paper's overlap band) so the runtime's feathered blend shows no
  seam;
* the encoder is DCGAN-like (the paper's inpainting experiments used an AlexNet encoder at 227 px); the
  ``paper`` preset follows the paper's 128 px, 4x4x512 bottleneck configuration; no dropout.
"""

from __future__ import annotations

import math
import sys

import torch
from torch import nn

from unmask.train.archs import register
from unmask.train.archs._base import ArchTrainer, Batch, Logs
from unmask.train.archs._blocks import Discriminator, UpBlock, composite, down_layers, frozen, init_normal, masked_input
from unmask.train.archs._blocks import norm_layer
from unmask.train.losses import adversarial, l1, mse
from unmask.spec import ArchSpec, Preset

SPEC = ArchSpec(
    name="context-encoder",
    title="Context Encoder (channel-wise fully connected bottleneck)",
    paper="Pathak, Krähenbühl, Donahue, Darrell, Efros: Context Encoders: Feature Learning by Inpainting, CVPR 2016",
    presets={
        "tiny": Preset(size=32, width=8, blocks=3),
        "small": Preset(size=128, width=32, blocks=4),
        "paper": Preset(size=128, width=64, blocks=5),
    },
    loss_weights={"l2": 0.999, "adv": 0.001, "known": 0.1},
    lr=2e-4,
    betas=(0.5, 0.999),
    d_lr=2e-5,
)

GAN = "nsgan"


class ChannelWiseFC(nn.Module):
    """Per channel, a dense layer over the ``side x side`` positions: ``y[n, c] = x[n, c] @ W[c] + b[c]``
    (``N x C x side x side`` in and out). Needs the exact ``side`` it was built for."""

    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.channels, self.side = channels, side
        p = side * side
        bound = 1.0 / math.sqrt(p)
        self.weight = nn.Parameter(torch.empty(channels, p, p).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(channels, 1, p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channels, self.side
        y = x.reshape(-1, c, 1, s * s) @ self.weight + self.bias
        return y.reshape(-1, c, s, s)


class ContextEncoder(nn.Module):
    """``forward(image, mask)``: ``Nx3xSxS`` in [-1, 1] and ``Nx1xSxS`` (1 = hole) -> ``Nx3xSxS`` in [-1, 1]."""

    def __init__(self, size: int, width: int, blocks: int) -> None:
        super().__init__()
        chans = [min(width * 2**i, 8 * width) for i in range(blocks)]
        enc: list[nn.Module] = []
        c = 4
        for i, co in enumerate(chans):
            enc += [nn.Conv2d(c, co, 4, 2, 1, bias=i == 0), norm_layer("batch" if i else "none", co), nn.LeakyReLU(0.2)]
            c = co
        self.encoder = nn.Sequential(*enc)
        self.bottleneck = nn.Sequential(
            ChannelWiseFC(c, size >> blocks), nn.Conv2d(c, c, 1, bias=False), norm_layer("batch", c), nn.ReLU()
        )
        dec: list[nn.Module] = [UpBlock(chans[i], chans[i - 1], norm="batch") for i in range(blocks - 1, 0, -1)]
        dec += [nn.ConvTranspose2d(chans[0], 3, 4, 2, 1), nn.Tanh()]
        self.decoder = nn.Sequential(*dec)
        init_normal(self)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.bottleneck(self.encoder(masked_input(image, mask))))


def build_generator(preset: Preset) -> nn.Module:
    if preset.size % (1 << preset.blocks) or preset.size >> preset.blocks < 2:
        raise ValueError(f"context-encoder: size {preset.size} must be divisible by 2**blocks and leave >= 2 px")
    return ContextEncoder(preset.size, preset.width, preset.blocks)


def build_discriminators(preset: Preset) -> nn.ModuleDict:
    s = preset.size
    d = Discriminator(3, preset.width, down_layers(s), k=4, head="global", size=s, sn=False, norm="batch")
    return nn.ModuleDict({"dcgan": init_normal(d)})


class Trainer(ArchTrainer):
    """Context encoder losses (see the module docstring). Logs each term unweighted and ``rec`` (L1 in the hole)."""

    feature_keys: tuple[str, ...] = ()

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        image, mask, target = batch["image"], batch["mask"], batch["target"]
        w = self.weights
        out = self.G(image, mask)
        terms = {"l2": mse(out, target, mask), "known": l1(out, target, 1.0 - mask)}
        if w.get("adv", 0.0):
            with frozen(self.D):
                logit, _ = self.D["dcgan"](composite(out, target, mask))
            terms["adv"] = adversarial.g_loss(GAN, None, logit)
        total = sum(w.get(k, 0.0) * v for k, v in terms.items())
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["rec"] = float(l1(out.detach(), target, mask))
        return total, logs, out  # type: ignore[return-value]

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        mask, target = batch["mask"], batch["target"]
        real, _ = self.D["dcgan"](target)
        pred, _ = self.D["dcgan"](composite(fake.detach(), target, mask))
        loss = adversarial.d_loss(GAN, real, pred)
        return loss, {"d_adv": float(loss.detach())}


register(SPEC, sys.modules[__name__])
