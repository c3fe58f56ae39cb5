"""The blur censor (issue 31): drawn over the eyes or over nose and mouth with a Gaussian or a box kernel; found by
its lack of sharp edges against the face's own (not on clean faces, not on a photo out of focus); and restored so
that the result, blurred again, matches what the blur left (:mod:`unmask.infer.deblur`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.deblur import Kernel, blur_area, keep_blur, project
from unmask.infer.face import landmarks as L
from unmask.infer.face.detect import Found

SIZE = 256


@pytest.fixture(scope="module")
def canon() -> np.ndarray:
    """The canonical 478-point template in a 256 px crop."""
    from unmask.infer.face.align import template

    return template() * SIZE


def _in_mask(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.round(np.atleast_2d(pts)).astype(int)
    return mask[p[:, 1], p[:, 0]] > 0


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 60, (h, w, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.2) * 2 - 128, 0, 255).astype(np.uint8)


def test_kernels_blur_as_their_size_says() -> None:
    img = np.zeros((41, 41), np.float32)
    img[20, 20] = 1.0
    for k in (Kernel("gaussian", 3.0), Kernel("box", 7)):
        out = k.apply(img)
        assert out.sum() == pytest.approx(1.0, abs=1e-4)
        ys, xs = np.mgrid[0:41, 0:41]
        var = float((out * (xs - 20) ** 2).sum())
        assert np.sqrt(var) == pytest.approx(k.sigma, rel=0.05)
        assert out[20 + k.reach :, :].max() < 1e-2 * out.max()
    assert Kernel("box", 7).scaled(2.0).side == 14
    with pytest.raises(ValueError, match="unknown blur kernel 'motion'"):
        Kernel("motion", 3)
    with pytest.raises(ValueError, match="> 0"):
        Kernel("gaussian", 0)


def test_blur_area_changes_only_the_area() -> None:
    img = _texture(60, 80)
    mask = np.zeros((60, 80), np.uint8)
    mask[20:40, 10:70] = 255
    out = blur_area(img, mask, Kernel("gaussian", 2.5))
    assert np.array_equal(out[mask == 0], img[mask == 0])
    lap = lambda a: np.abs(cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.CV_32F))[25:35, 20:60].mean()
    assert lap(out) < 0.3 * lap(img)


@pytest.mark.parametrize("kernel", [Kernel("gaussian", 2.0), Kernel("box", 5)])
def test_projection_brings_a_fill_closer_to_the_hidden_pixels(kernel: Kernel) -> None:
    """Whatever the generator drew (here: a flat grey, and a wrong texture), the pixels moved towards what the blur
    tells are closer to the hidden original, and only the hole's pixels move."""
    truth = _texture(64, 96, 1)
    area = np.zeros((64, 96), bool)
    area[16:48, 16:80] = True
    observed = blur_area(truth, np.where(area, 255, 0).astype(np.uint8), kernel)
    for fill in (np.full_like(truth, 128), _texture(64, 96, 2)):
        start = np.where(area[..., None], fill, truth).astype(np.float32)
        out = project(start, observed, area, area, kernel)
        err = lambda a: float(np.sqrt(((a[area] - truth[area].astype(np.float32)) ** 2).mean()))
        assert err(out) < 0.8 * err(start)
        assert np.array_equal(out[~area], start[~area])
        again = kernel.apply(out)
        assert (
            np.abs(again[area] - observed[area]).mean() < np.abs(kernel.apply(start)[area] - observed[area]).mean() / 3
        )


def test_keep_blur_writes_only_the_hole() -> None:
    from unmask.infer.censors import Occluder

    truth = _texture(80, 100, 3)
    mask = np.zeros((40, 60), np.uint8)
    mask[10:30, 10:50] = 255
    full = np.zeros((80, 100), np.uint8)
    full[20:60, 20:80] = mask
    observed = blur_area(truth, full, Kernel("gaussian", 2.0))
    occ = Occluder("blur", (20, 20, 80, 60), mask, 1, 40.0, blur=Kernel("gaussian", 2.0))
    out = observed.copy()
    out[full > 0] = 128
    before = out.copy()
    assert keep_blur(out, occ, observed) > 0
    hole = occ.in_photo(out.shape, occ.hole()) > 0
    assert np.array_equal(out[~hole], before[~hole])
    err = lambda a: np.abs(a[full > 0].astype(int) - truth[full > 0]).mean()
    assert err(out) < err(before)
    assert keep_blur(out, Occluder("bar", occ.box, mask, 1, 40.0), observed) == 0, "no kernel, nothing done"


def test_drawn_blurs_vary_as_specified(canon: np.ndarray) -> None:
    """Nominal: a Gaussian over a rectangle that hides both eyes (or nose and mouth) and nothing else changes;
    randomised: both kernels, rectangles, turned rectangles and ellipses, slight to heavy."""
    img = _texture(SIZE, SIZE, 4)
    out, occ = draw_censor(img, canon, "blur")
    assert np.array_equal(out[occ == 0], img[occ == 0]) and (out[occ > 0] != img[occ > 0]).mean() > 0.5
    assert _in_mask(occ, canon[list(L.RIGHT_EYE + L.LEFT_EYE)]).all()
    assert not _in_mask(occ, canon[[L.MOUTH_RIGHT, L.MOUTH_LEFT, L.CHIN]]).any()
    _, occ_m = draw_censor(img, canon, "blur-mouth")
    assert (
        _in_mask(occ_m, canon[[L.NOSE_TIP, L.MOUTH_RIGHT, L.MOUTH_LEFT]]).all()
        and not _in_mask(occ_m, canon[list(L.RIGHT_EYE + L.LEFT_EYE)]).any()
    )
    import unmask.infer.censors.blur as B

    kinds, corners = set(), set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        k = B._kernel(100.0, rng)
        kinds.add(k.kind)
        assert 0.035 * 100 <= k.sigma <= 0.2 * 100
        _, m = draw_censor(img, canon, "blur", np.random.default_rng(seed))
        poly = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0][0]
        corners.add(min(len(poly), 5))
    assert kinds == {"gaussian", "box"}
    assert 4 in corners and 5 in corners, "rectangles and ellipses"


class _Given:
    """A face finder that hands over the faces it is given."""

    def __init__(self, *faces) -> None:
        self.faces = list(faces)

    def search(self, rgb: np.ndarray) -> Found:
        return Found(self.faces)

    def close(self) -> None:
        pass


def _find(rgb: np.ndarray, face, region: str, models: dict):
    """The censor :meth:`Restorer.locate` finds over ``region`` of ``face`` (None: none)."""
    from unmask.infer.pipeline import Restorer

    with Restorer(models, region=region, finder=_Given()) as r:
        found = r.locate(rgb, face)
    return None if not isinstance(found, tuple) else found[3]


def test_blurred_eyes_are_found_and_clean_faces_are_not(single_faces, finder, tiny_models) -> None:
    """On validation faces (landmarks found again on the censored photo, JPEG q90): every randomised eye blur is
    found as a blur, covering nearly all of it; the clean faces, and the same faces out of focus all over, are not."""
    covers = []
    for i, (rgb, face) in enumerate(single_faces):
        censored, truth = draw_censor(rgb, face.landmarks, "blur", np.random.default_rng(i))
        censored = jpeg(censored, 90)
        again = finder.search(censored).faces
        assert len(again) == 1
        occ = _find(censored, again[0], "eyes", tiny_models)
        assert occ is not None and occ.kind == "blur" and occ.blur is not None, f"face {i}"
        got = occ.in_photo(rgb.shape, occ.hole()) > 0
        covers.append(float((got[truth > 0]).mean()))
        assert covers[-1] >= 0.75, f"face {i}: the blur is found nearly whole"
        assert _find(jpeg(rgb, 90), face, "eyes", tiny_models) is None, f"clean face {i}"
        soft = _find(jpeg(cv2.GaussianBlur(rgb, (0, 0), 1.5), 90), face, "eyes", tiny_models)
        assert soft is None, f"face {i} out of focus all over"
    assert np.mean(covers) >= 0.9


def test_restorer_keeps_what_the_blur_left(astronaut, astronaut_face, tiny_models) -> None:
    """The pipeline finds the nominal eye blur on the astronaut, restores it, and reports the projection."""
    from unmask.infer.pipeline import Restorer

    censored, truth = draw_censor(astronaut, astronaut_face.landmarks, "blur")
    model = tiny_models["eyes"]

    with Restorer({"eyes": model}, region="eyes", finder=_Given(astronaut_face)) as r:
        res = r.restore(censored)
    f = res.faces[0]
    assert f.status == "restored" and "found a blur censor" in f.decision and "kept what the blur left" in f.decision
    with Restorer({"eyes": model}, region="eyes", finder=_Given(astronaut_face), keep_mosaic=False) as r:
        plain = r.restore(censored)
    m = truth > 0
    err = lambda a: np.abs(a[m].astype(int) - astronaut[m]).mean()
    assert err(res.rgb) < err(plain.rgb), "the projection brings the fill closer to the hidden eyes"


@pytest.mark.parametrize("kernel", [Kernel("gaussian", 3.0), Kernel("box", 9)])
def test_refit_finds_the_kernel_from_a_sharp_guess(kernel: Kernel) -> None:
    """The finder's kernel is rough; blurring the fill (here: the hidden pixels themselves, slightly wrong) with
    each candidate and keeping the closest to the observation recovers the blur's strength."""
    from unmask.infer.deblur import refit

    truth = _texture(64, 96, 5)
    area = np.zeros((64, 96), bool)
    area[16:48, 16:80] = True
    observed = blur_area(truth, np.where(area, 255, 0).astype(np.uint8), kernel)
    guess = np.clip(truth.astype(np.float32) + np.random.default_rng(0).normal(0, 8, truth.shape), 0, 255)
    for start in (Kernel("gaussian", kernel.sigma * 0.6), Kernel("gaussian", kernel.sigma * 1.5)):
        got = refit(guess, observed, area, start)
        assert got.sigma == pytest.approx(kernel.sigma, rel=0.15)


@pytest.mark.parametrize("kernel", [Kernel("gaussian", 2.0), Kernel("box", 6)])
def test_refit_sees_past_a_fill_off_in_tone(kernel: Kernel) -> None:
    """A generator's fill errs mostly broadly (its tone, a feature's shape); the kernel is still found from the
    edges' width (compared pixel by pixel, the broad error pulled the fit to the widest kernel tried)."""
    from unmask.infer.deblur import refit

    truth = _texture(64, 96, 5)
    area = np.zeros((64, 96), bool)
    area[16:48, 16:80] = True
    observed = blur_area(truth, np.where(area, 255, 0).astype(np.uint8), kernel)
    broad = cv2.resize(np.random.default_rng(0).normal(0, 30, (4, 6, 3)).astype(np.float32), (96, 64))
    guess = np.clip(truth.astype(np.float32) + broad, 0, 255)
    for start in (Kernel("gaussian", kernel.sigma * 0.6), Kernel("gaussian", kernel.sigma * 1.5)):
        got = refit(guess, observed, area, start)
        assert got.sigma == pytest.approx(kernel.sigma, rel=0.1)


@pytest.mark.parametrize("kernel", [Kernel("gaussian", 1.5), Kernel("box", 5), Kernel("box", 6)])
def test_adjoint_is_the_kernels_transpose(kernel: Kernel) -> None:
    """<K a, b> = <a, K^T b> for images away from the border (a box of even side is not centred on its pixel)."""
    rng = np.random.default_rng(1)
    a, b = np.zeros((2, 40, 50, 3), np.float32)
    a[10:30, 10:40] = rng.normal(0, 1, (20, 30, 3))
    b[10:30, 10:40] = rng.normal(0, 1, (20, 30, 3))
    lhs, rhs = float((kernel.apply(a) * b).sum()), float((a * kernel.adjoint(b)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-4, abs=1e-3)


def test_keep_blur_keeps_the_observed_pixels_beyond_the_detail_zone() -> None:
    """The hole's pixels beyond the occluder's detail zone go back to the observed ones (feathered over a few
    pixels); inside it they are the projected fill, as with no zone."""
    from unmask.infer.censors import Occluder
    from unmask.infer.deblur import DETAIL_FEATHER

    truth = _texture(80, 120, 5)
    mask = np.zeros((40, 80), np.uint8)
    mask[5:35, 5:75] = 255
    full = np.zeros((80, 120), np.uint8)
    full[20:60, 20:100] = mask
    kernel = Kernel("gaussian", 2.0)
    observed = blur_area(truth, full, kernel)
    detail = np.zeros_like(mask)
    detail[:, :30] = 255  # the zone: the occluder's left part
    iod = 40.0
    whole = Occluder("blur", (20, 20, 100, 60), mask, 1, iod, blur=kernel)
    zoned = Occluder("blur", (20, 20, 100, 60), mask, 1, iod, blur=kernel, detail=detail)
    outs = []
    for occ in (whole, zoned):
        out = observed.copy()
        out[full > 0] = 128
        keep_blur(out, occ, observed)
        outs.append(out)
    reach = int(np.ceil(4 * DETAIL_FEATHER * iod))
    far, inside = slice(20 + 30 + reach, 100), slice(20, 20 + 30 - reach)
    rows = slice(25, 55)
    assert np.array_equal(outs[1][rows, far], observed[rows, far]), "beyond the zone: as observed"
    assert not np.array_equal(outs[0][rows, far], observed[rows, far]), "without a zone the fill is kept there"
    assert np.array_equal(outs[1][rows, inside], outs[0][rows, inside]), "inside the zone: as without one"
