"""EdgeConnect: edges first, then the image.

Paper: K. Nazeri, E. Ng, T. Joseph, F. Z. Qureshi, M. Ebrahimi, "EdgeConnect: Structure Guided Image
Inpainting using Edge Prediction", ICCV Workshops 2019 (arXiv:1901.00212); authors' code
github.com/knazeri/edge-connect.

Two generators, exported as one graph ``forward(image, mask, edges, guide) -> image``:

1. the edge generator takes the masked grayscale image, the masked edge map and the mask and predicts the full
   edge map in [0, 1] (sigmoid);
2. the image generator takes the masked image, the edge map (the known edges outside the hole, the predicted
   ones inside) and the mask and predicts the image in [-1, 1] (tanh). It returns the full predicted image;
   the runtime blends it into the hole.

Input ``edges`` (``N x 1 x S x S``, 0/1): Canny edges of the crop, computed by :func:`unmask.edges.canny_edges` (the
thresholds travel in the ONNX metadata as ``options["canny"]``).
At inference the runtime computes them on the censored crop and zeroes them inside the hole (the graph zeroes
them again, so stray edges of a censor bar never reach the model); in training ``batch["edges"]`` holds the
edges of the clean target, which serve as the edge generator's ground truth and are masked here.

Input ``guide`` (``N x 1 x S x S``): a user's own edges for the hole (``unmask run --edges FILE``): -1 where the
user gives nothing (the edge generator's prediction is used), else 0 (no edge) or 1 (edge), which replaces the
prediction inside the hole; outside the hole the crop's own Canny edges are always used. The dataset gives -1
everywhere; the trainer replaces it by the true edges for :data:`GUIDE_PROB` of the samples, so the image
generator also learns to follow given edges (the paper's stage 2, where it is fed ground-truth edges).

Training (weights are the paper's defaults): the edge generator learns from an adversarial term (``edge_adv``,
1) and discriminator feature matching (``edge_fm``, 10) against a PatchGAN discriminator conditioned on the
target's grayscale; real edges are softened by up to :data:`REAL_EDGE_NOISE` (ones lowered, zeros raised at
random) before the discriminator sees them, so it cannot tell real from predicted edges by their exact binary
values. The image generator learns from ``l1`` (1, over the whole crop divided by the hole fraction, as in
the authors' code), ``perceptual`` (0.1), ``style`` (250, Gram matrices) and ``adv`` (0.1) against a second
PatchGAN. Non-saturating GAN loss for both. Adam, lr 1e-4, betas (0, 0.9), discriminator lr 0.1 x.

Stages: the loss weights ``edge_stage`` and ``image_stage`` (default 1 and 1: "joint") multiply each
generator's total loss. ``edge_stage = 0`` trains only the image generator, fed the ground-truth edges
(the paper's stage 2, "image"; the edge generator must have been trained before, e.g. resumed from an
"edge" checkpoint, since the exported graph uses it); ``image_stage = 0`` trains only the edge generator
(stage "edge"). In joint training the image generator is fed the predicted edges, detached (the paper's
stage 4).

Deviations from the paper:

* both generators are U-Nets of gated convolutions (``sigmoid(gate) * ELU(feature)``, Yu et al. 2019) with
  gated residual blocks at 1/4 resolution, instead of the paper's plain encoder / residual blocks / decoder
  with instance normalisation; the mask is an input channel of both;
* perceptual and style losses use SqueezeNet 1.1 features (:class:`unmask.train.features.SqueezeFeatures`) instead of
  VGG19: perceptual on levels 0-4, style on levels 1-4, each level divided by its typical magnitude
  (:func:`unmask.train.losses.normalised_features`); with the paper's weights the style term still dominates early
  training (about 3-7x the L1 term on 128 px faces), lower ``style`` if that proves too strong;
* the ``paper`` preset uses width 48 (192 channels at 1/4 resolution, 8 residual blocks): a gated convolution
  has twice the weights of a plain one, so each generator then has about the paper's parameter count
  (about 11 M); the ``small`` preset is far narrower so it trains on CPU.
"""

from __future__ import annotations

import sys
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from unmask.train.archs import register
from unmask.train.archs._base import ArchTrainer, Batch, Logs, check_size
from unmask.train.archs._blocks import Discriminator, GatedConv2d, GatedResBlock, activation, frozen
from unmask.train.archs._blocks import same_conv
from unmask.edges import DEFAULT_CANNY, canny_edges  # noqa: F401 - canny_edges re-exported
from unmask.train.losses import adversarial, feature_matching, l1, normalised_features, perceptual_loss, style_loss
from unmask.spec import ArchSpec, Preset

SPEC = ArchSpec(
    name="edgeconnect",
    title="EdgeConnect (edge generator + image generator, gated U-Nets)",
    paper="Nazeri, Ng, Joseph, Qureshi, Ebrahimi: EdgeConnect: Structure Guided Image Inpainting using Edge "
    "Prediction, ICCV Workshops 2019 (arXiv:1901.00212)",
    presets={
        "tiny": Preset(size=32, width=8, blocks=1, extra={"edge_width": 4, "edge_blocks": 1, "d_width": 8}),
        "small": Preset(size=128, width=16, blocks=4, extra={"edge_width": 12, "edge_blocks": 2, "d_width": 32}),
        "paper": Preset(size=256, width=48, blocks=8, extra={"edge_width": 48, "edge_blocks": 8, "d_width": 64}),
    },
    loss_weights={
        "edge_adv": 1.0,
        "edge_fm": 10.0,
        "l1": 1.0,
        "perceptual": 0.1,
        "style": 250.0,
        "adv": 0.1,
        "edge_stage": 1.0,
        "image_stage": 1.0,
    },
    lr=1e-4,
    betas=(0.0, 0.9),
    d_lr=1e-5,
    extra_inputs=("edges", "guide"),
    runtime_options={"canny": list(DEFAULT_CANNY)},
)

REAL_EDGE_NOISE = 0.1
GUIDE_PROB = 0.25
"""Fraction of training samples whose image generator gets the true edges as ``guide`` (see the module doc)."""
"""Real edges shown to the edge discriminator are moved towards 0.5 by a uniform random amount up to this."""
PERCEPTUAL_LEVELS = (0, 1, 2, 3, 4)
"""SqueezeFeatures levels of the perceptual loss."""
STYLE_LEVELS = (1, 2, 3, 4)
"""SqueezeFeatures levels of the style loss."""
FEATURE_KEYS = ("perceptual", "style")
GAN = "nsgan"
_GRAY = (0.299, 0.587, 0.114)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class GatedUNet(nn.Module):
    """U-Net of gated convolutions: full, 1/2 and 1/4 resolution (``width``, ``2 width``, ``4 width`` channels),
    ``blocks`` gated residual blocks (dilation 2) at the bottom, nearest upsampling + gated conv on the way up
    with skip connections, then a 3x3 conv and ``out_act``. Input size divisible by 4."""

    def __init__(self, cin: int, cout: int, width: int, blocks: int, out_act: str) -> None:
        super().__init__()
        w = width
        self.e0 = GatedConv2d(cin, w, 5)
        self.e1 = GatedConv2d(w, 2 * w, 3, stride=2)
        self.e2 = GatedConv2d(2 * w, 4 * w, 3, stride=2)
        self.mid = nn.Sequential(*(GatedResBlock(4 * w, dilation=2) for _ in range(blocks)))
        self.d1 = GatedConv2d(6 * w, 2 * w, 3)
        self.d0 = GatedConv2d(3 * w, w, 3)
        self.out = nn.Sequential(same_conv(w, cout, 3), activation(out_act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.e0(x)
        x1 = self.e1(x0)
        x = self.mid(self.e2(x1))
        x = self.d1(torch.cat([_up(x), x1], dim=1))
        x = self.d0(torch.cat([_up(x), x0], dim=1))
        return self.out(x)


def luma(image: torch.Tensor) -> torch.Tensor:
    """Luma (ITU-R BT.601 weights) of ``image`` (``N x 3 x S x S``), same value range: ``N x 1 x S x S``."""
    r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
    return _GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b


STAGES = ("joint", "edge", "image")


class EdgeConnectGenerator(nn.Module):
    """``forward(image, mask, edges, guide)``: image ``Nx3xSxS`` in [-1, 1], mask ``Nx1xSxS`` (1 = hole), edges
    ``Nx1xSxS`` in [0, 1] (Canny of the known region), guide ``Nx1xSxS`` (-1 = none, else the user's 0/1 edges
    for the hole; ``None`` = -1 everywhere) -> predicted image ``Nx3xSxS`` in [-1, 1].

    For training, ``forward(..., stage=...)`` returns ``(image, predicted_edges)`` instead (every call goes
    through ``forward`` so a DistributedDataParallel wrapper sees it):

    * ``joint``: edges predicted (with grad), the image generator fed them detached;
    * ``edge``: edges predicted (with grad), the image computed without grad;
    * ``image``: ``edges`` are taken as the full ground-truth map (no prediction, ``predicted_edges`` None).
    """

    def __init__(self, width: int, blocks: int, edge_width: int, edge_blocks: int) -> None:
        super().__init__()
        self.edge = GatedUNet(3, 1, edge_width, edge_blocks, "sigmoid")
        self.inpaint = GatedUNet(5, 3, width, blocks, "tanh")

    def _predict_edges(self, image: torch.Tensor, mask: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        # the image as filled per hole_fill (see masked_input); the censor's own edges are never a face's
        return self.edge(torch.cat([luma(image), edges * (1.0 - mask), mask], dim=1))

    def _complete(self, image: torch.Tensor, mask: torch.Tensor, edge_map: torch.Tensor) -> torch.Tensor:
        return self.inpaint(torch.cat([image, edge_map, mask], dim=1))

    def forward(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        edges: torch.Tensor,
        guide: torch.Tensor | None = None,
        stage: str | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        if stage == "image":
            return self._complete(image, mask, edges), None
        predicted = self._predict_edges(image, mask, edges)
        known_edges = edges * (1.0 - mask)

        def hole_edges(pred: torch.Tensor) -> torch.Tensor:
            if guide is None:
                return pred * mask
            given = (guide >= 0.0).to(pred.dtype)
            return (given * guide + (1.0 - given) * pred) * mask

        if stage is None:
            return self._complete(image, mask, known_edges + hole_edges(predicted))
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r} (choose from {', '.join(STAGES)})")
        with torch.set_grad_enabled(torch.is_grad_enabled() and stage == "joint"):
            out = self._complete(image, mask, known_edges + hole_edges(predicted.detach()))
        return out, predicted


def build_generator(preset: Preset) -> nn.Module:
    check_size(SPEC, preset)
    ex = preset.extra
    return EdgeConnectGenerator(
        preset.width, preset.blocks, int(ex.get("edge_width", preset.width)), int(ex.get("edge_blocks", preset.blocks))
    )


def build_discriminators(preset: Preset) -> nn.ModuleDict:
    """PatchGAN discriminators (three stride-2 4x4 convs, spectral norm): ``edge`` sees (edges, grayscale of
    the target), ``image`` sees the image."""
    w = int(preset.extra.get("d_width", preset.width))
    return nn.ModuleDict({"edge": Discriminator(2, w, 3), "image": Discriminator(3, w, 3)})


def soften_edges(edges: torch.Tensor, amount: float = REAL_EDGE_NOISE) -> torch.Tensor:
    """``edges`` (0/1) with each value moved towards 0.5 by ``U(0, amount)``."""
    return edges + (1.0 - 2.0 * edges) * amount * torch.rand_like(edges)


class Trainer(ArchTrainer):
    """EdgeConnect's two generators and their losses (see the module docstring). Logs each term unweighted, and
    ``rec`` (L1 of the image generator's output in the hole)."""

    feature_keys = FEATURE_KEYS

    def setup(self) -> None:
        self.train_edge = self.weights.get("edge_stage", 1.0) != 0.0
        self.train_image = self.weights.get("image_stage", 1.0) != 0.0
        if not (self.train_edge or self.train_image):
            raise ValueError("edgeconnect: edge_stage and image_stage are both 0, nothing to train")
        self._edge_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def feature_weights(self) -> Mapping[str, float]:
        return self.weights if self.train_image else {}

    @property
    def stage(self) -> str:
        """``joint``, ``edge`` or ``image``."""
        return "joint" if self.train_edge and self.train_image else ("edge" if self.train_edge else "image")

    def _w(self, key: str) -> float:
        return float(self.weights.get(key, 0.0))

    def generator_loss(self, batch: Batch) -> tuple[torch.Tensor, Logs, torch.Tensor]:
        image, mask, target, edges = batch["image"], batch["mask"], batch["target"], batch["edges"]
        out, predicted = self.G(image, mask, edges, self._training_guide(batch), stage=self.stage)
        terms: dict[str, torch.Tensor] = {}
        total = image.new_zeros(())
        if predicted is not None:
            self._edge_cache = (mask, predicted.detach())
        if self.train_edge:
            assert predicted is not None
            gray = luma(target)
            with frozen(self.D):
                fake_logit, fake_feats = self.D["edge"](torch.cat([predicted, gray], dim=1))
                with torch.no_grad():
                    _, real_feats = self.D["edge"](torch.cat([soften_edges(edges), gray], dim=1))
            terms["edge_adv"] = adversarial.g_loss(GAN, None, fake_logit)
            terms["edge_fm"] = feature_matching(fake_feats, real_feats)
            edge_total = self._w("edge_adv") * terms["edge_adv"] + self._w("edge_fm") * terms["edge_fm"]
            total = total + self._w("edge_stage") * edge_total
        if self.train_image:
            terms["l1"] = l1(out, target) / mask.mean().clamp_min(1e-3)
            if self._w("perceptual") or self._w("style"):
                assert self.features is not None
                fx = normalised_features(self.features, out, self.spec.value_range)
                with torch.no_grad():
                    fy = normalised_features(self.features, target, self.spec.value_range)
                px, py = [fx[i] for i in PERCEPTUAL_LEVELS], [fy[i] for i in PERCEPTUAL_LEVELS]
                terms["perceptual"] = perceptual_loss(px, py)
                terms["style"] = style_loss([fx[i] for i in STYLE_LEVELS], [fy[i] for i in STYLE_LEVELS])
            if self._w("adv"):
                with frozen(self.D):
                    fake_logit, _ = self.D["image"](out)
                terms["adv"] = adversarial.g_loss(GAN, None, fake_logit)
            image_total = sum(self._w(k) * terms[k] for k in ("l1", "perceptual", "style", "adv") if k in terms)
            total = total + self._w("image_stage") * image_total
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["rec"] = float(l1(out.detach(), target, mask))
        return total, logs, out

    def _training_guide(self, batch: Batch) -> torch.Tensor:
        """``batch["guide"]`` with the true edges given for :data:`GUIDE_PROB` of the samples (while training)."""
        guide = batch["guide"]
        if not self.training or GUIDE_PROB <= 0.0:
            return guide
        pick = torch.rand(guide.shape[0], 1, 1, 1, device=guide.device) < GUIDE_PROB
        return torch.where(pick, batch["edges"], guide)

    def _predicted_edges(self, batch: Batch) -> torch.Tensor:
        cache, self._edge_cache = self._edge_cache, None
        if cache is not None and cache[0] is batch["mask"]:
            return cache[1]
        with torch.no_grad():
            _, predicted = self.G(batch["image"], batch["mask"], batch["edges"], None, stage="edge")
        return predicted

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        target = batch["target"]
        loss = target.new_zeros(())
        logs: Logs = {}
        if self.train_edge:
            gray = luma(target)
            real, _ = self.D["edge"](torch.cat([soften_edges(batch["edges"]), gray], dim=1))
            pred, _ = self.D["edge"](torch.cat([self._predicted_edges(batch), gray], dim=1))
            d_edge = adversarial.d_loss(GAN, real, pred)
            loss = loss + d_edge
            logs["d_edge"] = float(d_edge.detach())
        if self.train_image:
            real, _ = self.D["image"](target)
            pred, _ = self.D["image"](fake.detach())
            d_image = adversarial.d_loss(GAN, real, pred)
            loss = loss + d_image
            logs["d_image"] = float(d_image.detach())
        return loss, logs


register(SPEC, sys.modules[__name__])
