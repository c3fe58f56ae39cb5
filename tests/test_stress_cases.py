"""Faces of the stress benchmark (issue 31) that the finders got wrong, each staged exactly as
``benchmarks/stress.py`` stages it (seed 0 unless said: light, close-up, censor and JPEG from the benchmark's own draws,
:func:`unmask.measure.stress.stage`), and found with the face's landmarks on the clean photo."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from unmask.infer.face.types import Face
from unmask.measure.stress import region_of

from tests.conftest import named_face, stress_staged
from test_find import _find


# (kind, photo, share of the censor in the hole at least). Before: the mask's segmentation took every pixel beyond
# the mouth window as certainly not mask, so a mask running past it below the chin lent its own colours to the "not
# mask" model, and the part of it the segmentation saw was cut short: 0.67 and 0.49 of two shaded masks, 0.28 and
# 0.68 of two printed ones were in the hole, and a green mask was taken for a blurred mouth (0.60). A mosaic's
# upright band: the rectangle of rows and columns stopped short of the band's ends, whose cut blocks are of about
# the skin's colour: 0.77 of it in the hole. An ellipse of 5 px blocks on a dark face was not found (its lattice 4.3
# times as clear on the eye line as the rest, against 5 asked); a white bar was taken for a mosaic (the bar's tilted
# edges and JPEG's blocks made a lattice). The four shaded and printed masks cut short are no longer here: the looser
# segmentation that found them whole ran on into the neck of CelebA's masks (spill 0.009 -> 0.117 on 40 of them), so
# it is now only the fallback when the first finds no mask (unmask/infer/censors/surgical.py). Nor is the upright
# band whose cut end blocks the rectangle stopped short of (0.77): adding the band's blocks beyond the rectangle's
# ends cost CelebA's mosaics 0.46 dB and 14% hole LPIPS (unmask/infer/censors/pixelate.py). Three masks running
# on past the chin (a shaded light blue, a printed one, a shaded white one), whose lower half the segmentation cut
# off where it ran past the window (0.67, 0.49, 0.28 of them in the hole), are whole again: the looser
# segmentation's additions of the mask's own paint (chromaticity) when the paint visibly crosses the window's
# bottom edge (unmask/infer/censors/surgical.py _runs_on). A tilted band of 5 px blocks on an enlarged close-up: its
# ends over smooth skin are blocks with no step to their neighbours, now taken inside the band's straight outline
# (0.84 -> 0.88 of it in the hole; unmask/infer/censors/mosaic_extent.py FLAT_REACH).
@pytest.mark.parametrize(
    "kind, photo, covered",
    [
        ("surgical", "183589.jpg", 0.97),
        ("surgical", "183429.jpg", 0.97),
        ("surgical", "184325.jpg", 0.97),
        ("surgical", "184638.jpg", 0.95),
        ("pixelate", "183054.jpg", 0.87),
        ("pixelate", "183612.jpg", 0.8),
        ("bar", "184588.jpg", 0.95),
    ],
)
def test_stress_censors_are_found_whole(val_faces, finder, kind: str, photo: str, covered: float) -> None:
    _found_whole(val_faces, finder, kind, photo, covered, 0)


# Seed 1's draws: tilted bands of 15-17 px blocks on small faces, about three blocks high, whose rectangle of rows
# and columns held no whole cell of the lattice, so the whole outline was never looked for and only the rectangle
# was taken (0.40 and 0.53 of them in the hole); now its cells mostly inside it start the band
# (unmask/infer/censors/mosaic_extent.py SEED_SHARE).
@pytest.mark.parametrize("photo, covered", [("183054.jpg", 0.72), ("184588.jpg", 0.75)])
def test_short_tilted_mosaics_are_found_whole(val_faces, finder, photo: str, covered: float) -> None:
    _found_whole(val_faces, finder, "pixelate", photo, covered, 1)


def _found_whole(val_faces, finder, kind: str, photo: str, covered: float, seed: int, again: bool = False,
                 beyond_max: float = 0.03) -> None:  # fmt: skip
    """The stress face's censor is found as ``kind`` with at least ``covered`` of it in the hole, and the hole beyond
    it at most ``beyond_max`` of its area; the face's landmarks from the clean photo, or (``again``) found again on the
    censored one, as the benchmark finds them."""
    from unmask.measure.evaluate import match_face

    censored, truth, face, _ = stress_staged(val_faces, finder, kind, photo, seed)
    region = region_of(truth, face.landmarks)
    if again:
        face = match_face(finder.search(censored).faces, face.box)
        assert face is not None
    occ = _find(censored, Face(face.box, face.landmarks), region)
    assert occ is not None and occ.kind == kind
    hole, censor = occ.in_photo(truth.shape, occ.hole()) > 0, truth > 0
    assert hole[censor].mean() >= covered, hole[censor].mean()
    beyond = cv2.distanceTransform(np.where(censor, 0, 255).astype(np.uint8), cv2.DIST_L2, 5) > 3
    assert (hole & beyond).sum() <= beyond_max * censor.sum(), (hole & beyond).sum() / censor.sum()


# Printed masks of the training drawer, as benchmarks/auto_accuracy.py draws them (seed 7 + the photo's place;
# a bar and a mosaic are drawn first from the same generator). Taking the pixels below the window as only probably
# not mask let the segmentation run on below these masks into the chin and neck, whose skin broke the print's
# repeat (0.88 -> 0.45), and the mask was refused: the segmentation as before is the fallback.
@pytest.mark.parametrize("photo", ["184195.jpg", "186494.jpg"])
def test_printed_training_masks_are_still_found(val_faces, finder, photo: str) -> None:
    from unmask.infer.censors import draw_censor, jpeg

    index, clean, face = named_face(val_faces, finder, photo)
    rng = np.random.default_rng(7 + index)
    for kind in ("bar", "pixelate", "surgical"):
        censored, truth = draw_censor(clean, face.landmarks, kind, rng)
    censored = jpeg(censored, 90)
    occ = _find(censored, face, "mouth")
    assert occ is not None and occ.kind == "surgical"
    hole = occ.in_photo(truth.shape, occ.hole()) > 0
    assert hole[truth > 0].mean() >= 0.95, hole[truth > 0].mean()


# CelebA's masks, as `unmask eval --censor surgical` draws them (seed 0 + the photo's place, JPEG q90), end at the chin.
# Carrying a mask on past the window's bottom edge by its paint ran on into what lies below these: a dotted print
# whose orange matches the hair, a skin-coloured mask over the neck, a light blue one before a blue-grey wall
# (hole beyond the censor 0.21, 0.32, 0.38 of it). They must stay on the mask.
@pytest.mark.parametrize("photo", ["182862.jpg", "184325.jpg", "184577.jpg"])
def test_masks_ending_at_the_chin_stay_there(val_faces, finder, photo: str) -> None:
    from unmask.infer.censors import draw_censor, jpeg

    index, clean, face = named_face(val_faces, finder, photo)
    censored, truth = draw_censor(clean, face.landmarks, "surgical", np.random.default_rng(index))
    occ = _find(jpeg(censored, 90), face, "mouth")
    assert occ is not None and occ.kind == "surgical"
    hole, censor = occ.in_photo(truth.shape, occ.hole()) > 0, truth > 0
    assert hole[censor].mean() >= 0.97, hole[censor].mean()
    beyond = cv2.distanceTransform(np.where(censor, 0, 255).astype(np.uint8), cv2.DIST_L2, 5) > 3
    assert (hole & beyond).sum() <= 0.08 * censor.sum(), (hole & beyond).sum() / censor.sum()


# Finding a censor is a function of the photo and the face alone, whatever ran before it (issue 31: the blur-mouth
# finder was reported to claim "the first masked face of a run" only). Two stress masks and a CelebA mouth blur, as a
# one-photo run and a folder run both meet them, found in two orders, with OpenCV's and numpy's global random state
# moved between the passes (GrabCut and k-means draw from OpenCV's unless seeded): every finder of the mouth gives
# byte-identical masks and the same kernel, and the photos are left as they were.
def test_finding_does_not_depend_on_what_ran_before(val_faces, finder) -> None:
    from hashlib import sha1

    import cv2

    from unmask.infer.censors import draw_censor, get, jpeg
    from unmask.infer.censors.find import search
    from unmask.infer.crop import align_checked
    from unmask.infer.regions import get as region

    cases = [stress_staged(val_faces, finder, "surgical", name)[0] for name in ("182654.jpg", "184577.jpg")]
    index, clean, face = named_face(val_faces, finder, "184577.jpg")
    cases.append(jpeg(draw_censor(clean, face.landmarks, "blur-mouth", np.random.default_rng(index))[0], 90))
    faces = [finder.search(rgb).faces[0] for rgb in cases]
    before = [rgb.copy() for rgb in cases]

    def found(i: int) -> list:
        aligned, _ = align_checked(cases[i], faces[i], 128, "mouth")
        s = search(cases[i], aligned.matrix, aligned.size, "mouth")
        occs = [get(kind).find(s) for kind in region("mouth").finds]
        return [
            None if o is None else (o.kind, o.box, o.area, sha1(o.mask.tobytes()).hexdigest(), repr(o.blur))
            for o in occs
        ]

    forward = {i: found(i) for i in range(len(cases))}
    cv2.setRNGSeed(12345)
    np.random.seed(54321)
    backward = {i: found(i) for i in reversed(range(len(cases)))}
    for i in forward:
        assert forward[i] == backward[i], f"case {i}: first pass {forward[i]}, second {backward[i]}"
    assert [k[0] for k in forward[0] if k] == ["surgical"] and [k[0] for k in forward[2] if k][0] == "blur-mouth"
    assert all(np.array_equal(a, b) for a, b in zip(cases, before)), "the finders leave the photo as it was"


# Bars whose eye line, from the landmarks found on the barred photo, lies off the bar: an open mouth dragged them
# 0.4 inter-ocular distances down, onto the nose (a green ellipse), a turned face's ran along a white ellipse's
# thin end, a close-up's ran along a red bar's lower edge. The core's colour made no bar and the moved core was
# only tried when the core had no colour of its own, a found bar had to be a rectangle to pass with the eye line
# part covered (not found, 0 of the first two), and the window laid around the eye line cut the bar (0.40 of the
# third in the hole): unmask/infer/censors/bar.py, outline.py, bar_extent.py.
@pytest.mark.parametrize("photo, seed", [("182654.jpg", 0), ("183803.jpg", 0), ("183430.jpg", 1)])
def test_bars_beside_the_eye_line_are_found_whole(val_faces, finder, photo: str, seed: int) -> None:
    _found_whole(val_faces, finder, "bar", photo, 0.95, seed, again=True)


# An ellipse of large blocks on a close-up (seed 1), taken for the upright rectangle of its rows and columns (its ends
# left: 0.90 of it in the hole). A band whose outline is an ellipse is now the ellipse fitted to it
# (unmask/infer/censors/pixelate.py, outline.py).
@pytest.mark.parametrize("photo", ["183430.jpg"])
def test_mosaic_ellipses_are_found_to_their_ends(val_faces, finder, photo: str) -> None:
    _found_whole(val_faces, finder, "pixelate", photo, 0.95, 1, again=True, beyond_max=0.05)
