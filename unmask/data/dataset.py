"""Training and validation samples: a cached crop, censored on the fly, as the tensors of ``unmask.archs._base``.

Each sample is a dict of float32 tensors, ``C x S x S``: ``target`` (clean crop) and ``image`` (censored crop, hole
filled per ``hole_fill``) in the arch's value range, ``mask`` (1 = hole) and, when the arch lists it in
``extra_inputs``, ``edges`` (Canny of the target, in [0, 1]; :func:`unmask.edges.canny_edges` with the thresholds of
the arch's ``runtime_options``, which the runtime uses too).

Randomness is a pure function of ``(seed, epoch, index)``: a sample does not depend on which worker or rank
loads it, or on what was loaded before, so a resumed run sees exactly the batches an uninterrupted one would.
Validation samples depend on the index only (fixed masks, comparable between runs). Keys are ``index`` or
``(epoch, index)``, as :class:`EpochSampler` yields them.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from unmask.data.augment import flip_face
from unmask.data.prepare import CropStore
from unmask.edges import DEFAULT_CANNY, NO_GUIDE, canny_edges
from unmask.spec import HOLE, HOLE_FILLS, ArchSpec

VAL_SEED = 20240601
"""Seed of the fixed validation masks (independent of the training seed, so runs compare)."""


def to_range(rgb: np.ndarray, value_range: tuple[float, float]) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float32 in ``value_range``."""
    lo, hi = value_range
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()
    return t * ((hi - lo) / 255.0) + lo


def from_range(x: torch.Tensor, value_range: tuple[float, float]) -> np.ndarray:
    """Nx3xHxW (or 3xHxW) in ``value_range`` -> NxHxWx3 (or HxWx3) uint8, clipped and rounded."""
    lo, hi = value_range
    y = ((x.detach().float().cpu() - lo) * (255.0 / (hi - lo))).clamp(0, 255).round().to(torch.uint8)
    return y.movedim(-3, -1).numpy()


def make_sample(
    crop: np.ndarray,
    landmarks: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    spec: ArchSpec,
    hole_fill: str,
) -> dict[str, torch.Tensor]:
    """One censored sample of a clean aligned ``crop`` (SxSx3 uint8, ``landmarks`` 478x2 in crop px)."""
    from unmask.masks import censor

    censored, hole = censor(crop, landmarks, kind, rng)
    mask = torch.from_numpy((hole >= HOLE // 2).astype(np.float32))[None]
    target = to_range(crop, spec.value_range)
    image = to_range(censored, spec.value_range)
    if hole_fill == "zero":
        image = image * (1.0 - mask)
    elif hole_fill != "keep":
        raise ValueError(f"hole_fill must be one of {', '.join(HOLE_FILLS)} (got {hole_fill!r})")
    sample = {"target": target, "image": image, "mask": mask}
    for name in spec.extra_inputs:
        if name == "edges":
            thresholds = tuple(spec.runtime_options.get("canny", DEFAULT_CANNY))
            sample["edges"] = torch.from_numpy(canny_edges(crop, thresholds=thresholds))[None]
        elif name == "guide":  # no user edges (an arch may give true edges for some samples while training)
            sample["guide"] = torch.full_like(mask, NO_GUIDE)
        else:
            raise ValueError(f"arch {spec.name!r} needs input {name!r}, which the dataset cannot make")
    return sample


class CensorDataset(Dataset):
    """Censored samples of the crops in ``store``.

    ``kinds``: censor kind -> probability (see :func:`unmask.train.config.kind_probs`). ``train``: random kind,
    jittered censor and a random horizontal flip per ``(seed, epoch, index)``; otherwise fixed masks per index
    (:data:`VAL_SEED`, no flip). ``limit``: use only the first ``limit`` crops.
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
    ) -> None:
        self.store = store
        self.spec = spec
        self.kinds = list(kinds)
        p = np.asarray([float(kinds[k]) for k in self.kinds], np.float64)
        if not len(p) or p.sum() <= 0:
            raise ValueError("no censor kind to sample")
        self.probs = p / p.sum()
        self.hole_fill = hole_fill
        self.train = train
        self.seed = int(seed)
        self.flip = flip and train
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
        return make_sample(crop, lm, kind, rng, self.spec, self.hole_fill)


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

    def __iter__(self):  # type: ignore[override]
        indices = list(super().__iter__())[self.skip :]
        return iter([(self.epoch, i) for i in indices])

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)
