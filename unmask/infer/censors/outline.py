"""Whether a found area has the clean outline of a censor drawn with an editor's shape tools: a rectangle (square or
slightly rounded corners, at any angle) or an ellipse, whole or cut by the edge of the window it was found in.

Arrays: masks HxW uint8 (> 0 = inside).
"""

from __future__ import annotations

import cv2
import numpy as np

RECT_FILL = 0.85
"""A drawn rectangle fills at least this share of its smallest enclosing rectangle."""
ELLIPSE_FIT = 0.92
"""A drawn ellipse has at least this IoU with the ellipse fitted to its outline."""
ELLIPSE_MAX_FILL = 0.9
"""An ellipse fills pi/4 of its smallest enclosing rectangle, and a little more when a window cuts its ends."""


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two HxW bool masks (0 when both are empty)."""
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def is_rectangle(mask: np.ndarray) -> bool:
    """Whether ``mask`` fills its smallest enclosing rectangle almost entirely (:data:`RECT_FILL`)."""
    rect = cv2.minAreaRect(cv2.findNonZero(np.where(mask > 0, 255, 0).astype(np.uint8)))
    return np.count_nonzero(mask) / max(rect[1][0] * rect[1][1], 1.0) >= RECT_FILL


def fitted_ellipse(mask: np.ndarray, window: np.ndarray) -> np.ndarray | None:
    """The ellipse fitted to ``mask``'s outline away from the ``window``'s edge (HxW uint8, 255 inside, over the
    whole frame, not cut by the window), when it is (almost exactly) ``mask`` over the window (:data:`ELLIPSE_FIT`
    IoU) and ``mask`` is no rectangle (it fills less than :data:`ELLIPSE_MAX_FILL` of its smallest enclosing
    rectangle: a thin straight band running off the window fits a long ellipse as well); else None."""
    m = np.where(mask > 0, 255, 0).astype(np.uint8)
    if not m.any():
        return None
    rect = cv2.minAreaRect(cv2.findNonZero(m))
    if np.count_nonzero(m) >= ELLIPSE_MAX_FILL * rect[1][0] * rect[1][1]:
        return None
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea).reshape(-1, 2)
    inner = cv2.erode(np.where(window > 0, 255, 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    outline = outline[inner[outline[:, 1], outline[:, 0]]]
    if len(outline) < 5:
        return None
    fitted = np.zeros(m.shape, np.uint8)
    cv2.ellipse(fitted, cv2.fitEllipse(outline.reshape(-1, 1, 2).astype(np.int32)), 255, -1)
    a, b = m > 0, (fitted > 0) & (window > 0)
    return fitted if iou(a, b) >= ELLIPSE_FIT else None


def is_ellipse(mask: np.ndarray, window: np.ndarray) -> bool:
    """Whether ``mask`` is (almost exactly) an ellipse, one cut by the ``window``'s edge included: the ellipse
    fitted to its outline away from that edge, over the window, has :data:`ELLIPSE_FIT` IoU with it."""
    return fitted_ellipse(mask, window) is not None


def is_drawn(mask: np.ndarray, window: np.ndarray) -> bool:
    """Whether ``mask`` has a drawn censor's clean outline: :func:`is_rectangle` or :func:`is_ellipse`."""
    return is_rectangle(mask) or is_ellipse(mask, window)


__all__ = ["ELLIPSE_FIT", "RECT_FILL", "fitted_ellipse", "iou", "is_drawn", "is_ellipse", "is_rectangle"]
