"""Adversarial losses on discriminator logits (raw scores, no sigmoid applied), and feature matching.

``real`` and ``fake`` are the discriminator's logits for real and generated samples, any shape (one per image
or one per patch); all losses average over every element. For the generator losses the real logits are
treated as constants (detached).

* ``nsgan``: the non-saturating GAN (Goodfellow et al. 2014) with binary cross-entropy on logits;
* ``ragan``: the relativistic average GAN (Jolicoeur-Martineau 2018) in ESRGAN/DMFN's form: BCE of
  ``C(real) - mean C(fake)`` and ``C(fake) - mean C(real)``, the two terms averaged;
* ``lsgan``: least squares (Mao et al. 2017) with targets ``a = 0`` (fake), ``b = c = 1`` (real) and the
  paper's factor ``1/2``;
* ``hinge``: the hinge loss (Lim & Ye 2017; Miyato et al. 2018).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

KINDS = ("nsgan", "ragan", "lsgan", "hinge")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def nsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return _bce(real, 1.0) + _bce(fake, 0.0)


def nsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return _bce(fake, 1.0)


def ragan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (_bce(real - fake.mean(), 1.0) + _bce(fake - real.mean(), 0.0)) / 2


def ragan_g_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real = real.detach()
    return (_bce(real - fake.mean(), 0.0) + _bce(fake - real.mean(), 1.0)) / 2


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (real - 1.0).square().mean() + 0.5 * fake.square().mean()


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (fake - 1.0).square().mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator loss of ``kind`` (one of :data:`KINDS`)."""
    if kind == "nsgan":
        return nsgan_d_loss(real, fake)
    if kind == "ragan":
        return ragan_d_loss(real, fake)
    if kind == "lsgan":
        return lsgan_d_loss(real, fake)
    if kind == "hinge":
        return hinge_d_loss(real, fake)
    raise ValueError(f"unknown GAN loss {kind!r} (choose from {', '.join(KINDS)})")


def g_loss(kind: str, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
    """The generator loss of ``kind``; ``real`` logits are needed (and only used) by ``ragan``."""
    if kind == "ragan":
        if real is None:
            raise ValueError("the relativistic loss needs the real logits")
        return ragan_g_loss(real, fake)
    if kind == "nsgan":
        return nsgan_g_loss(fake)
    if kind == "lsgan":
        return lsgan_g_loss(fake)
    if kind == "hinge":
        return hinge_g_loss(fake)
    raise ValueError(f"unknown GAN loss {kind!r} (choose from {', '.join(KINDS)})")


def feature_matching(
    fake_feats: Sequence[torch.Tensor],
    real_feats: Sequence[torch.Tensor],
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Discriminator feature matching (Salimans et al. 2016; pix2pixHD): ``sum_l w_l * mean |fake_l - real_l|``,
    the real features detached. ``weights`` default to 1 per layer."""
    if len(fake_feats) != len(real_feats):
        raise ValueError("feature lists differ in length")
    ws = [1.0] * len(fake_feats) if weights is None else list(weights)
    total = fake_feats[0].new_zeros(()) if fake_feats else torch.zeros(())
    for w, f, r in zip(ws, fake_feats, real_feats):
        total = total + w * F.l1_loss(f, r.detach())
    return total
