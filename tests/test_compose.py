"""Paste-back at photo resolution: only the hole (the censor plus its margin) changes, feathered inside the
margin, colour-matched to the photo around it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.compose import MAX_SHIFT, TONE_STEP, hole_alpha, paste_in_box, tone_field
from unmask.infer.crop import align

GRAIN_LEVEL = 0.5  # the eyes' level (unmask.infer.regions.eyes.GRAIN)


def _bar(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 255
    return m


@pytest.mark.parametrize("margin", [0, 1, 2, 5])
def test_alpha_is_one_on_the_censor_feathered_in_the_margin_and_zero_beyond(margin: int) -> None:
    occ = _bar((60, 80), (20, 20, 60, 35))
    hole, alpha = hole_alpha(occ, margin)
    dist = cv2.distanceTransform((occ == 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert (alpha[occ > 0] == 1).all()
    assert (hole[dist <= margin] == 255).all() and (hole[dist > margin + 1e-3] == 0).all()
    assert (alpha[hole == 0] == 0).all(), "nothing beyond hole + margin"
    assert ((alpha >= 0) & (alpha <= 1)).all()
    if margin >= 2:
        ring = (dist > 0) & (hole > 0)
        assert (alpha[ring] < 1).any(), "feathered inside the margin"
        # alpha never rises going away from the censor
        for d0, d1 in [(1, 2), (2, 3)]:
            a0, a1 = alpha[np.isclose(dist, d0)], alpha[np.isclose(dist, d1)]
            if a0.size and a1.size:
                assert a1.max() <= a0.min() + 1e-6


def test_empty_occluder_gives_an_empty_hole() -> None:
    hole, alpha = hole_alpha(np.zeros((10, 10), np.uint8), 3)
    assert not hole.any() and not alpha.any()


def _setup(astronaut, face, size=64):
    a = align(astronaut, face, size, "eyes")
    return a


def test_only_the_hole_changes_and_it_takes_the_model_output(astronaut, astronaut_face) -> None:
    a = _setup(astronaut, astronaut_face)
    photo = astronaut.copy()
    box = (150, 80, 330, 170)
    occ = _bar((box[3] - box[1], box[2] - box[0]), (40, 30, 140, 55))
    hole, alpha = hole_alpha(occ, 2)
    green = np.full((a.size, a.size, 3), (0, 255, 0), np.uint8)
    before = photo.copy()
    assert paste_in_box(photo, green, a.matrix, box, hole, alpha, ring=4)
    changed = np.any(photo != before, axis=2)
    x0, y0, x1, y1 = box
    inside = np.zeros(photo.shape[:2], bool)
    inside[y0:y1, x0:x1] = hole > 0
    assert not changed[~inside].any(), "pixels outside the hole are bit-identical"
    core = np.zeros(photo.shape[:2], bool)
    core[y0:y1, x0:x1] = occ > 0
    # the censor itself holds the (colour-matched) model output: green, shifted by at most MAX_SHIFT
    g = photo[core].astype(int)
    assert (g[:, 1] - g[:, 0] > 255 - 2 * MAX_SHIFT - 2).mean() > 0.99


def test_colour_matching_removes_a_constant_cast(astronaut, astronaut_face) -> None:
    a = _setup(astronaut, astronaut_face, 96)
    box = (150, 80, 330, 170)
    x0, y0, x1, y1 = box
    occ = _bar((y1 - y0, x1 - x0), (40, 30, 140, 55))
    hole, alpha = hole_alpha(occ, 1)
    cast = np.clip(a.crop.astype(int) + (25, -20, 10), 0, 255).astype(np.uint8)  # the crop itself, with a cast
    photo = astronaut.copy()
    paste_in_box(photo, cast, a.matrix, box, hole, alpha, ring=6)
    sel = np.zeros(photo.shape[:2], bool)
    sel[y0:y1, x0:x1] = occ > 0
    err = photo[sel].astype(float).mean(0) - astronaut[sel].astype(float).mean(0)
    assert np.abs(err).max() < 6, err


def test_paste_clips_at_the_photo_border(astronaut, astronaut_face) -> None:
    a = _setup(astronaut, astronaut_face)
    photo = astronaut.copy()
    box = (0, 0, 40, 30)
    occ = _bar((30, 40), (0, 0, 20, 10))
    hole, alpha = hole_alpha(occ, 1)
    paste_in_box(photo, np.zeros((a.size, a.size, 3), np.uint8), a.matrix, box, hole, alpha, ring=3)
    changed = np.any(photo != astronaut, axis=2)
    assert not changed[:, 40:].any() and not changed[30:, :].any()


def _grainy(h: int = 120, w: int = 200, sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    """A smooth skin-like gradient with photo grain of ``sigma`` grey levels, HxWx3 uint8."""
    rng = np.random.default_rng(seed)
    base = np.linspace(90, 170, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None] + np.array([30, 0, -20])
    return np.clip(base + rng.normal(0, sigma, (h, w, 1)), 0, 255).astype(np.uint8)


def _identity_paste(
    photo: np.ndarray,
    fill: np.ndarray,
    occ: np.ndarray,
    margin: int,
    ring: int,
    grain: bool,
    level: float = GRAIN_LEVEL,
) -> np.ndarray:
    """Pastes ``fill`` (the photo's size, identity alignment) over the whole photo's box."""
    out = photo.copy()
    hole, alpha = hole_alpha(occ, margin)
    h, w = photo.shape[:2]
    paste_in_box(
        out, fill, np.array([[1.0, 0, 0], [0, 1.0, 0]]), (0, 0, w, h), hole, alpha, ring, grain=level if grain else 0.0
    )
    return out


def test_tone_follows_a_cast_that_changes_across_the_hole() -> None:
    """A fill whose cast runs from -25 (left) to +25 (right) is brought back to the photo's tone on both sides,
    which one constant shift cannot do."""
    photo = _grainy(sigma=0.0)
    h, w = photo.shape[:2]
    ramp = np.linspace(-25, 25, w)[None, :, None]
    fill = np.clip(photo.astype(float) + ramp, 0, 255).astype(np.uint8)
    occ = _bar((h, w), (20, 50, 180, 70))
    out = _identity_paste(photo, fill, occ, 1, 6, grain=False)
    sel = occ > 0
    err = np.abs(out.astype(float) - photo.astype(float))[sel].mean()
    const = np.abs(fill.astype(float) - photo.astype(float))[sel].mean()  # what the cast leaves, before any match
    assert err < 4 and err < 0.25 * const, (err, const)


def test_a_thick_hole_s_tone_field_worked_out_smaller_matches_the_full_resolution_one() -> None:
    """A hole 200 px thick (a large photo) has its tone field worked out at 1/6 of the size: within a grey level of
    the field blurred at full resolution, which cost seconds."""
    h, w = 420, 900
    hole = _bar((h, w), (150, 110, 750, 310))
    band = (cv2.dilate(hole, np.ones((41, 41), np.uint8)) > 0) & (hole == 0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    diff = np.stack([12 + 20 * xx / w, -8 + 10 * yy / h, 5 * np.sin(xx / 90)], axis=2).astype(np.float32)
    diff += np.random.default_rng(3).normal(0, 2, diff.shape).astype(np.float32)
    sigma = 100.0  # the hole's half-thickness (TONE_SCALE 1)
    assert sigma // TONE_STEP > 1, "the test's hole is thick enough to be worked out smaller"
    med = np.median(diff[band], axis=0)
    d = np.where(band[:, :, None], diff, 0).astype(np.float32)  # no outliers to clip in this smooth cast
    wgt = cv2.GaussianBlur(band.astype(np.float32), (0, 0), sigma)
    num = cv2.GaussianBlur(d, (0, 0), sigma)
    eps = 0.05 * float(wgt.max())
    full = np.clip((num + eps * med) / (wgt[:, :, None] + eps), -MAX_SHIFT, MAX_SHIFT)
    got = tone_field(diff, band, hole)
    inside = hole > 0
    assert np.abs(got - full)[inside].max() < 1.0
    assert np.abs(got - full).mean() < 0.2


def test_grain_tops_a_smooth_fill_up_to_the_photo_grain_and_is_reproducible() -> None:
    photo = _grainy(sigma=6.0)
    smooth = cv2.GaussianBlur(_grainy(sigma=0.0), (0, 0), 2)
    h, w = photo.shape[:2]
    occ = _bar((h, w), (30, 40, 170, 80))
    inner = cv2.erode(occ, np.ones((5, 5), np.uint8)) > 0

    def lap_std(img: np.ndarray) -> float:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(cv2.Laplacian(g, cv2.CV_32F, ksize=1)[inner].std())

    plain = _identity_paste(photo, smooth, occ, 2, 6, grain=False)
    grained = _identity_paste(photo, smooth, occ, 2, 6, grain=True)
    truth = lap_std(photo)
    assert lap_std(plain) < 0.2 * truth, "without grain the fill is smoother than the photo"
    got = lap_std(grained) / truth
    assert 0.8 * GRAIN_LEVEL < got < 1.25 * GRAIN_LEVEL, f"grain at {got:.2f} of the photo's, not {GRAIN_LEVEL}"
    assert np.array_equal(grained, _identity_paste(photo, smooth, occ, 2, 6, grain=True)), "same photo, same pixels"
    hole, _ = hole_alpha(occ, 2)
    assert np.array_equal(grained[hole == 0], photo[hole == 0]), "nothing outside the hole changes"
    # the hole's mean tone is not moved by the grain
    assert abs(grained[inner].astype(float).mean() - plain[inner].astype(float).mean()) < 1.0


def test_no_grain_is_added_to_a_fill_as_grainy_as_the_photo() -> None:
    photo = _grainy(sigma=6.0)
    fill = _grainy(sigma=6.0 * min(1.0, GRAIN_LEVEL + 0.1), seed=1)  # a little above the level topped up to
    h, w = photo.shape[:2]
    occ = _bar((h, w), (30, 40, 170, 80))
    assert np.array_equal(_identity_paste(photo, fill, occ, 2, 6, grain=True),
                          _identity_paste(photo, fill, occ, 2, 6, grain=False))  # fmt: skip


def test_regions_say_their_grain_and_the_mouth_gets_none() -> None:
    """Grain is per region: the eyes get half the photo's, the mouth none (it made hole LPIPS and KID worse)."""
    from unmask.infer import regions

    assert regions.get("eyes").grain == GRAIN_LEVEL and regions.get("mouth").grain == 0.0
    photo = _grainy(sigma=6.0)
    smooth = cv2.GaussianBlur(_grainy(sigma=0.0), (0, 0), 2)
    occ = _bar(photo.shape[:2], (30, 40, 170, 80))
    assert np.array_equal(_identity_paste(photo, smooth, occ, 2, 6, grain=True, level=0.0),
                          _identity_paste(photo, smooth, occ, 2, 6, grain=False))  # fmt: skip
