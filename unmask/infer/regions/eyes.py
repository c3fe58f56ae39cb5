"""The eyes (region ``eyes``): what an eye bar or a pixelated band hides."""

from __future__ import annotations

import numpy as np

from unmask.infer.face.geometry import eye_frame, rotated_rect
from unmask.infer.face import landmarks as L
from unmask.infer.regions import Region, register

# In inter-ocular distances, around the eye line: the finders' core (half length, half height) and window.
CORE = (0.55, 0.07)
WINDOW = (1.9, 0.95)
# The landmark region's half length and half height (sized as unmask.infer.censors.hole says).
HALF_LEN = 1.3
HALF_H = 0.45


def fit_weights(t: np.ndarray) -> np.ndarray:
    """Weights of the template's landmarks ``t`` (478x2, unit crop): 0 for the eyes, irises, brows and
    everything in the band between brow and lower eyelid (template rows), 1 elsewhere."""
    w = np.ones(len(t))
    y0 = t[list(L.RIGHT_BROW + L.LEFT_BROW), 1].min() - 0.02
    y1 = t[list(L.RIGHT_EYE + L.LEFT_EYE), 1].max() + 0.04
    w[(t[:, 1] >= y0) & (t[:, 1] <= y1)] = 0.0
    w[L.EYE_REGION] = 0.0
    return w


def areas(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(window, core, free) around the eye line of the template ``t`` (478x2, crop pixels); no free skin."""
    c, u, n, d = eye_frame(t)
    window = rotated_rect(c, u, n, WINDOW[0] * d, WINDOW[1] * d)
    core = rotated_rect(c, u, n, CORE[0] * d, CORE[1] * d)
    return window, core, []


def outline(pts: np.ndarray) -> np.ndarray:
    """The band over both eyes for landmarks ``pts`` (478x2, any frame)."""
    c, u, n, d = eye_frame(pts)
    return rotated_rect(c, u, n, HALF_LEN * d, HALF_H * d)


# a mosaic is recognised by its lattice first; a flat bar after; a blur last (a bar is the flattest blur)
GRAIN = 0.5
"""Grain at the paste (issue 24, 198 validation eye bars, this round's dmfn-eyes): half the photo's takes KID on the
hole boxes from 99 to 60 and the detail ratio from 0.41 to 0.49 at the same hole LPIPS (0.115) and 0.02 dB; the
full level made hole LPIPS worse (40 bars, the previous model)."""

REGION = register(Region("eyes", fit_weights, areas, outline, finds=("pixelate", "bar", "blur"), grain=GRAIN))
