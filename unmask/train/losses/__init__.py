"""Losses for training the generators. All take torch tensors (``N x C x H x W``) and return a scalar tensor.

* :mod:`.pixel`: L1 / MSE with an optional per-pixel weight (the hole mask);
* :mod:`.perceptual`: feature reconstruction and Gram-matrix style losses on feature lists (from
  :class:`unmask.train.features.SqueezeFeatures`, rescaled per level by :func:`normalised_features`);
* :mod:`.adversarial`: non-saturating, relativistic average (RaGAN), least-squares (LSGAN) and hinge GAN
  losses, discriminator feature matching;
* :mod:`.guided`: DMFN's self-guided regression loss;
* :mod:`.alignment`: DMFN's geometric alignment (feature centre) loss.
"""

from unmask.train.losses.adversarial import KINDS as GAN_KINDS
from unmask.train.losses.adversarial import d_loss, feature_matching, g_loss
from unmask.train.losses.alignment import alignment_loss, feature_centres
from unmask.train.losses.guided import guidance_map, self_guided_loss
from unmask.train.losses.perceptual import SQUEEZE_SCALES, gram, normalised_features, perceptual_loss, style_loss
from unmask.train.losses.pixel import l1, mse, weighted_mean

__all__ = [
    "GAN_KINDS",
    "SQUEEZE_SCALES",
    "alignment_loss",
    "d_loss",
    "feature_centres",
    "feature_matching",
    "g_loss",
    "gram",
    "guidance_map",
    "l1",
    "mse",
    "normalised_features",
    "perceptual_loss",
    "self_guided_loss",
    "style_loss",
    "weighted_mean",
]
