"""The whole of a pixelated band, from its block lattice: bands of any outline (a tilted rectangle, an ellipse,
a rounded box), the cut blocks at their edge included, and as far as the band runs (beyond the eye window, over
hair and background, to the photo's border).

:func:`find_mosaic_band <unmask.infer.censors.pixelate.find_mosaic_band>` finds the lattice (block sides and
phase) and a rectangle of rows and columns that carry it. From there, on the lattice's cells at photo resolution:

1. **Whole blocks.** A cell is a block of the band when it is one colour: its pixels' mean deviation from the cell's
   mean and the difference between its halves (a smooth photo has a slope, a block none) are at most
   :data:`DEV_FACTOR` times the band's own (:data:`OWN_PERCENTILE` over the rectangle's cells: JPEG leaves
   blocks a little uneven), and at least :data:`DEV_FLOOR`, and it meets a neighbour across a step (a block
   edge; a smooth photo changes as much inside a cell as across). The band is the blocks connected to the
   rectangle's, as far as :data:`GROW_IOD` inter-ocular distances beyond it.
2. **Cut blocks.** The band's outline is convex, so it runs about parallel to the convex hull of its whole
   blocks, at most a block beyond it (:data:`FLAT_REACH` blocks with step 3). Each cell next to the band that is
   not a whole block may be a block cut by the outline: its part inside is one colour (the commonest colour among
   its flat pixels). The hull grows, in each of :data:`SECTORS` sectors around it, by 1 px layers as long as
   :data:`LAYER_SHARE` of a layer's pixels are of their cell's colour: a cut block's part, not the odd patch of
   the photo of about a block's colour.
3. **Blocks without a step.** Where the blocks around are of about one colour (a tilted band's corner over dark
   hair or smooth skin), a whole block meets no step and step 1 leaves it. A cell up to :data:`FLAT_REACH` blocks
   out that is one colour, as the band's own blocks are, counts as a block when it lies inside the band's straight
   outline: the rotated rectangle of least area around the whole and cut blocks. Beside an upright band's end that
   rectangle is the band itself, so the photo's flat cells there are not taken. (A flat cell alone does not tell a
   block from the photo: beyond CelebA's upright bands, cells of the photo were as flat as the stress benchmark's
   true end blocks under JPEG.)

An upright rectangle is left to the finder's rows and columns (pixel exact where JPEG blurs a cut block into the
photo), see :func:`unmask.infer.censors.pixelate.find_mosaic_band`.

Arrays: photo HxWx3 uint8 RGB; masks HxW uint8, 255 = band.
"""

from __future__ import annotations

import numpy as np

GROW_IOD = (1.3, 0.5)
"""How far (inter-ocular distances, along x and y) the band may run beyond the rectangle first found."""
DEV_FLOOR = 3.0
"""Mean |pixel - cell mean| (sum over channels) a cell of the band may always have."""
DEV_FACTOR = 2.5
"""A cell is one colour when its deviation is at most this times the band's own (JPEG's unevenness)."""
STEP = 6.0
STEP_RATIO = 3.0
"""A block meets a neighbour across a step of at least this (mean change across their border, sum over
channels), and this many times the change between neighbouring pixels inside either."""
MIN_STEPS = 1
SECTORS = 24
LAYER_SHARE = 0.75
"""The band's outline beyond its whole blocks is found per sector around it, layer by layer (see _grow)."""
CUT_SHARE = 0.9
"""A cut block's part of one colour covers less than this share of it (more: a flat photo, or a whole block
between blocks of its colour, which the band's enclosed gaps take)."""
MAX_SIDE_IOD = 0.6
"""The largest block side looked for, in inter-ocular distances."""
PERIOD_RATIO = 4.0
PERIOD_PREFERENCE = 1.05
MIN_LINES = 2
"""The lattice measured on the rectangle: change on its lines at least this many times the change elsewhere;
a larger period replaces a smaller one only when this much better; at least this many lines."""
OVERRULE = 1.5
"""The finder's block side stands unless another period divides it (the finder took a multiple of the side) or
is this many times as clear on the rectangle."""
LINE_PERIOD_RATIO = 3.0
LINE_MIN_LINES = 4
"""The same measured on the eye line alone (a thin strip: a few strong edges of the photo can look periodic
over two or three lines, so more lines, and small blocks on an enlarged photo change less across their edges)."""
OWN_PERCENTILE = 25
"""The band's own deviation: this percentile of the rectangle's cells' (the rectangle may hold photo too)."""
MAX_OWN = 12.0
"""The rectangle's cells deviate at most this much from their means (sum over channels) on a mosaic's lattice."""
MIN_SHARE = 0.5
"""A cell cut by the photo's border counts as a whole block when this share of it is in the photo."""
PIXEL_LEVEL = 4.0
"""A pixel of a cut block belongs to the band when within this (sum over channels; or 3x the band's deviation)
of the block's colour."""
QUANT = 6
"""Grey levels per bin when looking for a cut block's commonest colour."""
SEED_SHARE = 0.5
"""When the rectangle found holds no whole cell of the lattice, the cells with at least this share of their rows
and columns in it are the band's first blocks."""
FLAT_REACH = 2
"""Whole blocks with no step to a neighbour (a tilted band's corner over dark hair or smooth skin, where the blocks
around are of about its colour) are taken up to this many blocks beyond the band's whole blocks, as one colour
(deviation as the band's own) and inside the band's straight outline (see whole_band); the outline is looked for as
far out."""


def _cells(photo: np.ndarray, y0: int, x0: int, nr: int, nc: int, sy: int, sx: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells float32 nr x sy x nc x sx x 3, valid bool nr x sy x nc x sx) of the lattice from photo row ``y0``,
    column ``x0`` (either may lie outside the photo; pixels outside are not valid)."""
    h, w = photo.shape[:2]
    y1, x1 = y0 + nr * sy, x0 + nc * sx
    top, left, bottom, right = max(-y0, 0), max(-x0, 0), max(y1 - h, 0), max(x1 - w, 0)
    part = photo[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)].astype(np.float32)
    img = np.pad(part, ((top, bottom), (left, right), (0, 0)))
    valid = np.pad(np.ones(part.shape[:2], bool), ((top, bottom), (left, right)))
    return img.reshape(nr, sy, nc, sx, 3), valid.reshape(nr, sy, nc, sx)


def _stats(cells: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: (valid pixel count, mean colour, deviation: the larger of the mean |pixel - mean| and the colour
    difference between the cell's halves, both summed over channels)."""
    v = valid[..., None].astype(np.float32)
    cnt = valid.sum((1, 3)).astype(np.float32)
    mean = (cells * v).sum((1, 3)) / np.maximum(cnt, 1)[..., None]
    dev = (np.abs(cells - mean[:, None, :, None]) * v).sum(-1).sum((1, 3)) / np.maximum(cnt, 1)
    sy, sx = cells.shape[1], cells.shape[3]

    def half(sel_y: slice, sel_x: slice) -> np.ndarray:
        c, vv = cells[:, sel_y, :, sel_x], v[:, sel_y, :, sel_x]
        return (c * vv).sum((1, 3)) / np.maximum(vv.sum((1, 3)), 1)

    slope = np.zeros_like(dev)
    if sx >= 4:
        slope = np.maximum(
            slope, np.abs(half(slice(None), slice(0, sx // 2)) - half(slice(None), slice(sx - sx // 2, sx))).sum(-1)
        )
    if sy >= 4:
        slope = np.maximum(
            slope, np.abs(half(slice(0, sy // 2), slice(None)) - half(slice(sy - sy // 2, sy), slice(None))).sum(-1)
        )
    return cnt, mean, np.maximum(dev, slope)


def _stepped(cells: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per cell (bool nr x nc): whether it meets :data:`MIN_STEPS` neighbours across a step (a block edge): the
    mean change across their shared border is at least :data:`STEP` and :data:`STEP_RATIO` times the change
    between neighbouring pixels inside either cell (a smooth photo changes as much inside its cells as across
    them; a cell of the photo beside the band meets one block of it)."""
    nr, sy, nc, sx = valid.shape
    img = cells.reshape(nr * sy, nc * sx, 3)
    ok = valid.reshape(nr * sy, nc * sx)
    dx = np.abs(np.diff(img, axis=1)).sum(-1)
    dy = np.abs(np.diff(img, axis=0)).sum(-1)
    okx, oky = ok[:, 1:] & ok[:, :-1], ok[1:, :] & ok[:-1, :]
    onx = (np.arange(1, nc * sx) % sx) == 0  # changes across a column of block edges
    ony = (np.arange(1, nr * sy) % sy) == 0

    def per_cell(d: np.ndarray, m: np.ndarray, ax: int) -> np.ndarray:
        dd = np.pad(d * m, ((0, ax == 0), (0, ax == 1)))
        mm = np.pad(m, ((0, ax == 0), (0, ax == 1))).astype(np.float32)
        return dd.reshape(nr, sy, nc, sx).sum((1, 3)), mm.reshape(nr, sy, nc, sx).sum((1, 3))

    inx, cx = per_cell(np.where(onx[None, :], 0, dx), okx & ~onx[None, :], 1)
    iny, cy = per_cell(np.where(ony[:, None], 0, dy), oky & ~ony[:, None], 0)
    inner = (inx + iny) / np.maximum(cx + cy, 1)
    # jumps across the block edges: right of cell j (between column j*sx+sx-1 and the next), below cell i
    jx = (dx[:, onx] * okx[:, onx]).reshape(nr, sy, nc - 1).sum(1) / np.maximum(
        okx[:, onx].reshape(nr, sy, nc - 1).sum(1), 1
    )
    jy = (dy[ony, :] * oky[ony, :]).reshape(nr - 1, nc, sx).sum(2) / np.maximum(
        oky[ony, :].reshape(nr - 1, nc, sx).sum(2), 1
    )
    need_x = np.maximum(STEP, STEP_RATIO * np.maximum(inner[:, 1:], inner[:, :-1]))
    need_y = np.maximum(STEP, STEP_RATIO * np.maximum(inner[1:, :], inner[:-1, :]))
    sx_ok, sy_ok = jx >= need_x, jy >= need_y
    out = np.zeros((nr, nc), int)
    out[:, :-1] += sx_ok
    out[:, 1:] += sx_ok
    out[:-1, :] += sy_ok
    out[1:, :] += sy_ok
    return out >= MIN_STEPS


def _axis(photo: np.ndarray, seed: tuple[int, int, int, int], side: int, axis: int, iod: float,
          line: bool = False) -> tuple[int, int]:  # fmt: skip
    """(block side, photo row or column of a block edge) along ``axis`` (0: rows, 1: columns), measured on the
    whole rectangle ``seed``: the period and phase whose lines carry the most change against the change between
    them (a smaller period wins unless a larger one is :data:`PERIOD_PREFERENCE` times better: a multiple of the
    side scores lower). The finder's ``side`` is kept when nothing is periodic enough. ``line``: ``seed`` is the
    eye line (:data:`LINE_PERIOD_RATIO`)."""
    ratio_min, lines = (LINE_PERIOD_RATIO, LINE_MIN_LINES) if line else (PERIOD_RATIO, MIN_LINES)
    x0, y0, x1, y1 = seed
    f = photo[max(y0, 0) : y1, max(x0, 0) : x1].astype(np.float32)
    prof = np.abs(np.diff(f, axis=axis)).sum(-1).mean(1 - axis)  # change between line k and k+1
    start = max(y0, 0) if axis == 0 else max(x0, 0)
    n, total = len(prof), float(prof.sum())

    def ratio(p: int, k: int) -> float:
        on = prof[k::p]
        return float(on.mean()) / max((total - float(on.sum())) / max(n - len(on), 1), 0.5) if len(on) else 0.0

    best: tuple[float, int, int] | None = None
    for p in range(3, min(int(MAX_SIDE_IOD * iod), n // 2) + 1):
        for k in range(p):
            if len(prof[k::p]) >= lines and (best is None or ratio(p, k) > best[0] * PERIOD_PREFERENCE):
                best = (ratio(p, k), p, k)
    own = max(((ratio(side, k), k) for k in range(side)), default=(0.0, 0)) if n >= side else (0.0, 0)
    if best is None or best[0] < ratio_min or (side % best[1] and best[0] < OVERRULE * own[0]):
        return side, start + own[1] + 1
    return best[1], start + best[2] + 1


def _component(grid: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The cells of ``grid`` (bool) 4-connected to ``seed``'s."""
    import cv2

    n, labels = cv2.connectedComponents(grid.astype(np.uint8), connectivity=4)
    hit = np.unique(labels[seed & grid])
    return np.isin(labels, hit[hit > 0])


def _cut_block(cell: np.ndarray, valid: np.ndarray, level: float) -> np.ndarray:
    """The pixels of a cut block (sy x sx x 3, ``valid``) of its one colour: the commonest colour among its flat
    pixels (equal, within ``level``, to the next pixel right and below). sy x sx bool."""
    right = np.abs(np.diff(cell, axis=1)).sum(-1) <= level
    down = np.abs(np.diff(cell, axis=0)).sum(-1) <= level
    flat = valid.copy()
    flat[:, :-1] &= right
    flat[:-1, :] &= down
    if flat.sum() < 2:
        return np.zeros(valid.shape, bool)
    q = (cell[flat] // QUANT).astype(np.int64)
    codes = (q[:, 0] * 64 + q[:, 1]) * 64 + q[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    colour = cell[flat][codes == values[np.argmax(counts)]].mean(0)
    part = valid & (np.abs(cell - colour).sum(-1) <= level)
    if part.sum() >= CUT_SHARE * valid.size:  # (a block cut by the photo's border alone is kept)
        return np.zeros(valid.shape, bool)
    return part


def _hull(mask: np.ndarray) -> np.ndarray:
    """The convex hull of ``mask``'s pixels (bool HxW), as a bool mask."""
    import cv2

    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(np.int32)
    out = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return (out > 0) | mask


def _grow(core: np.ndarray, like: np.ndarray, reach: int) -> np.ndarray:
    """``core`` (bool HxW: the hull of the band's whole blocks) grown outwards, in each of :data:`SECTORS` sectors
    around its centre, by its 1 px layers while at least :data:`LAYER_SHARE` of a layer's pixels are ``like``
    (of their cut block's colour), at most ``reach`` px: the cut blocks' parts inside the band's outline, which
    runs about parallel to the hull (a convex outline), and not the odd patch of the photo of a block's colour."""
    import cv2

    h, w = core.shape
    dist = cv2.distanceTransform(np.where(core, 0, 255).astype(np.uint8), cv2.DIST_L2, 3)
    layer = np.ceil(dist - 1e-3).astype(np.int64)
    ys, xs = np.nonzero(core)
    yy, xx = np.mgrid[0:h, 0:w]
    sector = (((np.arctan2(yy - ys.mean(), xx - xs.mean()) + np.pi) / (2 * np.pi) * SECTORS).astype(np.int64)) % SECTORS
    sel = (layer >= 1) & (layer <= reach)
    key = sector[sel] * (reach + 1) + layer[sel]
    total = np.bincount(key, minlength=SECTORS * (reach + 1)).reshape(SECTORS, reach + 1)
    good = np.bincount(key, weights=like[sel], minlength=SECTORS * (reach + 1)).reshape(SECTORS, reach + 1)
    ok = (total > 0) & (good >= LAYER_SHARE * np.maximum(total, 1))
    ok[:, 0] = True
    depth = np.argmin(np.concatenate([ok, np.zeros((SECTORS, 1), bool)], 1), axis=1) - 1  # last layer of the run
    return core | (sel & (layer <= depth[sector]))


Box = tuple[int, int, int, int]


def whole_band(
    photo: np.ndarray, lattice: Box, seed: Box, iod: float, line: bool = False
) -> tuple[Box, np.ndarray, Box] | None:
    """The whole band of ``photo`` on ``lattice`` = (y0, x0, side_y, side_x) (block edges at rows y0 + k *
    side_y, photo pixels) around ``seed`` = (x0, y0, x1, y1), the rectangle found to carry it: (box, mask over
    box, uint8 255 = band, the lattice checked on the rectangle), or None when no whole block is there. ``line``:
    ``seed`` is the eye line (the core), not the rectangle."""
    import cv2

    oy, ox, sy, sx = lattice
    x0, y0, x1, y1 = seed
    (sy, oy), (sx, ox) = _axis(photo, seed, sy, 0, iod, line), _axis(photo, seed, sx, 1, iod, line)
    gx, gy = int(GROW_IOD[0] * iod), int(GROW_IOD[1] * iod)
    cy0 = oy + ((y0 - gy - oy) // sy) * sy
    cx0 = ox + ((x0 - gx - ox) // sx) * sx
    nr = -(-(y1 + gy - cy0) // sy)
    nc = -(-(x1 + gx - cx0) // sx)
    cells, valid = _cells(photo, cy0, cx0, nr, nc, sy, sx)
    cnt, _, dev = _stats(cells, valid)
    rows = (cy0 + np.arange(nr) * sy >= y0) & (cy0 + (np.arange(nr) + 1) * sy <= y1)
    cols = (cx0 + np.arange(nc) * sx >= x0) & (cx0 + (np.arange(nc) + 1) * sx <= x1)
    inner = np.outer(rows, cols) & (cnt >= MIN_SHARE * sy * sx)
    if not inner.any():  # a band a few blocks high whose rectangle holds no whole cell: the cells mostly in it
        top, left = cy0 + np.arange(nr) * sy, cx0 + np.arange(nc) * sx
        rows = np.minimum(top + sy, y1) - np.maximum(top, y0) >= SEED_SHARE * sy
        cols = np.minimum(left + sx, x1) - np.maximum(left, x0) >= SEED_SHARE * sx
        inner = np.outer(rows, cols) & (cnt >= MIN_SHARE * sy * sx)
    if not inner.any():
        return None
    own = float(np.percentile(dev[inner], OWN_PERCENTILE))
    if own > MAX_OWN:
        return None  # the rectangle's cells are not one colour each: not this lattice
    level = max(DEV_FLOOR, DEV_FACTOR * own)
    blocks = _component((cnt >= MIN_SHARE * sy * sx) & (dev <= level) & _stepped(cells, valid), inner)
    if not blocks.any():
        return None
    mask = np.repeat(np.repeat(blocks, sy, axis=0), sx, axis=1) & valid.reshape(nr * sy, nc * sx)
    ring = cv2.dilate(blocks.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ring &= ~blocks & (cnt > 0)
    pixel_level = max(PIXEL_LEVEL, 3 * own)
    cut, flat = np.zeros_like(mask), np.zeros_like(mask)
    near = cv2.dilate(blocks.astype(np.uint8), np.ones((2 * FLAT_REACH + 1,) * 2, np.uint8)) > 0
    for i, j in zip(*np.nonzero(near & ~blocks & (cnt > 0))):
        cell = np.s_[i * sy : (i + 1) * sy, j * sx : (j + 1) * sx]
        part = _cut_block(cells[i, :, j], valid[i, :, j], pixel_level) if ring[i, j] else None
        if part is not None and part.any():
            cut[cell] = part
        elif dev[i, j] <= level and cnt[i, j] >= MIN_SHARE * sy * sx:
            flat[cell] = valid[i, :, j]
    ok = valid.reshape(nr * sy, nc * sx)
    if flat.any():
        # a flat block without a step counts only inside the band's straight outline: the rotated rectangle of least
        # area around its whole and cut blocks (a tilted band's missing corner), not beside an upright band's end
        ys, xs = np.nonzero(mask | cut)
        outline = np.zeros(mask.shape, np.uint8)
        corners = cv2.boxPoints(cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32)))
        cv2.fillConvexPoly(outline, np.round(corners).astype(np.int32), 1)
        cut |= flat & (outline > 0) & ~_hull(mask | cut)
    band = _grow(_hull(mask), (mask | cut) & ok, FLAT_REACH * max(sy, sx)) & ok
    ys, xs = np.nonzero(band)
    by0, by1, bx0, bx1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = (int(cx0 + bx0), int(cy0 + by0), int(cx0 + bx1), int(cy0 + by1))
    return box, np.where(band[by0:by1, bx0:bx1], 255, 0).astype(np.uint8), (int(oy), int(ox), sy, sx)


__all__ = ["whole_band"]
