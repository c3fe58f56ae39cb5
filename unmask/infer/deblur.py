"""Blur consistency: a blurred area still tells what the hidden pixels look like once blurred, so a restoration
should keep that, as a mosaic's block means are kept (:mod:`unmask.infer.mosaic`).

A blur censor replaces the pixels of an area A by those of ``K * x``: the photo ``x`` convolved with a kernel ``K``
(a Gaussian or a box, :class:`Kernel`). The images ``x'`` with ``(K * x')`` equal to the observed ``y`` over A form
an affine subspace that holds the hidden original; :func:`keep_blur` moves the restored pixels towards it by a few
Landweber iterations ``x <- x + K^T * (M (y - K * x))`` (``M``: the blurred area, a pixel in from its edge, where
the observation is clean), changing only the hole's pixels. The generator supplies the detail the blur took away,
the blur the coarse picture. A few iterations restore the frequencies the kernel passes and leave those it
removed (where the observation, JPEG-compressed, holds only noise) to the generator.

Arrays: photos HxWx3 uint8 RGB; masks HxW uint8, 255 = set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np


class Blurred(Protocol):
    """What :func:`keep_blur` reads of a blur's occluder (:class:`unmask.infer.censors.Occluder` is one): its box in
    the photo (x0, y0, x1, y1), its mask and hole over that box (HxW uint8, 255 = censor), the hole's margin, its
    kernel (None: not a blur), the face's inter-ocular distance (px), and the detail zone over the box (HxW uint8,
    255 = the generator restores; None: the whole hole)."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    margin: int
    blur: Kernel | None
    iod: float
    detail: np.ndarray | None

    def hole(self) -> np.ndarray: ...


KERNELS = ("gaussian", "box")
"""The blur kernels a censor is drawn and found with."""

ITERATIONS = 20
"""Landweber iterations of :func:`keep_blur`."""

REFIT_RANGE = (0.5, 3.0)
REFIT_STEPS = 16
REFINE = 3
"""The kernels :func:`refit` tries: sigmas from 0.5 to 3 times the finder's estimate (which errs low: heavy blurs
leave few edges), geometric steps, each as a Gaussian and as a box; then ``REFINE`` more on each side of the best,
between it and its neighbours (steps of 4%, as fine as 48 steps over the range at less than half the work)."""

DETAIL_FEATHER = 0.06
"""Where the finder marked the blur's detail zone (:attr:`unmask.infer.censors.Occluder.detail`), the restored
pixels are taken across the zone and fade into the observed ones over about this many inter-ocular distances
beyond it."""
INSET = 1
"""Pixels in from the blurred area's edge where its observed pixels are taken as clean (the edge is anti-aliased
or JPEG-smeared)."""


@dataclass(frozen=True)
class Kernel:
    """A blur kernel: ``kind`` one of :data:`KERNELS`; ``size`` in pixels, the Gaussian's sigma or the box's side."""

    kind: str
    size: float

    def __post_init__(self) -> None:
        if self.kind not in KERNELS:
            raise ValueError(f"unknown blur kernel {self.kind!r} (choose from {', '.join(KERNELS)})")
        if not self.size > 0:
            raise ValueError(f"blur kernel size must be > 0 (got {self.size})")

    @property
    def side(self) -> int:
        """The box's side in whole pixels (a box kernel)."""
        return max(1, int(round(self.size)))

    @property
    def reach(self) -> int:
        """Pixels beyond which the kernel's weight is (about) zero."""
        return int(np.ceil(3.0 * self.size)) + 1 if self.kind == "gaussian" else self.side // 2 + 1

    @property
    def sigma(self) -> float:
        """The kernel's standard deviation along each axis, in pixels."""
        return float(self.size) if self.kind == "gaussian" else self.side / np.sqrt(12.0)

    def apply(self, img: np.ndarray) -> np.ndarray:
        """``img`` (HxW or HxWxC, any dtype) blurred with the kernel (borders mirrored), as float32."""
        f = np.asarray(img, np.float32)
        if self.kind == "gaussian":
            return cv2.GaussianBlur(f, (0, 0), sigmaX=float(self.size), borderType=cv2.BORDER_REFLECT)
        return cv2.blur(f, (self.side, self.side), borderType=cv2.BORDER_REFLECT)

    def adjoint(self, img: np.ndarray) -> np.ndarray:
        """``img`` blurred with the kernel mirrored (the transpose of :meth:`apply`), as float32. The same as
        :meth:`apply` but for a box of even side, whose window OpenCV centres half a pixel off."""
        if self.kind == "box" and self.side % 2 == 0:
            return self.apply(np.asarray(img)[::-1, ::-1])[::-1, ::-1]
        return self.apply(img)

    def scaled(self, factor: float) -> "Kernel":
        """The same blur seen at ``factor`` times the resolution."""
        return Kernel(self.kind, float(self.size) * factor)

    def describe(self) -> str:
        return f"Gaussian sigma {self.size:.1f} px" if self.kind == "gaussian" else f"{self.side} px box"


def blur_area(img: np.ndarray, mask: np.ndarray, kernel: Kernel) -> np.ndarray:
    """A copy of ``img`` (HxWx3 uint8) whose pixels under ``mask`` (HxW uint8, >0 = blurred) are those of the whole
    image blurred with ``kernel`` (rounded), as an editor's blur tool leaves them. Only the mask's box (plus the
    kernel's reach) is blurred."""
    out = img.copy()
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return out
    r = kernel.reach
    h, w = mask.shape[:2]
    y0, y1, x0, x1 = max(ys.min() - r, 0), min(ys.max() + 1 + r, h), max(xs.min() - r, 0), min(xs.max() + 1 + r, w)
    blurred = np.clip(np.rint(kernel.apply(img[y0:y1, x0:x1])), 0, 255).astype(np.uint8)
    sub = mask[y0:y1, x0:x1] > 0
    out[y0:y1, x0:x1][sub] = blurred[sub]
    return out


def project(
    restored: np.ndarray,
    observed: np.ndarray,
    area: np.ndarray,
    free: np.ndarray,
    kernel: Kernel,
    iterations: int = ITERATIONS,
) -> np.ndarray:
    """``restored`` (HxWx3) moved towards the images whose blur with ``kernel`` is ``observed`` (HxWx3) over
    ``area`` (HxW bool), changing only the ``free`` pixels (HxW bool). Returns float32 HxWx3."""
    x = np.asarray(restored, np.float32).copy()
    y = np.asarray(observed, np.float32)
    m = area[..., None].astype(np.float32)
    f = free[..., None]
    for _ in range(iterations):
        step = kernel.adjoint(m * (y - kernel.apply(x)))
        x = np.where(f, x + step, x)
    return x


def _gradients(img: np.ndarray) -> np.ndarray:
    """``img``'s (HxWxC float32) Sobel gradients across and down, stacked as HxWx2C."""
    return np.concatenate([cv2.Sobel(img, cv2.CV_32F, 1, 0), cv2.Sobel(img, cv2.CV_32F, 0, 1)], axis=2)


def refit(restored: np.ndarray, observed: np.ndarray, area: np.ndarray, guess: Kernel) -> Kernel:
    """The kernel among Gaussians and boxes of :data:`REFIT_RANGE` times ``guess``'s sigma that, applied to the
    ``restored`` pixels (HxWx3, the generator's sharp guess of what the blur hid), comes closest to the
    ``observed`` ones over ``area`` (HxW bool), compared by their gradients (mean square). The finder's estimate,
    from edges alone, is rough; the fill puts the eyes where the blur says they are, so which kernel blurs it into
    the observation tells the kernel. Gradients, not the pixels themselves: the fill's errors are mostly broad
    (its tone, a feature's shape), which any kernel passes alike and which swamped the edges' width in the pixels'
    difference (issue 31, 96 eye blurs of ``unmask eval``: the sigma off by 17% -> 11% on average, 0.43 dB more
    in the blur's pixels; 92 mouth blurs: 21% -> 17%, 0.42 dB)."""
    x = np.asarray(restored, np.float32)
    y = _gradients(np.asarray(observed, np.float32))[area]

    def err(k: Kernel) -> float:
        return float(((_gradients(k.apply(x))[area] - y) ** 2).mean())

    coarse = _kernels(guess.sigma * np.geomspace(*REFIT_RANGE, REFIT_STEPS))
    if not coarse:
        return guess
    best = min(coarse, key=err)
    step = (REFIT_RANGE[1] / REFIT_RANGE[0]) ** (1.0 / (REFIT_STEPS - 1))
    fine = np.arange(-REFINE, REFINE + 1) / (REFINE + 1)
    return min([best, *_kernels(best.sigma * step ** fine[fine != 0])], key=err)


def _kernels(sigmas: np.ndarray) -> list[Kernel]:
    """For each sigma a Gaussian and a box of that sigma (a box under 2 px left out), in order."""
    pairs = ((Kernel("gaussian", float(s)), Kernel("box", float(s * np.sqrt(12.0)))) for s in sigmas)
    return [k for pair in pairs for k in pair if k.kind == "gaussian" or k.side >= 2]


def keep_blur(out: np.ndarray, occ: Blurred, original: np.ndarray) -> int:
    """Moves ``out``'s pixels in ``occ``'s hole (HxWx3 uint8 photo, in place) so that, blurred with the censor's
    kernel ``occ.blur``, they match the ``original`` photo's (the censored one) over the censor's own pixels. Where
    ``occ.detail`` is set, the hole's pixels beyond it (feathered by :data:`DETAIL_FEATHER`) go back to the
    ``original``'s: smooth skin or soft parts of the photo the finder could not tell from the blur, right as they
    are whether it covered them or not. Returns the number of pixels changed (0 when ``occ`` has no kernel)."""
    kernel = getattr(occ, "blur", None)
    if kernel is None:
        return 0
    bx0, by0, bx1, by1 = occ.box
    pad = 2 * kernel.reach + occ.margin
    h, w = out.shape[:2]
    x0, y0, x1, y1 = max(bx0 - pad, 0), max(by0 - pad, 0), min(bx1 + pad, w), min(by1 + pad, h)
    area = np.zeros((y1 - y0, x1 - x0), np.uint8)
    free = np.zeros_like(area)
    area[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = occ.mask
    free[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = occ.hole()
    if INSET:
        area = cv2.erode(area, np.ones((2 * INSET + 1, 2 * INSET + 1), np.uint8))
    if not area.any():
        return 0
    kernel = refit(out[y0:y1, x0:x1], original[y0:y1, x0:x1], area > 0, kernel)
    fixed = project(out[y0:y1, x0:x1], original[y0:y1, x0:x1], area > 0, free > 0, kernel)
    if occ.detail is not None:  # beyond the detail zone the observed pixels are kept
        keep = np.zeros_like(area)
        keep[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = occ.detail
        feather = max(1.0, DETAIL_FEATHER * float(occ.iod))
        w = np.minimum(1.0, 2.0 * cv2.GaussianBlur((keep > 0).astype(np.float32), (0, 0), feather))[..., None]
        seen = original[y0:y1, x0:x1].astype(np.float32)
        fixed = seen + w * (fixed - seen)
    new = np.clip(np.rint(fixed), 0, 255).astype(np.uint8)
    before = out[y0:y1, x0:x1]
    changed = int(np.count_nonzero((new != before).any(2)))
    out[y0:y1, x0:x1] = np.where(free[..., None] > 0, new, before)
    return changed


__all__ = ["KERNELS", "Kernel", "blur_area", "keep_blur", "project"]
