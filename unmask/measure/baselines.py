"""Classic inpainting baselines behind the same interface as an ONNX model of the runtime.

A :class:`Baseline` has ``name``, ``meta`` (:class:`BaselineMeta`: the crop ``size`` the pipeline aligns faces
to, and ``region`` ``None``: any region), ``providers`` and ``run(crops, masks) -> crops``: it is an
:class:`unmask.infer.inpainter.Inpainter` as a trained model is, so the pipeline, ``unmask eval`` and ``unmask bench`` run
it where they run one (:func:`load_inpainter` loads either by name).

* ``telea``: OpenCV's fast-marching inpainting (Telea 2004), ``cv2.INPAINT_TELEA``;
* ``ns``: OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001), ``cv2.INPAINT_NS``;
* ``none``: the input unchanged, i.e. the censored photo itself (the floor any method must beat).

Both OpenCV methods use a neighbourhood radius of :data:`RADIUS` = 5 px. The holes here (an eye band, a
surgical-mask region) are tens of pixels wide, far larger than the radius, which only sets how much border
context each filled pixel averages, so it matters little: on 40 CelebA val faces at 128 px with a 24x80 px eye
band, radii 3, 5 and 9 were within 0.4 dB PSNR and 0.004 LPIPS of each other, and 5 gave Telea's best LPIPS.

Array conventions: crops ``SxSx3`` ``uint8`` RGB; masks ``SxS`` ``uint8``, ``255`` = hole (values above 127
count as hole). Pixels outside the hole are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unmask.infer.forward import Forwarded
from unmask.spec import HOLE, is_hole
from unmask.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.runtime import Model

BASELINES = ("telea", "ns", "none")
RADIUS = 5
DEFAULT_SIZE = 128


@dataclass(frozen=True)
class BaselineMeta:
    """What the pipeline reads from a model's metadata, for a baseline: ``size`` is the square crop side the
    faces are aligned to; ``region`` ``None`` means the baseline fills a hole of any region."""

    name: str
    size: int
    arch: str = "baseline"
    region: str | None = None
    version: str = ""


class Baseline:
    """A classic inpainting method with the runtime model interface (see the module docstring)."""

    providers: tuple[str, ...] = ("CPU (OpenCV)",)

    def __init__(self, name: str, size: int = DEFAULT_SIZE) -> None:
        import cv2

        if name not in BASELINES:
            raise UsageError(f"unknown baseline {name!r} (choose from {', '.join(BASELINES)})")
        if size < 8:
            raise ValueError(f"crop size {size} too small")
        self.name = name
        self.meta = BaselineMeta(name=name, size=int(size), version=f"opencv {cv2.__version__}")
        self._flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}.get(name)

    takes_edges = False  # a classic inpainter follows no given edges
    size = Forwarded("meta", "Crop side the pipeline aligns faces to for this baseline.")

    def __repr__(self) -> str:
        return f"Baseline({self.name!r}, size={self.meta.size})"

    def _one(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import cv2

        image, mask = np.asarray(image), np.asarray(mask)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"crop must be HxWx3 uint8, got {image.shape} {image.dtype}")
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match crop {image.shape[:2]}")
        if self._flag is None:
            return image.copy()
        hole = np.where(is_hole(mask), HOLE, 0).astype(np.uint8)
        if not hole.any():
            return image.copy()
        out = cv2.inpaint(np.ascontiguousarray(image), hole, RADIUS, self._flag)
        # OpenCV writes only the hole, but make "outside the hole is unchanged" a guarantee, not a hope.
        return np.where(is_hole(hole)[..., None], out, image)

    def inpaint_photo(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``rgb`` (HxWx3 uint8) inpainted where ``mask`` (HxW uint8, >127 = hole) at the photo's own resolution,
        as a new array (the way ``unmask eval`` runs the baselines on the censor's true pixels). Only a box
        around the hole is processed; everything else is copied."""
        out = np.array(rgb, copy=True)
        ys, xs = np.nonzero(is_hole(mask))
        if not len(ys):
            return out
        pad = 2 * RADIUS + 2
        h, w = mask.shape[:2]
        y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
        x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
        out[y0:y1, x0:x1] = self._one(out[y0:y1, x0:x1], mask[y0:y1, x0:x1])
        return out

    def run(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Completed crops (``SxSx3`` uint8 RGB), one per (crop, mask) pair; the inputs are not modified."""
        if len(images) != len(masks):
            raise ValueError(f"{len(images)} crops but {len(masks)} masks")
        return [self._one(im, m) for im, m in zip(images, masks)]


def get_baseline(name: str, size: int = DEFAULT_SIZE) -> Baseline:
    """The baseline called ``name`` (one of :data:`BASELINES`) working on ``size`` px crops."""
    return Baseline(name, size)


def load_inpainter(ref: str, device: str = "auto", threads: int = 0) -> Model | Baseline:
    """A baseline (``telea``, ``ns``, ``none``) by name, else an ONNX model by name or path
    (:func:`unmask.infer.runtime.find_model`), ready for a :class:`unmask.infer.pipeline.Restorer`."""
    from unmask.infer.runtime import find_model, load_model

    if ref in BASELINES and not Path(ref).exists():
        return Baseline(ref)
    return load_model(find_model(ref, None), device, threads)
