"""Texture and colour of the hole, and the skin around it (issue 24): what PSNR and LPIPS on the face miss.

* :func:`detail_ratio`: mean |Laplacian| of grey inside the hole eroded 2 px, restored over true (1: as detailed
  as the photo; blur falls below 1);
* :func:`padded_box`, :func:`hole_box_crop`: the hole's box padded by a quarter of its height, resized to 64 px
  short side: where ``unmask eval``'s hole LPIPS and KID look;
* :func:`kid`, :func:`kid_interval`: kernel inception distance between two sets of feature vectors (cubic
  polynomial kernel, unbiased), with a bootstrap interval;
* :func:`mean_lab`, :func:`tone_error`: the hole's mean CIE Lab colour, CIE76 Delta E between restored and true;
* :func:`ita`: individual typology angle of a skin patch (:mod:`unmask.measure.skin` picks the patch).

Array conventions as :mod:`unmask.measure.metrics`: images ``HxWx3`` ``uint8`` RGB, masks ``HxW`` ``uint8`` with
``255`` = inside (values above 127 count); an empty hole is an error. Feature sets are ``NxD`` float arrays.
Pure functions of numpy and OpenCV; never prints.
"""

from __future__ import annotations

import numpy as np

from unmask.measure.metrics import BOOTSTRAP_SEED, CONFIDENCE, _hole_bool, _pair, hole_box
from unmask.spec import is_hole

DETAIL_ERODE = 2
"""Pixels of the hole within this many px of its edge are left out of :func:`detail_ratio` (the seam, the blend)."""

HOLE_PAD = 0.25
HOLE_SHORT = 64
""":func:`hole_box_crop`: the hole's box grown by this share of its height on every side, resized to this short side."""


def _grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.asarray(rgb).astype(np.float32), cv2.COLOR_RGB2GRAY)


def detail_ratio(pred: np.ndarray, target: np.ndarray, hole: np.ndarray, erode: int = DETAIL_ERODE) -> float | None:
    """Mean |Laplacian| (OpenCV, 3x3 aperture ``ksize=1``, on float grey in grey levels) of ``pred`` over that of
    ``target``, both over the hole's pixels farther than ``erode`` px inside its edge (the hole eroded by a
    ``2 * erode + 1`` px ellipse; the whole hole when erosion leaves nothing). 1: as detailed as the photo;
    below 1: smoother (blur); above: noisier. None when ``target`` is flat there (no detail to compare with)."""
    import cv2

    pred, target = _pair(pred, target)
    m = _hole_bool(hole, pred.shape)
    if erode > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1))
        inner = cv2.erode(m.astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=1).astype(bool)
        m = inner if inner.any() else m
    y0, y1, x0, x1 = hole_box(m.astype(np.uint8) * 255, 1)
    y0, y1, x0, x1 = max(0, y0 - 1), min(m.shape[0], y1 + 1), max(0, x0 - 1), min(m.shape[1], x1 + 1)
    inside = m[y0:y1, x0:x1]
    lap = [np.abs(cv2.Laplacian(_grey(im[y0:y1, x0:x1]), cv2.CV_32F, ksize=1))[inside].mean() for im in (pred, target)]
    return float(lap[0] / lap[1]) if lap[1] > 1e-6 else None


def padded_box(hole: np.ndarray, pad: float = HOLE_PAD) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)``: the hole's bounding box grown by ``pad`` times its height on each of the four sides,
    clipped to the image."""
    y0, y1, x0, x1 = hole_box(hole, 1)
    p = int(round(pad * (y1 - y0)))
    h, w = np.shape(hole)[:2]
    return max(0, y0 - p), min(h, y1 + p), max(0, x0 - p), min(w, x1 + p)


def hole_box_crop(image: np.ndarray, hole: np.ndarray, pad: float = HOLE_PAD, short: int = HOLE_SHORT) -> np.ndarray:
    """``image`` (HxWx3 uint8) cut to :func:`padded_box` of ``hole`` and resized (``cv2.INTER_AREA``) so that its
    short side is ``short`` px, the long side in proportion (rounded). Two images of one shape cut with one
    hole give crops of one shape."""
    import cv2

    y0, y1, x0, x1 = padded_box(hole, pad)
    crop = np.ascontiguousarray(np.asarray(image)[y0:y1, x0:x1])
    h, w = crop.shape[:2]
    s = short / min(h, w)
    size = (short, max(short, int(round(w * s)))) if h <= w else (max(short, int(round(h * s))), short)
    return cv2.resize(crop, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(x: np.ndarray, y: np.ndarray, paired: bool = False) -> float:
    """Kernel inception distance (Binkowski et al., 2018): the unbiased estimate of MMD^2 between the sets of
    feature vectors ``x`` (NxD) and ``y`` (MxD) with the cubic polynomial kernel ``k(a, b) = (a.b / D + 1)^3``.
    ``paired``: row ``i`` of ``x`` and of ``y`` come from one sample (N = M; e.g. a face restored and the same face
    as it was), so the cross term leaves out the pairs ``(i, i)`` as the within-set terms do (Gretton et al.
    2012, MMD_u^2): a paired pair is alike by construction and would pull the estimate below 0. 0 in expectation
    for one distribution; being unbiased it can fall slightly below 0 (paired: exactly 0 for ``x == y``)."""
    return _kid_counts(*_kernels(x, y, paired), None, paired)[0]


def _kernels(x: np.ndarray, y: np.ndarray, paired: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be NxD and MxD with one D, got {x.shape} and {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("KID needs at least two samples in each set")
    if paired and len(x) != len(y):
        raise ValueError(f"paired sets differ in size: {len(x)} vs {len(y)}")
    return _kernel(x, x), _kernel(y, y), _kernel(x, y)


def _kid_counts(
    kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, counts: np.ndarray | None, paired: bool
) -> np.ndarray:
    """Unbiased MMD^2 for each row of ``counts`` (BxN: how often each sample is drawn; None: each once), pairs of
    a sample with itself (and, ``paired``, of ``x_i`` with ``y_i``) left out."""
    if counts is None:
        if kxx.shape[0] != kyy.shape[0]:  # sizes differ: not paired, no resampling
            n, m = len(kxx), len(kyy)
            return np.array([(kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                             - 2.0 * kxy.mean()])  # fmt: skip
        counts = np.ones((1, len(kxx)))
    c2 = counts**2
    den = counts.sum(axis=1) ** 2 - c2.sum(axis=1)

    def pairs(k: np.ndarray, self_pairs: bool) -> np.ndarray:
        total = np.einsum("bi,ij,bj->b", counts, k, counts)
        return (total - c2 @ np.diag(k)) / den if self_pairs else total / counts.sum(axis=1) ** 2

    return pairs(kxx, True) + pairs(kyy, True) - 2.0 * pairs(kxy, paired)


def kid_interval(
    x: np.ndarray, y: np.ndarray, resamples: int = 1000, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """``(kid, lo, hi)``: :func:`kid` of paired sets (``paired=True``) and a 95% percentile-bootstrap interval:
    the samples are resampled with replacement (row ``i`` of both sets together) and each resample's estimate
    leaves out the pairs of a sample with itself, so it stays unbiased (fixed seed: the same sets always give
    the same interval)."""
    kxx, kyy, kxy = _kernels(x, y, True)
    n = len(kxx)
    value = float(_kid_counts(kxx, kyy, kxy, None, True)[0])
    c = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    c = c[(c > 0).sum(axis=1) > 1]  # at least two distinct samples
    vals = _kid_counts(kxx, kyy, kxy, c, True) if len(c) else np.array([value])
    alpha = (1.0 - CONFIDENCE) / 2.0
    lo, hi = np.quantile(vals, [alpha, 1.0 - alpha])
    return value, float(min(lo, value)), float(max(hi, value))


def mean_lab(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean CIE Lab colour (L in 0-100) over the pixels of ``mask`` (HxW, >127) of ``rgb`` (HxWx3 uint8), each
    pixel converted by OpenCV from float32 RGB in [0, 1] (sRGB, D65) before averaging."""
    import cv2

    m = _hole_bool(mask, np.shape(rgb))
    y0, y1, x0, x1 = hole_box(mask, 1)
    box = np.asarray(rgb)[y0:y1, x0:x1].astype(np.float32) / 255.0
    return cv2.cvtColor(box, cv2.COLOR_RGB2Lab)[m[y0:y1, x0:x1]].astype(np.float64).mean(axis=0)


def tone_error(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """CIE76 Delta E between the mean Lab colours (:func:`mean_lab`) of the hole in ``pred`` and in ``target``:
    how far off the restored pixels are in overall colour and lightness (about 2.3: just noticeable)."""
    pred, target = _pair(pred, target)
    return float(np.linalg.norm(mean_lab(pred, hole) - mean_lab(target, hole)))


def ita(rgb: np.ndarray, skin: np.ndarray, min_pixels: int = 20, min_chroma: float = 2.0) -> float | None:
    """Individual typology angle in degrees, ``atan2(L* - 50, b*)`` (= arctan((L* - 50) / b*) for b* > 0), from the
    median L*, a* and b* (OpenCV Lab of float32 RGB in [0, 1]) over the ``skin`` pixels (HxW uint8, >127) of ``rgb``
    (HxWx3 uint8). Higher is lighter skin (above 55: very light; below -30: dark); it moves with the photo's
    light and white balance as much as with the skin. None when fewer than ``min_pixels`` skin pixels are given,
    or when their median colour is grey (chroma ``hypot(a*, b*)`` below ``min_chroma``: a black-and-white photo,
    where b* is 0 and the angle says nothing)."""
    import cv2

    m = is_hole(np.asarray(skin))
    if int(np.count_nonzero(m)) < min_pixels:
        return None
    lab = cv2.cvtColor(np.asarray(rgb).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[m]
    lum, a, b = np.median(lab, axis=0)
    if np.hypot(a, b) < min_chroma:
        return None
    return float(np.degrees(np.arctan2(lum - 50.0, b)))
