"""Finding the censor itself (issue 10): the exact pixels a bar, a mosaic or a mask covers, at photo resolution,
within the window the landmarks give; nothing on a bare face. On the astronaut photo (always there) and on
validation faces from ../shared (skipped without them)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.infer.censors import draw_censor, grow, jpeg
from unmask.infer.censors.find import find_occluder, margin_px
from unmask.infer.face.geometry import coverage_mask, eye_frame, rounded_rect
from unmask.infer.censors.pixelate import pixelate
from unmask.infer.crop import align_checked
from unmask.measure.metrics import hole_iou

SIZE = 128
REGION = {"bar": "eyes", "pixelate": "eyes", "surgical": "mouth"}


def _find(rgb: np.ndarray, face, region: str):
    aligned, _ = align_checked(rgb, face, SIZE, region)
    return find_occluder(rgb, aligned.matrix, SIZE, region)


def _iou(occ, truth: np.ndarray) -> float:
    return hole_iou(occ.in_photo(truth.shape, occ.hole()), truth)


def _bar(
    rgb: np.ndarray,
    pts: np.ndarray,
    colour,
    angle: float = 0.0,
    radius: float = 0.0,
    aa: bool = False,
    half_h: float = 0.27,
    half_len: float = 1.15,
    shift: float = 0.0,
    across: float = 0.0,
):
    c, u, n, d = eye_frame(pts)
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = c + shift * d * u + across * d * n  # along the eye line, and across it
    poly = rounded_rect(c, rot @ u, rot @ n, half_len * d, half_h * d, radius * half_h * d)
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
def test_bars_of_any_colour_angle_and_corner_shape(
    astronaut, astronaut_face, colour, angle, radius, aa, quality
) -> None:
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
@pytest.mark.parametrize(
    "block, phase, quality", [(8, (0, 0), 0), (9, (3, 5), 90), (7, (5, 2), 85), (6, (1, 1), 95), (10, (2, 7), 0)]
)
def test_mosaics_lossless_and_jpeg(astronaut, astronaut_face, block: int, phase, quality: int) -> None:
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


def test_a_bare_face_has_no_censor(astronaut, astronaut_face) -> None:
    assert _find(astronaut, astronaut_face, "eyes") is None
    assert _find(astronaut, astronaut_face, "mouth") is None


def test_surgical_mask_on_the_astronaut(astronaut, astronaut_face) -> None:
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
def test_randomised_censors_on_validation_faces(val_faces, finder, kind: str) -> None:
    """The project's own randomised censors (what training draws), JPEG q90, on unseen faces: found on nearly
    every face, tightly (the full 200-face numbers: `unmask eval`, README)."""
    from unmask.infer.io import read_image

    ious, tried = [], 0
    for i, path in enumerate(val_faces[:14]):
        clean = read_image(path).rgb
        faces = finder.search(clean).faces
        if len(faces) != 1:
            continue
        censored, truth = draw_censor(clean, faces[0].landmarks, kind, np.random.default_rng(500 + i))
        censored = jpeg(censored, 90)
        again = finder.search(censored).faces
        if not again:
            continue
        tried += 1
        occ = _find(censored, again[0], REGION[kind])
        ious.append(0.0 if occ is None else _iou(occ, truth))
    assert tried >= 8
    assert np.mean(ious) >= 0.75 and np.median(ious) >= 0.85, ious


def test_no_censor_on_bare_validation_faces(val_faces, finder) -> None:
    from unmask.infer.io import read_image

    found = 0
    checked = 0
    for path in val_faces[:12]:
        clean = read_image(path).rgb
        for face in finder.search(clean).faces[:1]:
            checked += 1
            found += _find(clean, face, "eyes") is not None
    assert checked >= 8 and found == 0


def _stripes(rgb: np.ndarray, truth: np.ndarray, base, ink, period: int, dots: bool = False) -> np.ndarray:
    """``rgb`` with the pixels of ``truth`` painted ``base`` with a print of ``ink``: diagonal stripes, or dots."""
    gy, gx = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]]
    if dots:
        on = np.hypot(np.mod(gx, period) - period / 2, np.mod(gy, period) - period / 2) < period * 0.3
    else:
        on = np.mod(gx + gy, period) < period * 0.4
    out = rgb.copy()
    cover = truth > 0
    out[cover] = np.where(on[cover][:, None], np.asarray(ink, np.uint8), np.asarray(base, np.uint8))
    return out


@pytest.mark.parametrize(
    "base, ink, dots", [((205, 160, 140), (150, 60, 70), False), ((230, 200, 190), (60, 90, 160), True)]
)
def test_printed_masks_in_skin_tones_are_found(astronaut, astronaut_face, base, ink, dots: bool) -> None:
    """A print is told from a bare face by its repeat, not its colours: these are near the skin's and spread
    widely (the plain-cover rules refuse them)."""
    _, truth = draw_censor(astronaut, astronaut_face.landmarks, "surgical")
    d = eye_frame(astronaut_face.landmarks)[3]
    censored = jpeg(_stripes(astronaut, truth, base, ink, max(4, int(0.2 * d)), dots), 90)
    occ = _find(censored, astronaut_face, "mouth")
    assert occ is not None and occ.kind == "surgical"
    assert _iou(occ, truth) >= 0.8, _iou(occ, truth)


def test_repetition_tells_a_print_from_a_face(astronaut, astronaut_face) -> None:
    from unmask.infer.censors.surgical import PRINT_REPEAT, repetition

    _, truth = draw_censor(astronaut, astronaut_face.landmarks, "surgical")
    d = eye_frame(astronaut_face.landmarks)[3]
    printed = _stripes(astronaut, truth, (205, 160, 140), (150, 60, 70), int(0.2 * d))
    assert repetition(printed, truth > 0, d) >= PRINT_REPEAT
    assert repetition(astronaut, truth > 0, d) < PRINT_REPEAT  # the bare lower face under the same outline


def test_a_bar_merged_with_black_hair_at_a_tilt(astronaut, astronaut_face) -> None:
    """A black bar, turned 8 degrees, running into a black area (hair, a dark background) as high as the face
    at one end: too wide a bridge for an opening; found by its crisp rows at its own tilt."""
    censored, truth = _bar(astronaut, astronaut_face.landmarks, (0, 0, 0), angle=8)
    c, _, _, d = eye_frame(astronaut_face.landmarks)
    ys, xs = np.nonzero(truth)
    hair, bare = censored.copy(), astronaut.copy()
    for img in (hair, bare):
        img[int(c[1] - 1.2 * d) : int(c[1] + 1.2 * d), : xs.min() + int(0.1 * d)] = (
            0  # black from the bar's end outwards
        )
    occ = _find(jpeg(hair, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar"
    hole = occ.in_photo(truth.shape, occ.hole()) > 0
    # the bar's pixels it changed (not those over the black, where bar and hair are one): 0.98-1.0 as the landmarks
    # move by a quarter pixel
    hidden = (truth > 0) & (np.abs(hair.astype(int) - bare).sum(axis=2) > 30)
    assert hole[hidden].mean() >= 0.96
    face_side = np.zeros_like(truth)
    face_side[:, xs.min() + int(0.15 * d) :] = 255
    assert hole[(truth == 0) & (face_side > 0)].sum() <= 0.1 * np.count_nonzero(truth), (
        "little beyond the bar on the face"
    )


def test_a_bar_beside_a_misplaced_eye_line(astronaut, astronaut_face) -> None:
    """Landmarks can put the eye line off the bar (an open mouth, a hand on the face): a flat bar of a colour no
    skin has, a little above the line, is still found, as a clean rectangle (not below: there a mask's top
    lies, see the next test)."""
    pts = astronaut_face.landmarks.copy()
    c, u, n, d = eye_frame(pts)  # n: towards the chin
    moved = pts - n * 0.3 * d  # a bar drawn 0.3 inter-ocular distances above the line the landmarks give
    censored, truth = _bar(astronaut, moved, (20, 200, 40), half_h=0.2)
    occ = _find(jpeg(censored, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar"
    assert _iou(occ, truth) >= 0.8, _iou(occ, truth)


def test_a_colour_running_down_past_the_eye_window_is_no_bar(astronaut, astronaut_face) -> None:
    """The top of a mask, seen through an eye line that drifting lower-face landmarks put on it, fills the eye
    window down to its bottom: not a bar (auto then goes on to find the mask). Nor is a flat pleat of a mask
    just below the eye line."""
    c, u, n, d = eye_frame(astronaut_face.landmarks)
    gy, gx = np.mgrid[0 : astronaut.shape[0], 0 : astronaut.shape[1]]
    below = (gx - c[0]) * n[0] + (gy - c[1]) * n[1]  # towards the chin
    across = np.abs((gx - c[0]) * u[0] + (gy - c[1]) * u[1])
    flat = astronaut.copy()
    flat[(below > -0.12 * d) & (across < 1.4 * d)] = (140, 190, 220)
    assert _find(jpeg(flat, 90), astronaut_face, "eyes") is None
    pleat = astronaut.copy()
    pleat[(below > 0.2 * d) & (across < 1.4 * d)] = (140, 190, 220)
    pleat[(below > 0.2 * d) & (below < 0.45 * d) & (across < 1.4 * d)] = (150, 205, 235)  # one pleat, a bar's shape
    assert _find(jpeg(pleat, 90), astronaut_face, "eyes") is None


def test_a_textured_area_over_the_eyes_is_no_bar(astronaut, astronaut_face) -> None:
    """A bar is flat (JPEG's noise aside): a bar-shaped area of noisy blue (as a noise texture that passed the face
    checks showed, benchmarks/detect_recall.py seed 1) is not taken for one; the same blue, flat, is."""
    flat, truth = _bar(astronaut, astronaut_face.landmarks, (80, 104, 167))
    rng = np.random.default_rng(0)
    grain = rng.normal(0, 14, astronaut.shape[:2])[..., None]
    noisy = np.where(truth[..., None] > 0, np.clip(flat + grain, 0, 255), flat).astype(np.uint8)
    assert _find(jpeg(noisy, 90), astronaut_face, "eyes") is None
    occ = _find(jpeg(flat, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar" and _iou(occ, truth) >= 0.8


def test_the_same_mask_is_found_whatever_ran_before(astronaut, astronaut_face) -> None:
    """GrabCut draws from OpenCV's random state: the finder fixes it, so a photo's mask does not depend on the calls
    made before (``unmask eval`` found a different number of masks with one model or two)."""
    import cv2

    censored, _ = draw_censor(astronaut, astronaut_face.landmarks, "surgical", np.random.default_rng(3))
    censored = jpeg(censored, 90)
    first = _find(censored, astronaut_face, "mouth")
    for seed in (1, 2, 3):
        cv2.setRNGSeed(seed)  # as any other OpenCV call drawing random numbers would leave it
        again = _find(censored, astronaut_face, "mouth")
        assert np.array_equal(again.mask, first.mask) and again.box == first.box


def test_a_short_bar_beside_the_eye_line_is_found(astronaut, astronaut_face) -> None:
    """The landmarks of a turned face can run the eye line past the end of a short bar (80% of it covered): a clean
    rectangle of a colour no skin has is still a bar there."""
    censored, truth = _bar(astronaut, astronaut_face.landmarks, (40, 160, 60), half_len=0.9, shift=0.6)
    occ = _find(jpeg(censored, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar" and _iou(occ, truth) >= 0.8


def test_a_bar_below_the_eye_line_is_found(astronaut, astronaut_face) -> None:
    """Landmarks can put the eye line along a bar's top edge (half the line on skin): the eye line moved down a
    little lands on the bar (the finder looked only upwards before, and left such a bar in place)."""
    censored, truth = _bar(astronaut, astronaut_face.landmarks, (235, 140, 190), radius=1.0, across=0.28)
    occ = _find(jpeg(censored, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar" and _iou(occ, truth) >= 0.8


@pytest.mark.parametrize("index", [1, 3])
def test_a_square_bar_leaves_no_dark_corner(finder, val_dir, index: int) -> None:
    """Validation faces with the evaluation's randomised black bars (seed 0), JPEG q90: no pixel of the bar that is
    still dark lies outside the hole (the opening and the work scale rounded the corners off, and left them as
    black specks beside the restored eyes)."""
    from unmask.infer.io import read_image
    from unmask.measure.evaluate import list_photos

    clean = read_image(list_photos(val_dir)[index]).rgb
    (face,) = finder.search(clean).faces
    censored, truth = draw_censor(clean, face.landmarks, "bar", np.random.default_rng(index))
    censored = jpeg(censored, 90)
    occ = _find(censored, face, "eyes")
    assert occ is not None and occ.kind == "bar"
    left = (truth > 0) & (occ.in_photo(truth.shape, occ.hole()) == 0)
    assert int((censored[left].max(axis=1) < 80).sum()) == 0


def test_a_tall_bar_merged_with_a_black_background_is_found(astronaut, astronaut_face) -> None:
    """A tall black bar (0.84 inter-ocular distances) whose end runs into a black background, with the eye line off
    its middle: the rows it fills reach beyond half an inter-ocular distance from the eye line (left censored
    before); the background beside its end, black above and below, is not taken for the bar (it was restored as a
    grey smudge)."""
    c, _, _, d = eye_frame(astronaut_face.landmarks)
    dark = astronaut.copy()
    dark[:, : int(c[0] - 0.9 * d)] = 5
    censored, truth = _bar(dark, astronaut_face.landmarks, (5, 5, 5), half_h=0.42, across=0.15)
    occ = _find(jpeg(censored, 90), astronaut_face, "eyes")
    assert occ is not None and occ.kind == "bar"
    hole = occ.in_photo(truth.shape, occ.hole()) > 0
    hidden = (truth > 0) & (np.abs(censored.astype(int) - dark).sum(axis=2) > 30)  # not the bar over the black
    assert hole[hidden].mean() > 0.97
    background = (dark[..., 0] == 5) & (truth == 0)
    assert hole[background].sum() <= 0.02 * np.count_nonzero(truth), "the black background beyond the bar is left"
