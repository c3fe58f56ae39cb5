"""The mouth (region ``mouth``): nose, mouth, cheeks and chin, what a surgical or cloth mask hides."""

from __future__ import annotations

import numpy as np

from unmask.infer.face.geometry import eye_frame, inflate, rotated_rect, surgical_polygon
from unmask.infer.face import landmarks as L
from unmask.infer.regions import Region, register

# In inter-ocular distances: the finders' window, core and free skin (see unmask.infer.censors.find).
WINDOW_OUTSET = 0.4  # beyond a nominal surgical mask
WINDOW_TOP = 0.0  # the window starts this far below the eye line
CORE = (1.0, 0.35, 0.2)  # centre below the eye line, half width, half height
FREE = (0.1, 0.16, 0.12, 0.55)  # skin under the eyes that masks leave free: rows below the eye line,
# distance from the face's middle (all inter-ocular distances)
# How far the landmark region reaches beyond a nominal surgical mask (the largest outset the censor jitter draws).
OUTSET = 0.1


def fit_weights(t: np.ndarray) -> np.ndarray:
    """Weights of the template's landmarks ``t`` (478x2, unit crop): 0 for everything below the middle of the
    nose (a surgical mask covers it), 1 elsewhere."""
    w = np.ones(len(t))
    y0 = (t[L.NOSE_BRIDGE, 1] + t[L.NOSE_TIP, 1]) / 2
    w[t[:, 1] >= y0] = 0.0
    return w


def areas(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(window, core, free) of the lower face of the template ``t`` (478x2, crop pixels): the window a nominal
    surgical mask grown by :data:`WINDOW_OUTSET`, none of it above the eye line; the free skin under each eye."""
    c, u, n, d = eye_frame(t)
    poly = inflate(surgical_polygon(t), WINDOW_OUTSET * d)
    top = c + n * WINDOW_TOP * d
    # clip to below the eye line: keep the polygon's points, but none above ``top``
    along = (poly - top) @ n
    poly = poly - np.minimum(along, 0)[:, None] * n[None, :]
    window = poly
    core = rotated_rect(c + n * CORE[0] * d, u, n, CORE[1] * d, CORE[2] * d)
    r0, r1, x0, x1 = FREE
    free = [rotated_rect(c + n * (r0 + r1) / 2 * d + side * u * (x0 + x1) / 2 * d, u, n, (x1 - x0) / 2 * d,
                         (r1 - r0) / 2 * d) for side in (-1, 1)]  # fmt: skip
    return window, core, free


def outline(pts: np.ndarray) -> np.ndarray:
    """A nominal surgical mask's outline grown by :data:`OUTSET`, for landmarks ``pts`` (478x2, any frame)."""
    d = eye_frame(pts)[3]
    return inflate(surgical_polygon(pts), OUTSET * d)


GRAIN = 0.0
"""No grain at the paste (issue 24, 195 validation masks, this round's dmfn-mouth): half the photo's grain made hole
LPIPS worse (0.068 -> 0.073) and KID on the hole boxes too (62 -> 146) over the large smooth lower face, while
the detail ratio it gave (0.29 -> 0.67) was noise, not detail."""

# a blur first (it refuses an area with a cover's colour step at its outline); a mask after, which took a heavily
# blurred lower face, smooth and of one colour, for a cover (unmask.infer.censors.blur)
REGION = register(Region("mouth", fit_weights, areas, outline, finds=("blur-mouth", "surgical"), grain=GRAIN))
