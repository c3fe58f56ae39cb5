"""Censors, registered like the archs: one module per kind (``bar``, ``pixelate``, ``surgical``, ``freeform``),
each holding both the builder that training and evaluation draw the censor with and the finder that inference
finds it with. Masks are HxW uint8 with 255 = hole (or covered).

Each such module ends with ``CENSOR = register(Censor(kind, draw, find))``:

* ``draw(img, landmarks, rng) -> (censored, occluder)``: the censor drawn on a copy of ``img`` (HxWx3 uint8, any
  frame: a photo or a canonical crop) for its 478x2 landmarks in the same frame, randomised by ``rng`` as censors
  met in the wild vary (the nominal censor without it); the occluder is HxW uint8, 255 = covered;
* ``find(search) -> Occluder | None``: the censor's own pixels at photo resolution within the window of a
  :class:`unmask.infer.censors.find.Search`, or None when nothing there looks like it (no finder: a training-only kind).

The kinds and the region each hides are the public choices :data:`unmask.spec.KIND_REGION`; which finders a
region tries, in which order, its :class:`unmask.infer.regions.Region` says. The helper modules (:mod:`.geometry`,
:mod:`.hole`, :mod:`.find`: the search window and the finders' common machinery) register nothing. A new kind is
one module here plus its name in ``spec.KIND_REGION`` (and its tests).

:func:`censor` is what training uses to hide part of a clean face crop: the hole the model is given is the
censor's own pixels grown by a margin of a pixel or two (:data:`TRAIN_MARGIN`), as the finders
(:func:`unmask.infer.censors.find.find_occluder`) give it at inference, never the whole landmark region.
:class:`Occluder` is what inference restores: a censor found, the user's mask, or the landmark region (``--force``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from unmask.infer.face.geometry import dilate
from unmask.infer.face.align import warp_to_crop
from unmask.registry import Registry
from unmask.spec import CENSOR_KINDS, KIND_REGION

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.censors.find import Search
    from unmask.infer.deblur import Kernel


@dataclass
class Occluder:
    """A censor found on one face: ``kind`` (bar, pixelate, surgical; ``user`` for the user's mask, ``landmarks``
    for the landmark region restored by force), ``mask`` (uint8, 255 = covered) over ``box`` (x0, y0, x1, y1) of
    the photo, ``margin`` (px) the hole adds, ``iod`` the face's inter-ocular distance (px), and for a mosaic its
    ``lattice`` (y0, x0, side_y, side_x: block edges at photo rows y0 + k * side_y and columns x0 + k * side_x), for
    a blur its ``blur`` kernel at photo resolution (:class:`unmask.infer.deblur.Kernel`) and its ``detail`` zone over
    ``box`` (uint8, 255 = where the blur hid the features and the generator's pixels are taken; elsewhere in the hole
    :func:`unmask.infer.deblur.keep_blur` keeps the observed ones)."""

    kind: str
    box: tuple[int, int, int, int]
    mask: np.ndarray
    margin: int
    iod: float
    lattice: tuple[int, int, int, int] | None = None
    blur: Kernel | None = None
    detail: np.ndarray | None = None

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))

    def hole(self) -> np.ndarray:
        """The hole over :attr:`box` (uint8, 255 = restore): the occluder grown by :attr:`margin` pixels."""
        return grow(self.mask, self.margin)

    def crop_hole(self, matrix: np.ndarray, size: int) -> np.ndarray:
        """The hole in the face's canonical crop (SxS uint8, 255 = hole; ``matrix``: photo -> crop): every crop
        pixel that any hole pixel reaches, so the model is never shown a censor pixel as known."""
        x0, y0 = self.box[0], self.box[1]
        m = np.asarray(matrix, np.float64).copy()
        m[:, 2] = m[:, :2] @ np.array([x0, y0], np.float64) + m[:, 2]
        warped = warp_to_crop(self.hole(), m, size)
        return np.where(warped > 0, 255, 0).astype(np.uint8)

    def in_photo(self, shape: tuple[int, ...], mask: np.ndarray | None = None) -> np.ndarray:
        """``mask`` (default: the occluder) placed in an HxW uint8 photo-sized mask."""
        out = np.zeros(shape[:2], np.uint8)
        x0, y0, x1, y1 = self.box
        out[y0:y1, x0:x1] = self.mask if mask is None else mask
        return out


def grow(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within ``radius`` (Euclidean) of ``mask``'s pixels (uint8, 255 = set)."""
    if radius <= 0 or not mask.any():
        return np.where(mask > 0, 255, 0).astype(np.uint8)
    dist = cv2.distanceTransform(np.where(mask > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    return np.where(dist <= radius + 1e-3, 255, 0).astype(np.uint8)


# -- the registry ----------------------------------------------------------------------------------------------------
Draw = Callable[[np.ndarray, np.ndarray, "np.random.Generator | None"], "tuple[np.ndarray, np.ndarray]"]
Find = Callable[["Search"], "Occluder | None"]


@dataclass(frozen=True)
class Censor:
    """One censor kind: its builder ``draw`` and its finder ``find`` (None: training only). See the module
    docstring."""

    kind: str
    draw: Draw
    find: Find | None = None

    @property
    def region(self) -> str | None:
        """The region it hides (:data:`unmask.spec.KIND_REGION`; None: anywhere)."""
        return KIND_REGION[self.kind]


REGISTRY: Registry[Censor] = Registry(__name__, "censor kind", CENSOR_KINDS)
"""One entry per kind, from the package's modules (:class:`unmask.registry.Registry`)."""


def register(entry: Censor) -> Censor:
    """Adds ``entry`` to the registry (its kind must be one of :data:`unmask.spec.CENSOR_KINDS`); returns it."""
    if entry.kind not in KIND_REGION:
        raise ValueError(f"censor kind {entry.kind!r} is not in unmask.spec.KIND_REGION")
    return REGISTRY.add(entry.kind, entry, entry.draw.__module__)


def get(kind: str) -> Censor:
    """The registry entry of censor ``kind`` (``ValueError`` for an unknown one)."""
    return REGISTRY.get(kind)


# -- drawing censors (training, evaluation) ----------------------------------------------------------------------
def draw_censor(
    img: np.ndarray, pts: np.ndarray, kind: str, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Draws censor ``kind`` on ``img`` (HxWx3 uint8, any frame) for landmarks ``pts`` (478x2, same frame).
    Returns (censored copy, occluder mask HxW uint8 255 = covered). ``rng`` jitters shape and colour."""
    return get(kind).draw(img, pts, rng)


TRAIN_MARGIN = (1, 2)
"""Crop pixels (inclusive range, drawn per sample) by which a training hole exceeds the censor: the margin the
finders add at inference for anti-aliasing and JPEG ringing, plus the pixel that warping a photo hole into the
crop adds."""

JPEG_P = 0.5
JPEG_QUALITY = (60, 96)
"""Share of training samples whose censored crop is JPEG-compressed, and the quality range: censors met in the
wild have been through JPEG (ringing at a bar's edge, mosaic blocks no longer flat)."""


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (HxWx3 uint8 RGB) after a JPEG round trip at ``quality``."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def censor(
    crop: np.ndarray, landmarks: np.ndarray, kind: str, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Censors a canonical crop (SxSx3 uint8; ``landmarks`` 478x2 in crop pixels) as training needs it.
    Returns (censored crop, hole SxS uint8): the censor's pixels grown by :data:`TRAIN_MARGIN` (free-form: the
    strokes). With ``rng`` the censor is randomised and the censored crop is JPEG-compressed on some samples."""
    censored, occ = draw_censor(crop, landmarks, kind, rng)
    if rng is None:
        return censored, dilate(occ, TRAIN_MARGIN[0])
    if rng.random() < JPEG_P:
        censored = jpeg(censored, int(rng.integers(*JPEG_QUALITY)))
    return censored, dilate(occ, int(rng.integers(TRAIN_MARGIN[0], TRAIN_MARGIN[1] + 1)))


__all__ = ["TRAIN_MARGIN", "Censor", "Occluder", "censor", "draw_censor", "get", "grow", "jpeg", "register"]
