"""The eye bar (registry entry ``bar``): the censor bar over both eyes as people draw it, and its randomisation for
training and evaluation (:func:`draw_eye_bar`), and how it is found in a photo (:func:`find_bar`).

Bars met in the wild differ in colour (mostly black, also grey, white or any colour), length, height, angle,
position and corner shape (square or rounded), and are often anti-aliased and then JPEG-compressed. With an
``rng`` :func:`eye_bar_polygon` and :func:`draw_eye_bar` draw all of that; without one, the nominal black bar.

Finding an eye bar: a flat area of one colour (any colour) across the eye line.

1. The bar's colour is the median of the core (the line between the eye centres, which every bar covers); the
   core must be mostly that one colour. When it is not (landmarks drift on a face cut by the photo's border),
   the commonest colour of the flat pixels near the eye line is tried instead. No bar of either (the eye line is
   off the bar): the core moves onto a flat colour no skin has, the bar must be a drawn shape (``outline``), and
   is followed on past the window laid around the wrong eye line (``bar_extent``).
2. Candidates are the window's pixels close to that colour (a tolerance that follows the core's own noise, so
   JPEG-compressed bars are found too).
3. A thin opening cuts narrow bridges into similar surroundings (black hair, a dark background); the
   components that meet the core are the bar, filled (JPEG specks inside) and then given back the candidate
   pixels the opening shaved off its rim.
4. It must look like a bar: it fills most of its smallest enclosing rectangle, which is clearly longer than
   high. A bar is convex (a rectangle, square or rounded corners, at any angle): when the found area fills most of its
   convex hull, the hull is taken, closing notches that noise bit out of the edge; a hull that fills its
   enclosing rectangle is a square-cornered bar, and the rectangle near it is added (its corners back).
5. A coloured bar's edge transition (JPEG keeps brightness sharp but smears colour over a pixel or two) joins
   it: pixels next to it whose colour is a mix of the bar's and the local colour just beyond. (Black, grey and
   white bars have no such smear; their anti-aliased rim is the hole's margin.)
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from unmask.infer.censors import Censor, Occluder, register
from unmask.infer.censors.bar_extent import whole_bar
from unmask.infer.censors.outline import is_drawn
from unmask.infer.censors.find import Search, component_at, disc, downscaled, fill_holes, margin_px, upscaled
from unmask.infer.face.geometry import coverage_mask, eye_frame, rotated_rect, rounded_rect

# In inter-ocular distances: half the bar's length and height, its nominal shape.
HALF_LEN = 1.0
HALF_H = 0.26
# The random range of each, as factors of the nominal shape, the angle (degrees, against the eye line) and the
# corner radius (as a fraction of the half height).
LEN_RANGE = (0.8, 1.45)
H_RANGE = (0.8, 1.6)
MAX_ANGLE = 10.0
SHIFT_DOWN = 0.08
SHIFT_ALONG = 0.08


def eye_bar_polygon(pts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Kx2 outline of an eye bar for landmarks ``pts`` (478x2, any frame). Without ``rng``: the nominal
    rectangle (4 corners); with it: jittered in length, height, angle and position the way hand-drawn bars vary,
    and with rounded corners on some."""
    c, u, n, d = eye_frame(pts)
    half_len, half_h = HALF_LEN * d, HALF_H * d
    if rng is None:
        return rotated_rect(c, u, n, half_len, half_h)
    half_len *= rng.uniform(*LEN_RANGE)
    half_h *= rng.uniform(*H_RANGE)
    ang = np.deg2rad(rng.uniform(-MAX_ANGLE, MAX_ANGLE))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    u, n = rot @ u, rot @ n
    c = c + n * d * rng.uniform(-SHIFT_DOWN, SHIFT_DOWN) + u * d * rng.uniform(-SHIFT_ALONG, SHIFT_ALONG)
    radius = half_h * (rng.uniform(0.1, 1.0) if rng.random() < 0.35 else 0.0)
    return rounded_rect(c, u, n, half_len, half_h, radius)


def bar_colour(rng: np.random.Generator | None) -> tuple[int, int, int]:
    """Black without ``rng``; with it, mostly near-black, sometimes grey, white or any colour."""
    if rng is None:
        return (0, 0, 0)
    p = rng.uniform()
    if p < 0.55:
        v = int(rng.integers(0, 25))
        return (v, v, v)
    if p < 0.75:
        v = int(rng.integers(25, 256))
        return (v, v, v)
    return tuple(int(x) for x in rng.integers(0, 256, 3))  # type: ignore[return-value]


def draw_eye_bar(
    img: np.ndarray, pts: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (censored copy of ``img`` (HxWx3 uint8), bar mask HxW uint8 255 = bar).

    With ``rng`` half of the bars are anti-aliased: their edge pixels mix the bar's colour with the photo's, and
    the mask holds every pixel the bar touches."""
    poly = eye_bar_polygon(pts, rng)
    aa = rng is not None and rng.random() < 0.5
    cover = coverage_mask(img.shape, poly, antialias=aa)
    colour = np.asarray(bar_colour(rng), np.float32)
    a = (cover.astype(np.float32) / 255.0)[..., None]
    out = np.clip(img.astype(np.float32) * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    out[cover == 0] = img[cover == 0]
    return out, np.where(cover > 0, 255, 0).astype(np.uint8)


# -- the finder (inference) -------------------------------------------------------------------------------------

CORE_SHARE = 0.7  # share of core pixels within tolerance of the median for a bar
CORE_COVER = 0.85  # share of the core (the eye line) the found bar covers, at least
CORE_COVER_RECT = 0.7  # the same for a clean rectangle of a colour no skin has (see _covers_eye_line)
MODE_SHARE = 0.9  # the same for the commonest flat colour near the eye line (when the core missed the bar)
MODE_BAND = 0.25  # inter-ocular distances around the core searched for that colour
SHIFT_STEP, SHIFT_MAX, SHIFT_TURN = 0.1, 0.5, 8.0  # core moved across the eye line (IOD) and turned (degrees)
SHIFT_DOWN_MAX = 0.2
"""Inter-ocular distances the core is also moved down, after every move up has failed: an eye line the landmarks put
along a bar's top edge (a rounded pink bar over glasses, benchmarks/auto_accuracy.py seed 7). Not further: below
the eye line lies a mask's top, pleats of a flat colour (those run below the window: :func:`_runs_below`)."""
SHIFT_TOL = 24.0  # a moved core's colour tolerance at most (flat: JPEG noise, not skin's texture)
SKIN_RB, BELOW, BELOW_SHARE = 12.0, 0.1, 0.5  # red above blue by this much: skin or hair; see _runs_below
FLAT_GRAD = 6.0  # grey levels: a gradient below this is flat
TOL_MIN, TOL_MAX = 14.0, 40.0  # colour distance tolerance (RGB, grey levels)
MAX_NOISE = 10.0
"""Grey levels: a bar is flat, so half of the pixels found for it lie within this colour distance of its colour
(checked once its shape is found, so a face whose eye line is not covered goes the usual ways). On 200 validation
faces with the randomised bars (half of them through JPEG q60-95) at most 6.8; on a blue noise texture that passed
the face checks (benchmarks/detect_recall.py, seed 1, faceless canvas 4) 22.0: its blue was taken for a bar 1.9
inter-ocular distances high and restored."""
OPEN = (0.035, 0.07, 0.12)  # opening radii tried, inter-ocular distances
MIN_AREA = 0.25  # a bar covers at least this many square inter-ocular distances
CHROMA = 60.0  # a bar whose channels differ this much is coloured: its JPEG-smeared edge is looked for
BAND_HALF_LEN = 0.5  # inter-ocular distances along the eye line where a merged bar's rows are measured
BAND_MAX_HALF_H = 0.7  # and how far across it they are looked for (a tall bar's far edge, the eye line off its middle)
BAND_MAX_H = 0.95  # a merged bar is at most this high (inter-ocular distances)
BAND_FILL = 0.8  # share of such a row the candidates fill for it to be the bar's
BAND_EDGE = 35.0  # colour change across a merged bar's top and bottom edges, at least
BAND_TILT = 14.0  # degrees either side of the eye line where a merged bar's rows are looked for
BAND_SIDE, BAND_SIDE_FILL = 2, 0.5  # px beyond a merged bar's edges, and the share of its colour there (_unbounded)
BAND_MIN_H = 0.25  # a merged bar is at least this high (inter-ocular distances; a squint or a dark eye line is thinner)
EDGE = 2  # px: how far the bar's edge transition (anti-aliasing, JPEG) is looked for
CONTRAST = 40.0  # the bar and the colour beyond differ at least this much for a transition to be told
MIX_MAX = 0.8  # a transition pixel is at most this far along from the bar's colour to the colour beyond
MIX_RESIDUAL = 25.0  # and at most this far off the line between them
SOLIDITY = 0.85
PHOTO_EDGE, PHOTO_MIX = 1, 0.5
"""At photo resolution (:func:`_reclaim`), pixels up to PHOTO_EDGE px beyond the found bar, at most PHOTO_MIX of the
way from its colour to the colour beyond, join it. Without it a square bar's corners were left as dark specks beside
the restored eyes (seen on the validation grid): on the 198 validation bars 81 faces kept 10 or more censored pixels
unrestored, 15 with it; hole PSNR 18.72 -> 19.10 dB, IoU 0.910 -> 0.906 (PHOTO_MIX 0.8, as at the work scale:
IoU 0.893; a colour-distance reclaim instead: no gain)."""
SQUARE = 0.96  # hull area / its enclosing rectangle's area above which the bar has square corners  # area / hull area above which the hull is taken
RECT_FILL = 0.6  # area / its smallest enclosing rectangle's area, at least
ASPECT = 1.8  # the enclosing rectangle is at least this much longer than high
MAX_TILT = 30.0  # degrees between the bar's long side and the eye line, at most


def find_bar(s: Search) -> Occluder | None:
    """The bar in ``s``'s window, or None."""
    w = downscaled(s)
    f = w.rgb.astype(np.float32)
    found = _colour(f, w.core > 0)
    if found is not None and _skin_hue(found[0]) and found[1] > SHIFT_TOL:
        found = None  # a skin-toned eye line that is not flat: skin, not a bar of that colour
    if found is None and s.clipped:
        # the core missed the bar (landmarks of a face cut by the photo's border drift): the colour that most of
        # the flat pixels along the eye line share, if a bar-like area of it lies there and it is not a skin
        # tone. Only there: on a whole face that colour is skin.
        found = _colour(f, _mode_area(f, w), share=MODE_SHARE)
        if found is not None and _skin_hue(found[0]):
            found = None
    bar = None if found is None else _bar_of(f, w, found)
    moved = bar is None
    if moved:  # the landmarks put the eye line beside the bar (an open mouth, a hand): no colour there makes a bar
        shifted = _shifted_core(f, w)
        if shifted is None:
            return None
        w, found = shifted
        bar = _bar_of(f, w, found)
        if bar is None:
            return None
    med, tol = found
    dist = np.linalg.norm(f - med, axis=2)
    if not s.clipped and not _covers_eye_line(bar, w, med):
        return None  # a bar hides the whole eye line; dark eyes or a shadow beside a bright nose bridge do not
    if moved and not is_drawn(bar, w.window):
        return None
    if _runs_below(bar, w):
        return None  # the top of a mask seen by an eye line the drifting lower-face landmarks put too low
    if float(np.median(dist[bar > 0])) > MAX_NOISE:
        return None  # a textured area of about one colour, not a flat bar
    if float(med.max() - med.min()) >= CHROMA:  # JPEG smears colour (not brightness) over a pixel or two
        bar = _transition(bar, f, med, w.window)
    box, mask = s.box, _reclaim(upscaled(bar, w), s, med)
    if moved and s.photo is not None:  # the eye line was off the bar: the window may cut it
        whole = whole_bar(s.photo, box, mask, med, tol, s.iod)
        if whole is not None:
            box, mask = whole
    return Occluder("bar", box, mask, margin_px(s.iod), s.iod)


def _bar_of(f: np.ndarray, w: Search, found: tuple[np.ndarray, float]) -> np.ndarray | None:
    """The bar of colour ``found`` (colour, tolerance) in ``w``'s window (uint8 mask), or None: the pixels of that
    colour, opened ever wider until they make a bar (:func:`_shape`), else the rows across the eye line they fill
    (:func:`_band`)."""
    med, tol = found
    dist = np.linalg.norm(f - med, axis=2)
    cand = np.where((dist <= tol) & (w.window > 0), 255, 0).astype(np.uint8)
    for radius in OPEN:  # wider openings cut wider bridges into black hair or a dark background
        bar = _shape(cand, w, radius * w.iod)
        if bar is not None:
            return bar
    return _band(cand, w)  # merged too widely with its surroundings: keep the rows across the eye line it fills


def _reclaim(mask: np.ndarray, s: Search, colour: np.ndarray) -> np.ndarray:
    """``mask`` (photo resolution) joined by the pixels just beyond it (:data:`PHOTO_EDGE`, diagonals included)
    that are closer to the bar's colour than to the colour beyond (:data:`PHOTO_MIX`): the square corners and
    the darkest anti-aliased and JPEG-smeared rim pixels, which the opening, the hull and the work scale leave out
    and the hole's 1-2 px margin does not reach at a corner."""
    return _transition(mask, s.rgb.astype(np.float32), colour, s.window, edge=PHOTO_EDGE, mix_max=PHOTO_MIX)


def _covers_eye_line(bar: np.ndarray, w: Search, colour: np.ndarray) -> bool:
    """Whether ``bar`` hides the eye line (the window's core): :data:`CORE_COVER` of it, or
    :data:`CORE_COVER_RECT` when the bar is a clean rectangle or ellipse of a colour no skin has (a turned face's
    eye line, placed from landmarks that drift under the bar, runs past the end of a short bar)."""
    cover = float((bar[w.core > 0] > 0).mean())
    if cover >= CORE_COVER:
        return True
    return cover >= CORE_COVER_RECT and not _skin_hue(colour) and is_drawn(bar, w.window)


def _colour(
    f: np.ndarray, area: np.ndarray, share: float = CORE_SHARE, flat: bool = False
) -> tuple[np.ndarray, float] | None:
    """(colour, tolerance) of a bar covering ``area`` (bool mask): its median colour, when at least ``share``
    of the area lies within the tolerance (which follows the area's own noise, for JPEG) of it. ``flat``: None
    too for skin's or hair's colour or a tolerance over :data:`SHIFT_TOL` (a moved core's tests, made early)."""
    if area.sum() < 8:
        return None
    px = f[area]
    med = np.median(px, axis=0)
    if flat and _skin_hue(med):
        return None
    dist = np.linalg.norm(px - med, axis=1)
    tol = float(np.clip(3.0 * np.percentile(dist, 75) + 6.0, TOL_MIN, TOL_MAX))
    if flat and tol > SHIFT_TOL:
        return None
    return (med, tol) if (dist <= tol).mean() >= share else None


def _shifted_core(f: np.ndarray, w: Search) -> tuple[Search, tuple[np.ndarray, float]] | None:
    """``w`` with its core moved up from the eye line (up to :data:`SHIFT_MAX` inter-ocular distances, slightly
    turned; then down, up to :data:`SHIFT_DOWN_MAX`) onto a flat area of a colour no skin has (black, grey, white,
    a vivid colour: not hair's or skin's browns), and that colour; None when there is none. A bar found from such a
    core must have a drawn outline (:func:`unmask.infer.censors.outline.is_drawn`): this is a second guess, made
    only when the eye line the landmarks give is not covered or its colour makes no bar."""
    ys, xs = np.nonzero(w.core)
    centre = (float(xs.mean()), float(ys.mean()))
    up = np.arange(SHIFT_STEP, SHIFT_MAX + 1e-6, SHIFT_STEP)
    down = -np.arange(SHIFT_STEP, SHIFT_DOWN_MAX + 1e-6, SHIFT_STEP)
    window = np.where(w.window > 0, 255, 0).astype(np.uint8)  # made once, not per try (issue 29)
    least = 0.8 * np.count_nonzero(w.core)
    for offset in np.concatenate([up, down]):  # upwards first: below the eye line lies a mask's top
        for turn in (0.0, -SHIFT_TURN, SHIFT_TURN):
            m = cv2.getRotationMatrix2D(centre, turn, 1.0)
            m[:, 2] += offset * w.iod * np.array([w.up[0], w.up[1]])
            core = cv2.warpAffine(w.core, m, w.core.shape[::-1], flags=cv2.INTER_NEAREST)
            core &= window
            if np.count_nonzero(core) < least:
                continue
            x, y, bw, bh = cv2.boundingRect(core)  # the same pixels, gathered from the core's box only
            found = _colour(f[y : y + bh, x : x + bw], core[y : y + bh, x : x + bw] > 0, share=MODE_SHARE, flat=True)
            if found is None:
                continue
            return replace(w, core=core), found
    return None


def _runs_below(bar: np.ndarray, w: Search) -> bool:
    """Whether ``bar`` fills the window's lowest rows (within :data:`BELOW` inter-ocular distances of its bottom
    edge) over most of its own length: the colour goes on below the window, as a mask's does, and a bar's
    does not (a bar is at most about 0.6 inter-ocular distances high, centred on the eye line)."""
    ys, xs = np.nonzero(w.core)
    gy, gx = np.mgrid[0 : bar.shape[0], 0 : bar.shape[1]]
    v = (gx - xs.mean()) * w.up[0] + (gy - ys.mean()) * w.up[1]
    u = (gx - xs.mean()) * w.up[1] - (gy - ys.mean()) * w.up[0]
    inside = bar > 0
    along = (u >= u[inside].min()) & (u <= u[inside].max())
    low = (w.window > 0) & along & (v <= v[w.window > 0].min() + BELOW * w.iod)
    return bool(low.any()) and float(inside[low].mean()) >= BELOW_SHARE


def _skin_hue(colour: np.ndarray) -> bool:
    """Whether ``colour`` (RGB) could be skin or hair: red above green above blue, clearly, and not vivid."""
    r, g, b = (float(c) for c in colour)
    return r > g > b and r - b > SKIN_RB and r - b < CHROMA * 2


def _mode_area(f: np.ndarray, w: Search) -> np.ndarray:
    """The pixels of the commonest colour (16-level bins) among the flat pixels of the window's middle band."""
    gray = f.mean(axis=2)
    grad = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)) / 4
    band = cv2.dilate(w.core, disc(MODE_BAND * w.iod)) > 0
    flat = band & (grad < FLAT_GRAD) & (w.window > 0)
    if flat.sum() < 8:
        return flat
    q = (f // 16).astype(np.int32)
    key = q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2]
    mode = np.bincount(key[flat]).argmax()
    return flat & (key == mode)


def _shape(cand: np.ndarray, w: Search, radius: float) -> np.ndarray | None:
    """The bar among the candidate pixels after an opening of ``radius`` px, or None when what meets the core
    does not have a bar's shape."""
    opened = cv2.morphologyEx(cand, cv2.MORPH_OPEN, disc(radius))
    bar = component_at(opened, w.core)
    if not bar.any():
        return None
    bar = fill_holes(bar)
    rim = cv2.dilate(bar, disc(radius + 1)) & cand
    grown = fill_holes(bar | component_at(rim, bar))
    if _bar_like(grown, w):
        bar = grown
    elif not _bar_like(bar, w):
        return None
    pts = cv2.findNonZero(bar)
    area = float(np.count_nonzero(bar))
    hull = cv2.convexHull(pts)
    hull_area = max(cv2.contourArea(hull), 1.0)
    if area / hull_area >= SOLIDITY:
        rect = cv2.minAreaRect(hull)
        square = hull_area / max(rect[1][0] * rect[1][1], 1.0) >= SQUARE
        filled = bar.copy()
        cv2.fillPoly(filled, [hull], 255)
        if square:  # square corners, which JPEG and the opening rounded off: the rectangle has them, near the bar
            box = np.zeros_like(bar)
            cv2.fillPoly(box, [np.round(cv2.boxPoints(rect)).astype(np.int32)], 255)
            filled |= box & cv2.dilate(filled, disc(1))
        bar = filled & np.where(w.window > 0, 255, 0).astype(np.uint8)
    return bar


def _transition(
    bar: np.ndarray, f: np.ndarray, colour: np.ndarray, window: np.ndarray, edge: int = EDGE, mix_max: float = MIX_MAX
) -> np.ndarray:
    """``bar`` grown over its edge's transition pixels (anti-aliasing, JPEG's smeared colour): pixels up to
    ``edge`` px away whose colour lies between the bar's and the local colour just beyond (a mix of the two, at
    most ``mix_max`` of the way), where the two differ clearly."""
    reach = disc(edge) if edge > 1 else np.ones((3, 3), np.uint8)  # 1 px: the diagonal neighbours too (corners)
    near = (cv2.dilate(bar, reach) > 0) & (bar == 0)
    ring = (cv2.dilate(bar, disc(edge + 3)) > 0) & ~(cv2.dilate(bar, reach) > 0) & (window > 0)
    if not ring.any() or not near.any():
        return bar
    k = 2 * (edge + 3) + 1
    weight = cv2.blur(ring.astype(np.float32), (k, k))
    local = cv2.blur(f * ring[..., None], (k, k)) / np.maximum(weight, 1e-6)[..., None]  # colour just beyond
    axis = local - colour
    span = np.maximum((axis**2).sum(2), 1e-6)
    t = ((f - colour) * axis).sum(2) / span  # 0 at the bar's colour, 1 at the colour beyond
    residual = np.linalg.norm(f - colour - t[..., None] * axis, axis=2)
    mix = near & (weight > 0.05) & (span > CONTRAST**2) & (t > -0.1) & (t < mix_max) & (residual < MIX_RESIDUAL)
    return bar | component_at(np.where(mix, 255, 0).astype(np.uint8) | bar, bar)


def _band(cand: np.ndarray, w: Search) -> np.ndarray | None:
    """A bar that merges with same-coloured surroundings (black hair, a black background) too widely for an
    opening to cut: the rows across the bar (at the tilt, within :data:`BAND_TILT` of the eye line, where its
    rows are crispest) that the candidates fill along the core, and the candidates in those rows connected to
    the core. None when no such band of a bar's height exists."""
    ys, xs = np.nonzero(w.core)
    c = np.array([xs.mean(), ys.mean()])
    gy, gx = np.mgrid[0 : cand.shape[0], 0 : cand.shape[1]]
    lim = int(BAND_MAX_HALF_H * w.iod)
    rows = np.arange(-lim, lim + 1)
    best = None
    for tilt in sorted(np.arange(-BAND_TILT, BAND_TILT + 1, 2.0), key=abs):
        t = np.deg2rad(tilt)
        up = np.array([w.up[0] * np.cos(t) - w.up[1] * np.sin(t), w.up[0] * np.sin(t) + w.up[1] * np.cos(t)])
        v = np.rint((gx - c[0]) * up[0] + (gy - c[1]) * up[1]).astype(int)  # towards the forehead
        u = (gx - c[0]) * up[1] - (gy - c[1]) * up[0]  # along the bar
        central = (np.abs(u) <= BAND_HALF_LEN * w.iod) & (w.window > 0) & (np.abs(v) <= lim)
        n = np.bincount(v[central] + lim, minlength=len(rows))
        filled = np.bincount(v[central] + lim, weights=cand[central] > 0, minlength=len(rows))
        fill = np.where(n > 0, filled / np.maximum(n, 1), 0.0)
        blurred = int(((fill > 0.15) & (fill < BAND_FILL)).sum())  # rows the bar's edges cross at a wrong tilt
        if best is None or blurred < best[0]:
            best = (blurred, v, u, central, fill)
    _, v, u, central, fill = best
    ok = fill >= BAND_FILL
    if not ok[lim]:
        return None
    a = b = lim
    while a > 0 and ok[a - 1]:
        a -= 1
    while b < len(ok) - 1 and ok[b + 1]:
        b += 1
    height = (b - a + 1) / w.iod
    if not BAND_MIN_H <= height <= BAND_MAX_H:
        return None
    f = w.rgb.astype(np.float32)
    edges = []
    for inside, outside in ((rows[a], rows[a] - 2), (rows[b], rows[b] + 2)):  # a bar's top and bottom edges
        pin, pout = central & (v == inside), central & (v == outside)
        if not pin.any() or not pout.any():
            return None
        edges.append(float(np.linalg.norm(np.median(f[pin], 0) - np.median(f[pout], 0))))
    if min(edges) < BAND_EDGE:
        return None  # a bar has sharp top and bottom edges; a band of flat skin does not
    band = (v >= rows[a]) & (v <= rows[b]) & (cand > 0)
    band &= ~_unbounded(cand > 0, v, np.rint(u).astype(int), rows[a], rows[b], w.window > 0)
    bar = fill_holes(component_at(np.where(band, 255, 0).astype(np.uint8), w.core))
    return bar if np.count_nonzero(bar) >= MIN_AREA * w.iod**2 else None


def _unbounded(cand: np.ndarray, v: np.ndarray, u: np.ndarray, bottom: int, top: int, window: np.ndarray) -> np.ndarray:
    """Where the candidates go on beyond both of a merged bar's edges: the places along the bar (``u``, px) where
    the rows just below ``bottom`` and just above ``top`` (``v``, px across) are of the bar's colour too, as a
    black background is beside a black bar's end. A bar has an edge on at least one side; those places are the
    background (left out, so that a bar running into a black background is not continued across it)."""
    span = u[window].min(), u[window].max()
    n = span[1] - span[0] + 1
    side = []
    for lo, hi in ((bottom - 1 - BAND_SIDE, bottom - 1), (top + 1, top + 1 + BAND_SIDE)):
        at = window & (v >= lo) & (v <= hi)
        total = np.bincount(u[at] - span[0], minlength=n)
        dark = np.bincount(u[at] - span[0], weights=cand[at], minlength=n)
        side.append((total > 0) & (dark >= BAND_SIDE_FILL * np.maximum(total, 1)))
    beyond = side[0] & side[1]
    out = np.zeros_like(cand)
    inside = window & (u >= span[0]) & (u <= span[1])
    out[inside] = beyond[u[inside] - span[0]]
    return out


def _bar_like(bar: np.ndarray, w: Search) -> bool:
    """Large enough, filling most of its smallest enclosing rectangle, which is clearly longer than high and
    lies along the eye line."""
    area = float(np.count_nonzero(bar))
    if area < MIN_AREA * w.iod**2:
        return False
    rect = cv2.minAreaRect(cv2.findNonZero(bar))
    rw, rh = rect[1]
    if area / max(rw * rh, 1.0) < RECT_FILL or max(rw, rh) < ASPECT * min(rw, rh):
        return False
    corners = cv2.boxPoints(rect)
    sides = [corners[1] - corners[0], corners[2] - corners[1]]
    long_side = max(sides, key=lambda v: float(np.hypot(*v)))
    along = long_side / max(float(np.hypot(*long_side)), 1e-9)
    return abs(float(along @ w.up)) <= np.sin(np.deg2rad(MAX_TILT))


CENSOR = register(Censor("bar", draw_eye_bar, find_bar))
