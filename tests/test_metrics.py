"""Metrics against known values; LPIPS against an independent plain-torch re-implementation."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unmask.measure.metrics import PSNR_CAP, hole_box, l1_hole, psnr_hole, ssim_box, summarize

SIZE = 64


@pytest.fixture(scope="module")
def shared() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared"


def _face_like(seed: int = 0) -> np.ndarray:
    """A smooth colour image with some structure (gradients, a disc), HxWx3 uint8."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    r = np.hypot(y - SIZE / 2, x - SIZE / 2)
    img = np.stack([60 + 2 * x, 80 + 1.5 * y, 120 + 60 * (r < SIZE / 4)], -1)
    img += np.random.default_rng(seed).normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _hole(y0: int = 16, y1: int = 40, x0: int = 12, x1: int = 52) -> np.ndarray:
    h = np.zeros((SIZE, SIZE), np.uint8)
    h[y0:y1, x0:x1] = 255
    return h


def _add(img: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img.astype(np.float64) + noise), 0, 255).astype(np.uint8)


def test_module_imports_without_torch() -> None:
    code = (
        "import sys; import unmask.measure.metrics; assert 'torch' not in sys.modules and 'skimage' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_identical_images() -> None:
    img, hole = _face_like(), _hole()
    assert psnr_hole(img, img, hole) == PSNR_CAP
    assert ssim_box(img, img, hole) == pytest.approx(1.0, abs=1e-12)
    assert l1_hole(img, img, hole) == 0.0


def test_uniform_error_of_ten_grey_levels() -> None:
    img = np.full((SIZE, SIZE, 3), 100, np.uint8)
    hole = _hole()
    for other in (img + 10, img - 10):
        assert psnr_hole(other, img, hole) == pytest.approx(20 * math.log10(255 / 10), abs=1e-12)
        assert l1_hole(other, img, hole) == pytest.approx(10 / 255, abs=1e-15)


def test_gaussian_noise_psnr_matches_theory() -> None:
    img = np.full((SIZE, SIZE, 3), 128, np.uint8)  # mid-grey: sigma 8 noise never clips
    hole = _hole(8, 56, 8, 56)
    sigma = 8.0
    noisy = _add(img, np.random.default_rng(1).normal(0, sigma, img.shape))
    assert psnr_hole(noisy, img, hole) == pytest.approx(20 * math.log10(255 / sigma), abs=0.2)


def test_ssim_and_psnr_fall_with_noise() -> None:
    img, hole = _face_like(), _hole()
    rng = np.random.default_rng(2)
    ssims, psnrs = [], []
    for sigma in (2, 8, 25):
        noisy = _add(img, rng.normal(0, sigma, img.shape))
        ssims.append(ssim_box(noisy, img, hole))
        psnrs.append(psnr_hole(noisy, img, hole))
    assert ssims[0] > ssims[1] > ssims[2] and ssims[0] < 1.0
    assert psnrs[0] > psnrs[1] > psnrs[2]


def test_errors_outside_the_hole_do_not_count() -> None:
    img, hole = _face_like(), _hole()
    pred = _add(img, np.random.default_rng(3).normal(0, 10, img.shape))
    spoiled = pred.copy()
    spoiled[hole == 0] = 255 - spoiled[hole == 0]  # wreck everything outside the hole, even inside the box
    assert psnr_hole(spoiled, img, hole) == psnr_hole(pred, img, hole)
    assert l1_hole(spoiled, img, hole) == l1_hole(pred, img, hole)
    assert ssim_box(spoiled, img, hole) == ssim_box(pred, img, hole)
    # and an error inside the hole does count
    worse = pred.copy()
    worse[20, 20] = 255 - worse[20, 20]
    assert psnr_hole(worse, img, hole) < psnr_hole(pred, img, hole)
    assert ssim_box(worse, img, hole) < ssim_box(pred, img, hole)


def test_hole_threshold_and_errors() -> None:
    img = _face_like()
    with pytest.raises(ValueError, match="empty"):
        psnr_hole(img, img, np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(ValueError, match="HxW"):
        l1_hole(img, img, np.zeros((SIZE, SIZE + 1), np.uint8))
    with pytest.raises(ValueError, match="HxWx3"):
        ssim_box(img, img[:, :-1], _hole())
    soft = _hole() // 255 * 200  # 200 > 127 still counts as hole
    other = img.copy()
    other[_hole() > 0] += 1
    assert l1_hole(other, img, soft) == pytest.approx(1 / 255)


def test_hole_box_grows_to_seven_and_stays_inside() -> None:
    h = np.zeros((SIZE, SIZE), np.uint8)
    h[0, SIZE - 1] = 255  # one corner pixel
    assert hole_box(h) == (0, 7, SIZE - 7, SIZE)
    h = np.zeros((SIZE, SIZE), np.uint8)
    h[30:32, 10:40] = 255
    y0, y1, x0, x1 = hole_box(h)
    assert (y1 - y0, x0, x1) == (7, 10, 40) and y0 <= 30 and y1 >= 32
    tiny = np.full((5, 9), 255, np.uint8)
    assert hole_box(tiny) == (0, 5, 0, 9)


def test_ssim_of_a_tiny_hole_uses_a_7x7_box() -> None:
    img = _face_like()
    h = np.zeros((SIZE, SIZE), np.uint8)
    h[30, 30] = 255
    pred = img.copy()
    pred[30, 30] = 255 - pred[30, 30]
    assert 0.0 < ssim_box(pred, img, h) < 1.0


def test_summarize() -> None:
    v = np.random.default_rng(4).normal(10.0, 2.0, 200)
    mean, lo, hi = summarize(v)
    assert mean == pytest.approx(v.mean())
    assert lo < mean < hi
    half = 1.96 * v.std(ddof=1) / math.sqrt(v.size)  # bootstrap ~ normal interval for n = 200
    assert hi - lo == pytest.approx(2 * half, rel=0.15)
    assert summarize(v) == (mean, lo, hi)  # fixed seed: reproducible
    assert summarize(list(v)) == (mean, lo, hi)
    assert summarize([3.5]) == (3.5, 3.5, 3.5)
    assert summarize([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert summarize([1.0, float("inf")]) == (math.inf, math.inf, math.inf)
    for bad in ([], [1.0, float("nan")], [float("inf"), -float("inf")]):
        with pytest.raises(ValueError):
            summarize(bad)


# ---------------------------------------------------------------- LPIPS


@pytest.fixture(scope="module")
def weights(shared: Path) -> tuple[Path, Path]:
    lp, feat = shared / "weights" / "lpips_squeeze_v0.1.pth", shared / "weights" / "squeezenet1_1_features.pth"
    if not (lp.is_file() and feat.is_file()):
        pytest.skip(f"LPIPS / SqueezeNet weights not found under {shared / 'weights'}")
    pytest.importorskip("torch")
    return lp, feat


@pytest.fixture(scope="module")
def lpips(weights: tuple[Path, Path]):
    from unmask.measure.metrics import LPIPS

    return LPIPS(weights[0], weights[1])


def _reference_lpips(a: np.ndarray, b: np.ndarray, lp_path: Path, feat_path: Path) -> np.ndarray:
    """LPIPS written out from the paper / lpips package with functional torch ops on the raw state dicts."""
    import torch
    import torch.nn.functional as F

    sd = torch.load(feat_path, weights_only=True)
    lin = torch.load(lp_path, weights_only=True)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)  # lpips ScalingLayer
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def fire(x: torch.Tensor, i: int) -> torch.Tensor:
        p = f"features.{i}."
        s = F.relu(F.conv2d(x, sd[p + "squeeze.weight"], sd[p + "squeeze.bias"]))
        e1 = F.relu(F.conv2d(s, sd[p + "expand1x1.weight"], sd[p + "expand1x1.bias"]))
        e3 = F.relu(F.conv2d(s, sd[p + "expand3x3.weight"], sd[p + "expand3x3.bias"], padding=1))
        return torch.cat([e1, e3], 1)

    def pool(x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 3, 2, ceil_mode=True)

    def taps(img: np.ndarray) -> list[torch.Tensor]:
        x = torch.tensor(img, dtype=torch.float64).permute(0, 3, 1, 2) / 255 * 2 - 1
        x = ((x - shift.double()) / scale.double()).float()
        h1 = F.relu(F.conv2d(x, sd["features.0.weight"], sd["features.0.bias"], stride=2))
        h2 = fire(fire(pool(h1), 3), 4)
        h3 = fire(fire(pool(h2), 6), 7)
        h4 = fire(pool(h3), 9)
        h5 = fire(h4, 10)
        h6 = fire(h5, 11)
        h7 = fire(h6, 12)
        return [h1, h2, h3, h4, h5, h6, h7]

    with torch.no_grad():
        total = torch.zeros(a.shape[0])
        for k, (fa, fb) in enumerate(zip(taps(a), taps(b))):
            na = fa / (torch.sqrt(torch.sum(fa**2, dim=1, keepdim=True)) + 1e-10)
            nb = fb / (torch.sqrt(torch.sum(fb**2, dim=1, keepdim=True)) + 1e-10)
            w = lin[f"lin{k}.model.1.weight"].view(1, -1, 1, 1)
            total += ((na - nb) ** 2 * w).sum(dim=1).mean(dim=(1, 2))
    return total.numpy()


def test_lpips_identical_is_zero(lpips) -> None:
    img = _face_like()
    assert lpips([img, img], [img, img]) == pytest.approx([0.0, 0.0], abs=1e-9)


def test_lpips_grows_with_noise_and_is_symmetric(lpips) -> None:
    img = _face_like()
    rng = np.random.default_rng(5)
    noisy = [_add(img, rng.normal(0, s, img.shape)) for s in (4, 12, 36)]
    d = lpips([img] * 3, noisy)
    assert d.shape == (3,) and d.dtype == np.float64
    assert 0 < d[0] < d[1] < d[2]
    assert lpips(noisy, [img] * 3) == pytest.approx(d, abs=1e-6)
    assert lpips(np.stack(noisy), np.stack([img] * 3)) == pytest.approx(d, abs=1e-6)  # NxHxWx3 too
    assert lpips(noisy[1], img) == pytest.approx(d[1:2], abs=1e-6)  # a single image is a batch of one


def test_lpips_matches_reference_implementation(lpips, weights) -> None:
    rng = np.random.default_rng(6)
    a = np.stack([_face_like(1), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)])
    b = np.stack([_add(a[0], rng.normal(0, 20, a[0].shape)), _face_like(2)])
    ref = _reference_lpips(a, b, *weights)
    got = lpips(a, b)
    assert ref.min() > 0.01  # a comparison of non-trivial distances
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)


def test_lpips_mixed_sizes_and_errors(lpips) -> None:
    big, small = _face_like(), _face_like()[:32, :40]
    d = lpips([big, small, big], [big[::-1], small[::-1], big[::-1]])
    assert d[0] == pytest.approx(d[2], abs=1e-7) and d[1] > 0
    assert d[1] == pytest.approx(lpips(small, small[::-1])[0], abs=1e-7)
    with pytest.raises(ValueError, match="length"):
        lpips([big, big], [big])
    with pytest.raises(ValueError, match="shapes differ"):
        lpips([big], [small])
    with pytest.raises(ValueError, match="too small"):
        lpips(big[:10], big[:10])


def test_lpips_missing_weights_is_a_clear_error(tmp_path: Path, weights) -> None:
    from unmask.train.features import WeightsNotFound
    from unmask.measure.metrics import LPIPS

    with pytest.raises(WeightsNotFound, match="LPIPS"):
        LPIPS(tmp_path / "absent.pth", weights[1])
    with pytest.raises(WeightsNotFound):
        LPIPS(weights[0], tmp_path / "absent.pth")


def test_lpips_rejects_wrong_heads(tmp_path: Path, weights) -> None:
    import torch

    from unmask.measure.metrics import LPIPS

    bad = tmp_path / "bad.pth"
    torch.save({"lin0.model.1.weight": torch.zeros(1, 3, 1, 1)}, bad)
    with pytest.raises(ValueError, match="LPIPS v0.1"):
        LPIPS(bad, weights[1])
