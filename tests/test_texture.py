"""Texture and colour of the hole (issue 24): detail ratio, the padded hole box, KID, tone error, ITA and the skin
groups. The pure functions need neither torch nor ../shared; the KID on SqueezeNet features needs the weights
(skipped without them)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from unmask.measure.scores import FaceScore
from unmask.measure.skin import GROUPS, SKIN_PATCHES, face_ita, skin_groups, visible_skin
from unmask.measure.texture import (
    detail_ratio,
    hole_box_crop,
    kid,
    kid_interval,
    mean_lab,
    padded_box,
    tone_error,
    ita,
)


def _textured(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    """Fine texture over a smooth gradient, HxWx3 uint8."""
    rng = np.random.default_rng(seed)
    base = np.linspace(60, 180, w)[None, :, None] + np.linspace(0, 30, h)[:, None, None]
    return np.clip(base + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)


def _hole(h: int = 120, w: int = 160, box: tuple[int, int, int, int] = (40, 70, 30, 130)) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = box
    m[y0:y1, x0:x1] = 255
    return m


# -- detail -----------------------------------------------------------------------------------------------------------
def test_detail_ratio_is_one_for_the_photo_and_falls_with_blur() -> None:
    img, hole = _textured(), _hole()
    assert detail_ratio(img, img, hole) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    assert detail_ratio(blurred, img, hole) < 0.5
    noisier = np.clip(img.astype(int) + np.random.default_rng(1).normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    assert detail_ratio(noisier, img, hole) > 1.2
    flat = np.full_like(img, 128)
    assert detail_ratio(img, flat, hole) is None  # the photo has no detail there: nothing to compare with


def test_detail_ratio_ignores_the_seam() -> None:
    """A step at the hole's edge (a restored patch a shade off) is left out: only pixels 2 px inside count, and
    the 3x3 Laplacian there does not reach the hole's outermost pixels."""
    img, hole = _textured(), _hole()
    stepped = img.copy()
    stepped[hole > 127] = np.clip(stepped[hole > 127].astype(int) + 40, 0, 255)
    assert detail_ratio(stepped, img, hole) == pytest.approx(1.0, abs=0.05)
    stepped_out = img.copy()  # a change only on the hole's outermost row does not count
    stepped_out[40, 30:130] = 0
    assert detail_ratio(stepped_out, img, hole) == pytest.approx(1.0)


# -- hole box ---------------------------------------------------------------------------------------------------------
def test_hole_box_is_padded_by_a_quarter_of_its_height_and_clipped() -> None:
    hole = _hole(box=(40, 80, 30, 130))  # 40 px high: 10 px on every side
    assert padded_box(hole) == (30, 90, 20, 140)
    edge = _hole(box=(0, 40, 0, 100))
    assert padded_box(edge) == (0, 50, 0, 110)


@pytest.mark.parametrize("box", [(40, 70, 30, 130), (10, 110, 60, 90), (50, 53, 70, 72)])
def test_hole_box_crop_has_a_64_px_short_side(box: tuple[int, int, int, int]) -> None:
    img, hole = _textured(), _hole(box=box)
    crop = hole_box_crop(img, hole)
    y0, y1, x0, x1 = padded_box(hole)
    assert min(crop.shape[:2]) == 64 and crop.dtype == np.uint8 and crop.shape[2] == 3
    assert max(crop.shape[:2]) == pytest.approx(64 * max(y1 - y0, x1 - x0) / min(y1 - y0, x1 - x0), abs=1)
    assert hole_box_crop(img[::-1].copy(), hole).shape == crop.shape  # one hole, one shape


# -- KID --------------------------------------------------------------------------------------------------------------
def test_kid_is_zero_for_one_set_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(1.0, 0.5, (80, 32)))
    y = np.abs(rng.normal(1.0, 0.5, (80, 32)))  # same distribution, other draws
    assert kid(x, x, paired=True) == pytest.approx(0.0, abs=1e-12)
    same = kid(x, y)
    shifted = kid(x, x + 0.5)
    assert abs(same) < 0.1 and shifted > 5 and shifted > 100 * abs(same)
    assert 0 < kid(x, x + 0.1) < shifted  # a smaller shift, a smaller distance
    # unbiased: over many draws from one distribution, estimates fall on both sides of 0
    draws = [kid(rng.normal(0, 1, (20, 8)), rng.normal(0, 1, (20, 8))) for _ in range(40)]
    assert min(draws) < 0 < max(draws) and abs(np.mean(draws)) < 3 * np.std(draws) / math.sqrt(len(draws))
    # the unpaired estimate of a set against itself is below 0 (each point's kernel with itself is left out within
    # the set, not across): the paired estimate exists for that
    assert kid(x, x) < 0


def test_kid_interval_and_errors() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (40, 16))
    v, lo, hi = kid_interval(x, x + 1.0)
    assert lo <= v <= hi and lo > 0 and v == pytest.approx(kid(x, x + 1.0, paired=True))
    assert kid_interval(x, x + 1.0) == (v, lo, hi)  # fixed seed
    v0, lo0, hi0 = kid_interval(x, x)
    assert v0 == pytest.approx(0.0, abs=1e-12) and lo0 <= 0 <= hi0
    with pytest.raises(ValueError):
        kid(x[:1], x[:1])
    with pytest.raises(ValueError):
        kid(x, x[:, :3])
    with pytest.raises(ValueError):
        kid_interval(x, x[:10])


def test_kid_on_squeezenet_features_tells_blur(lpips) -> None:
    from skimage import data

    img = data.astronaut()
    rng = np.random.default_rng(0)
    crops = [img[y : y + 96, x : x + 128] for y, x in zip(rng.integers(0, 400, 24), rng.integers(0, 370, 24))]
    crops = [cv2.resize(c, (85, 64), interpolation=cv2.INTER_AREA) for c in crops]
    f = lpips.pooled(crops)
    assert f.shape == (24, 512) and np.allclose(np.linalg.norm(f, axis=1), math.sqrt(512))
    blurred = lpips.pooled([cv2.GaussianBlur(c, (0, 0), 2.0) for c in crops])
    assert kid(f, f, paired=True) == pytest.approx(0.0, abs=1e-9)
    assert 1000 * kid(f, blurred, paired=True) > 100


# -- tone -------------------------------------------------------------------------------------------------------------
def test_tone_error_is_zero_for_identical_and_ten_for_a_lightness_shift() -> None:
    img, hole = _textured(), _hole()
    assert tone_error(img, img, hole) == 0.0
    lab = cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 0] += 10
    lighter = np.clip(np.round(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255), 0, 255).astype(np.uint8)
    assert tone_error(lighter, img, hole) == pytest.approx(10.0, abs=0.3)
    assert mean_lab(lighter, hole)[0] - mean_lab(img, hole)[0] == pytest.approx(10.0, abs=0.3)
    # outside the hole nothing counts
    elsewhere = img.copy()
    elsewhere[:30] = 0
    assert tone_error(elsewhere, img, hole) == 0.0


# -- ITA and skin groups ----------------------------------------------------------------------------------------------
def _skin(rgb: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(np.array(rgb, float) + rng.normal(0, 4, (40, 40, 3)), 0, 255).astype(np.uint8)


def test_ita_orders_light_and_dark_skin() -> None:
    mask = np.full((40, 40), 255, np.uint8)
    light, tan, dark = (ita(_skin(c), mask) for c in ((236, 200, 180), (190, 140, 105), (100, 65, 45)))
    assert light is not None and tan is not None and dark is not None
    assert light > 41 and dark < -10 and light > tan > dark  # Chardon's scale: very light > 55, dark < -30
    lab = cv2.cvtColor(np.array([[[190, 140, 105]]], np.float32) / 255, cv2.COLOR_RGB2Lab)[0, 0]
    assert tan == pytest.approx(math.degrees(math.atan((lab[0] - 50) / lab[2])), abs=1.0)
    assert ita(_skin((190, 140, 105)), np.zeros((40, 40), np.uint8)) is None  # no skin given
    assert ita(_skin((150, 150, 150)), mask) is None  # a black-and-white photo: no skin tone to read


def test_visible_skin_leaves_out_the_censor() -> None:
    from unmask.infer.face.align import template

    lm = template() * 200
    skin = visible_skin(lm, (200, 200, 3))
    assert (skin > 127).sum() > 500
    censor = np.zeros((200, 200), np.uint8)
    ys, xs = np.nonzero(skin)
    censor[ys.min() : ys.max() + 1, : int(np.median(xs))] = 255  # hides the left half of the patches
    left = visible_skin(lm, (200, 200, 3), censor)
    assert 0 < (left > 127).sum() < (skin > 127).sum() and not ((left > 127) & (censor > 127)).any()
    assert face_ita(np.full((200, 200, 3), (200, 150, 120), np.uint8), lm, censor) is not None
    assert set(SKIN_PATCHES) == {"forehead", "right cheek", "left cheek"}


def test_skin_groups_split_by_ita_rank() -> None:
    faces = []
    for i, a in enumerate([50.0, -20.0, 10.0, 35.0, 0.0, -40.0, 20.0]):
        for m, psnr in (("a", 20.0 + i), ("b", 10.0)):
            faces.append(FaceScore(f"p{i}", m, psnr, 0.5, 0.1, None, 0, 100, 0.01, hole_lpips=0.2, tone=3.0, ita=a))
    faces.append(FaceScore("p9", "a", 5.0, 0.5, 0.1, None, 0, 100, 0.01, ita=None))  # no skin seen: in no group
    groups = skin_groups(faces, ["a", "b"])
    assert [g.name for g in groups] == list(GROUPS) and [g.faces for g in groups] == [3, 2, 2]
    assert groups[0].ita == (20.0, 50.0) and groups[1].ita == (0.0, 10.0) and groups[2].ita == (-40.0, -20.0)
    first = groups[0].rows[0]
    assert first.name == "a" and first.psnr is not None and first.psnr[0] == pytest.approx((20 + 23 + 26) / 3)
    assert first.hole_lpips == pytest.approx((0.2, 0.2, 0.2)) and groups[0].rows[1].tone == pytest.approx((3.0,) * 3)
    d = groups[2].to_dict()
    assert d["group"] == "darkest" and d["faces"] == 2 and d["rows"][1]["name"] == "b"
    assert skin_groups([], ["a"]) == []
