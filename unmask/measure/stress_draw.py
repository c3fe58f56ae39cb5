"""Censors drawn as other people's tools draw them, for the stress benchmark (:mod:`unmask.measure.stress`).

This code is written apart from the censors' builders (:mod:`unmask.infer.censors`) on purpose: the finders were
tuned on those builders, so a benchmark that drew with them would measure the finders on their own homework. Here
every censor is drawn from the landmarks' irises, eye line and face oval alone, with parameters randomised wider
than training draws them:

* ``bar``: rectangle, rounded rectangle or ellipse over the eyes, tilted, of any colour, hard or anti-aliased;
* ``pixelate``: blocks of 4-40 px (:data:`BLOCK_PX`; at most :data:`BLOCK_MAX_IOD` inter-ocular distances),
  square or not, on a lattice whose origin is anywhere (not the image's, not the band's corner), the band
  clipped to a tilted rectangle or an ellipse so the blocks at its edge are cut; each block the mean of the whole
  block (a mosaic of the photo seen through the outline) or of its part inside the outline;
* ``blur``: Gaussian or box, slight to heavy, over the eyes or over nose and mouth;
* ``surgical``: a mask of any colour, shaded, pleated, sometimes printed, from the nose bridge down past the chin
  over the neck and the collar (and off the photo's bottom edge in a close-up), wider than the face.

Each ``draw_*`` takes a photo (HxWx3 uint8 RGB), its face's 478x2 landmarks (photo pixels) and a
``numpy.random.Generator`` and returns (censored photo, censor HxW uint8, 255 = every pixel the censor touched).
:func:`tone_shift` changes the apparent skin tone of a photo; :func:`closeup` crops a photo so the face fills it.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from unmask.infer.face import landmarks as L

BLOCK_PX = (4, 40)
"""Mosaic block sides drawn, in pixels (log-uniform), before the cap below."""
BLOCK_MAX_IOD = 0.4
"""A mosaic block is at most this many inter-ocular distances (larger blocks leave a band one block high)."""
SUPERSAMPLE = 4
"""Anti-aliased outlines are rasterised at this many times the photo's resolution and averaged down."""

_MASK_COLOURS = ((170, 205, 230), (240, 240, 240), (30, 30, 35), (235, 190, 200), (150, 150, 155), (40, 55, 95))
_Frame = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def frame(pts: np.ndarray) -> _Frame:
    """(centre, along, down, iod) from the iris centres: the midpoint of the eyes, the unit vector from the
    image-left eye to the image-right one, the unit normal towards the chin, the inter-ocular distance."""
    pts = np.asarray(pts, np.float64)
    a, b = pts[list(L.RIGHT_IRIS)].mean(0), pts[list(L.LEFT_IRIS)].mean(0)
    if a[0] > b[0]:
        a, b = b, a
    d = float(np.hypot(*(b - a)))
    u = (b - a) / max(d, 1e-6)
    n = np.array([-u[1], u[0]])
    if n @ (pts[L.CHIN] - (a + b) / 2) < 0:
        n = -n
    return (a + b) / 2, u, n, d


def _rotate(u: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.deg2rad(degrees)
    v = np.array([u[0] * np.cos(t) - u[1] * np.sin(t), u[0] * np.sin(t) + u[1] * np.cos(t)])
    return v, np.array([-v[1], v[0]])


def outline(
    shape: str, centre: np.ndarray, u: np.ndarray, n: np.ndarray, half_len: float, half_h: float, corner: float = 0.0
) -> np.ndarray:
    """Kx2 polygon (photo pixels) of a ``rect``, ``rounded`` (corner radius ``corner`` px) or ``ellipse`` with
    axes ``u`` (half length ``half_len``) and ``n`` (half height ``half_h``) about ``centre``."""
    if shape == "ellipse":
        t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        a, b = np.cos(t) * half_len, np.sin(t) * half_h
    else:
        r = min(corner, half_len, half_h) if shape == "rounded" else 0.0
        pts = []
        for sx, sy, t0 in ((1, 1, 0.0), (-1, 1, 0.5), (-1, -1, 1.0), (1, -1, 1.5)):
            cx, cy = sx * (half_len - r), sy * (half_h - r)
            t = np.linspace(t0 * np.pi, (t0 + 0.5) * np.pi, 12 if r > 0 else 1)
            pts += [(cx + r * np.cos(v), cy + r * np.sin(v)) for v in t]
        a, b = np.array(pts).T
    return centre + a[:, None] * u + b[:, None] * n


def coverage(shape: tuple[int, ...], polygon: np.ndarray, antialias: bool) -> np.ndarray:
    """HxW float32 coverage of ``polygon`` in [0, 1]: 0/1 when hard, the share of each pixel inside when
    ``antialias``."""
    h, w = shape[:2]
    k = SUPERSAMPLE if antialias else 1
    canvas = np.zeros((h * k, w * k), np.uint8)
    p = np.round((np.asarray(polygon, np.float64) * k + (k - 1) / 2) * 16).astype(np.int32)
    cv2.fillPoly(canvas, [p], 255, lineType=cv2.LINE_8, shift=4)
    if k > 1:
        canvas = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return canvas.astype(np.float32) / 255.0


def _blend(img: np.ndarray, paint: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = alpha[..., None]
    out = np.clip(img.astype(np.float32) * (1 - a) + paint.astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)
    return out, np.where(alpha > 0, 255, 0).astype(np.uint8)


def _colour(rng: np.random.Generator) -> np.ndarray:
    r = rng.random()
    if r < 0.4:
        return np.full(3, rng.integers(0, 30), np.float32)
    if r < 0.55:
        return np.full(3, rng.integers(225, 256), np.float32)
    return rng.integers(0, 256, 3).astype(np.float32)


def _eye_band(pts: np.ndarray, rng: np.random.Generator, shapes: tuple[str, ...]) -> tuple[np.ndarray, float]:
    c, u, n, d = frame(pts)
    u, n = _rotate(u, rng.uniform(-12, 12))
    c = c + n * d * rng.uniform(-0.08, 0.1)
    half_len, half_h = d * rng.uniform(0.9, 1.4), d * rng.uniform(0.22, 0.45)
    shape = shapes[int(rng.integers(len(shapes)))]
    if shape == "ellipse":
        half_len, half_h = half_len * 1.12, half_h * 1.25
    return outline(shape, c, u, n, half_len, half_h, rng.uniform(0.2, 1.0) * half_h), d


def draw_bar(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A bar over the eyes: rectangle, rounded or ellipse, tilted up to 12 degrees off the eye line, any colour,
    anti-aliased half of the time."""
    poly, _ = _eye_band(pts, rng, ("rect", "rounded", "ellipse"))
    alpha = coverage(img.shape, poly, rng.random() < 0.5)
    return _blend(img, np.broadcast_to(_colour(rng), img.shape), alpha)


def pixelated(
    img: np.ndarray, inside: np.ndarray, block: tuple[int, int], origin: tuple[int, int], whole: bool
) -> np.ndarray:
    """``img`` (HxWx3 uint8) pixelated under ``inside`` (HxW bool) on the lattice of ``block`` = (side_y,
    side_x) px whose lines pass through photo row/column ``origin`` = (y, x): each block takes the mean of the
    whole block (``whole``) or of its pixels inside. Pixels outside ``inside`` are left."""
    by, bx = block
    ys, xs = np.nonzero(inside)
    out = img.copy()
    if not len(ys):
        return out
    y0 = ys.min() - (ys.min() - origin[0]) % by
    x0 = xs.min() - (xs.min() - origin[1]) % bx
    y1 = ys.max() + 1 + (-(ys.max() + 1 - y0)) % by
    x1 = xs.max() + 1 + (-(xs.max() + 1 - x0)) % bx
    h, w = img.shape[:2]
    pad = ((max(-y0, 0), max(y1 - h, 0)), (max(-x0, 0), max(x1 - w, 0)))
    sub = np.pad(img.astype(np.float64), (*pad, (0, 0)))[
        y0 + pad[0][0] : y1 + pad[0][0], x0 + pad[1][0] : x1 + pad[1][0]
    ]
    real = np.pad(np.ones((h, w)), pad)[y0 + pad[0][0] : y1 + pad[0][0], x0 + pad[1][0] : x1 + pad[1][0]]
    sel = np.pad(inside.astype(np.float64), pad)[y0 + pad[0][0] : y1 + pad[0][0], x0 + pad[1][0] : x1 + pad[1][0]]
    weight = real if whole else sel
    r, c = (y1 - y0) // by, (x1 - x0) // bx
    sums = (sub * weight[..., None]).reshape(r, by, c, bx, 3).sum(axis=(1, 3))
    counts = weight.reshape(r, by, c, bx).sum(axis=(1, 3))[..., None]
    means = np.rint(sums / np.maximum(counts, 1e-9))
    big = np.repeat(np.repeat(means, by, axis=0), bx, axis=1).astype(np.uint8)
    cy0, cx0 = max(y0, 0), max(x0, 0)
    cy1, cx1 = min(y1, h), min(x1, w)
    view = out[cy0:cy1, cx0:cx1]
    part = big[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    m = inside[cy0:cy1, cx0:cx1]
    view[m] = part[m]
    return out


def mosaic_params(d: float, rng: np.random.Generator) -> tuple[int, int]:
    """(side_y, side_x) px of a mosaic block for a face of inter-ocular distance ``d``: log-uniform in
    :data:`BLOCK_PX`, capped at :data:`BLOCK_MAX_IOD` x ``d``; non-square (up to 1.6:1) on 40% of the faces."""
    cap = max(BLOCK_PX[0], BLOCK_MAX_IOD * d)
    side = min(float(np.exp(rng.uniform(np.log(BLOCK_PX[0]), np.log(BLOCK_PX[1] + 1)))), cap)
    other = side * (rng.uniform(0.625, 1.6) if rng.random() < 0.4 else 1.0)
    clamp = lambda v: int(np.clip(round(v), BLOCK_PX[0], max(BLOCK_PX[0], min(BLOCK_PX[1], cap))))
    return clamp(side), clamp(other)


def draw_mosaic(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A pixelated eye band clipped to a tilted rectangle, a rounded one or an ellipse (or, on a fifth of the
    faces, an upright rectangle), its cut edge blocks included; block size, shape and lattice origin random."""
    poly, d = _eye_band(pts, rng, ("rect", "rounded", "ellipse"))
    if rng.random() < 0.2:
        (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
        poly = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    inside = coverage(img.shape, poly, False) > 0
    block = mosaic_params(d, rng)
    origin = (int(rng.integers(0, block[0])), int(rng.integers(0, block[1])))
    return pixelated(img, inside, block, origin, rng.random() < 0.5), np.where(inside, 255, 0).astype(np.uint8)


def draw_blur(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A blurred band over the eyes (two thirds of the faces) or an ellipse over nose and mouth: Gaussian (sigma
    0.04-0.25 inter-ocular distances, at least 1.5 px) or box (side 0.1-0.6, at least 3 px)."""
    c, u, n, d = frame(pts)
    if rng.random() < 2 / 3:
        poly, _ = _eye_band(pts, rng, ("rect", "rounded", "ellipse"))
    else:
        mouth = np.asarray(pts, np.float64)[list(L.LIPS)].mean(0)
        centre = (mouth + np.asarray(pts, np.float64)[L.NOSE_TIP]) / 2 + n * d * rng.uniform(-0.05, 0.1)
        poly = outline("ellipse", centre, u, n, d * rng.uniform(0.7, 1.0), d * rng.uniform(0.6, 0.85))
    inside = coverage(img.shape, poly, False)
    if rng.random() < 0.5:
        sigma = max(1.5, rng.uniform(0.04, 0.25) * d)
        blurred = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    else:
        k = max(3, int(round(rng.uniform(0.1, 0.6) * d)))
        blurred = cv2.blur(img, (k, k), borderType=cv2.BORDER_REFLECT)
    return _blend(img, blurred, inside)


def mask_outline(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Kx2 outline of a face mask: its top edge over the nose bridge dipping under the eyes, its sides beyond
    the face's own (over hair or background), its bottom 0-1.4 inter-ocular distances below the chin (over the
    neck and the collar)."""
    pts = np.asarray(pts, np.float64)
    c, u, n, d = frame(pts)
    oval = pts[list(L.FACE_OVAL)] - c
    half_w = float(np.abs(oval @ u).max()) * rng.uniform(0.95, 1.25)
    chin = float((pts[L.CHIN] - c) @ n)
    top = d * rng.uniform(0.3, 0.55)
    bottom = chin + d * rng.uniform(0.0, 1.4)
    dip = d * rng.uniform(0.05, 0.2)
    t = np.linspace(-1, 1, 41)
    top_edge = [(x * half_w, top + dip * (1 - np.cos(np.pi * x)) / 2 * (1 + np.cos(np.pi * x * 2)) / 2
                 - dip * 0.3 * (1 - abs(x))) for x in t]  # fmt: skip
    side = (bottom - top) * rng.uniform(0.35, 0.7)  # the sides go straight down this far, then round to the bottom
    a = np.linspace(0, np.pi, 41)
    low = [(half_w * np.cos(v), top + side + (bottom - top - side) * np.sin(v)) for v in a]
    ring = np.array(top_edge + low)
    return c + ring[:, :1] * u + ring[:, 1:] * n


def draw_mask(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A surgical or cloth mask (:func:`mask_outline`): a common mask colour or any colour, shaded top to bottom,
    pleated, printed on a fifth of the masks, with sensor noise; anti-aliased half of the time."""
    _, u, n, d = frame(pts)
    alpha = coverage(img.shape, mask_outline(pts, rng), rng.random() < 0.5)
    if rng.random() < 0.3:
        colour = rng.integers(0, 256, 3).astype(np.float32)
    else:
        colour = np.array(_MASK_COLOURS[int(rng.integers(len(_MASK_COLOURS)))], np.float32)
    h, w = img.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    ys, xs = np.nonzero(alpha)
    if not len(ys):
        return img.copy(), np.zeros((h, w), np.uint8)
    along_n = (gx - xs.mean()) * n[0] + (gy - ys.mean()) * n[1]
    along_u = (gx - xs.mean()) * u[0] + (gy - ys.mean()) * u[1]
    shade = 1.0 - rng.uniform(0.0, 0.2) * along_n / d - rng.uniform(-0.1, 0.1) * along_u / d
    pleat = (
        1.0
        - rng.uniform(0, 0.15) * np.clip(np.cos(along_n / (d * rng.uniform(0.15, 0.35)) * np.pi) - 0.7, 0, None) / 0.3
    )
    paint = colour * (shade * pleat)[..., None]
    if rng.random() < 0.2:
        period = max(3.0, d * rng.uniform(0.12, 0.3))
        ink = (np.mod(along_u + along_n * rng.uniform(-1, 1), period) < period * 0.35)[..., None]
        paint = np.where(ink, rng.integers(0, 256, 3).astype(np.float32) * shade[..., None], paint)
    paint = paint + rng.normal(0, rng.uniform(1.0, 4.0), paint.shape).astype(np.float32)
    return _blend(img, np.clip(paint, 0, 255), alpha)


DRAW: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "bar": draw_bar,
    "pixelate": draw_mosaic,
    "blur": draw_blur,
    "surgical": draw_mask,
}
"""The stress benchmark's censor kinds (named as :data:`unmask.spec.KIND_REGION` names the finders' kinds)."""


def tone_shift(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` (HxWx3 uint8) with the light and the skin's apparent tone changed: a brightness gain of 0.5-1.3,
    per-channel gains that warm or cool the colours, and a gamma of 0.8-1.35."""
    gain = rng.uniform(0.5, 1.3) * np.array([rng.uniform(0.85, 1.1), rng.uniform(0.78, 1.05), rng.uniform(0.65, 1.05)])
    x = np.clip(img.astype(np.float32) / 255.0 * gain.astype(np.float32), 0, 1) ** rng.uniform(0.8, 1.35)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def closeup(img: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crop of ``img`` where the face fills the frame, as selfies are framed: 1.0-1.25 face widths wide, from
    just above the brows to 0-0.3 face heights below the chin (a mask drawn on it runs off the bottom edge), then
    enlarged 2-3.5x (cubic). The landmarks must be found again on it."""
    pts = np.asarray(pts, np.float64)
    oval = pts[list(L.FACE_OVAL)]
    (x0, y0), (x1, y1) = oval.min(0), oval.max(0)
    fw, fh = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + fw * rng.uniform(-0.05, 0.05)
    half = fw * rng.uniform(1.0, 1.25) / 2
    top = y0 - fh * rng.uniform(0.0, 0.15)
    bottom = y1 + fh * rng.uniform(0.0, 0.3)
    h, w = img.shape[:2]
    a, b = int(max(round(cx - half), 0)), int(min(round(cx + half), w))
    c, e = int(max(round(top), 0)), int(min(round(bottom), h))
    crop = img[c:e, a:b]
    f = rng.uniform(2.0, 3.5)
    return cv2.resize(crop, (round(crop.shape[1] * f), round(crop.shape[0] * f)), interpolation=cv2.INTER_CUBIC)


__all__ = [
    "DRAW",
    "closeup",
    "coverage",
    "draw_blur",
    "draw_bar",
    "draw_mask",
    "draw_mosaic",
    "frame",
    "mask_outline",
    "mosaic_params",
    "outline",
    "pixelated",
    "tone_shift",
]
