"""Finding the censor itself (issue 10): the exact pixels a bar, a mosaic or a mask covers, at photo resolution,
within the window the landmarks give; nothing on a bare face. On the astronaut photo (always there) and on
validation faces from ../shared (skipped without them)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face.align import align_checked
from unmask.masks import draw_censor, jpeg
from unmask.masks.eye_band import pixelate
from unmask.masks.find import find_occluder, grow, margin_px
from unmask.masks.geometry import coverage_mask, eye_frame, rounded_rect
from unmask.metrics import hole_iou

SIZE = 128
REGION = {"bar": "eyes", "pixelate": "eyes", "surgical": "mouth"}


def _find(rgb: np.ndarray, face, region: str):  # noqa: ANN001, ANN202
    aligned, _ = align_checked(rgb, face, SIZE, region)
    return find_occluder(rgb, aligned.matrix, SIZE, region)


def _iou(occ, truth: np.ndarray) -> float:  # noqa: ANN001
    return hole_iou(occ.in_photo(truth.shape, occ.hole()), truth)


def _bar(rgb: np.ndarray, pts: np.ndarray, colour, angle: float = 0.0, radius: float = 0.0, aa: bool = False,
         half_h: float = 0.27):  # noqa: ANN001, ANN202
    c, u, n, d = eye_frame(pts)
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    poly = rounded_rect(c, rot @ u, rot @ n, 1.15 * d, half_h * d, radius * half_h * d)
    cover = coverage_mask(rgb.shape, poly, antialias=aa)
    alpha = cover[..., None] / 255.0
    out = np.clip(rgb * (1 - alpha) + np.asarray(colour) * alpha + 0.5, 0, 255).astype(np.uint8)
    return out, np.where(cover > 0, 255, 0).astype(np.uint8)


@pytest.mark.parametrize(
    "colour, angle, radius, aa, quality",
    [
        ((0, 0, 0), 0, 0, False, 0),
        ((0, 0, 0), 7, 0, True, 90),
        ((255, 255, 255), -5, 0.6, True, 85),
        ((200, 30, 40), 3, 1.0, False, 75),
        ((90, 90, 90), 0, 0.3, True, 95),
    ],
)
def test_bars_of_any_colour_angle_and_corner_shape(astronaut, astronaut_face, colour, angle, radius, aa, quality) -> None:  # noqa: ANN001
    censored, truth = _bar(astronaut, astronaut_face.landmarks, colour, angle, radius, aa)
    if quality:
        censored = jpeg(censored, quality)
    occ = _find(censored, astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar"
    assert _iou(occ, truth) >= 0.8, _iou(occ, truth)
    hole = occ.in_photo(truth.shape, occ.hole()) > 0
    assert hole[truth > 0].mean() >= 0.98, "the bar is in the hole"


# Blocks of 0.15-0.25 inter-ocular distances (a band 3-5 blocks high). Known limit: JPEG mosaics of larger blocks
# in a band under 3 blocks high are found only over the core's columns (README, "Finding the censor").
@pytest.mark.parametrize("block, phase, quality", [(8, (0, 0), 0), (9, (3, 5), 90), (7, (5, 2), 85), (6, (1, 1), 95), (10, (2, 7), 0)])
def test_mosaics_lossless_and_jpeg(astronaut, astronaut_face, block: int, phase, quality: int) -> None:  # noqa: ANN001
    c, u, n, d = eye_frame(astronaut_face.landmarks)
    truth = np.zeros(astronaut.shape[:2], np.uint8)
    x0, y0 = int(c[0] - 1.1 * d), int(c[1] - 0.35 * d)
    truth[y0 : int(c[1] + 0.35 * d), x0 : int(c[0] + 1.1 * d)] = 255
    censored = pixelate(astronaut, truth, block, phase)
    if quality:
        censored = jpeg(censored, quality)
    occ = _find(censored, astronaut_face, "eyes")
    assert occ is not None and occ.kind == "pixelate"
    assert occ.lattice is not None and occ.lattice[2] == occ.lattice[3] == block
    assert _iou(occ, truth) >= 0.85, _iou(occ, truth)


def test_a_bare_face_has_no_censor(astronaut, astronaut_face) -> None:  # noqa: ANN001
    assert _find(astronaut, astronaut_face, "eyes") is None
    assert _find(astronaut, astronaut_face, "mouth") is None


def test_surgical_mask_on_the_astronaut(astronaut, astronaut_face) -> None:  # noqa: ANN001
    censored, truth = draw_censor(astronaut, astronaut_face.landmarks, "surgical")
    occ = _find(jpeg(censored, 90), astronaut_face, "mouth")
    assert occ is not None and occ.kind == "surgical"
    assert _iou(occ, truth) >= 0.8


def test_margin_grows_with_the_face_and_grow_is_euclidean() -> None:
    assert margin_px(40) == 1 and margin_px(400) > margin_px(100) >= 1
    m = np.zeros((21, 21), np.uint8)
    m[10, 10] = 255
    g = grow(m, 3)
    assert g[10, 13] == 255 and g[10, 14] == 0 and g[12, 12] == 255 and g[13, 13] == 0


@pytest.mark.parametrize("kind", ["bar", "pixelate", "surgical"])
def test_randomised_censors_on_validation_faces(val_faces, finder, kind: str) -> None:  # noqa: ANN001
    """The project's own randomised censors (what training draws), JPEG q90, on unseen faces: found on nearly
    every face, tightly (the full 200-face numbers: `unmask eval`, README)."""
    from unmask.io import read_image

    ious, tried = [], 0
    for i, path in enumerate(val_faces[:14]):
        clean = read_image(path).rgb
        faces = finder.find(clean)
        if len(faces) != 1:
            continue
        censored, truth = draw_censor(clean, faces[0].landmarks, kind, np.random.default_rng(500 + i))
        censored = jpeg(censored, 90)
        again = finder.find(censored)
        if not again:
            continue
        tried += 1
        occ = _find(censored, again[0], REGION[kind])
        ious.append(0.0 if occ is None else _iou(occ, truth))
    assert tried >= 8
    assert np.mean(ious) >= 0.75 and np.median(ious) >= 0.85, ious


def test_no_censor_on_bare_validation_faces(val_faces, finder) -> None:  # noqa: ANN001
    from unmask.io import read_image

    found = 0
    checked = 0
    for path in val_faces[:12]:
        clean = read_image(path).rgb
        for face in finder.find(clean)[:1]:
            checked += 1
            found += _find(clean, face, "eyes") is not None
    assert checked >= 8 and found == 0
