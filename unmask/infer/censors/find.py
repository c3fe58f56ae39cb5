"""Finding the censor itself: the exact pixels a bar, a mosaic or a mask covers, at photo resolution.

The face's landmarks only say where to look. For each face and region the canonical template, placed by the
alignment that was fitted on the landmarks the censor does not cover, gives two areas in photo pixels:

* the **core**: a small area every censor of that region covers (the line between the eye centres; the middle
  of nose, mouth and chin), where the censor's appearance is sampled;
* the **window**: everywhere such a censor can reach, the only place searched.

Each region declares these areas (:attr:`unmask.infer.regions.Region.areas`) and which censor kinds it tries, in order
(:attr:`unmask.infer.regions.Region.finds`); the finder of each kind (``find`` of its :class:`unmask.infer.censors.Censor`:
:mod:`.bar`, :mod:`.pixelate`, :mod:`.surgical`) returns the covered pixels of the window, and
:func:`find_occluder` tries them in turn. The hole to restore is the occluder grown
by :func:`margin_px` (anti-aliasing and JPEG ringing at its edge); nothing else of the face is repainted.

Work happens in the window's bounding box (``Occluder.box``), downscaled when the face is large so the cost
does not grow with the photo (:data:`WORK_IOD`). Arrays: photo HxWx3 uint8 RGB; masks uint8, 255 = covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask.infer import censors, regions
from unmask.infer.censors import Occluder
from unmask.infer.face.geometry import eye_frame, polygon_mask
from unmask.infer.censors.hole import hole_mask
from unmask.infer.face.align import Aligned, matrix_scale, template
from unmask.spec import HOLE, is_hole

WORK_IOD = 96.0
"""Inter-ocular distance (px) above which the window is searched downscaled to it (and the result scaled up)."""

MARGIN_IOD = 0.012
"""The hole's margin beyond the occluder, in inter-ocular distances, and at least :data:`MARGIN_MIN` pixels."""
MARGIN_MIN = 1


@dataclass
class Search:
    """Where to look, in photo pixels: ``box`` (x0, y0, x1, y1) of the window; ``window`` and ``core`` masks of
    the box (uint8, 255 inside), and ``free``: skin next to them that such censors leave uncovered; ``iod``: the face's inter-ocular distance in photo pixels; ``scale``: working
    scale of the finders (1 = photo resolution); ``rgb``: the box's pixels at that scale (HxWx3 uint8)."""

    box: tuple[int, int, int, int]
    window: np.ndarray
    core: np.ndarray
    iod: float
    scale: float
    rgb: np.ndarray
    up: np.ndarray  # unit vector towards the forehead, in photo pixels (x, y)
    free: np.ndarray  # uint8 mask of the box: skin this region's censors leave free (may be empty)
    clipped: bool = False  # the window reaches beyond the photo (a face cut by its border)
    photo: np.ndarray | None = None  # the whole photo (HxWx3 uint8, photo resolution): a censor may run beyond the box


def margin_px(iod: float) -> int:
    """Pixels by which the hole exceeds the occluder for a face of inter-ocular distance ``iod``."""
    return int(max(MARGIN_MIN, round(MARGIN_IOD * iod)))


def _photo(points: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ inverse[:2, :2].T + inverse[:, 2]


def areas(
    matrix: np.ndarray, size: int, region: str
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], float, np.ndarray]:
    """(window polygon, core polygon, free polygons, inter-ocular distance, up vector), all in photo pixels,
    for the face whose image->crop matrix is ``matrix`` (crop side ``size``): ``region``'s areas
    (:attr:`unmask.infer.regions.Region.areas`) on the canonical template, mapped into the photo."""
    inv = cv2.invertAffineTransform(matrix)
    t = template() * size
    _, _, n, d = eye_frame(t)
    window, core, free = regions.get(region).areas(t)
    scale = float(np.sqrt(abs(np.linalg.det(inv[:, :2]))))
    up = -(inv[:, :2] @ n)
    up = up / max(float(np.hypot(*up)), 1e-9)
    return _photo(window, inv), _photo(core, inv), [_photo(f, inv) for f in free], d * scale, up


def search(rgb: np.ndarray, matrix: np.ndarray, size: int, region: str) -> Search | None:
    """The :class:`Search` for one face (None when the window lies outside the photo)."""
    window, core, free, iod, up = areas(matrix, size, region)
    h, w = rgb.shape[:2]
    x0 = int(max(np.floor(window[:, 0].min()) - 2, 0))
    y0 = int(max(np.floor(window[:, 1].min()) - 2, 0))
    x1 = int(min(np.ceil(window[:, 0].max()) + 3, w))
    y1 = int(min(np.ceil(window[:, 1].max()) + 3, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    shape = (y1 - y0, x1 - x0)
    off = np.array([x0, y0], np.float64)
    win = polygon_mask(shape, window - off)
    cor = polygon_mask(shape, core - off) & win
    if not cor.any():
        return None
    fr = np.zeros(shape, np.uint8)
    for f in free:
        fr |= polygon_mask(shape, f - off)
    clipped = bool(window[:, 0].min() < 0 or window[:, 1].min() < 0 or window[:, 0].max() > w or window[:, 1].max() > h)
    return Search((x0, y0, x1, y1), win, cor, iod, 1.0, rgb[y0:y1, x0:x1], up, fr & win, clipped, rgb)


def downscaled(s: Search) -> Search:
    """``s`` at the working scale (:data:`WORK_IOD`); ``s`` itself when the face is small enough."""
    if s.iod <= WORK_IOD:
        return s
    f = WORK_IOD / s.iod
    h, w = s.window.shape
    size = (max(4, round(w * f)), max(4, round(h * f)))
    rgb = cv2.resize(s.rgb, size, interpolation=cv2.INTER_AREA)
    win = cv2.resize(s.window, size, interpolation=cv2.INTER_NEAREST)
    core = cv2.resize(s.core, size, interpolation=cv2.INTER_NEAREST)
    free = cv2.resize(s.free, size, interpolation=cv2.INTER_NEAREST)
    return Search(s.box, win, core, WORK_IOD, f, rgb, s.up, free, s.clipped, s.photo)


def upscaled(mask: np.ndarray, s: Search) -> np.ndarray:
    """A mask found at ``s``'s working scale, at photo resolution over ``s.box`` (uint8, 255 = covered)."""
    h, w = s.box[3] - s.box[1], s.box[2] - s.box[0]
    if mask.shape == (h, w):
        return mask
    big = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(big >= 127.5, 255, 0).astype(np.uint8)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8) with every enclosed background area filled."""
    h, w = mask.shape
    flood = np.pad(np.where(mask > 0, 255, 0).astype(np.uint8), 1)
    ff = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(flood, ff, (0, 0), 128)
    return np.where(flood[1:-1, 1:-1] == 128, 0, 255).astype(np.uint8)


def component_at(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected components (8-connected) of ``mask`` that meet ``seed`` (both uint8), as a uint8 mask."""
    n, labels = cv2.connectedComponents(np.where(mask > 0, 1, 0).astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(mask)
    hit = np.unique(labels[(seed > 0) & (mask > 0)])
    hit = hit[hit > 0]
    return np.where(np.isin(labels, hit), 255, 0).astype(np.uint8)


def disc(radius: float) -> np.ndarray:
    r = max(1, int(round(radius)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def landmark_occluder(rgb: np.ndarray, aligned: Aligned, region: str) -> Occluder:
    """The landmark region of ``region`` (:func:`unmask.infer.censors.hole.hole_mask`, in the aligned crop) as an
    occluder in photo pixels: what ``--force`` restores when no censor is found."""
    crop_hole = hole_mask(aligned.landmarks, aligned.size, region)
    inv = cv2.invertAffineTransform(aligned.matrix)
    return _from_crop(rgb.shape, crop_hole, inv, "landmarks", margin_px(_iod(aligned)), _iod(aligned))


def user_occluder(user_mask: np.ndarray, aligned: Aligned) -> Occluder | None:
    """The part of the user's mask (HxW uint8, >127 = hole) over the face's crop, as given (no margin), or
    None when the mask misses the face."""
    inv = cv2.invertAffineTransform(aligned.matrix)
    corners = np.array([[0, 0], [aligned.size, 0], [aligned.size, aligned.size], [0, aligned.size]], np.float64)
    quad = _photo(corners, inv)
    h, w = user_mask.shape[:2]
    x0, y0 = int(max(np.floor(quad[:, 0].min()), 0)), int(max(np.floor(quad[:, 1].min()), 0))
    x1, y1 = int(min(np.ceil(quad[:, 0].max()) + 1, w)), int(min(np.ceil(quad[:, 1].max()) + 1, h))
    if x1 <= x0 or y1 <= y0:
        return None
    inside = polygon_mask((y1 - y0, x1 - x0), quad - np.array([x0, y0], np.float64))
    mask = np.where(is_hole(user_mask[y0:y1, x0:x1]) & (inside > 0), HOLE, 0).astype(np.uint8)
    if not mask.any():
        return None
    return Occluder("user", (x0, y0, x1, y1), mask, 0, _iod(aligned))


def _iod(aligned: Aligned) -> float:
    return eye_frame(template() * aligned.size)[3] / max(matrix_scale(aligned.matrix), 1e-9)


def _from_crop(
    shape: tuple[int, ...], crop_mask: np.ndarray, inv: np.ndarray, kind: str, margin: int, iod: float
) -> Occluder:
    """A crop-frame mask (SxS uint8) warped into photo pixels (``inv``: crop -> photo) over its own box."""
    ys, xs = np.nonzero(crop_mask)
    pts = _photo(np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.min()], [xs.max() + 1, ys.max() + 1],
                           [xs.min(), ys.max() + 1]], np.float64), inv)  # fmt: skip
    h, w = shape[:2]
    x0, y0 = int(max(np.floor(pts[:, 0].min()) - 2, 0)), int(max(np.floor(pts[:, 1].min()) - 2, 0))
    x1, y1 = int(min(np.ceil(pts[:, 0].max()) + 3, w)), int(min(np.ceil(pts[:, 1].max()) + 3, h))
    to_box = inv.copy()
    to_box[:, 2] -= (x0, y0)
    mask = cv2.warpAffine(
        crop_mask, to_box, (max(x1 - x0, 1), max(y1 - y0, 1)), flags=cv2.INTER_NEAREST, borderValue=0
    )[: max(y1 - y0, 0), : max(x1 - x0, 0)]
    return Occluder(kind, (x0, y0, max(x1, x0), max(y1, y0)), mask, margin, iod)


def find_occluder(
    rgb: np.ndarray, matrix: np.ndarray, size: int, region: str, first: str | None = None
) -> Occluder | None:
    """The censor covering ``region`` of the face whose image->crop matrix is ``matrix`` (crop side ``size``), or
    None when nothing there looks like a bar, a mosaic or a mask: the finders of the region's kinds
    (:attr:`unmask.infer.regions.Region.finds`), tried in turn in its window; ``first``, one of them, is tried before the
    others (a video tries the kind it found on the face in the last frame)."""
    finds = regions.get(region).finds
    if first in finds:
        finds = (first, *(k for k in finds if k != first))
    s = search(rgb, matrix, size, region)
    if s is None:
        return None
    for kind in finds:
        found = censors.get(kind).find(s)
        if found is not None:
            return found
    return None


__all__ = ["Search", "find_occluder", "landmark_occluder", "margin_px", "search", "user_occluder"]
