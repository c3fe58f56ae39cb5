"""unmask.infer.pipeline.Restorer: one photo in, one result out (arrays only)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.censors import draw_censor
from unmask.infer.face import landmarks as L
from unmask.infer import stages
from unmask.infer.crop import align
from unmask.infer.pipeline import FaceReport, Restorer, Result


class Flat:
    """An Inpainter that paints every crop one colour and records its calls (batching)."""

    takes_edges = False

    def __init__(self, size: int = 64, colour: tuple[int, int, int] = (0, 200, 0), name: str = "flat") -> None:
        self.size = size
        self.colour = colour
        self.name = name
        self.calls: list[int] = []

    def run(self, crops: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
        self.calls.append(len(crops))
        assert all(c.shape == (self.size, self.size, 3) for c in crops)
        assert all(h.shape == (self.size, self.size) and h.dtype == np.uint8 for h in holes)
        return [np.full_like(c, self.colour) for c in crops]


def _far_from(hole: np.ndarray, margin: float) -> np.ndarray:
    dist = cv2.distanceTransform((hole == 0).astype(np.uint8), cv2.DIST_L2, 5)
    return dist > margin


def _margin(photo: np.ndarray, face, size: int, region: str) -> float:
    """Result.hole already holds the margin: nothing beyond it may change."""
    return 0.0


def test_restores_the_eye_bar_and_nothing_far_away(finder, tiny_models, censored_astronaut, astronaut_face) -> None:
    photo, bar = censored_astronaut
    before = photo.copy()
    r = Restorer(tiny_models, region="eyes", finder=finder).restore(photo, want_mask=True)
    assert isinstance(r, Result) and np.array_equal(photo, before), "the input array is not modified"
    assert r.rgb.shape == photo.shape and r.rgb.dtype == np.uint8
    assert len(r.faces) == 1 and r.restored == 1 and r.regions == ["eyes"]
    f = r.faces[0]
    assert isinstance(f, FaceReport) and f.status == "restored" and f.region == "eyes" and f.model == "tiny_eyes"
    assert r.hole is not None and r.hole.shape == photo.shape[:2]
    assert (r.hole[bar > 0] > 0).mean() > 0.99, "the restored hole covers the bar"
    assert (r.rgb[bar > 0].astype(int).sum(1) > 60).mean() > 0.95, "the black bar is gone"
    far = _far_from(r.hole, _margin(photo, astronaut_face, 64, "eyes"))
    assert far.mean() > 0.8
    assert np.array_equal(r.rgb[far], photo[far]), "pixels outside the hole (censor + margin) are bit-identical"
    # the hole is the bar plus a pixel or two, not the eye band
    assert (r.hole > 0).sum() < 1.3 * (bar > 0).sum(), "the hole is the censor, not the landmark region"
    assert set(r.timings) >= {stages.DETECT, stages.ALIGN, stages.CENSOR, stages.GENERATOR, stages.PASTE}
    assert all(r.timings[s] > 0 for s in (stages.DETECT, stages.ALIGN, stages.CENSOR)), "censor finding is timed apart"


def test_restores_a_surgical_mask_with_the_mouth_model(finder, tiny_models, astronaut, astronaut_face) -> None:
    photo, mask = draw_censor(astronaut, astronaut_face.landmarks, "surgical")
    r = Restorer(tiny_models, region="mouth", finder=finder).restore(photo, want_mask=True)
    assert r.restored == 1 and r.regions == ["mouth"] and r.faces[0].model == "tiny_mouth"
    assert (r.hole[mask > 0] > 0).mean() > 0.97
    eyes = np.round(np.stack(L.eye_centres(astronaut_face.landmarks))).astype(int)
    assert (r.hole[eyes[:, 1], eyes[:, 0]] == 0).all(), "the eyes are not part of a mouth restoration"


def test_the_model_output_lands_in_the_hole(finder, censored_astronaut) -> None:
    photo, bar = censored_astronaut
    flat = Flat(colour=(0, 200, 0))
    r = Restorer({"eyes": flat}, region="eyes", finder=finder).restore(photo)
    assert flat.calls == [2], "the face and its mirror image (flip averaging, on for photos)"
    got = r.rgb[bar > 0].astype(int)
    # green, shifted by at most the colour match's bound towards the photo around the hole
    assert (got[:, 1] - got[:, 0] > 100).mean() > 0.95


def test_faces_of_a_photo_are_batched(finder, tiny_models, censored_astronaut) -> None:
    photo, _ = censored_astronaut
    two = np.ascontiguousarray(np.concatenate([photo, photo[:, ::-1]], axis=1))
    flat = Flat()
    r = Restorer({"eyes": flat}, region="eyes", finder=finder).restore(two)
    assert len(r.faces) == 2 and r.restored == 2
    assert flat.calls == [4], "one model call for all faces of the photo and their mirror images"
    single = Flat()
    again = Restorer({"eyes": single}, region="eyes", finder=finder, flip_average=False).restore(two)
    assert single.calls == [2], "without flip averaging, the faces alone"
    assert np.array_equal(again.rgb, r.rgb), "a flat colour is its own mirror image"
    assert [f.index for f in r.faces] == [0, 1] and r.faces[0].box[0] < r.faces[1].box[0], "numbered left to right"


def test_auto_leaves_a_clean_face_unchanged(finder, tiny_models, astronaut) -> None:
    r = Restorer(tiny_models, region="auto", finder=finder).restore(astronaut)
    assert len(r.faces) == 1 and r.faces[0].status == "clean" and r.restored == 0
    assert r.faces[0].decision.startswith("nothing covered")
    assert np.array_equal(r.rgb, astronaut)


@pytest.mark.parametrize(("kind", "region"), [("bar", "eyes"), ("pixelate", "eyes"), ("surgical", "mouth")])
def test_auto_restores_what_covers_the_face(
    finder, tiny_models, astronaut, astronaut_face, kind: str, region: str
) -> None:
    photo, _ = draw_censor(astronaut, astronaut_face.landmarks, kind)
    r = Restorer(tiny_models, region="auto", finder=finder).restore(photo)
    assert r.restored == 1 and r.regions == [region], r.faces
    assert kind in r.faces[0].decision


def test_auto_without_a_model_for_the_region_reports_it(finder, tiny_models, astronaut, astronaut_face) -> None:
    photo, _ = draw_censor(astronaut, astronaut_face.landmarks, "surgical")
    r = Restorer({"eyes": tiny_models["eyes"]}, region="auto", finder=finder).restore(photo)
    assert r.restored == 0 and "no mouth model" in r.faces[0].decision
    assert np.array_equal(r.rgb, photo)


def test_user_mask_replaces_the_landmark_hole(finder, tiny_models, astronaut, astronaut_face) -> None:
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    x, y = np.round(astronaut_face.landmarks[L.NOSE_TIP]).astype(int)
    mask[y - 8 : y + 8, x - 8 : x + 8] = 255
    r = Restorer(tiny_models, region="eyes", finder=finder).restore(astronaut, user_mask=mask, want_mask=True)
    assert r.restored == 1 and r.faces[0].decision == "user mask"
    assert (r.hole[mask > 0] > 0).all()
    assert (r.hole > 0).sum() < 3 * (mask > 0).sum(), "only the user's hole, not an eye band"
    far = _far_from(r.hole, _margin(astronaut, astronaut_face, 64, "eyes"))
    assert np.array_equal(r.rgb[far], astronaut[far])
    # a mask away from every face: nothing restored
    away = np.zeros_like(mask)
    away[480:, 480:] = 255
    r = Restorer(tiny_models, region="eyes", finder=finder).restore(astronaut, user_mask=away)
    assert r.restored == 0 and r.faces[0].status == "outside-mask" and np.array_equal(r.rgb, astronaut)


@pytest.mark.parametrize(("w", "h"), [(16, 16), (1, 40), (40, 1), (2, 2)])
def test_every_pixel_of_a_user_mask_is_restored(finder, astronaut, astronaut_face, w: int, h: int) -> None:
    """Thin strokes survive the warp into a crop smaller than the face (here 32 px for a 100 px face)."""
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    x, y = np.round(astronaut_face.landmarks[L.NOSE_TIP]).astype(int)
    mask[y - h // 2 : y - h // 2 + h, x - w // 2 : x - w // 2 + w] = 255
    flat = Flat(size=32, colour=(0, 255, 0))
    r = Restorer({"eyes": flat}, region="eyes", finder=finder).restore(astronaut, user_mask=mask, want_mask=True)
    got = r.rgb[mask > 0].astype(int)
    assert (got[:, 1] - got[:, 0] > 150).all(), "a pixel of the user's hole kept its old content"
    assert (r.hole[mask > 0] > 0).all()


def test_no_face_and_too_small(finder, tiny_models) -> None:
    from unmask.infer.face.detect import FaceFinder

    blank = np.full((200, 240, 3), 127, np.uint8)
    r = Restorer(tiny_models, region="eyes", finder=finder).restore(blank)
    assert r.faces == [] and r.restored == 0 and np.array_equal(r.rgb, blank)
    from skimage import data

    with FaceFinder(min_face=400) as picky:
        r = Restorer(tiny_models, region="eyes", finder=picky).restore(data.astronaut())
    assert r.too_small == 1 and r.restored == 0
    (skipped,) = r.faces  # reported, not restored
    assert (
        skipped.status == "skipped"
        and skipped.decision.startswith("too small")
        and "--min-face 400" in skipped.decision
    )


def test_settings_are_checked(finder, tiny_models) -> None:
    with pytest.raises(ValueError, match="region"):
        Restorer(tiny_models, region="nose", finder=finder)
    with pytest.raises(ValueError, match="mouth"):
        Restorer({"eyes": tiny_models["eyes"]}, region="mouth", finder=finder)
    with pytest.raises(ValueError):
        Restorer({}, region="auto", finder=finder)


def test_a_given_finder_is_not_closed(finder, tiny_models, astronaut) -> None:
    with Restorer(tiny_models, region="eyes", finder=finder):
        pass
    assert len(finder.search(astronaut).faces) == 1, "the shared finder still works"


@pytest.mark.parametrize("region", ["eyes", "mouth"])
def test_a_requested_region_with_no_censor_leaves_the_face_untouched(
    finder, tiny_models, astronaut, region: str
) -> None:
    """Issue 10: the default `--region eyes` on a face whose eyes are not covered used to replace sharp real eyes
    with invented ones, silently. Now the face is untouched and the report says why (and how to force it)."""
    r = Restorer(tiny_models, region=region, finder=finder).restore(astronaut, want_mask=True)
    assert len(r.faces) == 1 and r.restored == 0
    f = r.faces[0]
    assert f.status == "not-covered" and f.region == region
    assert "no censor found" in f.decision and "--force" in f.decision
    assert np.array_equal(r.rgb, astronaut)
    assert r.hole is not None and not r.hole.any()


def test_force_restores_the_landmark_region_when_no_censor_is_found(finder, tiny_models, astronaut) -> None:
    r = Restorer(tiny_models, region="eyes", finder=finder, force=True).restore(astronaut, want_mask=True)
    assert r.restored == 1 and "--force" in r.faces[0].decision
    assert r.hole is not None and r.hole.sum() > 0
    changed = np.any(r.rgb != astronaut, axis=2)
    assert changed.any() and not (changed & (r.hole == 0)).any(), "only the landmark region (the hole) changes"


def test_the_hole_reaches_the_model_as_the_censor_plus_a_pixel(finder, astronaut, astronaut_face) -> None:
    """The model is given the censor's own pixels as the hole (plus the margin), not the eye band."""
    from unmask.infer.censors.hole import hole_mask

    class Record(Flat):
        def run(self, crops: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
            self.holes = holes
            return super().run(crops, holes)

    rec = Record(size=128)
    photo, bar = draw_censor(astronaut, astronaut_face.landmarks, "bar")
    r = Restorer({"eyes": rec}, region="eyes", finder=finder).restore(photo)
    assert r.restored == 1
    hole = rec.holes[0] > 0
    band = hole_mask(align(photo, astronaut_face, 128, "eyes").landmarks, 128, "eyes") > 0
    assert hole.sum() < 0.75 * band.sum(), "the hole is the bar, far smaller than the landmark eye band"
