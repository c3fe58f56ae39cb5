"""unmask.infer.face.align: the similarity fit, its weights, the warp's pixel convention, and large photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.infer.face import landmarks as L
from unmask.infer.crop import align, face_matrix, fit_weights
from unmask.infer.face.align import ANCHORS, anchor_points, fit_similarity, matrix_scale, template

BLOB_IDS = (L.NOSE_TIP, L.RIGHT_EYE_OUTER, L.LEFT_EYE_OUTER, L.MOUTH_RIGHT, L.MOUTH_LEFT, L.CHIN, L.NOSE_BRIDGE)


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return np.asarray(pts, np.float64) @ m[:, :2].T + m[:, 2]


# ------------------------------------------------------------------------------------------------------------ fit


@pytest.mark.parametrize(("scale", "angle", "tx", "ty"), [(1.0, 0.0, 0.0, 0.0), (0.37, 23.0, -40.5, 12.25),
                                                         (2.5, -170.0, 300.0, -7.0), (0.01, 90.0, 1.0, 2.0)])  # fmt: skip
def test_fit_similarity_recovers_a_known_similarity_exactly(scale: float, angle: float, tx: float, ty: float) -> None:
    src = np.random.default_rng(0).uniform(-100, 400, (60, 2))
    m = _similarity(scale, angle, tx, ty)
    np.testing.assert_allclose(fit_similarity(src, _apply(m, src)), m, rtol=1e-9, atol=1e-9)


def test_fit_similarity_ignores_zero_weight_points_and_never_reflects() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (40, 2))
    m = _similarity(0.8, 12.0, 5.0, -3.0)
    dst = _apply(m, src)
    w = np.ones(40)
    dst[:10] += rng.normal(0, 30, (10, 2))  # "covered" points that drifted
    w[:10] = 0.0
    np.testing.assert_allclose(fit_similarity(src, dst, w), m, atol=1e-9)
    assert not np.allclose(fit_similarity(src, dst), m, atol=1e-3), "without the weights the drift matters"
    mirrored = src * [-1, 1]
    r = fit_similarity(src, mirrored)
    assert np.linalg.det(r[:, :2]) > 0, "a similarity, not a reflection"


def test_fit_weights_exclude_the_covered_landmarks() -> None:
    none, eyes, mouth = fit_weights(None), fit_weights("eyes"), fit_weights("mouth")
    assert (none == 1).all() and len(none) == L.N_LANDMARKS
    assert (eyes[L.EYE_REGION] == 0).all(), "eyes, irises and brows are under a bar"
    assert (eyes[list(L.LIPS)] == 1).all() and eyes[L.NOSE_TIP] == 1 and eyes[L.CHIN] == 1
    assert (mouth[list(L.LIPS)] == 0).all() and mouth[L.CHIN] == 0 and mouth[L.NOSE_TIP] == 0
    assert (mouth[L.EYES] == 1).all() and (mouth[list(L.RIGHT_BROW + L.LEFT_BROW)] == 1).all()
    for w in (eyes, mouth):
        assert 100 < w.sum() < L.N_LANDMARKS - 50, "enough landmarks left to fit, enough excluded"
    with pytest.raises(ValueError):
        fit_weights("ears")


@pytest.mark.parametrize(("region", "moved"), [("eyes", L.EYE_REGION), ("mouth", np.array(L.LIPS + (L.CHIN,)))])
def test_covered_landmarks_do_not_move_the_crop(astronaut_face, region: str, moved: np.ndarray) -> None:
    pts = astronaut_face.landmarks.astype(np.float64)
    drifted = pts.copy()
    drifted[moved] += np.random.default_rng(2).normal(0, 6, (len(moved), 2))
    np.testing.assert_allclose(face_matrix(drifted, 128, region), face_matrix(pts, 128, region), atol=1e-9)
    assert not np.allclose(face_matrix(drifted, 128, None), face_matrix(pts, 128, None), atol=1e-3)


def test_template_puts_the_anchors_where_declared() -> None:
    t = template()
    assert t.shape == (L.N_LANDMARKS, 2)
    np.testing.assert_allclose(anchor_points(t), ANCHORS, atol=0.03)


# ------------------------------------------------------------------------------------------------ round trip


def test_align_then_inverse_maps_landmarks_back(astronaut, astronaut_face) -> None:
    for region in (None, "eyes", "mouth"):
        a = align(astronaut, astronaut_face, 128, region)
        assert a.crop.shape == (128, 128, 3) and a.crop.dtype == np.uint8 and a.size == 128
        back = _apply(a.inverse, a.landmarks)
        assert np.abs(back - astronaut_face.landmarks).max() < 0.5
        # the face lands where the template says: anchors within a few percent of the crop
        err = np.abs(anchor_points(a.landmarks.astype(np.float64)) / 128 - ANCHORS).max()
        assert err < 0.06, f"{region}: anchors off by {err:.3f} of the crop"


def _blob_image(shape: tuple[int, int], centres: np.ndarray, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    img = np.zeros(shape, np.float32)
    for x, y in centres:
        r = int(4 * sigma)
        y0, y1, x0, x1 = int(y) - r, int(y) + r + 2, int(x) - r, int(x) + r + 2
        img[y0:y1, x0:x1] += 250 * np.exp(-((xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2) / (2 * sigma**2))
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _centroids(img: np.ndarray, guesses: np.ndarray, radius: int) -> np.ndarray:
    g = img[..., 0].astype(np.float64)
    out = []
    for x, y in guesses:
        x0, y0 = int(round(x)) - radius, int(round(y)) - radius
        win = g[y0 : y0 + 2 * radius + 1, x0 : x0 + 2 * radius + 1]
        yy, xx = np.mgrid[0 : win.shape[0], 0 : win.shape[1]]
        out.append([(xx * win).sum() / win.sum() + x0, (yy * win).sum() / win.sum() + y0])
    return np.array(out)


@pytest.mark.parametrize("upscale", [1, 8], ids=["direct-warp", "area-preshrink"])
def test_warp_follows_the_matrix_to_a_tenth_of_a_pixel(astronaut_face, upscale: int) -> None:
    """Blobs drawn at landmarks of the photo land on the crop landmarks, in both warp paths (a photo 8x larger
    is shrunk with area averaging first): the crop and the matrix agree, so paste-back puts pixels back in place."""
    pts = astronaut_face.landmarks.astype(np.float64) * upscale
    shape = (512 * upscale, 512 * upscale)
    img = _blob_image(shape, pts[list(BLOB_IDS)], sigma=2.5 * upscale)
    a = align(img, pts, 128, None)
    assert (matrix_scale(a.matrix) < 0.5) == (upscale > 1)
    expected = a.landmarks[list(BLOB_IDS)].astype(np.float64)
    found = _centroids(a.crop, expected, radius=6)
    assert np.abs(found - expected).max() < 0.1, np.abs(found - expected).max()
    # and back: the crop warped with the inverse puts the blobs on the photo's landmarks
    if upscale == 1:
        back = cv2.warpAffine(a.crop, a.inverse, (512, 512), flags=cv2.INTER_LINEAR)
        np.testing.assert_allclose(_centroids(back, pts[list(BLOB_IDS)], radius=7), pts[list(BLOB_IDS)], atol=0.5)


def test_24_megapixel_photo_aligns_like_the_small_one(finder, astronaut, astronaut_face) -> None:
    side = 4896  # 24.0 megapixels
    k = side / 512
    big = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_CUBIC)
    faces = finder.search(big).faces
    assert len(faces) == 1
    for region in ("eyes", "mouth"):
        small_crop = align(astronaut, astronaut_face, 128, region)
        big_crop = align(big, faces[0], 128, region)
        # the same face in the same place: landmarks in crop pixels and the scale agree
        assert np.abs(big_crop.landmarks - small_crop.landmarks).mean() < 0.5
        assert matrix_scale(big_crop.matrix) * k == pytest.approx(matrix_scale(small_crop.matrix), rel=0.02)
        diff = np.abs(big_crop.crop.astype(int) - small_crop.crop.astype(int)).mean()
        assert diff < 4.0, f"{region}: crops differ by {diff:.2f} grey levels on average"
    # with the very same landmarks, the only difference left is resampling (no half-pixel shift)
    same = align(big, (astronaut_face.landmarks.astype(np.float64) + 0.5) * k - 0.5, 128, "eyes")
    ref = align(astronaut, astronaut_face, 128, "eyes")
    gray = [cv2.cvtColor(c, cv2.COLOR_RGB2GRAY).astype(np.float32) for c in (ref.crop, same.crop)]
    (dx, dy), _ = cv2.phaseCorrelate(*gray)
    assert abs(dx) < 0.08 and abs(dy) < 0.08, f"crop of the large photo is shifted by ({dx:.3f}, {dy:.3f}) px"
    assert np.abs(same.crop.astype(int) - ref.crop.astype(int)).mean() < 2.0


def test_keypoints_cross_check_catches_wrong_landmarks(astronaut, astronaut_face) -> None:
    from dataclasses import replace

    from unmask.infer.crop import KEYPOINT_TOLERANCE, align_checked, keypoint_error

    good, used = align_checked(astronaut, astronaut_face, 128, "eyes")
    assert not used and keypoint_error(good, astronaut_face.keypoints) < KEYPOINT_TOLERANCE
    # landmarks that drifted far (as on a face FaceMesh got wrong): the detector's keypoints take over
    shifted = replace(astronaut_face, landmarks=astronaut_face.landmarks + np.float32([0.0, 60.0]))
    assert keypoint_error(align(astronaut, shifted, 128, "eyes"), shifted.keypoints) > KEYPOINT_TOLERANCE
    fixed, used = align_checked(astronaut, shifted, 128, "eyes")
    assert used
    # the keypoint alignment lands the eyes where the good alignment does (within 0.15 inter-ocular distances)
    r, l = L.eye_centres(good.landmarks)
    k = np.asarray(shifted.keypoints[:2], np.float64) @ fixed.matrix[:, :2].T + fixed.matrix[:, 2]
    iod = np.linalg.norm(l - r)
    assert np.linalg.norm(k[0] - r) < 0.15 * iod and np.linalg.norm(k[1] - l) < 0.15 * iod
