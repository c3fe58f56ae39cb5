"""DMFN: Dense Multi-scale Fusion Network.

Paper: Z. Hui, J. Li, X. Gao, X. Wang, "Image Fine-grained Inpainting", arXiv:2002.02609 (2020); authors'
code github.com/Zheng222/DMFN.

Generator (``forward(image, mask) -> image``, ``Nx3xSxS`` in [-1, 1], tanh): the masked image and the mask
(4 channels) go through an encoder to 1/4 resolution (5x5 conv, two stride-2 3x3 convs), a stack of ``blocks``
dense multi-scale fusion blocks (DMFB: 3x3 squeeze to a quarter of the channels, four 3x3 branches with
dilation 1, 2, 4, 8 combined cumulatively, each sum passed through its own 3x3 conv, concatenated, fused by a
1x1 conv, residual), and a decoder of transposed convolutions. Instance normalisation without affine
parameters, as in the authors' code. It returns the full predicted image; the runtime blends it into the hole.

Discriminator: one module with a global branch on the whole crop and a local branch on the ``size//2`` box
around the hole (:func:`unmask.train.archs._base.hole_boxes`), their embeddings concatenated into one logit;
relativistic average GAN loss.

Generator losses (weights are the paper's/authors' defaults): ``l1`` pixel L1 (1); ``self_guided`` (lambda=25),
feature L1 at the first two feature levels weighted by ``1 + guidance`` where the guidance is the mean absolute
error over channels normalised to its per-image maximum; ``perceptual`` (25), plain feature L1 at the deeper
levels (the authors' code puts these under the same weight as the self-guided term); ``align`` (gamma=1),
MSE between the channel centres of output and target features at one deep level; ``fm`` (eta=5), L1 between
the local branch's intermediate features on real and completed crops; ``adv`` (mu=0.003), RaGAN. Level
weights ``1e3 / C^2`` as in the authors' code. Adam, lr 2e-4, betas (0.5, 0.9). Not in the paper, off by
default: ``hole``, L1 in the hole only (a fine-tune for hole PSNR: the whole-crop ``l1`` weighs the hole by its
share of the crop, a few per cent for a tight eye bar). With ``adv`` and ``fm`` both 0 the discriminator is not
stepped at all.

Deviations from the paper:

* features come from SqueezeNet 1.1 (:class:`unmask.train.features.SqueezeFeatures`), not VGG19, which is not
  available here: self-guided levels 0-1 (1/2 and 1/4 resolution, 64 and 128 channels, standing in for
  relu1_1/relu2_1), perceptual levels 2-4, alignment at level 2 (1/8 resolution, like relu4_1); each level
  is divided by its typical magnitude (:func:`unmask.train.losses.normalised_features`) so that the paper's weights
  keep roughly their balance;
* the discriminator uses spectral normalisation instead of batch normalisation (stable at any batch size);
* the pixel L1 is taken on the raw output over the whole crop (the paper: on the composited image), so the
  output outside the hole stays close to the input and the runtime's feathered blend shows no seam;
* the ``small`` preset is much narrower than the paper's (width 32 and 5 blocks vs. 64 and 8) to train on CPU.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from unmask.train.archs import register
from unmask.train.archs._base import ArchTrainer, Batch, Logs, check_size, crop_boxes, hole_boxes
from unmask.train.archs._blocks import (
    ConvBlock,
    Discriminator,
    UpBlock,
    composite,
    down_layers,
    frozen,
    init_normal,
    masked_input,
    maybe_sn,
    norm_layer,
    same_conv,
)
from unmask.train.losses import adversarial, alignment_loss, feature_matching, guidance_map, l1, normalised_features
from unmask.train.losses import SQUEEZE_SCALES, perceptual_loss, self_guided_loss, style_loss
from unmask.spec import ArchSpec, Preset

SPEC = ArchSpec(
    name="dmfn",
    title="Dense Multi-scale Fusion Network",
    paper="Hui, Li, Gao, Wang: Image Fine-grained Inpainting, arXiv:2002.02609 (2020)",
    presets={
        "tiny": Preset(size=32, width=8, blocks=1),
        "small": Preset(size=128, width=32, blocks=5),
        "paper": Preset(size=256, width=64, blocks=8),
    },
    loss_weights={
        "l1": 1.0,
        "self_guided": 25.0,
        "perceptual": 25.0,
        "align": 1.0,
        "fm": 5.0,
        "adv": 0.003,
        "hole": 0.0,
        "lpips": 0.0,
        "style": 0.0,
        "patch": 0.0,
        "patch_fm": 0.0,
    },
    lr=2e-4,
    betas=(0.5, 0.9),
)

GUIDED_LEVELS = (0, 1)
"""SqueezeFeatures levels of the self-guided regression loss."""
PERCEPTUAL_LEVELS = (2, 3, 4)
"""SqueezeFeatures levels of the plain feature loss."""
ALIGN_LEVEL = 2
"""SqueezeFeatures level of the geometric alignment loss."""
LOCAL_FRACTION = 2
"""The local discriminator sees a ``size // LOCAL_FRACTION`` square around the hole."""
STYLE_LEVELS = (0, 1, 2)
"""SqueezeFeatures levels of the style (Gram) term on the hole box."""
PATCH_LAYERS = 3
"""Strided layers of the hole-box patch discriminator: a 64 x 128 box gives 8 x 16 logits, each seeing ~30 px."""
FEATURE_KEYS = ("self_guided", "perceptual", "align", "lpips", "style")
PATCH_GAN = "hinge"
GAN = "ragan"


def _channel_weights(feats: list[torch.Tensor]) -> list[float]:
    """``1e3 / C^2`` per level, the authors' weighting of feature losses."""
    return [1e3 / f.shape[1] ** 2 for f in feats]


class DMFB(nn.Module):
    """Dense multi-scale fusion block on ``ch`` channels (``ch`` divisible by 4)."""

    DILATIONS = (1, 2, 4, 8)

    def __init__(self, ch: int) -> None:
        super().__init__()
        q = ch // 4
        self.squeeze = ConvBlock(ch, q, 3, norm="instance", act="relu")
        self.branches = nn.ModuleList(same_conv(q, q, 3, dilation=d) for d in self.DILATIONS)
        self.combine = nn.ModuleList(same_conv(q, q, 3) for _ in self.DILATIONS[1:])
        self.fuse = nn.Sequential(
            norm_layer("instance", 4 * q), nn.ReLU(), same_conv(4 * q, ch, 1), norm_layer("instance", ch)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        outs = [self.branches[0](s)]
        for branch, comb in zip(self.branches[1:], self.combine):
            outs.append(comb(branch(s) + outs[-1]))
        return x + self.fuse(torch.cat(outs, dim=1))


class DMFNGenerator(nn.Module):
    """``forward(image, mask)``: ``Nx3xSxS`` in [-1, 1] (hole pixels ignored) and ``Nx1xSxS`` (1 = hole) ->
    the predicted image ``Nx3xSxS`` in [-1, 1]. ``S`` must be divisible by 4."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            ConvBlock(4, w, 5, act="relu"),
            ConvBlock(w, 2 * w, 3, stride=2, norm="instance"),
            ConvBlock(2 * w, 2 * w, 3, norm="instance"),
            ConvBlock(2 * w, 4 * w, 3, stride=2, norm="instance"),
        )
        self.blocks = nn.Sequential(*(DMFB(4 * w) for _ in range(blocks)))
        self.decoder = nn.Sequential(
            ConvBlock(4 * w, 4 * w, 3, norm="instance"),
            UpBlock(4 * w, 2 * w, norm="instance"),
            ConvBlock(2 * w, 2 * w, 3, norm="instance"),
            UpBlock(2 * w, w, norm="instance"),
            ConvBlock(w, w, 3, norm="instance"),
            ConvBlock(w, 3, 3, act="tanh"),
        )
        init_normal(self)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.blocks(self.encoder(masked_input(image, mask))))


class GlobalLocalDiscriminator(nn.Module):
    """Global branch on the whole crop and local branch on the hole box (5x5 stride-2 convs down to 4x4, then a
    linear embedding each), concatenated into one logit. ``forward(local, whole) -> (N x 1 logits, local
    branch features)``."""

    def __init__(self, width: int, size: int, local: int) -> None:
        super().__init__()
        embed = 8 * width
        self.whole = Discriminator(3, width, down_layers(size), k=5, head="global", size=size, out=embed)
        self.local = Discriminator(3, width, down_layers(local), k=5, head="global", size=local, out=embed)
        self.classifier = nn.Sequential(nn.LeakyReLU(0.2), maybe_sn(nn.Linear(2 * embed, 1), True))

    def forward(self, local: torch.Tensor, whole: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        lz, feats = self.local(local)
        gz, _ = self.whole(whole)
        return self.classifier(torch.cat([lz, gz], dim=1)), feats


def build_generator(preset: Preset) -> nn.Module:
    check_size(SPEC, preset)
    return DMFNGenerator(preset.width, preset.blocks)


def build_discriminators(preset: Preset) -> nn.ModuleDict:
    """``gl``: the paper's global + local discriminator; ``patch``: a PatchGAN on the hole box
    (:func:`unmask.train.losses.texture.box_crops`), stepped only when ``patch`` or ``patch_fm`` weigh."""
    return nn.ModuleDict({
        "gl": GlobalLocalDiscriminator(preset.width, preset.size, preset.size // LOCAL_FRACTION),
        "patch": Discriminator(3, 2 * preset.width, PATCH_LAYERS, k=4, head="patch"),
    })  # fmt: skip


class Trainer(ArchTrainer):
    """DMFN's losses (see the module docstring), plus the hole-box terms of the detail recipe, all off by default:
    ``lpips`` (LPIPS on the hole box), ``style`` (Gram L1 on the hole box, levels :data:`STYLE_LEVELS`),
    ``patch`` (hinge PatchGAN on the hole box) and ``patch_fm`` (its feature matching). ``features`` is needed
    unless ``self_guided``, ``perceptual``, ``align``, ``lpips`` and ``style`` all weigh 0. Logs every weighted
    term unweighted, plus ``rec`` (L1 in the hole)."""

    feature_keys = FEATURE_KEYS

    def setup(self) -> None:
        self.local_side = self.preset.size // LOCAL_FRACTION
        if not self._patch_on() and "patch" in self.D:
            del self.D["patch"]  # unused: not stepped, not optimised, not in the checkpoint
        self.lpips_heads: list[torch.Tensor] | None = None
        if self._on("lpips"):
            from unmask.train.losses.texture import load_lpips_heads

            self.lpips_heads = load_lpips_heads(None)

    def _on(self, key: str) -> bool:
        return self.weights.get(key, 0.0) != 0.0

    def _gl_on(self) -> bool:
        return self._on("adv") or self._on("fm")

    def _patch_on(self) -> bool:
        return self._on("patch") or self._on("patch_fm")

    def phases(self, step: int) -> set[str]:
        """The discriminators step only when a generator loss reads them (``adv``, ``fm``, ``patch``,
        ``patch_fm``)."""
        return {"g", "d"} if self._gl_on() or self._patch_on() else {"g"}

    def _discriminate(self, image: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.D["gl"](crop_boxes(image, boxes, self.local_side), image)

    def _box_terms(self, comp: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, terms: dict) -> None:
        """The hole-box terms (``lpips``, ``style``, ``patch``, ``patch_fm``) into ``terms``."""
        from unmask.train.losses.texture import box_crops, hole_box_coords, lpips_distance

        coords = hole_box_coords(mask)
        bx, by = box_crops([comp, target], coords)
        if self._on("lpips") or self._on("style"):
            assert self.features is not None
            fx = self.features(bx, self.spec.value_range)
            with torch.no_grad():
                fy = self.features(by, self.spec.value_range)
            if self._on("lpips"):
                assert self.lpips_heads is not None
                terms["lpips"] = lpips_distance(fx, fy, self.lpips_heads)
            if self._on("style"):
                scales = SQUEEZE_SCALES
                sx = [fx[i] / scales[i] for i in STYLE_LEVELS]
                sy = [fy[i] / scales[i] for i in STYLE_LEVELS]
                terms["style"] = style_loss(sx, sy)
        if self._patch_on():
            with frozen(self.D):
                fake_logit, fake_feats = self.D["patch"](bx)
                with torch.no_grad():
                    _, real_feats = self.D["patch"](by)
            terms["patch"] = adversarial.g_loss(PATCH_GAN, None, fake_logit)
            terms["patch_fm"] = feature_matching(fake_feats, real_feats)

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        image, mask, target = batch["image"], batch["mask"], batch["target"]
        out = self.G(image, mask)
        comp = composite(out, target, mask)
        terms: dict[str, torch.Tensor] = {"l1": l1(out, target)}
        if self._on("hole"):
            terms["hole"] = l1(out, target, mask)
        if any(self._on(k) for k in ("self_guided", "perceptual", "align")):
            assert self.features is not None
            fx = normalised_features(self.features, comp, self.spec.value_range)
            with torch.no_grad():
                fy = normalised_features(self.features, target, self.spec.value_range)
            if self._on("self_guided"):
                gx, gy = [fx[i] for i in GUIDED_LEVELS], [fy[i] for i in GUIDED_LEVELS]
                terms["self_guided"] = self_guided_loss(gx, gy, guidance_map(comp, target), _channel_weights(gy))
            if self._on("perceptual"):
                px, py = [fx[i] for i in PERCEPTUAL_LEVELS], [fy[i] for i in PERCEPTUAL_LEVELS]
                terms["perceptual"] = perceptual_loss(px, py, _channel_weights(py))
            if self._on("align"):
                terms["align"] = alignment_loss(fx[ALIGN_LEVEL], fy[ALIGN_LEVEL])
        if any(self._on(k) for k in ("lpips", "style", "patch", "patch_fm")):
            self._box_terms(comp, target, mask, terms)
        if self._gl_on():
            boxes = hole_boxes(mask, self.local_side)
            with frozen(self.D):
                fake_logit, fake_feats = self._discriminate(comp, boxes)
                with torch.no_grad():
                    real_logit, real_feats = self._discriminate(target, boxes)
            terms["adv"] = adversarial.g_loss(GAN, real_logit, fake_logit)
            terms["fm"] = feature_matching(fake_feats, real_feats, _channel_weights(real_feats))
        total = sum(self.weights.get(k, 0.0) * v for k, v in terms.items())
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["rec"] = logs["hole"] if "hole" in logs else float(l1(out.detach(), target, mask))
        return total, logs, out  # type: ignore[return-value]

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        mask, target = batch["mask"], batch["target"]
        comp = composite(fake.detach(), target, mask)
        loss = comp.new_zeros(())
        logs: Logs = {}
        if self._gl_on():
            boxes = hole_boxes(mask, self.local_side)
            real_logit, _ = self._discriminate(target, boxes)
            fake_logit, _ = self._discriminate(comp, boxes)
            gl = adversarial.d_loss(GAN, real_logit, fake_logit)
            loss = loss + gl
            logs.update(d_adv=float(gl.detach()), d_real=float(real_logit.detach().mean()),
                        d_fake=float(fake_logit.detach().mean()))  # fmt: skip
        if self._patch_on():
            from unmask.train.losses.texture import box_crops, hole_box_coords

            bx, by = box_crops([comp, target], hole_box_coords(mask))
            real_p, _ = self.D["patch"](by)
            fake_p, _ = self.D["patch"](bx)
            pl = adversarial.d_loss(PATCH_GAN, real_p, fake_p)
            loss = loss + pl
            logs.update(d_patch=float(pl.detach()), d_patch_real=float(real_p.detach().mean()),
                        d_patch_fake=float(fake_p.detach().mean()))  # fmt: skip
        return loss, logs


register(SPEC, sys.modules[__name__])
