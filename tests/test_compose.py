"""unmask.compose: paste-back touches only the hole's neighbourhood, puts the output in the hole, works at the
photo's border and removes a generator's colour cast at the seam."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.compose import alpha_matte, blend_margin, hole_to_image, match_colour, paste
from unmask.face.align import align, matrix_scale, template, warp_to_crop
from unmask.masks.hole import hole_mask


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def _noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _distance_to_hole(hole: np.ndarray, m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Photo-pixel distance of every photo pixel from the crop hole warped into the photo."""
    inside = hole_to_image(hole, m, shape) > 0
    return cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)


CASES = [  # (crop size, region, matrix image->crop, photo shape)
    (64, "eyes", _similarity(0.5, 10.0, -30.0, -20.0), (300, 260)),  # crop smaller than the face (downscale)
    (128, "mouth", _similarity(2.0, -25.0, -60.0, 90.0), (160, 200)),  # small face, upscaled into the crop
    (128, "eyes", _similarity(0.93, 3.0, -5.0, 4.0), (200, 180)),
]


@pytest.mark.parametrize(("size", "region", "m", "shape"), CASES)
def test_pixels_beyond_the_blend_margin_are_bit_identical(size: int, region: str, m: np.ndarray, shape: tuple) -> None:
    photo = _noise(*shape, seed=size)
    hole = hole_mask(template() * size, size, region)
    crop_out = _noise(size, size, seed=99)
    reference = warp_to_crop(photo, m, size)
    out, box = paste(photo.copy(), crop_out, hole, m, reference=reference)
    changed = (out != photo).any(2)
    assert changed.any() and box is not None
    dist = _distance_to_hole(hole, m, shape)
    margin = blend_margin(size) / matrix_scale(m)  # crop pixels -> photo pixels
    far = dist > margin + 1.5  # + interpolation of the warped matte
    assert not changed[far].any(), f"{changed[far].sum()} pixels changed beyond the blend margin"
    assert changed[dist == 0].mean() > 0.95, "the hole itself is replaced"
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = box
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1, "changes lie in the box returned"


def test_paste_works_in_place_and_returns_the_photo() -> None:
    photo = _noise(120, 120, 1)
    m = _similarity(1.0, 0.0, -20.0, -20.0)
    hole = hole_mask(template() * 64, 64, "eyes")
    target = photo.copy()
    out, _ = paste(target, np.zeros((64, 64, 3), np.uint8), hole, m)
    assert out is target and not np.array_equal(target, photo)


@pytest.mark.parametrize(("size", "region", "m", "shape"), CASES)
def test_inside_the_hole_is_the_colour_matched_output(size: int, region: str, m: np.ndarray, shape: tuple) -> None:
    photo = cv2.GaussianBlur(_noise(*shape, seed=3), (0, 0), 4)
    hole = hole_mask(template() * size, size, region)
    reference = warp_to_crop(photo, m, size)
    # a constant output: what the hole receives is exactly the output after colour matching
    crop_out = np.full((size, size, 3), (200, 40, 120), np.uint8)
    matched = match_colour(crop_out, reference, hole)
    colour = matched[0, 0]
    assert (matched == colour).all()
    out, _ = paste(photo.copy(), crop_out, hole, m, reference=reference)
    inner = cv2.erode(hole_to_image(hole, m, shape), np.ones((3, 3), np.uint8)) > 0
    assert inner.sum() > 20
    assert (out[inner] == colour).all()
    # a textured output: inside the hole the photo shows the output warped back (no colour matching)
    crop_out = cv2.GaussianBlur(_noise(size, size, 4), (0, 0), 1.5)
    out, _ = paste(photo.copy(), crop_out, hole, m)
    back = cv2.warpAffine(crop_out, cv2.invertAffineTransform(m), shape[::-1], flags=cv2.INTER_CUBIC)
    assert np.abs(out[inner].astype(int) - back[inner].astype(int)).max() <= 1


def test_a_face_partly_outside_the_photo() -> None:
    photo = _noise(100, 140, 5)
    size = 64
    hole = hole_mask(template() * size, size, "eyes")
    # the crop's centre maps to the photo's left edge: half the face (and half the eye band) is outside
    m = _similarity(1.0, 8.0, 32.0, 0.0)
    crop_out = np.full((size, size, 3), 255, np.uint8)
    out, box = paste(photo.copy(), crop_out, hole, m, reference=warp_to_crop(photo, m, size))
    assert box is not None and box[0] == 0 and box[2] <= 140 and box[1] >= 0 and box[3] <= 100
    changed = (out != photo).any(2)
    assert changed.any()
    dist = _distance_to_hole(hole, m, photo.shape[:2])
    assert not changed[dist > blend_margin(size) + 1.5].any()
    # a face entirely outside: nothing to do
    far = _similarity(1.0, 0.0, 500.0, 500.0)
    again, box = paste(photo.copy(), crop_out, hole, far)
    assert box is None and np.array_equal(again, photo)


def test_align_and_paste_back_at_the_border(astronaut, astronaut_face) -> None:  # noqa: ANN001
    """A photo cut through the face: aligning replicates the edge, pasting writes only inside the photo."""
    x_cut = int(astronaut_face.landmarks[:, 0].mean())
    photo = np.ascontiguousarray(astronaut[:, x_cut:])
    pts = astronaut_face.landmarks - np.array([x_cut, 0], np.float32)
    a = align(photo, pts, 64, "eyes")
    hole = hole_mask(a.landmarks, 64, "eyes")
    out, box = paste(photo.copy(), np.zeros_like(a.crop), hole, a.matrix, reference=a.crop)
    assert box is not None and box[0] == 0
    changed = (out != photo).any(2)
    assert changed[:, :5].any(), "the part of the band inside the photo is restored up to the border"


def test_colour_matching_removes_a_constant_cast_at_the_seam(astronaut, astronaut_face) -> None:  # noqa: ANN001
    astronaut = (astronaut * 0.7 + 35).astype(np.uint8)  # headroom: the cast below never clips
    a = align(astronaut, astronaut_face, 128, "eyes")
    hole = hole_mask(a.landmarks, 128, "eyes")
    cast = np.array([30, -20, 15])
    crop_out = (a.crop.astype(int) + cast).astype(np.uint8)  # a perfect result with a colour cast
    assert np.abs(match_colour(crop_out, a.crop, hole).astype(int) - a.crop.astype(int)).max() <= 1
    matched, _ = paste(astronaut.copy(), crop_out, hole, a.matrix, reference=a.crop)
    raw, _ = paste(astronaut.copy(), crop_out, hole, a.matrix)
    dist = _distance_to_hole(hole, a.matrix, astronaut.shape[:2])
    seam = (dist > 0) & (dist <= blend_margin(128) / matrix_scale(a.matrix))
    inside = dist == 0
    err = lambda img, sel: np.abs(img[sel].astype(int) - astronaut[sel].astype(int)).mean(0)  # noqa: E731
    # the resampling alone (crop and back) costs this much; matching brings the cast output down to it
    no_cast, _ = paste(astronaut.copy(), a.crop, hole, a.matrix, reference=a.crop)
    assert err(raw, inside).min() > 10, "without matching the cast shows"
    assert err(matched, seam).max() < 2, err(matched, seam)
    assert (err(matched, inside) <= err(no_cast, inside) + 0.5).all(), (err(matched, inside), err(no_cast, inside))
    assert err(raw, seam).max() > 4 * err(matched, seam).max()


def test_match_colour_is_bounded_and_needs_a_ring() -> None:
    hole = np.zeros((64, 64), np.uint8)
    hole[20:40, 20:40] = 255
    ref = np.full((64, 64, 3), 200, np.uint8)
    out = np.full((64, 64, 3), 20, np.uint8)
    shifted = match_colour(out, ref, hole)
    assert (shifted == 60).all(), "a shift larger than MAX_SHIFT is clipped (a wrong model is not hidden)"
    full = np.full((64, 64), 255, np.uint8)
    assert match_colour(out, ref, full) is out, "no known pixels around the hole: unchanged"


@pytest.mark.parametrize("size", [64, 128, 256])
def test_alpha_matte_is_one_on_the_hole_and_zero_beyond_the_margin(size: int) -> None:
    hole = hole_mask(template() * size, size, "eyes")
    alpha = alpha_matte(hole)
    assert alpha.dtype == np.float32 and alpha.shape == hole.shape
    assert (alpha[hole > 0] == 1.0).all()
    dist = cv2.distanceTransform((hole == 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert (alpha[dist > blend_margin(size)] == 0).all()
    assert ((alpha > 0) & (alpha < 1)).any(), "feathered"
    assert alpha.min() >= 0 and alpha.max() <= 1


def test_hole_to_image_puts_the_hole_over_the_face(astronaut, astronaut_face) -> None:  # noqa: ANN001
    from unmask.face import landmarks as L

    a = align(astronaut, astronaut_face, 96, "eyes")
    img_hole = hole_to_image(hole_mask(a.landmarks, 96, "eyes"), a.matrix, astronaut.shape[:2])
    assert img_hole.shape == astronaut.shape[:2] and img_hole.dtype == np.uint8
    r, l = L.eye_centres(astronaut_face.landmarks)
    for x, y in (r, l):
        assert img_hole[int(round(y)), int(round(x))] == 255
    mx, my = astronaut_face.landmarks[L.MOUTH_LEFT]
    assert img_hole[int(round(my)), int(round(mx))] == 0
