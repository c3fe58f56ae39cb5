"""An eye bar beyond the finders' window: where the landmarks put the eye line off the bar (an open mouth, a face
cut by the photo's border), the window, laid around that eye line, cuts the bar, and only its part inside was found.
:func:`whole_bar` follows the bar's colour out into the photo from the part found, and keeps what it adds only when
the whole still has a drawn bar's outline (:func:`unmask.infer.censors.outline.is_drawn`): a bar's colour running
on into hair or a background of about that colour makes no such outline, and the part found is kept as it was.

Arrays: photo HxWx3 uint8 RGB; masks HxW uint8, 255 = bar.
"""

from __future__ import annotations

import numpy as np

from unmask.infer.censors.find import component_at
from unmask.infer.censors.outline import is_drawn

REACH = 1.0
"""How far beyond the window's box the bar is followed (inter-ocular distances)."""
GROWN = 1.02
"""The bar is taken as running on when following it adds at least this share of its area."""


def whole_bar(
    photo: np.ndarray, box: tuple[int, int, int, int], bar: np.ndarray, colour: np.ndarray, tol: float, iod: float
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:  # fmt: skip
    """(box, mask over it) of the bar found as ``bar`` over ``box`` (photo resolution), followed beyond the box through ``photo`` pixels within ``tol`` of ``colour`` (RGB)
    as far as :data:`REACH` inter-ocular distances (``iod``, px); None when it does not run on beyond the window,
    or running on, makes no drawn bar."""
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = box
    pad = int(round(REACH * iod))
    X0, Y0, X1, Y1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w), min(y1 + pad, h)
    seed = np.zeros((Y1 - Y0, X1 - X0), np.uint8)
    seed[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0] = bar
    sub = photo[Y0:Y1, X0:X1].astype(np.float32)
    near = np.linalg.norm(sub - np.asarray(colour, np.float32), axis=2) <= tol
    grown = component_at(np.where(near, 255, 0).astype(np.uint8), seed) | seed
    if np.count_nonzero(grown) < GROWN * np.count_nonzero(seed):
        return None
    if not is_drawn(grown, np.full_like(seed, 255)):  # only the photo's border may cut it now
        return None
    ys, xs = np.nonzero(grown)
    bx0, by0, bx1, by1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    return (X0 + bx0, Y0 + by0, X0 + bx1, Y0 + by1), grown[by0:by1, bx0:bx1]


__all__ = ["whole_bar"]
