"""LSGAN + autoencoder: adversarial completion followed by an autoencoder refinement stage.

References: X. Mao, Q. Li, H. Xie, R. Y. K. Lau, Z. Wang, S. P. Smolley, "Least Squares Generative Adversarial
Networks", ICCV 2017 (the adversarial loss and the DCGAN-like pair); R. A. Yeh et al., "Semantic Image
Inpainting with Deep Generative Models", CVPR 2017 (the contextual loss on known pixels). The two-stage design
(a GAN completion refined by a small convolutional autoencoder) follows the eye-censor restoration work the
project was asked to reproduce; its exact layer sizes are not published with it, so the sizes and weights
here are ours.

Generator, exported as one graph ``forward(image, mask) -> image`` (``Nx3xSxS`` in [-1, 1], tanh):

1. completion: a U-Net (``blocks`` stride-2 4x4 convolutions with batch norm and LeakyReLU, transposed 4x4
   convolutions with batch norm and ReLU, skip connections) from the masked image and the mask to a coarse
   image;
2. refinement: the coarse image composited into the input (coarse inside the hole, input outside) and the mask
   go through a small convolutional autoencoder (two stride-2 convolutions, ``refine_blocks`` dilated 3x3
   convolutions, two transposed convolutions, no normalisation) whose output is added to that composite and
   clamped to [-1, 1]: the refined image, returned in full; the runtime blends it into the hole.

Discriminator: DCGAN-like (stride-2 4x4 convolutions, batch norm, LeakyReLU, linear to one score) on the
completion stage's composited output, least-squares loss (targets 0 fake, 1 real).

Losses (our defaults): ``coarse`` (1) L1 in the hole of the completion stage; ``refine`` (1) L1 in the hole of
the refined output; ``context`` (1) L1 outside the hole, averaged over both stages' raw outputs (keeps them
faithful to the known pixels, which the runtime's feathered blend also shows); ``adv`` (0.01) the
least-squares generator term. Adam, lr 2e-4, betas (0.5, 0.999) as in the LSGAN paper.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from unmask.train.archs import register
from unmask.train.archs._base import ArchTrainer, Batch, Logs, check_size
from unmask.train.archs._blocks import ConvBlock, Discriminator, UpBlock, composite, down_layers, frozen, init_kaiming
from unmask.train.archs._blocks import init_normal
from unmask.train.archs._blocks import masked_input, norm_layer, same_conv
from unmask.train.losses import adversarial, l1
from unmask.spec import ArchSpec, Preset

SPEC = ArchSpec(
    name="lsgan-ae",
    title="LSGAN completion + autoencoder refinement",
    paper="Mao et al.: Least Squares Generative Adversarial Networks, ICCV 2017 (+ autoencoder refinement stage)",
    presets={
        "tiny": Preset(size=32, width=8, blocks=3, extra={"refine_width": 8, "refine_blocks": 1}),
        "small": Preset(size=128, width=32, blocks=4, extra={"refine_width": 32, "refine_blocks": 2}),
        "paper": Preset(size=128, width=64, blocks=5, extra={"refine_width": 32, "refine_blocks": 3}),
    },
    loss_weights={"coarse": 1.0, "refine": 1.0, "context": 1.0, "adv": 0.01},
    lr=2e-4,
    betas=(0.5, 0.999),
)

GAN = "lsgan"


class CompletionUNet(nn.Module):
    """``N x 4 x S x S`` (masked image + mask) -> ``N x 3 x S x S`` in [-1, 1]. ``S`` divisible by
    ``2**blocks``."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        chans = [min(width * 2**i, 8 * width) for i in range(blocks)]
        self.downs = nn.ModuleList()
        c = 4
        for i, co in enumerate(chans):
            conv = nn.Conv2d(c, co, 4, 2, 1, bias=i == 0)
            self.downs.append(nn.Sequential(conv, norm_layer("batch" if i else "none", co), nn.LeakyReLU(0.2)))
            c = co
        self.ups = nn.ModuleList()
        for i in range(blocks - 1, -1, -1):  # the up-step that lands on the resolution of down-step i - 1
            co = chans[i - 1] if i > 0 else width
            self.ups.append(UpBlock(c, co, norm="batch", act="relu"))
            c = co + (chans[i - 1] if i > 0 else 0)
        self.out = nn.Sequential(same_conv(c, 3, 3), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        n = len(skips)
        for k, up in enumerate(self.ups):
            x = up(x)
            level = n - 2 - k
            if level >= 0:
                x = torch.cat([x, skips[level]], dim=1)
        return self.out(x)


class RefineAE(nn.Module):
    """``N x 4 x S x S`` (composited coarse image + mask) -> refined ``N x 3 x S x S`` in [-1, 1]: the input
    image plus the autoencoder's correction, clamped. The last layer starts at zero, so refinement starts as
    the identity and the completion stage gets the refinement loss's gradient from the first step."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            ConvBlock(4, w, 3),
            ConvBlock(w, 2 * w, 3, stride=2),
            ConvBlock(2 * w, 4 * w, 3, stride=2),
            *(ConvBlock(4 * w, 4 * w, 3, dilation=2 ** (i % 3 + 1)) for i in range(blocks)),
            UpBlock(4 * w, 2 * w),
            UpBlock(2 * w, w),
            same_conv(w, 3, 3),
        )
        init_kaiming(self.net)
        last = self.net[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x[:, :3] + self.net(x), -1.0, 1.0)


class LSGANAEGenerator(nn.Module):
    """``forward(image, mask)``: ``Nx3xSxS`` in [-1, 1], ``Nx1xSxS`` (1 = hole) -> refined ``Nx3xSxS``."""

    def __init__(self, width: int, blocks: int, refine_width: int, refine_blocks: int) -> None:
        super().__init__()
        self.complete = CompletionUNet(width, blocks)
        self.refine = RefineAE(refine_width, refine_blocks)
        init_normal(self.complete)

    def forward(
        self, image: torch.Tensor, mask: torch.Tensor, coarse_only: bool = False, both: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The refined image; with ``both`` the pair ``(coarse, refined)``, with ``coarse_only`` the completion
        stage's output alone (for training: every call goes through ``forward``)."""
        coarse = self.complete(masked_input(image, mask))
        if coarse_only:
            return coarse
        refined = self.refine(torch.cat([composite(coarse, image * (1.0 - mask), mask), mask], dim=1))
        return (coarse, refined) if both else refined


def build_generator(preset: Preset) -> nn.Module:
    check_size(SPEC, preset)
    if preset.size % (1 << preset.blocks):
        raise ValueError(f"lsgan-ae: size {preset.size} must be divisible by 2**blocks")
    ex = preset.extra
    return LSGANAEGenerator(
        preset.width, preset.blocks, int(ex.get("refine_width", preset.width)), int(ex.get("refine_blocks", 2))
    )


def build_discriminators(preset: Preset) -> nn.ModuleDict:
    s = preset.size
    d = Discriminator(3, preset.width, down_layers(s), k=4, head="global", size=s, sn=False, norm="batch")
    return nn.ModuleDict({"lsgan": init_normal(d)})


class Trainer(ArchTrainer):
    """Both stages' losses (see the module docstring). Logs each term unweighted and ``rec`` (L1 of the refined
    output in the hole, the same as ``refine``)."""

    feature_keys: tuple[str, ...] = ()

    def setup(self) -> None:
        self._coarse_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        image, mask, target = batch["image"], batch["mask"], batch["target"]
        w = self.weights
        coarse, refined = self.G(image, mask, both=True)
        self._coarse_cache = (mask, coarse.detach())
        known = 1.0 - mask
        terms = {
            "coarse": l1(coarse, target, mask),
            "refine": l1(refined, target, mask),
            "context": (l1(coarse, target, known) + l1(refined, target, known)) / 2,
        }
        if w.get("adv", 0.0):
            with frozen(self.D):
                score, _ = self.D["lsgan"](composite(coarse, target, mask))
            terms["adv"] = adversarial.g_loss(GAN, None, score)
        total = sum(w.get(k, 0.0) * v for k, v in terms.items())
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["rec"] = logs["refine"]
        return total, logs, refined  # type: ignore[return-value]

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """The discriminator judges the completion stage, so its fake is the coarse output of the preceding
        :meth:`generator_loss` on the same batch (recomputed without grad otherwise), not ``fake`` (the refined
        output)."""
        image, mask, target = batch["image"], batch["mask"], batch["target"]
        cache, self._coarse_cache = self._coarse_cache, None
        if cache is not None and cache[0] is mask:
            coarse = cache[1]
        else:
            with torch.no_grad():
                coarse = self.G(image, mask, coarse_only=True)
        real, _ = self.D["lsgan"](target)
        pred, _ = self.D["lsgan"](composite(coarse, target, mask))
        loss = adversarial.d_loss(GAN, real, pred)
        return loss, {"d_adv": float(loss.detach())}


register(SPEC, sys.modules[__name__])
