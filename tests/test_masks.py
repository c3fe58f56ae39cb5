"""unmask.infer.censors and unmask.infer.regions: censor and hole geometry on known landmarks (the canonical template and the
astronaut's face), and their registries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.censors import TRAIN_MARGIN, censor, draw_censor
from unmask.infer.censors.bar import (
    H_RANGE,
    HALF_H,
    HALF_LEN,
    LEN_RANGE,
    MAX_ANGLE,
    SHIFT_ALONG,
    SHIFT_DOWN,
    eye_bar_polygon,
)
from unmask.infer.censors.freeform import freeform_mask
from unmask.infer.face.geometry import dilate, eye_frame, polygon_mask
from unmask.infer.censors.hole import hole_mask
from unmask.infer.censors.pixelate import draw_eye_band, pixelate
from unmask.infer.censors.surgical import surgical_polygon
from unmask.infer.face import landmarks as L
from unmask.infer.crop import align
from unmask.infer.face.align import template
from unmask.spec import CENSOR_KINDS, KIND_REGION

SIZE = 256


@pytest.fixture(scope="module")
def canon() -> np.ndarray:
    """Known landmarks: the canonical 478-point template in a 256 px crop."""
    return template() * SIZE


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    contour = np.asarray(poly, np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in np.atleast_2d(pts)])


def _in_mask(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.round(np.atleast_2d(pts)).astype(int)
    return mask[p[:, 1], p[:, 0]] > 0


def _similarity(pts: np.ndarray, scale: float, angle_deg: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ r.T + np.asarray(shift)


def _brow_gap(pts: np.ndarray) -> np.ndarray:
    """Points between the eyes and the brows: midpoints of each brow point and the eye point nearest to it, and
    midpoints between the inner brow ends (the glabella)."""
    out = []
    for brow, eye in ((L.RIGHT_BROW, L.RIGHT_EYE), (L.LEFT_BROW, L.LEFT_EYE)):
        e = pts[list(eye)]
        for b in pts[list(brow)]:
            out.append((b + e[np.argmin(((e - b) ** 2).sum(1))]) / 2)
    inner = (pts[55] + pts[285]) / 2  # inner brow ends
    out += [inner, (inner + pts[L.NOSE_BRIDGE]) / 2]
    return np.array(out)


# ------------------------------------------------------------------------------------------------------ eye bar


def test_eye_bar_covers_both_eyes_between_brows_and_nose(canon: np.ndarray) -> None:
    poly = eye_bar_polygon(canon)
    r, l = L.eye_centres(canon)
    assert _inside(poly, np.stack([r, l])).all()
    assert _inside(poly, canon[L.EYES]).all(), "every eye and iris landmark is under the bar"
    c, u, n, d = eye_frame(canon)
    depth = (poly - c) @ n  # towards the chin
    brows = (canon[list(L.RIGHT_BROW + L.LEFT_BROW)] - c) @ n
    nose = (canon[L.NOSE_TIP] - c) @ n
    assert depth.min() > brows.min(), "the bar's top edge is below the top of the brows"
    assert depth.max() < nose, "the bar's bottom edge is above the nose tip"
    assert not _inside(poly, canon[[L.NOSE_TIP, L.MOUTH_LEFT, L.MOUTH_RIGHT, L.CHIN]]).any()


def test_eye_bar_on_a_real_face(astronaut_face) -> None:
    pts = astronaut_face.landmarks
    poly = eye_bar_polygon(pts)
    assert _inside(poly, np.stack(L.eye_centres(pts))).all()
    assert not _inside(poly, pts[[L.NOSE_TIP, L.MOUTH_LEFT, L.MOUTH_RIGHT, L.CHIN]]).any()


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.7])
def test_eye_bar_scales_with_the_inter_ocular_distance(canon: np.ndarray, scale: float) -> None:
    base = eye_bar_polygon(canon)
    moved = _similarity(canon, scale, 17.0, (40.0, -12.0))
    # the bar of the transformed face is the transformed bar: its size follows the inter-ocular distance
    np.testing.assert_allclose(eye_bar_polygon(moved), _similarity(base, scale, 17.0, (40.0, -12.0)), atol=1e-6)
    d = eye_frame(moved)[3]
    sides = np.hypot(*(np.roll(eye_bar_polygon(moved), -1, 0) - eye_bar_polygon(moved)).T)
    np.testing.assert_allclose(sorted(sides), sorted([2 * HALF_LEN * d] * 2 + [2 * HALF_H * d] * 2), rtol=1e-6)


def test_eye_bar_jitter_stays_within_bounds(canon: np.ndarray) -> None:
    c, u, n, d = eye_frame(canon)
    nominal = eye_bar_polygon(canon)
    lengths, heights, angles, rounded = [], [], [], 0
    for seed in range(300):
        poly = eye_bar_polygon(canon, np.random.default_rng(seed))
        assert _inside(poly, np.stack(L.eye_centres(canon))).all(), f"seed {seed}: an eye centre is not covered"
        (_, _), (w, h), _ = cv2.minAreaRect(poly.astype(np.float32))
        length, height = max(w, h), min(w, h)
        long_axis = max((poly[k + 1] - poly[k] for k in range(len(poly) - 1)), key=lambda v: np.hypot(*v))
        lengths.append(length / (2 * HALF_LEN * d))
        heights.append(height / (2 * HALF_H * d))
        angles.append(np.degrees(np.arctan2(long_axis @ n, long_axis @ u)))
        rounded += len(poly) > 4
        centre = poly.mean(0)
        assert np.hypot(*(centre - c)) <= np.hypot(SHIFT_DOWN, SHIFT_ALONG) * d + 1e-6
        assert ((poly - c) @ n).max() < (canon[L.NOSE_TIP] - c) @ n
    lengths, heights, angles = map(np.array, (lengths, heights, angles))
    assert lengths.min() >= LEN_RANGE[0] - 1e-3 and lengths.max() <= LEN_RANGE[1] + 1e-3
    assert heights.min() >= H_RANGE[0] - 1e-3 and heights.max() <= H_RANGE[1] + 1e-3
    assert np.abs((angles + 90) % 180 - 90).max() <= MAX_ANGLE + 1e-3
    # and it really varies: sizes, angles, and square and rounded corners
    assert lengths.std() > 0.05 and heights.std() > 0.05 and angles.std() > 2.0
    assert 50 < rounded < 250
    assert not np.allclose(eye_bar_polygon(canon, np.random.default_rng(0))[:4], nominal)


def test_randomised_bars_are_antialiased_and_coloured_sometimes(canon: np.ndarray) -> None:
    img = np.full((SIZE, SIZE, 3), 200, np.uint8)
    partial, colours = 0, set()
    for seed in range(40):
        out, mask = draw_censor(img, canon, "bar", np.random.default_rng(seed))
        inside = out[mask > 0]
        colours.add(tuple(np.median(inside, 0).astype(int)))
        partial += int((np.abs(inside.astype(int) - np.median(inside, 0)).max(1) > 30).sum() > 0)
        assert np.array_equal(out[mask == 0], img[mask == 0])
    assert partial >= 8, "anti-aliased edges (pixels mixing bar and photo) on some bars"
    assert len(colours) >= 20


def test_draw_eye_bar_is_black_without_rng_and_leaves_the_rest(canon: np.ndarray) -> None:
    img = np.random.default_rng(0).integers(30, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    out, mask = draw_censor(img, canon, "bar")
    assert (out[mask > 0] == 0).all()
    assert np.array_equal(out[mask == 0], img[mask == 0])
    assert np.array_equal(mask > 0, polygon_mask(img.shape, eye_bar_polygon(canon)) > 0)


# -------------------------------------------------------------------------------------------------- surgical mask


@pytest.mark.parametrize("source", ["template", "astronaut"])
def test_surgical_polygon_covers_nose_mouth_chin_not_eyes(canon: np.ndarray, astronaut_face, source: str) -> None:
    pts = canon if source == "template" else astronaut_face.landmarks
    poly = surgical_polygon(pts)
    assert _inside(poly, pts[[L.NOSE_TIP, L.MOUTH_LEFT, L.MOUTH_RIGHT, L.CHIN]]).all()
    assert _inside(poly, pts[list(L.LIPS)]).all()
    assert not _inside(poly, pts[L.EYES]).any()
    assert not _inside(poly, np.stack(L.eye_centres(pts))).any()


def test_surgical_jitter_keeps_nose_mouth_chin_and_spares_eyes(canon: np.ndarray) -> None:
    for seed in range(100):
        poly = surgical_polygon(canon, np.random.default_rng(seed))
        assert _inside(poly, canon[[L.NOSE_TIP, L.MOUTH_LEFT, L.MOUTH_RIGHT, L.CHIN]]).all(), seed
        assert not _inside(poly, np.stack(L.eye_centres(canon))).any(), seed


# ---------------------------------------------------------------------------------------------------------- holes


def _points(source: str, region: str, canon: np.ndarray, astronaut, astronaut_face) -> tuple[np.ndarray, int]:
    """The landmarks a hole is drawn on and the crop's side: the template's, or the astronaut's aligned for
    ``region``."""
    if source == "template":
        return canon, SIZE
    return align(astronaut, astronaut_face, 128, region).landmarks.astype(np.float64), 128


@pytest.mark.parametrize("source", ["template", "astronaut"])
def test_eye_hole_covers_eyes_and_brow_gap_not_mouth(canon: np.ndarray, astronaut, astronaut_face, source: str) -> None:
    pts, size = _points(source, "eyes", canon, astronaut, astronaut_face)
    hole = hole_mask(pts, size, "eyes")
    assert hole.shape == (size, size) and hole.dtype == np.uint8 and set(np.unique(hole)) <= {0, 255}
    assert _in_mask(hole, pts[L.EYES]).all(), "eye contours and irises"
    assert _in_mask(hole, _brow_gap(pts)).all(), "the gap between eyes and brows"
    assert not _in_mask(hole, pts[list(L.LIPS)]).any()
    assert not _in_mask(hole, pts[[L.NOSE_TIP, L.CHIN]]).any()


@pytest.mark.parametrize("source", ["template", "astronaut"])
def test_mouth_hole_covers_lips_nose_tip_chin_not_eyes(
    canon: np.ndarray, astronaut, astronaut_face, source: str
) -> None:
    pts, size = _points(source, "mouth", canon, astronaut, astronaut_face)
    hole = hole_mask(pts, size, "mouth")
    assert _in_mask(hole, pts[list(L.LIPS)]).all()
    assert _in_mask(hole, pts[[L.NOSE_TIP, L.CHIN, L.MOUTH_LEFT, L.MOUTH_RIGHT]]).all()
    assert not _in_mask(hole, pts[L.EYES]).any()


def test_hole_includes_where_the_template_expects_the_region(canon: np.ndarray) -> None:
    """Landmarks under a bar drift (MEASURED.md): the hole still covers where the template puts the eyes."""
    drifted = canon.copy()
    drifted[L.EYE_REGION] += np.array([0.0, 0.12 * eye_frame(canon)[3]])  # eyes pushed down by 0.12 IOD
    hole = hole_mask(drifted, SIZE, "eyes")
    assert _in_mask(hole, canon[L.EYES]).all()
    assert _in_mask(hole, drifted[L.EYES]).all()


def test_hole_rejects_unknown_region(canon: np.ndarray) -> None:
    with pytest.raises(ValueError, match="nose"):
        hole_mask(canon, SIZE, "nose")


# --------------------------------------------------------------------------------------------------------- censor


@pytest.mark.parametrize("kind", ["bar", "pixelate", "surgical"])
def test_censor_hole_covers_the_occluder(canon: np.ndarray, kind: str) -> None:
    img = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    for seed in range(25):
        censored, hole = censor(img, canon, kind, np.random.default_rng(seed))
        again, occ = draw_censor(img, canon, kind, np.random.default_rng(seed))
        moved = np.abs(censored.astype(int) - again.astype(int)).mean()
        assert moved <= 4, "censor draws what draw_censor draws (then JPEG-compresses some samples)"
        assert occ.any()
        assert not (occ.astype(bool) & ~hole.astype(bool)).any(), f"{kind} seed {seed}: occluder outside the hole"
        # the hole is the occluder plus a margin of TRAIN_MARGIN pixels, never the whole landmark region
        assert not (hole.astype(bool) & ~(dilate(occ, TRAIN_MARGIN[1]) > 0)).any(), f"{kind} seed {seed}: hole too big"
        assert (hole > 0).sum() >= (dilate(occ, TRAIN_MARGIN[0]) > 0).sum() - 1
        region_hole = hole_mask(canon, SIZE, KIND_REGION[kind])
        if kind == "bar":
            assert (hole > 0).sum() < 0.9 * (region_hole > 0).sum(), "a bar's hole is smaller than the eye band"
    # without rng (no JPEG): nothing changes outside the occluder
    censored, _ = censor(img, canon, kind)
    _, occ = draw_censor(img, canon, kind)
    assert np.array_equal(censored[occ == 0], img[occ == 0]), "nothing changes outside the occluder"


def test_censor_freeform_and_unknown_kind(canon: np.ndarray) -> None:
    img = np.full((SIZE, SIZE, 3), 200, np.uint8)
    out, occ = draw_censor(img, canon, "freeform", np.random.default_rng(3))
    assert 0.005 < (occ > 0).mean() < 0.5
    assert (out[occ > 0] == 0).all() and (out[occ == 0] == 200).all()
    _, hole = censor(img, canon, "freeform", np.random.default_rng(3))
    assert (hole >= occ).all() and (hole > 0).sum() > (occ > 0).sum(), "the strokes plus a margin"
    assert set(CENSOR_KINDS) == {"bar", "pixelate", "surgical", "blur", "blur-mouth", "freeform"}
    with pytest.raises(ValueError, match="tape"):
        censor(img, canon, "tape")


def test_freeform_mask_is_random_but_reproducible() -> None:
    a = freeform_mask((128, 128), np.random.default_rng(5))
    b = freeform_mask((128, 128), np.random.default_rng(5))
    c = freeform_mask((128, 128), np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == np.uint8 and set(np.unique(a)) <= {0, 255}


# ------------------------------------------------------------------------------------------------------- pixelate


@pytest.mark.parametrize("block", [4, 7, 12])
def test_pixelate_produces_blocks(block: int) -> None:
    img = np.random.default_rng(2).integers(0, 256, (96, 120, 3), dtype=np.uint8)
    mask = np.zeros(img.shape[:2], np.uint8)
    y0, x0 = 10, 21
    mask[y0 : y0 + 5 * block, x0 : x0 + 6 * block] = 255
    out = pixelate(img, mask, block)
    assert np.array_equal(out[mask == 0], img[mask == 0])
    for by in range(5):
        for bx in range(6):
            cell = out[y0 + by * block : y0 + (by + 1) * block, x0 + bx * block : x0 + (bx + 1) * block]
            src = img[y0 + by * block : y0 + (by + 1) * block, x0 + bx * block : x0 + (bx + 1) * block]
            assert (cell == cell[0, 0]).all(), f"block {by},{bx} is not flat"
            assert np.abs(cell[0, 0].astype(float) - src.reshape(-1, 3).mean(0)).max() <= 1.0, "block = mean"
    # neighbouring blocks differ (noise): it is a mosaic, not a flat fill
    assert len({tuple(out[y0 + k * block, x0]) for k in range(5)}) > 1
    # a box that is not a whole number of blocks: the cut last blocks average what they cover
    mask[y0 : y0 + 5 * block + 2, x0 : x0 + 6 * block + 1] = 255
    out = pixelate(img, mask, block)
    cut = img[y0 + 5 * block : y0 + 5 * block + 2, x0 + 6 * block : x0 + 6 * block + 1].reshape(-1, 3).mean(0)
    assert np.abs(out[y0 + 5 * block, x0 + 6 * block].astype(float) - cut).max() <= 0.5


def test_eye_band_is_a_mosaic_over_both_eyes(astronaut, astronaut_face) -> None:
    pts = astronaut_face.landmarks
    out, band = draw_eye_band(astronaut, pts)
    assert _in_mask(band, np.stack(L.eye_centres(pts))).all()
    assert np.array_equal(out[band == 0], astronaut[band == 0])
    ys, xs = np.nonzero(band)
    sub = out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(int)
    same = (np.abs(np.diff(sub, axis=1)).sum(2) == 0).mean()
    assert same > 0.7, "most horizontal neighbours inside a mosaic are equal"
    orig = astronaut[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(int)
    assert (np.abs(np.diff(orig, axis=1)).sum(2) == 0).mean() < 0.3


# ------------------------------------------------------------------------------------------------------ registries


def test_every_censor_kind_and_region_is_registered() -> None:
    """One registry entry per censor kind (builder, and a finder for the kinds people put on faces) and per region
    (fit weights, search areas, landmark outline, the finders ``auto`` tries), named as unmask.spec names them."""
    from unmask.infer import censors, regions
    from unmask.spec import FACE_CENSORS, REGION_KINDS, REGIONS

    for kind in CENSOR_KINDS:
        entry = censors.get(kind)
        assert entry.kind == kind and entry.region == KIND_REGION[kind]
        assert (entry.find is not None) == (kind in FACE_CENSORS), "a finder for every face censor, none for freeform"
    assert [r.name for r in regions.all_regions()] == list(REGIONS), "auto searches the regions in spec's order"
    t = template()
    for r in regions.all_regions():
        assert r.kinds == REGION_KINDS[r.name] and sorted(r.finds) == sorted(r.kinds), (
            "every kind of the region is looked for"
        )
        w = r.fit_weights(t)
        assert w.shape == (len(t),) and 0 < w.sum() < len(t)
        window, core, _ = r.areas(t * SIZE)
        assert _inside(window, core).all(), "the core lies in the window"
        assert len(r.outline(t * SIZE)) >= 3
    with pytest.raises(ValueError, match="unknown region 'nose'"):
        regions.get("nose")
    with pytest.raises(ValueError, match="unknown censor kind 'tape'"):
        censors.get("tape")


def _edge_search(rgb: np.ndarray):
    from unmask.infer.censors.find import Search

    h, w = rgb.shape[:2]
    full = np.full((h, w), 255, np.uint8)
    return Search((0, 0, w, h), full, np.zeros_like(full), 60.0, 1.0, rgb, np.array([0.0, -1.0]), np.zeros_like(full))


def test_mask_edge_joins_the_outline_pixels_of_the_mask_colour_and_not_the_skin() -> None:
    """A mask found a pixel or two short of its anti-aliased outline (as the working scale leaves it) is joined by
    the outline pixels of its colour; where the mask is the skin's colour nothing joins; skin is never taken."""
    import cv2

    from unmask.infer.censors.surgical import EDGE_REACH, refine_edge

    h, w = 120, 160
    skin = np.array([200, 160, 130], np.float32)
    blue = np.array([90, 150, 220], np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot((xx - 80) / 60.0, (yy - 60) / 40.0)  # an ellipse, anti-aliased over ~2 px at its edge
    cover = np.clip((1.0 - d) * 40.0 + 0.5, 0.0, 1.0)[..., None]
    photo = (cover * blue + (1 - cover) * skin).astype(np.uint8)
    short = np.where(cover[..., 0] >= 0.999, 255, 0).astype(np.uint8)
    short = cv2.erode(short, np.ones((3, 3), np.uint8))  # found 1-2 px short of the outline
    refined = refine_edge(short, _edge_search(photo))
    bluish = cover[..., 0] > 0.5  # pixels nearer the mask's colour than the skin's
    left_before = int((bluish & (short == 0)).sum())
    left_after = int((bluish & (refined == 0)).sum())
    assert left_before > 100 and left_after < 0.1 * left_before, (left_before, left_after)
    assert not (refined > 0)[cover[..., 0] < 0.25].any(), "skin beyond the outline is never joined"
    assert ((refined > 0) & (short == 0)).sum() <= (
        cv2.dilate(short, np.ones((2 * EDGE_REACH + 1,) * 2, np.uint8)) > short
    ).sum()
    same = np.full_like(photo, skin.astype(np.uint8))
    assert np.array_equal(refine_edge(short, _edge_search(same)), short), "a mask of the skin's colour gets nothing"
