"""Edge maps for archs that take an ``edges`` input (EdgeConnect): one definition for training and inference.
Torch-free.

``canny_edges(rgb)`` is ``HxW`` float32 in {0, 1}: OpenCV's Canny (L2 gradient) of the grey image after a
Gaussian blur whose sigma grows with the image side (:data:`SIGMA_PER_PX` x side: 1 px at 128, 2 px at 256, the
sigma of the EdgeConnect paper at its 256 px crops), so a face gets the same edges at every model size. Inside a
hole the edges are unknown and set to 0. The thresholds an arch was trained with travel in its ONNX metadata
(``options["canny"]``), so training and inference agree.

A user's own edges for the hole (``unmask run --edges FILE``) are an :class:`EdgeGuide`; models with a ``guide``
input get :func:`guide_map` of it: ``SxS`` float32, :data:`NO_GUIDE` (-1) where the user gives nothing, else 0/1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask.spec import is_hole

SIGMA_PER_PX = 1.0 / 128.0
LOW, HIGH = 20.0, 40.0
"""Canny hysteresis thresholds on the L2 gradient magnitude of the blurred grey image (0..255 scale)."""
DEFAULT_CANNY = (LOW, HIGH)
NO_GUIDE = -1.0
"""Value of a ``guide`` input where the user gives no edges (the model predicts them)."""


@dataclass(frozen=True)
class EdgeGuide:
    """A user's edge map: ``edges`` HxW uint8 (255 = edge, 0 = none) and ``where`` HxW uint8 (255 = the map holds
    here; elsewhere the model predicts the edges itself). Same size as the image it guides."""

    edges: np.ndarray
    where: np.ndarray

    def __post_init__(self) -> None:
        for name in ("edges", "where"):
            a = getattr(self, name)
            if a.ndim != 2 or a.dtype != np.uint8:
                raise ValueError(f"EdgeGuide.{name} must be HxW uint8, got {a.shape} {a.dtype}")
        if self.edges.shape != self.where.shape:
            raise ValueError(f"EdgeGuide: edges {self.edges.shape} and where {self.where.shape} differ in size")


def guide_map(guide: EdgeGuide | None, shape: tuple[int, int]) -> np.ndarray:
    """The ``guide`` input of one sample (``HxW`` float32): :data:`NO_GUIDE` where ``guide`` is None or does not
    hold, else 1 (edge) / 0 (no edge)."""
    out = np.full(shape, NO_GUIDE, np.float32)
    if guide is not None:
        if guide.edges.shape != tuple(shape):
            raise ValueError(f"guide is {guide.edges.shape}, the crop {tuple(shape)}")
        held = is_hole(guide.where)
        out[held] = is_hole(guide.edges[held]).astype(np.float32)
    return out


def canny_edges(
    rgb: np.ndarray, hole: np.ndarray | None = None, thresholds: tuple[float, float] = DEFAULT_CANNY
) -> np.ndarray:
    """Edges of ``rgb`` (HxWx3 uint8 RGB) as an ``HxW`` float32 map, 1 = edge, 0 where ``hole`` (HxW uint8,
    255 = hole) is set."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"canny_edges expects HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    sigma = max(0.5, SIGMA_PER_PX * min(rgb.shape[:2]))
    blurred = cv2.GaussianBlur(gray, (0, 0), sigma)
    edges = (cv2.Canny(blurred, float(thresholds[0]), float(thresholds[1]), L2gradient=True) > 0).astype(np.float32)
    if hole is not None:
        edges[is_hole(hole)] = 0.0
    return edges
