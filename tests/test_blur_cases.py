"""Blurs the blur finder missed or mistook for a mask (issue 31), each a case that failed before the fix it tests:
faces of the stress benchmark staged exactly as ``benchmarks/stress.py`` stages them (seed 0), narrow heavy bands
and blurred lower faces drawn on validation faces, and the stress benchmark's own count of a blur found over the
mouth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.censors.blur import COVER_STEP, outline_step
from unmask.infer.censors.find import find_occluder
from unmask.infer.crop import align_checked
from unmask.infer.deblur import Kernel, blur_area
from unmask.infer.face.geometry import eye_frame, polygon_mask, rotated_rect

from tests.conftest import stress_staged

SIZE = 256


def _found(rgb: np.ndarray, face, region: str):
    aligned, _ = align_checked(rgb, face, SIZE, region)
    return find_occluder(rgb, aligned.matrix, aligned.size, region)


def _band(rgb: np.ndarray, face, kernel_iod: tuple[str, float], half_h: float, below: float = 0.0,
          half_len: float = 1.05) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``rgb`` with a band along the eye line (``below`` inter-ocular distances under it) blurred, JPEG q90."""
    c, u, n, d = eye_frame(face.landmarks)
    mask = polygon_mask(rgb.shape, rotated_rect(c + n * below * d, u, n, half_len * d, half_h * d))
    kind, size = kernel_iod
    return jpeg(blur_area(rgb, mask, Kernel(kind, size * d)), 90), mask


def _staged(finder, val_faces, name: str, seed: int = 0):
    """The stress benchmark's blur on photo ``name``: (censored photo, censor mask, face found again)."""
    from unmask.measure.evaluate import match_face

    censored, censor, face, _ = stress_staged(val_faces, finder, "blur", name, seed)
    again = match_face(finder.search(censored).faces, face.box)
    assert again is not None
    return censored, censor, again


@pytest.mark.parametrize(
    "name, region",
    [
        ("183428.jpg", "mouth"),  # heavy blur over nose and mouth, no edge left: was taken for a mask
        ("183725.jpg", "mouth"),  # lighter one: was taken for a mask
        ("184638.jpg", "eyes"),  # close-up, heavy box blur, the band's outline beside the eye line: not found
        ("183595.jpg", "eyes"),  # close-up, the same with a Gaussian: not found
    ],
)
def test_stress_blurs_once_missed_are_found_as_blurs(finder, val_faces, name: str, region: str) -> None:
    censored, censor, face = _staged(finder, val_faces, name)
    occ = _found(censored, face, region)
    assert occ is not None, "found"
    assert occ.kind == ("blur" if region == "eyes" else "blur-mouth"), f"found as {occ.kind}"
    got = occ.in_photo(censored.shape, occ.hole()) > 0
    assert got[censor > 0].mean() >= 0.9, "nearly all of the blur is in the hole"


def test_a_narrow_heavy_band_is_found_though_its_outline_runs_by_the_eye_line(single_faces) -> None:
    """A heavy blur leaves no edge on the eye line; the only edges beside it are the band's own sharp outline, which
    the finder once took for the face's own sharpness there (6 of these 12 found)."""
    kinds = [getattr(_found(_band(rgb, face, ("gaussian", 0.2), 0.2)[0], face, "eyes"), "kind", None)
             for rgb, face in single_faces]  # fmt: skip
    assert kinds.count("blur") >= 10, kinds


@pytest.mark.parametrize("kernel", [("gaussian", 0.15), ("box", 0.4)])
def test_a_blurred_lower_face_is_a_blur_not_a_mask(single_faces, kernel) -> None:
    """Nose and mouth blurred: smooth and of the face's colours, which the mask finder took for a cover on half of
    these faces before the blur finder was tried first over the mouth."""
    kinds = []
    for rgb, face in single_faces:
        censored, truth = _band(rgb, face, kernel, 0.6, below=0.95, half_len=0.65)
        occ = _found(censored, face, "mouth")
        kinds.append(None if occ is None else occ.kind)
        if occ is not None and occ.kind == "blur-mouth":
            assert (occ.in_photo(rgb.shape, occ.hole()) > 0)[truth > 0].mean() >= 0.9
    assert kinds.count("blur-mouth") >= 11, kinds


def test_masks_are_still_masks_with_the_blur_finder_first(single_faces) -> None:
    """Randomised surgical masks: none taken for a blur now that the blur finder runs before the mask finder."""
    kinds = []
    for i, (rgb, face) in enumerate(single_faces):
        censored, _ = draw_censor(rgb, face.landmarks, "surgical", np.random.default_rng(i))
        occ = _found(jpeg(censored, 90), face, "mouth")
        kinds.append(None if occ is None else occ.kind)
    assert "blur-mouth" not in kinds, kinds
    assert kinds.count("surgical") >= 10, kinds


def test_outline_step_tells_a_blur_from_a_cover() -> None:
    """Along a blurred ellipse's outline the colours run on (small step); a flat cover of any colour has its own."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(60, 200, 160, dtype=np.float32)
    base = np.stack([np.tile(ramp, (120, 1)), np.tile(ramp[::-1], (120, 1)), np.full((120, 160), 120, np.float32)], 2)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (120, 160, 3)).astype(np.float32), (0, 0), 1.5)
    img = np.clip(base + noise, 0, 255).astype(np.uint8)
    area = np.zeros((120, 160), np.uint8)
    cv2.ellipse(area, (80, 60), (45, 25), 0, 0, 360, 255, -1)
    window = np.full_like(area, 255)
    blurred = blur_area(img, area, Kernel("gaussian", 6.0))
    covered = img.copy()
    covered[area > 0] = (150, 190, 220)
    step_blur = outline_step(blurred, area, window, 60.0)
    step_cover = outline_step(covered, area, window, 60.0)
    assert step_blur is not None and step_cover is not None
    assert step_blur < COVER_STEP < step_cover, (step_blur, step_cover)


@pytest.mark.parametrize(
    "decision, kind, expected",
    [
        ("region mouth requested: found a blur-mouth censor (512 px); kept what the blur left", "blur",
         ("found", "blur-mouth")),
        ("region eyes requested: found a blur censor (512 px)", "blur", ("found", "blur")),
        ("region mouth requested: found a surgical censor (900 px)", "blur", ("wrong-kind", "surgical")),
        ("region eyes requested: found a pixelate censor (900 px)", "pixelate", ("found", "pixelate")),
        ("region eyes requested: no censor found over the eyes: left untouched", "bar", ("missed", None)),
        (None, "bar", ("missed", None)),
    ],
)  # fmt: skip
def test_stress_counts_a_blur_found_over_the_mouth_as_found(decision, kind, expected) -> None:
    """The stress benchmark read ``found a blur-mouth censor`` as nothing found (its pattern stopped at the hyphen):
    every blurred mouth it found counted as missed."""
    from unmask.measure.stress import status_of

    assert status_of(decision, kind) == expected


@pytest.mark.parametrize(
    "name, region, beyond_max, covered",
    [
        ("182718.jpg", "eyes", 1.6, 0.99),  # close-up, heavy blur over the eyes: the hole ran up the forehead (1.84)
        ("183984.jpg", "mouth", 0.9, 0.95),  # blur over nose and mouth: the hole ran down the neck (1.07)
    ],
)
def test_a_blurs_hole_keeps_to_the_shape_a_blur_censor_has(finder, val_faces, name, region, beyond_max, covered):
    """Over smooth skin the edges do not bound a blur, and its area ran on to the window's edge: over the eyes up the
    forehead and down the cheeks, over the mouth down the neck. Held to a band along the eye line, or a disc about
    the lower face's middle, the hole beyond the censor shrinks and the censor is as covered as before."""
    censored, censor, face = _staged(finder, val_faces, name)
    occ = _found(censored, face, region)
    assert occ is not None and occ.kind == ("blur" if region == "eyes" else "blur-mouth")
    hole = occ.in_photo(censored.shape, occ.hole()) > 0
    near = cv2.dilate(censor, np.ones((7, 7), np.uint8)) > 0  # spill's 3 px
    assert hole[censor > 0].mean() >= covered, "the censor is in the hole"
    beyond = (hole & ~near).sum() / (censor > 0).sum()
    assert beyond <= beyond_max, f"hole beyond the censor: {beyond:.2f} of its area"


def _restore_spill(censored, censor, face, models) -> tuple[float, np.ndarray]:
    """(spill, the features' restored pixels: Nx3 at the eyes' or the lips' landmarks well inside the censor) of
    ``censored`` restored with ``models`` over the region the censor hides."""
    from unmask.infer.face import landmarks as L
    from unmask.infer.pipeline import Restorer
    from unmask.measure.evaluate import GivenFaces
    from unmask.measure.metrics import spill
    from unmask.measure.stress import region_of

    region = region_of(censor, face.landmarks)
    given = GivenFaces()
    given.faces = [face]
    restorer = Restorer({region: models[region]}, region=region, finder=given)  # type: ignore[arg-type]
    try:
        result = restorer.restore(censored, want_mask=True)
    finally:
        restorer.close()
    assert result.faces and "blur" in result.faces[0].decision, "restored as a blur"
    assert result.hole is not None and (result.hole > 0)[censor > 0].mean() >= 0.95, "the censor is in the hole"
    pts = np.rint(face.landmarks[list(L.EYES if region == "eyes" else L.LIPS), :2]).astype(int)
    inner = cv2.distanceTransform(np.where(censor > 0, 255, 0).astype(np.uint8), cv2.DIST_L2, 5)
    pts = pts[inner[pts[:, 1], pts[:, 0]] >= 0.1 * eye_frame(face.landmarks)[3]]
    assert len(pts) >= 5
    return spill(result.rgb, censored, censor, 3, 12), result.rgb[pts[:, 1], pts[:, 0]]


@pytest.mark.parametrize(
    "name, seed",
    [
        ("182718.jpg", 0),  # close-up, heavy blur over the eyes: the area ran over the cheeks and the forehead
        ("183130.jpg", 0),  # close-up, blur over nose and mouth: the area ran over the cheeks
        ("184335.jpg", 1),  # a narrow band under visible brows: the area ran up over the brows and the forehead
    ],
)
def test_a_blurs_restoration_leaves_the_photo_beyond_it_as_it_was(finder, val_faces, tiny_models, monkeypatch,
                                                                   name, seed):  # fmt: skip
    """Where the blurred area runs on over smooth skin, dark hair or visible brows that the edges could not tell from
    the blur, the generator repainted them (stress benchmark spill 0.13 / 0.16 on seeds 0 / 1); beyond the detail
    zone the restoration keeps the observed pixels. Measured against the same restoration with the detail zone
    taken as the whole area (as before it), with the tiny test generators."""
    import unmask.infer.censors.blur as blur

    censored, censor, face = _staged(finder, val_faces, name, seed)
    zoned, restored = _restore_spill(censored, censor, face, tiny_models)
    monkeypatch.setattr(blur, "_detail", lambda w, area, stop, eyes: area)
    whole, restored_whole = _restore_spill(censored, censor, face, tiny_models)
    assert zoned <= 0.5 * whole, f"spill {zoned:.3f}, with the whole area restored {whole:.3f}"
    assert np.abs(restored.astype(int) - restored_whole).max() <= 2, "the features are restored as before"
