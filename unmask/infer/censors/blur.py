"""Blur over the eyes (registry entry ``blur``) or over nose and mouth (``blur-mouth``): how it is drawn, and
randomised for training and evaluation (:func:`draw_eye_blur`, :func:`draw_mouth_blur`), and how it is found in a
photo (:func:`find_blur`).

**Drawing.** A band over the eyes, or an area over nose and mouth, of varied outline (an axis-aligned rectangle, a
rectangle along the face's tilt, an ellipse), whose pixels become those of the photo blurred with a Gaussian or a
box kernel (:class:`unmask.infer.deblur.Kernel`), slight to heavy (sizes in inter-ocular distances), as an
editor's blur tool leaves them.

**Finding.** A blur is found by what it takes away, the sharpness of edges, measured against the face's own
(natural defocus of the whole photo is not a censor):

1. **Edge blur.** At each edge of the window (Canny on the photo smoothed by ``sigma0``), the ratio of the
   gradient before and after that smoothing gives the edge's blur (for a step edge blurred by sigma, the ratio is
   ``sqrt(sigma^2 + sigma0^2) / sigma``, whatever its contrast).
2. **Censor or photo.** The eye line (the region's core, every such censor covers it; the eyes are the sharpest
   part of a clean face) must be much blurrier than the sharpest edges of the rest of the window (the face's own
   sharpness: a photo out of focus is blurred everywhere alike): :data:`RATIO` times, and at least
   :data:`MIN_SIGMA` inter-ocular distances. A core with no edge left at all, in a window with many
   (:data:`FLAT_RIM_EDGES`), has been blurred heavily: a clean face always has edges at its eyes and lips. Edges
   beside the core are not the core's: a heavy blur's only sharp edges there are its own outline when the band is
   narrow or the landmarks under it drift. Faint edges (contrast under :data:`FAINT` of the face's own edges') are
   what a blur leaves of fine lines (a box blur turns a thin line into a plateau with two sharp, faint sides), and
   do not count either. These two rules hold over the eyes only: over nose and mouth a mask's pleats and print are
   faint edges too, and its core has none (with them 21 of 200 drawn masks were taken for blurs).
3. **The area.** Edges blurrier than the midpoint (geometric) of the two are the censor's, sharper ones the
   photo's; from the core's centre the area runs out in every direction until sharp edges are
   :data:`SHARP_WEIGHT` of the blurred ones nearby (:func:`_area`). Smooth skin beyond the blur's edge, which
   looks the same blurred or not, is taken with it while nothing sharp bounds it, but only as far as a blur censor
   reaches (:func:`_shape_cap`): over the eyes a band along the eye line (:data:`BAND_HALF` either side, tilted up
   to 12 degrees), over nose and mouth a disc about the lower face's middle (:data:`MOUTH_REACH`). Without it the
   area ran up the forehead, down the cheeks or the neck to the window's edge (stress benchmark, 50 blurs each,
   seeds 0 / 1: spill 0.153 -> 0.137 and 0.215 -> 0.184; faces found and censor pixels left unchanged).
   **The detail zone** (:func:`_detail`): of that area the generator restores only where the features a censor of
   the region hides lie (the core grown by :data:`DETAIL_GROW`), less the pixels beside the sharp edges that bound
   the area; the rest of the hole keeps the photo's pixels (:func:`unmask.infer.deblur.keep_blur`), which are right
   whether the blur covered them or not. The generator had repainted the smooth skin, dark hair, defocused
   background or visible brows the area ran over (stress benchmark, same seeds: spill 0.127 -> 0.007 and 0.159 ->
   0.019); the price is a strip of a band left blurred where it reaches past the features (``unmask eval``, eye
   blurs: 23.74 -> 23.43 dB, hole LPIPS 0.098 -> 0.107; blurred mouths 24.24 -> 24.00 dB, 0.067 -> 0.070).
4. **The kernel.** Which Gaussian sigma, applied to the sharp part of the window, gives its edges the blur the
   censor's edges show at a coarser smoothing (:data:`FIT_SCALES`). A first guess (it errs low on heavy blurs,
   which leave few edges): restoring refits it, Gaussian or box, on the generator's fill
   (:func:`unmask.infer.deblur.refit`).

**Blur or mask.** Over nose and mouth the blur finder runs before the mask finder (a heavily blurred lower face is
smooth and of one colour, as a mask is, and the mask finder took it for one), so it refuses an area whose outline
shows a cover's colour step (:func:`outline_step`): a blur keeps the picture's low frequencies, a mask has its own
colour all along its edge.

Works at the finders' working scale (:func:`unmask.infer.censors.find.downscaled`); the kernel is returned at
photo resolution in :attr:`unmask.infer.censors.Occluder.blur`, for :func:`unmask.infer.deblur.keep_blur`.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.infer.censors import Censor, Occluder, register
from unmask.infer.censors.find import Search, disc, downscaled, margin_px, upscaled
from unmask.infer.face.geometry import eye_frame, polygon_mask, rotated_rect
from unmask.infer.deblur import Kernel, blur_area

# -- drawing (training, evaluation) ------------------------------------------------------------------------------
# In inter-ocular distances d. Eyes: the band's centre is the eye line; nose and mouth: this far below it.
EYE_HALF = (1.05, 0.32)  # half length, half height of the nominal band
MOUTH_CENTRE = 0.95
MOUTH_HALF = (0.62, 0.52)
SIGMA = (0.04, 0.2)  # Gaussian sigma, slight to heavy
BOX = (0.14, 0.6)  # box side, slight to heavy (its sigma is side / sqrt(12))
NOMINAL_SIGMA = 0.1
BOX_P = 0.4  # share of box blurs
OUTLINES = ("rectangle", "rotated", "ellipse")
ELLIPSE_GROW = 1.2  # an ellipse's half axes over the rectangle's, so that it hides as much


def _kernel(d: float, rng: np.random.Generator | None) -> Kernel:
    if rng is None:
        return Kernel("gaussian", NOMINAL_SIGMA * d)
    lo, hi = BOX if rng.random() < BOX_P else SIGMA
    size = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) * d  # as many slight blurs as heavy ones
    return Kernel("box", max(size, 2.0)) if (lo, hi) == BOX else Kernel("gaussian", max(size, 0.8))


def _outline(c: np.ndarray, u: np.ndarray, n: np.ndarray, half_len: float, half_h: float,
             rng: np.random.Generator | None) -> np.ndarray:  # fmt: skip
    """The area's outline (Kx2): nominal an axis-aligned rectangle; with ``rng`` any of :data:`OUTLINES`."""
    shape = "rectangle" if rng is None else OUTLINES[int(rng.integers(len(OUTLINES)))]
    if shape == "ellipse":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        a, b = half_len * ELLIPSE_GROW, half_h * ELLIPSE_GROW
        return c + np.outer(a * np.cos(t), u) + np.outer(b * np.sin(t), n)
    if shape == "rotated":
        t = np.deg2rad(rng.uniform(-8, 8)) if rng is not None else 0.0
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        return rotated_rect(c, rot @ u, rot @ n, half_len, half_h)
    poly = rotated_rect(c, u, n, half_len, half_h)
    (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _draw(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None, below: float,
          half: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    c, u, n, d = eye_frame(pts)
    half_len, half_h = half[0] * d, half[1] * d
    c = c + n * below * d
    if rng is not None:
        half_len *= rng.uniform(0.85, 1.25)
        half_h *= rng.uniform(0.8, 1.4)
        c = c + n * d * rng.uniform(-0.08, 0.08)
    mask = polygon_mask(img.shape, _outline(c, u, n, half_len, half_h, rng))
    return blur_area(img, mask, _kernel(d, rng)), mask


def draw_eye_blur(
    img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with a blurred band over the eyes, its mask HxW uint8 255 = blurred)."""
    return _draw(img, pts, rng, 0.0, EYE_HALF)


def draw_mouth_blur(
    img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (copy of ``img`` with nose and mouth blurred, the blurred area HxW uint8 255 = blurred)."""
    return _draw(img, pts, rng, MOUTH_CENTRE, MOUTH_HALF)


# -- the finder (inference) ----------------------------------------------------------------------------------------
SIGMA0 = 0.03  # the smoothing that measures an edge's blur, inter-ocular distances (at least SIGMA0_MIN px)
SIGMA0_MIN = 1.0
FIT_SCALES = (0.12,)  # the smoothings the kernel is fitted at (inter-ocular distances)
EDGE = (1.0, 2.0)  # Canny thresholds on the smoothed photo's gradient, grey levels per pixel
CORE_REACH = 0.12  # edges this near the core (inter-ocular distances) tell the core's blur
RIM = 0.3  # the face's own sharpness is taken beyond this distance from the core
SHARP_PCT = 25  # percentile of the rim's edge blur taken as the face's own sharpness
RATIO = 1.8  # the core's edges are at least this many times blurrier than the face's own
MIN_SIGMA = 0.033  # and blurred by at least this many inter-ocular distances
MIN_EDGES = 6  # edges needed near the core to tell anything
FLAT_RIM_EDGES = 30  # a core without edges in a window with this many elsewhere has been blurred heavily...
HEAVY = 0.12  # ...by about this much (inter-ocular distances; the kernel is refitted on the fill)
CORE_COVER = 0.9  # share of the core (the eye line; the middle of the lower face) the area covers, at least
SHARP_WEIGHT = 0.3  # sharp edges stop the area where they are at least this share of the blurred ones
DENSITY = (
    0.06  # sharp edges stop the area where they outnumber blurred ones within this radius (inter-ocular distances)
)
RAYS = 180  # directions the area is followed in from the core's centre
STOP = 2  # the area ends at this many sharp edge pixels along a direction
SMOOTH_RAYS = 9  # reaches are the median over this many neighbouring directions
EDGE_CAP = 0.5  # edge blur measured up to this (inter-ocular distances)
CONTRAST_REACH = 0.05  # an edge's contrast: the grey range within this radius (inter-ocular distances)
FAINT = 0.3  # edges by the core count where their contrast is at least this share of the face's own edges' (median)
STEP_RING = 0.06  # rings either side of a blurred area's outline, inter-ocular distances
STEP_PCT = 25  # the outline's colour step is this percentile of its pixels' (most of a blur's outline runs on)
STEP_WEIGHT = 0.05  # an outline pixel counts where both rings reach it with at least this weight
COVER_STEP = 12.0  # 8-bit Lab: a larger step along the outline is a cover's edge, not a blur's
FIT_SIGMAS = np.geomspace(0.015, 0.3, 16)  # candidate Gaussian sigmas, inter-ocular distances
BAND_HALF = 0.65  # an eye blur lies within this of the eye line (inter-ocular distances)...
BAND_TILTS = (-12.0, -6.0, 0.0, 6.0, 12.0)  # ...tilted by one of these (degrees)
DETAIL_GROW = ((0.5, 0.3), (0.3, 0.3))  # the core grown this far (along, across; eyes, mouth) holds the features
KEEP_REACH = 0.08  # pixels this near the sharp edges that bound the area are the photo's own (inter-ocular distances)
MOUTH_REACH = 1.2  # a blur over nose and mouth lies within this of the lower face's middle (inter-ocular distances)


def _edges(g: np.ndarray, sigma0: float, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edge mask HxW bool, blur per pixel HxW float32, px; meaningful on the edges) of grey image ``g``
    (float32) within ``allowed`` (bool)."""
    g1 = cv2.GaussianBlur(g, (0, 0), sigmaX=sigma0, borderType=cv2.BORDER_REFLECT)
    gx0, gy0 = cv2.Sobel(g, cv2.CV_32F, 1, 0) / 8, cv2.Sobel(g, cv2.CV_32F, 0, 1) / 8
    gx1, gy1 = cv2.Sobel(g1, cv2.CV_32F, 1, 0) / 8, cv2.Sobel(g1, cv2.CV_32F, 0, 1) / 8
    m0, m1 = np.hypot(gx0, gy0), np.hypot(gx1, gy1)
    k = 64.0  # Canny takes 16-bit gradients: grey levels per pixel in 1/64ths
    dx = np.clip(gx1 * k * 8, -32767, 32767).astype(np.int16)  # Canny's gradient is Sobel's (8x the slope)
    dy = np.clip(gy1 * k * 8, -32767, 32767).astype(np.int16)
    edges = cv2.Canny(dx, dy, EDGE[0] * k * 8, EDGE[1] * k * 8, L2gradient=True) > 0
    r2 = np.maximum((m0 / np.maximum(m1, 1e-6)) ** 2 - 1.0, 1e-4)
    return edges & allowed, (sigma0 / np.sqrt(r2)).astype(np.float32)


def _stat(g: np.ndarray, sigma0: float, allowed: np.ndarray, cap: float) -> float | None:
    """Median edge blur (px) of ``g`` within ``allowed``, or None with too few edges."""
    e, sig = _edges(g, sigma0, allowed)
    if e.sum() < MIN_EDGES:
        return None
    return float(np.median(np.minimum(sig[e], cap)))


def _fit(g: np.ndarray, area: np.ndarray, sharp: np.ndarray, iod: float) -> Kernel | None:
    """The Gaussian that, applied to the ``sharp`` part of ``g``, gives its edges the blur those of ``area`` show
    at the :data:`FIT_SCALES` (nearest in log blur). None when either part has too few edges."""
    scales = [max(SIGMA0_MIN, f * iod) for f in FIT_SCALES]
    cap = EDGE_CAP * iod
    seen = [_stat(g, s0, area, cap) for s0 in scales]
    if any(v is None for v in seen):
        return None
    best: tuple[float, Kernel] | None = None
    cands = [Kernel("gaussian", float(s * iod)) for s in FIT_SIGMAS]
    for k in cands:
        inner = cv2.erode(sharp.astype(np.uint8), disc(k.reach)) > 0  # its edges away from the blurred area
        stats = [_stat(k.apply(g), s0, inner, cap) for s0 in scales]
        if any(v is None for v in stats):
            continue
        err = sum((np.log(max(a, 1e-3)) - np.log(max(b, 1e-3))) ** 2 for a, b in zip(seen, stats))  # type: ignore[arg-type]
        if best is None or err < best[0]:
            best = (err, k)
    return None if best is None else best[1]


def _area(sharp: np.ndarray, w: Search) -> np.ndarray:
    """The blurred area (uint8 mask of ``w``'s box), ``sharp`` (bool) the pixels that stop it: from the core's centre outwards in every direction
    (:data:`RAYS`), as far as the :data:`STOP`-th sharp edge pixel or the window's edge, the reaches smoothed over
    neighbouring directions, the polygon they reach within the window. Smooth skin beyond the censor's edge, which a
    blur leaves as it was, cannot be told from it and is taken while no sharp edge bounds it."""
    ys, xs = np.nonzero(w.core)
    cx, cy = float(xs.mean()), float(ys.mean())
    h, wd = sharp.shape
    stop = cv2.dilate(sharp.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    theta = np.linspace(0, 2 * np.pi, RAYS, endpoint=False)
    r = np.arange(0, float(np.hypot(h, wd)), 0.5)
    px = np.rint(cx + np.outer(np.cos(theta), r)).astype(int)
    py = np.rint(cy + np.outer(np.sin(theta), r)).astype(int)
    inside = (px >= 0) & (px < wd) & (py >= 0) & (py < h)
    pxc, pyc = np.clip(px, 0, wd - 1), np.clip(py, 0, h - 1)
    ok = inside & (w.window[pyc, pxc] > 0)
    hits = np.cumsum(stop[pyc, pxc] & ok, axis=1)
    end = ~ok | (hits >= STOP)
    reach = r[np.argmax(np.where(end.any(1)[:, None], end, True), axis=1)]
    k = SMOOTH_RAYS // 2
    reach = np.median(np.stack([np.roll(reach, j) for j in range(-k, k + 1)]), axis=0)
    poly = np.stack([cx + reach * np.cos(theta), cy + reach * np.sin(theta)], 1).astype(np.float32)
    area = np.zeros((h, wd), np.uint8)
    cv2.fillPoly(area, [np.rint(poly).astype(np.int32)], 255)
    return area & np.where(w.window > 0, 255, 0).astype(np.uint8)


def _detail(w: Search, area: np.ndarray, stop: np.ndarray, eyes: bool) -> np.ndarray:
    """Where in the blurred ``area`` (uint8 mask of ``w``'s box) the generator restores what the blur hid (uint8
    mask): the features a censor of the region hides, the core grown by :data:`DETAIL_GROW` (along and across the
    eye line; the eyes and brows, or nose and mouth), less the pixels beside the sharp edges that bound the area
    (``stop``, bool), the photo's own, which the hole's margin reaches.

    Beyond it the area is smooth skin or the photo's own soft parts (dark hair, a defocused background) that the
    edges could not tell from the blur, blurred or not; their observed pixels are right either way, where the
    generator's fill of them was not (:func:`unmask.infer.deblur.keep_blur` keeps them)."""
    along, across = DETAIL_GROW[0 if eyes else 1]
    a, b = max(1, round(along * w.iod)), max(1, round(across * w.iod))
    ux, uy = float(-w.up[1]), float(w.up[0])  # along the eye line
    kernel = np.zeros((2 * max(a, b) + 1,) * 2, np.uint8)
    c = max(a, b)
    cv2.ellipse(kernel, (c, c), (a, b), float(np.degrees(np.arctan2(uy, ux))), 0, 360, 1, -1)
    grown = cv2.dilate(np.where(w.core > 0, 1, 0).astype(np.uint8), kernel) > 0
    sharp = cv2.dilate(stop.astype(np.uint8), disc(KEEP_REACH * w.iod)) > 0
    return np.where((area > 0) & grown & ~sharp, 255, 0).astype(np.uint8)


def _shape_cap(w: Search, eyes: bool) -> np.ndarray:
    """Where a blur censor of the region can lie (bool mask of ``w``'s box): over the eyes a band along the eye line,
    :data:`BAND_HALF` either side of it at one of the :data:`BAND_TILTS` (the union of those bands); over nose and
    mouth a disc of radius :data:`MOUTH_REACH` about the core's centre. Both in inter-ocular distances, about the
    core's centre (on the eye line; the middle of the lower face)."""
    ys, xs = np.nonzero(w.core)
    h, wd = w.core.shape
    gy, gx = np.mgrid[0:h, 0:wd].astype(np.float32)
    dx, dy = gx - float(xs.mean()), gy - float(ys.mean())
    if not eyes:
        return np.hypot(dx, dy) <= MOUTH_REACH * w.iod
    up = np.asarray(w.up, np.float64)  # the face's up in the box (the finders' scale keeps directions)
    out = np.zeros((h, wd), bool)
    for t in np.deg2rad(BAND_TILTS):
        nx, ny = up[0] * np.cos(t) - up[1] * np.sin(t), up[0] * np.sin(t) + up[1] * np.cos(t)
        out |= np.abs(dx * nx + dy * ny) <= BAND_HALF * w.iod
    return out


def _find(s: Search, kind: str) -> tuple[Occluder, np.ndarray] | None:
    """The blurred area in ``s``'s window, with its kernel, as an occluder of censor ``kind``, and the area as the
    edges gave it before :func:`_shape_cap` (uint8 mask of the box at the finders' scale), or None."""
    w = downscaled(s)
    iod = w.iod
    g = cv2.cvtColor(w.rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    window = w.window > 0
    inner = cv2.erode(w.window, disc(2)) > 0  # no edges of the window's own border
    sigma0 = max(SIGMA0_MIN, SIGMA0 * iod)
    edges, sig = _edges(g, sigma0, inner)
    sig = np.minimum(sig, EDGE_CAP * iod)
    dist = cv2.distanceTransform(np.where(w.core > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    near, rim = edges & (dist <= CORE_REACH * iod), edges & (dist > RIM * iod)
    eyes = kind == "blur"  # over the mouth a mask's pleats and print are faint edges too, and its core edgeless
    if eyes and rim.sum() >= MIN_EDGES:  # faint edges by the core: what a blur leaves of fine lines (box: sharp ghosts)
        k = disc(CONTRAST_REACH * iod)
        span = cv2.dilate(g, k) - cv2.erode(g, k)
        near &= span >= FAINT * float(np.median(span[rim]))
    # the core itself without an edge (the near ones, if any, are the blur's own outline beside it): a heavy blur
    flat = near.sum() < MIN_EDGES or (eyes and (near & (w.core > 0)).sum() < MIN_EDGES)
    if rim.sum() < MIN_EDGES or (flat and rim.sum() < FLAT_RIM_EDGES):
        return None
    own = float(np.percentile(sig[rim], SHARP_PCT))
    # no edge left near the core, which on a clean face holds the eyes or the lips: a heavy blur
    core_sigma = max(HEAVY * iod, RATIO * own) if flat else float(np.median(sig[near]))
    if core_sigma < max(RATIO * own, MIN_SIGMA * iod):
        return None
    split = float(np.sqrt(core_sigma * max(own, 0.5)))
    r = DENSITY * iod
    d_sharp = cv2.GaussianBlur((edges & (sig < split)).astype(np.float32), (0, 0), r)
    d_blur = cv2.GaussianBlur((edges & (sig >= split)).astype(np.float32), (0, 0), r)
    stop = (d_sharp > SHARP_WEIGHT * d_blur) & edges & (sig < split) & (dist > CORE_REACH * iod)
    cap = _shape_cap(w, eyes)
    edged = _area(stop, w)
    if (edged[w.core > 0] > 0).mean() < CORE_COVER:
        return None
    area = np.where(cap, edged, 0).astype(np.uint8)
    outside = window & (cv2.dilate(area, disc(2)) == 0)
    kernel = _fit(g, cv2.erode(area, disc(2)) > 0, outside, iod)
    if kernel is None:
        kernel = Kernel("gaussian", float(np.sqrt(max(core_sigma**2 - own**2, 0.25))))
    mask = upscaled(area, w)
    detail = upscaled(_detail(w, area, stop, eyes), w)
    occ = Occluder(kind, s.box, mask, margin_px(s.iod), s.iod, blur=kernel.scaled(1.0 / w.scale), detail=detail)
    return occ, edged


def find_blur(s: Search, kind: str = "blur") -> Occluder | None:
    """The blurred area in ``s``'s window, with its kernel, as an occluder of censor ``kind``, or None."""
    found = _find(s, kind)
    return None if found is None else found[0]


def outline_step(rgb: np.ndarray, area: np.ndarray, window: np.ndarray, iod: float) -> float | None:
    """How far the colours just inside ``area`` (uint8 mask of ``rgb``, HxWx3 uint8) lie from those just outside it,
    along its outline: the :data:`STEP_PCT` percentile over the outline's pixels of the distance (8-bit Lab) between the
    local means of a ring :data:`STEP_RING` inter-ocular distances wide on either side. A blur keeps the picture's low
    frequencies, so its colours run on across its outline (steps only where hair or a brow crosses it); a cover (a
    mask) has its own colour all along. Only the outline inside ``window`` (uint8) counts: where the area meets the
    window's edge the search ended, not the censor. None when the outline has too few pixels with both rings."""
    a = area > 0
    r = max(2, int(round(STEP_RING * iod)))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    ring_in = (a & ~(cv2.erode(area, disc(r)) > 0)).astype(np.float32)
    ring_out = ((cv2.dilate(area, disc(r)) > 0) & ~a & (window > 0)).astype(np.float32)

    def local_mean(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weight = cv2.GaussianBlur(ring, (0, 0), r)
        return cv2.GaussianBlur(lab * ring[..., None], (0, 0), r) / np.maximum(weight, 1e-6)[..., None], weight

    m_in, w_in = local_mean(ring_in)
    m_out, w_out = local_mean(ring_out)
    edge = a & ~(cv2.erode(area, disc(1)) > 0) & (w_in > STEP_WEIGHT) & (w_out > STEP_WEIGHT)
    if edge.sum() < MIN_EDGES:
        return None
    return float(np.percentile(np.linalg.norm(m_in[edge] - m_out[edge], axis=1), STEP_PCT))


def find_mouth_blur(s: Search) -> Occluder | None:
    """The blurred area over nose and mouth in ``s``'s window, or None. It is tried before the mask finder (a
    heavily blurred lower face is smooth and of one colour, as a mask is), so it refuses an area whose outline shows
    a cover's colour step (:func:`outline_step` above :data:`COVER_STEP`): the mask finder decides then."""
    found = _find(s, "blur-mouth")
    if found is None:
        return None
    occ, area = found  # the outline the edges gave: a cut by the shape cap runs over one colour, blur or mask
    w = downscaled(s)
    step = outline_step(w.rgb, area & np.where(w.window > 0, 255, 0).astype(np.uint8), w.window, w.iod)
    return None if step is None or step > COVER_STEP else occ


CENSOR = register(Censor("blur", draw_eye_blur, find_blur))
MOUTH_CENSOR = register(Censor("blur-mouth", draw_mouth_blur, find_mouth_blur))
