"""Training and validation samples: a cached crop, censored on the fly, as the tensors of ``unmask.train.archs._base``.

Each sample is a dict of float32 tensors, ``C x S x S``: ``target`` (clean crop) and ``image`` (censored crop, hole
filled per ``hole_fill``) in the arch's value range, ``mask`` (1 = hole) and, when the arch lists it in
``extra_inputs``, ``edges`` (Canny of the target) and ``guide`` (-1). The conversion is :mod:`unmask.codec`'s, the
one the runtime and export use too.

Randomness is a pure function of ``(seed, epoch, index)``: a sample does not depend on which worker or rank
loads it, or on what was loaded before, so a resumed run sees exactly the batches an uninterrupted one would.
Validation samples depend on the index only (fixed masks, comparable between runs). Keys are ``index`` or
``(epoch, index)``, as :class:`EpochSampler` yields them.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from unmask.codec import Codec, crops_of, image_tensor
from unmask.train.data.augment import color_jitter, flip_face
from unmask.train.data.prepare import CropStore
from unmask.spec import ArchSpec

VAL_SEED = 20240601
"""Seed of the fixed validation masks (independent of the training seed, so runs compare)."""


def from_range(x: torch.Tensor, value_range: tuple[float, float]) -> np.ndarray:
    """Nx3xHxW (or 3xHxW) in ``value_range`` -> NxHxWx3 (or HxWx3) uint8 (:func:`unmask.codec.crops_of`)."""
    return crops_of(x.detach().float().cpu().numpy(), value_range)


def make_sample(
    crop: np.ndarray, landmarks: np.ndarray, kind: str, rng: np.random.Generator, codec: Codec
) -> dict[str, torch.Tensor]:
    """One censored sample of a clean aligned ``crop`` (SxSx3 uint8, ``landmarks`` 478x2 in crop px): the
    ``target`` and the model inputs :meth:`unmask.codec.Codec.encode` makes (no user edges: ``guide`` is -1;
    an arch may give true edges for some samples while training)."""
    from unmask.infer.censors import censor

    censored, hole = censor(crop, landmarks, kind, rng)
    feed = codec.encode([censored], [hole], truth=[crop])
    sample = {"target": image_tensor(crop, codec.value_range), **{k: v[0] for k, v in feed.items()}}
    return {k: torch.from_numpy(v) for k, v in sample.items()}


class CensorDataset(Dataset):
    """Censored samples of the crops in ``store``.

    ``kinds``: censor kind -> probability (see :func:`unmask.train.config.kind_probs`). ``train``: random kind,
    jittered censor and a random horizontal flip per ``(seed, epoch, index)``; otherwise fixed masks per index
    (:data:`VAL_SEED`, no flip). ``limit``: use only the first ``limit`` crops. ``jitter``: share of training
    samples given :func:`unmask.train.data.augment.color_jitter` (0: none, and no random draw for it).
    """

    def __init__(
        self,
        store: CropStore,
        spec: ArchSpec,
        kinds: Mapping[str, float],
        hole_fill: str,
        *,
        train: bool = True,
        seed: int = 0,
        flip: bool = True,
        limit: int | None = None,
        jitter: float = 0.0,
    ) -> None:
        self.store = store
        self.spec = spec
        self.kinds = list(kinds)
        p = np.asarray([float(kinds[k]) for k in self.kinds], np.float64)
        if not len(p) or p.sum() <= 0:
            raise ValueError("no censor kind to sample")
        self.probs = p / p.sum()
        self.hole_fill = hole_fill
        self.codec = Codec.of_spec(spec, hole_fill)
        self.train = train
        self.seed = int(seed)
        self.flip = flip and train
        self.jitter = float(jitter) if train else 0.0
        self.n = len(store) if limit is None else min(int(limit), len(store))
        self.size = store.size

    def __len__(self) -> int:
        return self.n

    def rng(self, key: int | tuple[int, int]) -> tuple[int, np.random.Generator]:
        """The index and generator of ``key``."""
        if isinstance(key, (tuple, list)):
            epoch, index = int(key[0]), int(key[1])
        else:
            epoch, index = 0, int(key)
        if not 0 <= index < self.n:
            raise IndexError(index)
        if self.train:
            return index, np.random.default_rng([self.seed, epoch, index])
        return index, np.random.default_rng([VAL_SEED, index])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, rng = self.rng(key)
        crop, lm = self.store.crop(index), self.store.landmarks(index)
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.probs))]
        if self.flip and rng.random() < 0.5:
            crop, lm = flip_face(crop, lm)
        if self.jitter > 0 and rng.random() < self.jitter:
            crop = color_jitter(crop, rng)
        return make_sample(crop, lm, kind, rng, self.codec)


class EpochSampler(DistributedSampler):
    """:class:`DistributedSampler` (shuffled per ``seed + epoch``, sharded by rank, tail dropped) that yields
    ``(epoch, index)`` keys and can start part-way into an epoch (``set_epoch(epoch, skip)``: skip the first
    ``skip`` indices of this rank), which is how a resumed run picks up its data where it stopped."""

    def __init__(
        self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0, shuffle: bool = True
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=True)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:  # type: ignore[override]
        super().set_epoch(epoch)
        self.skip = max(0, int(skip))

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = list(super().__iter__())[self.skip :]
        return iter([(self.epoch, i) for i in indices])

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)
