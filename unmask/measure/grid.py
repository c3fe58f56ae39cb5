"""The comparison picture of ``unmask eval --grid``: censored input, each method's result and the original, one
row per face (aligned crops). Array conventions: images HxWx3 uint8 RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.measure.scores import LPIPS_SIZE, EvalReport

HEADER = 22  # px of the label row
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(width: int, text: str) -> np.ndarray:
    """A ``HEADER x width`` white strip with ``text`` centred in black, shrunk (then cut) to fit."""
    strip = np.full((HEADER, width, 3), 255, np.uint8)
    scale = 0.45
    while scale > 0.3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
        scale -= 0.025
    while len(text) > 1 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
        text = text[:-2] + "~"
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    cv2.putText(strip, text, ((width - tw) // 2, (HEADER + th) // 2), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def make_grid(report: EvalReport) -> np.ndarray:
    """The comparison picture (HxWx3 uint8 RGB): a header row of labels, then one row per kept face with the
    censored input, each method's result and the original, as aligned ``lpips_size`` px crops.
    Raises ValueError when no face was scored."""
    if not report.grid:
        raise ValueError("no face was scored: nothing to draw")
    size = report.settings.lpips_size
    labels = ["input", *report.methods, "original"]
    header = np.concatenate([_label(size, t) for t in labels], axis=1)
    rows = [header]
    for g in report.grid:
        rows.append(np.concatenate([g.censored, *(g.results[m] for m in report.methods), g.original], axis=1))
    return np.concatenate(rows, axis=0)


def grid_shape(methods: int, faces: int, size: int = LPIPS_SIZE) -> tuple[int, int, int]:
    """Shape of :func:`make_grid`'s picture for ``methods`` methods and ``faces`` rows."""
    return (HEADER + faces * size, (methods + 2) * size, 3)
