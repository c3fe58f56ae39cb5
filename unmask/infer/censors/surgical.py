"""A surgical or cloth mask over nose, mouth, cheeks and chin (registry entry ``surgical``): its outline from
landmarks and a plausible rendering for training and evaluation (:func:`draw_surgical`), and how it is found in a
photo (:func:`find_mask`).

Finding a surgical or cloth mask over nose, mouth and chin: any colour, with pleats, print or shading.

A mask is told from the face by colour and texture, not by one flat colour, so the segmentation is OpenCV's
GrabCut (colour mixture models of the mask and of the rest, and a graph cut that prefers edges along colour
changes), seeded from the face's geometry:

* certainly mask: the core (middle of nose, mouth and chin, which every mask covers);
* certainly not: outside the window, and the skin under the eyes, which masks leave free. Only when that finds no
  mask is it tried once more with the pixels below the core, under the window's bottom edge, as only probably not
  mask: a mask running on over the neck and collar lends its own colours (a shaded lower half, a print's second
  colour) to the model of the rest and is cut short or refused. Tried first, that looser start found more of the
  stress benchmark's masks (2.70% -> 0.53% of their pixels left) but ran on into the neck of CelebA's masks, which
  end at the chin (40 validation masks: spill 0.009 -> 0.117, hole IoU 0.929 -> 0.862), so it is the fallback.
  It is also run when the mask found visibly runs on past the window's bottom edge (its paint, by chromaticity,
  on both sides of that edge under the core, and not on the skin under the eyes: :func:`_runs_on`), and then only
  what it adds of the mask's paint straight below the mask found is kept (:func:`_carried_on`): the stress
  benchmark's masks past the chin (seed 0, 50 masks: 2.67% -> 0.48% of their pixels left), CelebA's unchanged;
* probably mask: the rest of the window (GrabCut's usual start: the colour model of "not mask" is learnt
  from the face and background around the window, so the mask's own colours are never in it).

The mask is then the part of GrabCut's foreground that meets the core, with enclosed gaps filled and a light
opening, if it is a cover at all (a plain cover is smooth in the core; a printed one repeats its print, or looks
nothing like the skin under the eyes); a bare lower face gives None.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.infer.censors import Censor, Occluder, register
from unmask.infer.censors.find import (
    Search,
    component_at,
    disc,
    downscaled,
    fill_holes,
    margin_px,
    upscaled,
)
from unmask.infer.censors.mask_extent import paint_of, same_paint, whole_mask
from unmask.infer.face.geometry import coverage_mask, eye_frame, surgical_polygon

_COLOURS = ((165, 200, 225), (235, 235, 235), (40, 40, 45), (200, 215, 235), (120, 170, 210), (230, 200, 205))


def mask_colour(rng: np.random.Generator | None) -> np.ndarray:
    """A mask's base colour: the nominal light blue without ``rng``; with it, one of the common surgical and
    cloth colours, or (a third of the time) any colour."""
    if rng is None:
        return np.array(_COLOURS[0], np.float32)
    if rng.random() < 0.33:
        return rng.integers(0, 256, 3).astype(np.float32)
    return np.array(_COLOURS[int(rng.integers(len(_COLOURS)))], np.float32)


def _texture(
    shape: tuple[int, int],
    along_n: np.ndarray,
    along_u: np.ndarray,
    d: float,
    colour: np.ndarray,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """HxWx3 float32: ``colour`` with soft shading top to bottom and pleats across; with ``rng`` also a random
    print (dots or stripes in a second colour) on some masks, and sensor noise."""
    shade = 1.0 - 0.08 * along_n / max(d, 1.0)
    pleat_w, pleat_a = 0.22, 0.10
    if rng is not None:
        shade = 1.0 - rng.uniform(0.0, 0.2) * along_n / max(d, 1.0) - rng.uniform(-0.1, 0.1) * along_u / max(d, 1.0)
        pleat_w, pleat_a = rng.uniform(0.15, 0.35), rng.uniform(0.0, 0.2)
    pleat = 1.0 - pleat_a * np.clip(np.cos(along_n / max(d * pleat_w, 1.0) * np.pi) - 0.7, 0, None) / 0.3
    tex = colour[None, None, :] * (shade * pleat)[..., None]
    if rng is not None and rng.random() < 0.3:
        other = rng.integers(0, 256, 3).astype(np.float32)
        period = max(d * rng.uniform(0.12, 0.35), 3.0)
        if rng.random() < 0.5:  # dots
            fy = np.mod(along_n, period) - period / 2
            fx = np.mod(along_u, period) - period / 2
            ink = (np.hypot(fx, fy) < period * rng.uniform(0.15, 0.35)).astype(np.float32)
        else:  # stripes
            ang = rng.uniform(0, np.pi)
            ink = (np.mod(np.cos(ang) * along_u + np.sin(ang) * along_n, period) < period * 0.4).astype(np.float32)
        tex = tex * (1 - ink[..., None]) + other[None, None, :] * (shade * ink)[..., None]
    if rng is not None:
        tex = tex + rng.normal(0, rng.uniform(1.0, 4.0), tex.shape).astype(np.float32)
    return tex


def draw_surgical(
    img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with a surgical or cloth mask drawn on, mask HxW uint8 255 = covered).

    With ``rng`` the outline, colour, shading, pleats and print vary, and half of the masks have anti-aliased
    edges (the mask then holds every pixel the drawing touches)."""
    poly = surgical_polygon(pts, rng)
    aa = rng is not None and rng.random() < 0.5
    cover = coverage_mask(img.shape, poly, antialias=aa)
    ys, xs = np.nonzero(cover)
    out = img.copy()
    if len(ys) == 0:
        return out, cover
    _, u, n, d = eye_frame(pts)
    y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    along_n = (gx - gx.mean()) * n[0] + (gy - gy.mean()) * n[1]
    along_u = (gx - gx.mean()) * u[0] + (gy - gy.mean()) * u[1]
    tex = np.clip(_texture(cover.shape, along_n, along_u, d, mask_colour(rng), rng), 0, 255).astype(np.uint8)
    tex = cv2.GaussianBlur(tex, (3, 3), 0).astype(np.float32)
    a = (cover[y0:y1, x0:x1].astype(np.float32) / 255.0)[..., None]
    sub = cover[y0:y1, x0:x1] > 0
    mixed = np.clip(out[y0:y1, x0:x1].astype(np.float32) * (1 - a) + tex * a + 0.5, 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1][sub] = mixed[sub]
    return out, np.where(cover > 0, 255, 0).astype(np.uint8)


# -- the finder (inference) -------------------------------------------------------------------------------------

ITERATIONS = 4
GRABCUT_SEED = 0  # the same photo gives the same mask, whatever ran before (see find_mask)
MIN_AREA = 0.9  # a mask covers at least this many square inter-ocular distances
MIN_WIDTH = 1.35  # and spans at least this many across the face
# Is it a cover (see _covers): a plain one by the core's colour spread (mean Lab channel std); a printed one by its
# repeating print.
PLAIN_SPREAD = 5.0
PLAIN_SPREAD_UNLIKE_SKIN = 8.0  # a little more texture, for a cover that looks nothing like the skin
UNLIKE_SKIN_SHARE = 0.1
SKIN_NEAR = 20.0
# A print (dots, stripes, checks) repeats: the found area's colour, high-passed, correlates with itself shifted
# by one period. On 150 validation faces each (JPEG q90): printed masks 0.78-1.04 (every one refused by the
# plain-colour rules above was 0.90 or more), bare lower faces 0.10-0.57.
PRINT_REPEAT = 0.7
RUNS_ON_SHARE = 0.5
RUNS_ON_SKIN = 0.1
RUNS_ON_IOD = 0.1
"""A mask runs on past the window's bottom edge when this share of the rows just beyond and just inside it (this
many inter-ocular distances deep) are of its paint, and less than that share of the skin under the eyes (see
_runs_on)."""
REPEAT_SIGMA = 0.2  # the high-pass: inter-ocular distances of the Gaussian subtracted (longer than any print's period)


def repetition(rgb: np.ndarray, area: np.ndarray, iod: float) -> float:
    """How strongly the colours of ``area`` (HxW bool) of ``rgb`` repeat: the highest normalised
    autocorrelation of the high-passed Lab colour at a shift beyond its central lobe (1 = a perfect repeat, a
    face about 0.1-0.5). Masked autocorrelation: each shift is normalised by the pixels it overlaps."""
    inner = cv2.erode(area.astype(np.uint8), np.ones((5, 5), np.uint8))
    if np.count_nonzero(inner) < 100:
        return 0.0
    ys, xs = np.nonzero(inner)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    m = inner[box].astype(np.float32)
    lab = cv2.cvtColor(np.ascontiguousarray(rgb[box]), cv2.COLOR_RGB2LAB).astype(np.float32)
    sigma = max(1.5, REPEAT_SIGMA * iod)
    weight = np.maximum(cv2.GaussianBlur(m, (0, 0), sigma), 1e-3)
    local = cv2.GaussianBlur(lab * m[..., None], (0, 0), sigma) / weight[..., None]
    hp = (lab - local) * m[..., None]
    h, w = m.shape
    shape = (2 * h, 2 * w)
    fm = np.fft.rfft2(m, shape)
    overlap = np.fft.fftshift(np.fft.irfft2(fm * np.conj(fm), shape))
    f = np.fft.rfft2(hp, shape, axes=(0, 1))
    corr = np.fft.fftshift(np.fft.irfft2((f * np.conj(f)).sum(2), shape)) / np.maximum(overlap, 1.0)
    corr /= max(float(corr[h, w]), 1e-6)
    _, lobes = cv2.connectedComponents((corr > 0.1).astype(np.uint8))
    beyond = (overlap > 0.3 * overlap[h, w]) & (lobes != lobes[h, w])
    return float(corr[beyond].max()) if beyond.any() else 0.0


def _covers(rgb: np.ndarray, fg: np.ndarray, core: np.ndarray, skin: np.ndarray, iod: float) -> bool:
    """Whether the found area is a cover and not the bare lower face (lips, nostrils, beard). In Lab, on 50
    validation faces with and 110 without a drawn mask (JPEG q90): the core's colour spread is at most 5 on
    most plain masks (up to 8 on some, up to 37 on printed ones) and 6.3 or more on bare faces; the share of
    the area within 20 of the skin's colour is at most 0.2 on masks of another colour than the skin and
    0.01-0.8 on bare faces. A repeating print is a cover whatever its colours (:func:`repetition`); colour
    alone does not tell a print (spread 9-37) from a bare face, nor from one whose skin under the eyes is hidden
    by sunglasses."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    spread = float(lab[core].std(0).mean())
    if spread <= PLAIN_SPREAD:
        return True
    skin_lab = np.median(lab[skin], 0)
    skin_like = float((np.linalg.norm(lab[fg] - skin_lab, axis=1) < SKIN_NEAR).mean())
    if spread <= PLAIN_SPREAD_UNLIKE_SKIN and skin_like <= UNLIKE_SKIN_SHARE:
        return True
    return repetition(rgb, fg, iod) >= PRINT_REPEAT


def _below(core: np.ndarray, up: np.ndarray) -> np.ndarray:
    """HxW bool: the pixels below the core's lowest point (``up``: unit vector towards the forehead, x and y)."""
    h, w = core.shape
    yy, xx = np.mgrid[0:h, 0:w]
    height = xx * up[0] + yy * up[1]
    return height < height[core].min()


def find_mask(s: Search) -> Occluder | None:
    """The mask in ``s``'s window, or None. The segmentation takes every pixel outside the window as certainly not
    mask; when it then finds no mask, once more with the pixels below the window as only probably not (see the
    module)."""
    w = downscaled(s)
    rgb = np.ascontiguousarray(w.rgb)
    core = w.core > 0
    skin = (w.free > 0) & ~core
    if skin.sum() < 10:
        return None
    fg = _segment(w, rgb, core, skin, False)
    if fg is None:
        fg = _segment(w, rgb, core, skin, True)
    elif _runs_on(s, rgb[fg > 0]):
        fg = _carried_on(w, rgb, fg, core, skin)
    if fg is None:
        return None
    found = refine_edge(upscaled(fg, w), s)
    box = s.box
    if s.photo is not None:  # the mask goes on beyond the window: over the neck, the collar, off the photo
        box, found = whole_mask(s.photo, s.box, found, s.window, s.iod)
    return Occluder("surgical", box, found, margin_px(s.iod), s.iod)


def _runs_on(s: Search, own: np.ndarray) -> bool:
    """Whether the mask found (``own``: its pixels, N x 3 uint8) runs on past the window's bottom edge under the
    chin: in each column under the core, the window's last :data:`RUNS_ON_IOD` and the photo's pixels just below
    them are each at least :data:`RUNS_ON_SHARE` of its paint (:func:`~unmask.infer.censors.mask_extent.same_paint`),
    and the skin under the eyes is not (a mask of about the skin's colour would run on into the neck). The
    segmentation took the pixels outside the window as certainly not mask, so a mask running on there lent them its
    colours and was cut short inside the window (a shaded lower half, a print's second colour). CelebA's masks end
    at the chin, above the neck."""
    if s.photo is None or len(own) < 10:
        return False
    x0, y0 = s.box[:2]
    depth = max(2, int(round(RUNS_ON_IOD * s.iod)))
    _, xs = np.nonzero(s.core > 0)
    win = s.window > 0
    inside, below = [], []
    for c in range(int(xs.min()), int(xs.max()) + 1):
        rows = np.nonzero(win[:, c])[0]
        if len(rows):
            r = int(rows.max()) + 1
            inside.append(s.rgb[max(r - depth, 0) : r, c])
            below.append(s.photo[y0 + r : y0 + r + depth, x0 + c])
    skin = s.rgb[(s.free > 0) & ~(s.core > 0)]
    if not inside or len(skin) < 10:
        return False
    inside, below = np.concatenate(inside), np.concatenate(below)
    if len(below) < 0.5 * len(inside):
        return False  # the window ends at the photo's bottom edge
    paint = paint_of(own)  # fitted once, asked three times
    return bool(
        paint(below).mean() >= RUNS_ON_SHARE
        and paint(inside).mean() >= RUNS_ON_SHARE
        and paint(skin).mean() < RUNS_ON_SKIN
    )


def _carried_on(w: Search, rgb: np.ndarray, fg: np.ndarray, core: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """``fg`` joined by what the looser segmentation (below the window only probably not mask) adds of its paint
    and connected to it: the rest of a mask that runs on past the chin, not the neck, collar or background the
    looser segmentation alone ran on into on CelebA's masks, which end at the chin (see the module)."""
    loose = _segment(w, rgb, core, skin, True)
    if loose is None:
        return fg
    # straight below the mask found only (image columns; faces are about upright): beside it lie hair and background
    add = (loose > 0) & ~(fg > 0) & np.maximum.accumulate(fg > 0, axis=0)
    ys, xs = np.nonzero(add)
    paint = np.zeros(add.shape, bool)
    paint[ys, xs] = same_paint(rgb[ys, xs], rgb[fg > 0])
    joined = np.where((fg > 0) | paint, 255, 0).astype(np.uint8)
    return fill_holes(component_at(cv2.morphologyEx(joined, cv2.MORPH_OPEN, disc(1)), fg)) | fg


def _segment(w: Search, rgb: np.ndarray, core: np.ndarray, skin: np.ndarray, below: bool) -> np.ndarray | None:
    """The mask GrabCut finds in ``w``'s window (uint8 over the box at the working scale), or None when it is no
    cover (:func:`_covers`) or too small or narrow. ``below``: the pixels below the window are probably not mask
    (else certainly not, as every pixel outside the window)."""
    gc = np.full(core.shape, cv2.GC_PR_FGD, np.uint8)
    gc[w.window == 0] = cv2.GC_BGD
    if below:
        gc[(w.window == 0) & _below(core, w.up)] = cv2.GC_PR_BGD  # where a mask runs on past the chin (module)
    gc[skin] = cv2.GC_BGD
    gc[core] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        # GrabCut seeds its colour models' k-means from OpenCV's per-thread random state, which every earlier call
        # moves on: without a fixed seed the same mask came out a few pixels different on a second call, and
        # `unmask eval` found 3 or 4 of 195 masks depending on how many models it ran
        cv2.setRNGSeed(GRABCUT_SEED)
        cv2.grabCut(rgb, gc, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    fg = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, disc(0.03 * w.iod))
    fg = component_at(fg, np.where(core, 255, 0).astype(np.uint8))
    fg = fill_holes(fg) & np.where(w.window > 0, 255, 0).astype(np.uint8)
    if np.count_nonzero(fg) < MIN_AREA * w.iod**2 or not _covers(rgb, fg > 0, core, skin, w.iod):
        return None
    ys, xs = np.nonzero(fg)
    along = xs * w.up[1] - ys * w.up[0]  # position along the eye line (perpendicular to up)
    if along.max() - along.min() < MIN_WIDTH * w.iod:
        return None  # lips, nose and a beard, not a mask from cheek to cheek
    return fg


EDGE_REACH = 2
"""Photo pixels beyond the mask found at the working scale that :func:`refine_edge` may join to it."""
EDGE_CONTRAST = 30.0
"""The mask's colour just inside its edge and the colour just beyond differ at least this much (RGB distance) for
an edge pixel to be told."""


def refine_edge(mask: np.ndarray, s: Search) -> np.ndarray:
    """``mask`` (uint8 over ``s.box``, photo resolution) joined by the pixels up to :data:`EDGE_REACH` px beyond it
    (diagonals included) whose colour is nearer the mask's own colour just inside the edge (a local mean, so a
    printed or shaded mask is met where it is) than the colour just beyond it: the outline's anti-aliased and
    JPEG-smeared pixels, which the working scale's cut and the 1-2 px margin left as a dotted line of the mask's
    colour. Nothing joins where the two colours are alike (a skin-coloured mask) or outside the window."""
    m = mask > 0
    if not m.any():
        return mask
    f = s.rgb.astype(np.float32)
    inside = m & ~(cv2.erode(mask, disc(3)) > 0)
    grown = cv2.dilate(mask, disc(EDGE_REACH)) > 0
    beyond = (cv2.dilate(mask, disc(EDGE_REACH + 4)) > 0) & ~grown & (s.window > 0)
    near = grown & ~m & (s.window > 0)
    if not (inside.any() and beyond.any() and near.any()):
        return mask
    k = 2 * (EDGE_REACH + 4) + 1

    def local(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weight = cv2.blur(sel.astype(np.float32), (k, k))
        return cv2.blur(f * sel[..., None], (k, k)) / np.maximum(weight, 1e-6)[..., None], weight

    c_in, w_in = local(inside)
    c_out, w_out = local(beyond)
    d_in = np.linalg.norm(f - c_in, axis=2)
    d_out = np.linalg.norm(f - c_out, axis=2)
    told = np.linalg.norm(c_in - c_out, axis=2) > EDGE_CONTRAST
    join = near & (w_in > 0.02) & (w_out > 0.02) & told & (d_in < d_out)
    return np.where(m | (component_at(np.where(join | m, 255, 0).astype(np.uint8), mask) > 0), 255, 0).astype(np.uint8)


CENSOR = register(Censor("surgical", draw_surgical, find_mask))
