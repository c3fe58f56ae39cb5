"""Crops, holes and guides <-> model tensors: one torch-free definition for the runtime, the dataset and export.

The library's arrays (crops ``SxSx3`` uint8 RGB, holes ``SxS`` uint8 with 255 = hole, a user's
:class:`unmask.edges.EdgeGuide`) become a model's inputs, and its output becomes crops again, as the model's numbers
say: value range, hole fill and extra inputs come from its :class:`unmask.spec.ArchSpec` (training, export) or its
:class:`unmask.spec.ModelMeta` (the runtime, read from the ONNX file), nowhere else.

* ``image``: ``N x 3 x S x S`` float32, ``0..255`` mapped linearly onto ``value_range``; hole pixels 0 when
  ``hole_fill`` is ``zero``, the censor's own pixels when it is ``keep``;
* ``mask``: ``N x 1 x S x S`` float32, 1 = hole (:func:`unmask.spec.is_hole` of the uint8 hole);
* ``edges``: ``N x 1 x S x S``, :func:`unmask.edges.canny_edges` (0/1) with the model's ``canny`` thresholds;
* ``guide``: ``N x 1 x S x S``, :func:`unmask.edges.guide_map` (-1 where no user edges, else 0/1).

Back from the model (:func:`crops_of`): clipped to ``0..255`` and rounded half up (``floor(v + 0.5)``), the one
rounding rule of the library. The dataset wraps these arrays with ``torch.from_numpy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from unmask.edges import DEFAULT_CANNY, EdgeGuide, canny_edges, guide_map
from unmask.spec import HOLE, HOLE_FILLS, ArchSpec, ModelMeta, is_hole

TENSOR_HOLE = 0.5
"""A model-tensor mask value above which a pixel is hole (the mask holds 0 or 1)."""


def image_tensor(rgb: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """``... x H x W x 3`` uint8 -> ``... x 3 x H x W`` float32 in ``value_range``."""
    lo, hi = value_range
    x = np.asarray(rgb).astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def crops_of(y: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """``... x 3 x H x W`` in ``value_range`` -> ``... x H x W x 3`` uint8: clipped, rounded half up. Finite
    values only (the runtime checks a model's output before)."""
    lo, hi = value_range
    v = (np.moveaxis(np.asarray(y, np.float32), -3, -1) - lo) * (255.0 / (hi - lo))
    return np.floor(np.clip(v, 0.0, 255.0) + 0.5).astype(np.uint8)


def mask_tensor(hole: np.ndarray) -> np.ndarray:
    """``... x H x W`` uint8 hole (255 = hole) -> ``... x 1 x H x W`` float32, 1 = hole."""
    return np.ascontiguousarray(is_hole(hole).astype(np.float32)[..., None, :, :])


def hole_of(mask: np.ndarray) -> np.ndarray:
    """``... x H x W`` model-tensor mask (1 = hole) -> uint8 hole (:data:`unmask.spec.HOLE` = hole)."""
    return np.where(np.asarray(mask) > TENSOR_HOLE, HOLE, 0).astype(np.uint8)


def fill_hole(image: np.ndarray, mask: np.ndarray, hole_fill: str) -> np.ndarray:
    """``image`` (``... x 3 x H x W``) with its hole (``mask``, ``... x 1 x H x W``, 1 = hole) filled as
    ``hole_fill`` says: ``zero`` writes 0, ``keep`` leaves the censored pixels."""
    if hole_fill == "zero":
        return image * (1.0 - mask)
    if hole_fill == "keep":
        return image
    raise ValueError(f"hole_fill must be one of {', '.join(HOLE_FILLS)} (got {hole_fill!r})")


Crops = Sequence[np.ndarray]


def _edges(
    codec: "Codec", crops: Crops, holes: Crops, guides: Sequence[EdgeGuide | None], truth: Crops | None
) -> np.ndarray:
    # training: the clean target's edges (the edge generator's truth; the arch masks the hole itself);
    # inference: the censored crop's edges, none inside the hole
    th = tuple(codec.options.get("canny", DEFAULT_CANNY))
    if truth is not None:
        return np.stack([canny_edges(t, thresholds=th) for t in truth])[:, None]
    return np.stack([canny_edges(c, h, th) for c, h in zip(crops, holes)])[:, None]


def _guide(
    codec: "Codec", crops: Crops, holes: Crops, guides: Sequence[EdgeGuide | None], truth: Crops | None
) -> np.ndarray:
    return np.stack([guide_map(g, c.shape[:2]) for g, c in zip(guides, crops)])[:, None]


EXTRA_INPUTS: Mapping[str, Callable[..., np.ndarray]] = {"edges": _edges, "guide": _guide}
"""The extra inputs a model may take after ``image`` and ``mask``, and how each is made (one channel each)."""

CHANNELS = {"image": 3, "mask": 1, **{name: 1 for name in EXTRA_INPUTS}}
"""Channels of every input the codec can make; the output has 3."""


@dataclass(frozen=True)
class Codec:
    """The conversions of one model: ``inputs`` (``image``, ``mask``, then extras of :data:`EXTRA_INPUTS`),
    ``value_range``, ``hole_fill`` and ``options`` (``canny`` thresholds for ``edges``)."""

    value_range: tuple[float, float]
    hole_fill: str
    inputs: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.hole_fill not in HOLE_FILLS:
            raise ValueError(f"hole_fill must be one of {', '.join(HOLE_FILLS)} (got {self.hole_fill!r})")
        unknown = [n for n in self.inputs[2:] if n not in EXTRA_INPUTS]
        if tuple(self.inputs[:2]) != ("image", "mask") or unknown:
            raise ValueError(f"inputs {list(self.inputs)}: the codec makes image, mask, then {', '.join(EXTRA_INPUTS)}")

    @classmethod
    def of_meta(cls, meta: ModelMeta) -> "Codec":
        """The codec of an exported model (its ONNX metadata)."""
        return cls(tuple(meta.value_range), meta.hole_fill, tuple(meta.inputs), dict(meta.options))

    @classmethod
    def of_spec(cls, spec: ArchSpec, hole_fill: str | None = None) -> "Codec":
        """The codec of an arch in training (``hole_fill`` defaults to the arch's)."""
        return cls(
            tuple(spec.value_range),
            hole_fill or spec.hole_fill,
            ("image", "mask", *spec.extra_inputs),
            dict(spec.runtime_options),
        )

    @property
    def extras(self) -> tuple[str, ...]:
        return tuple(self.inputs[2:])

    def encode(
        self, crops: Crops, holes: Crops, guides: Sequence[EdgeGuide | None] | None = None, truth: Crops | None = None
    ) -> dict[str, np.ndarray]:
        """The input feed (name -> ``N x C x S x S`` float32) of a batch of ``crops`` (censored) and ``holes``;
        ``guides``: a user's edges per crop (None: none); ``truth``: the clean crops, in training (``edges`` are
        then theirs, over the whole crop)."""
        image = image_tensor(np.stack(crops), self.value_range)
        mask = mask_tensor(np.stack(holes))
        feed = {"image": np.ascontiguousarray(fill_hole(image, mask, self.hole_fill)), "mask": mask}
        per = list(guides) if guides is not None else [None] * len(crops)
        for name in self.extras:
            feed[name] = EXTRA_INPUTS[name](self, crops, holes, per, truth).astype(np.float32)
        return feed

    def decode(self, y: np.ndarray) -> np.ndarray:
        """Crops (``N x S x S x 3`` uint8) of a model output ``N x 3 x S x S`` (:func:`crops_of`)."""
        return crops_of(y, self.value_range)
