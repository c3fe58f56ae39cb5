"""Validation held out of the training data: when a run has no validation set, a fixed part of its training faces
(the last ones, the same on every run and every resume) validates it and is never trained on. Torch-free."""

from __future__ import annotations

from typing import Any

import numpy as np

HOLDOUT_SHARE = 10
"""At most one face in this many is held out (and at most ``val_images``)."""


def holdout_size(faces: int, val_images: int) -> int:
    """How many of ``faces`` to hold out for validation: ``val_images``, at most a tenth of them; 0 when fewer
    than ten faces."""
    return max(0, min(int(val_images), int(faces) // HOLDOUT_SHARE))


class Part:
    """Faces ``start .. stop - 1`` of a face store (a crop cache's :class:`~unmask.train.data.prepare.CropStore` or a
    training set's :class:`~unmask.train.data.shards.FaceSet`), with the store's interface: ``len``, ``size``,
    ``crop(i)``, ``landmarks(i)``."""

    def __init__(self, store: Any, start: int, stop: int) -> None:
        if not 0 <= start <= stop <= len(store):
            raise ValueError(f"faces {start}..{stop} out of {len(store)}")
        self.store, self.start, self.stop = store, int(start), int(stop)
        self.size = store.size

    def __len__(self) -> int:
        return self.stop - self.start

    def _index(self, i: int) -> int:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.start + int(i)

    def crop(self, i: int) -> np.ndarray:
        return self.store.crop(self._index(i))

    def landmarks(self, i: int) -> np.ndarray:
        return self.store.landmarks(self._index(i))
