"""The detail recipe's training pieces (issue 24): the hole-box crops, the differentiable LPIPS against the metric,
DMFN's hole-box terms (LPIPS, PatchGAN, its feature matching) and when its discriminators exist and step, the
photometric augmentation, and the validation's detail and hole-box LPIPS."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unmask.train.archs import dmfn
from unmask.train.archs._base import merge_weights
from unmask.train.data.augment import color_jitter
from unmask.train.losses.texture import BOX_SHAPE, box_crops, hole_box_coords, load_lpips_heads, lpips_distance

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FEATURES = SHARED / "weights" / "squeezenet1_1_features.pth"
HEADS = SHARED / "weights" / "lpips_squeeze_v0.1.pth"


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """torch on one thread (conftest.one_torch_thread)."""


def _faces(n: int = 2, size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 6, 6, generator=g) * 2 - 1
    target = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    target = (target + 0.2 * torch.rand(n, 3, size, size, generator=g) - 0.1).clamp(-1, 1)
    mask = torch.zeros(n, 1, size, size)
    mask[0, :, 10:16, 4:28] = 1.0
    mask[1 % n, :, 18:26, 8:20] = 1.0
    return {"target": target, "mask": mask, "image": target * (1 - mask)}


def test_hole_box_is_the_padded_bounding_box_clamped_to_the_crop() -> None:
    mask = torch.zeros(3, 1, 40, 40)
    mask[0, :, 10:18, 5:30] = 1  # 8 rows high: 2 px of padding each side
    mask[1, :, 0:4, 30:40] = 1  # at the corner: clamped
    assert hole_box_coords(mask) == [(8, 20, 3, 32), (0, 5, 29, 40), (0, 40, 0, 40)]


def test_box_crops_resample_every_box_to_one_shape_and_keep_gradients() -> None:
    x = torch.rand(2, 3, 40, 40, requires_grad=True)
    coords = [(8, 20, 3, 32), (0, 40, 0, 40)]
    (bx,) = box_crops([x], coords)
    assert bx.shape == (2, 3, *BOX_SHAPE)
    bx.sum().backward()
    assert x.grad is not None
    g = x.grad[0].abs().sum(0)
    assert g[8:20, 3:32].sum() > 0 and g[25:, :].sum() == 0, "sample 0's gradient stays inside its box"


def test_lpips_loss_matches_the_metric(squeeze_features) -> None:
    """The training loss is the eval's LPIPS: same value on the same uint8 images, 0 on identical ones."""
    if not HEADS.is_file():
        pytest.skip("LPIPS heads absent")
    from unmask.measure.metrics import LPIPS

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    b = cv2.GaussianBlur(a[0], (0, 0), 2)[None].repeat(2, 0)
    metric = LPIPS(HEADS, FEATURES)(list(a), list(b))
    ta = torch.from_numpy(a.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1
    tb = torch.from_numpy(b.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1
    heads = load_lpips_heads(HEADS)
    loss = lpips_distance(squeeze_features(ta), squeeze_features(tb), heads)
    assert abs(float(loss) - metric.mean()) < 1e-4 * max(1.0, metric.mean())
    assert float(lpips_distance(squeeze_features(ta), squeeze_features(ta), heads)) < 1e-6


def _trainer(features, **weights: float) -> dmfn.Trainer:
    p = dmfn.SPEC.preset("tiny")
    w = merge_weights(dmfn.SPEC, weights)
    return dmfn.Trainer(dmfn.SPEC, p, dmfn.build_generator(p), dmfn.build_discriminators(p), w, features)


def test_patch_discriminator_exists_only_when_its_terms_weigh() -> None:
    off = _trainer(None, self_guided=0, perceptual=0, align=0)
    assert "patch" not in off.D and "gl" in off.D
    on = _trainer(None, self_guided=0, perceptual=0, align=0, adv=0, fm=0, patch=0.1)
    assert "patch" in on.D and on.phases(0) == {"g", "d"}
    bare = _trainer(None, self_guided=0, perceptual=0, align=0, adv=0, fm=0)
    assert bare.phases(0) == {"g"}


def test_hole_box_terms_log_count_and_train_their_discriminator(squeeze_features) -> None:
    if not HEADS.is_file():
        pytest.skip("LPIPS heads absent")
    torch.manual_seed(0)
    batch = _faces()
    tr = _trainer(squeeze_features, lpips=10, patch=0.1, patch_fm=2)
    base = _trainer(squeeze_features)  # the same weights (spectral norm's power iterations too) without the box terms
    base.G.load_state_dict(tr.G.state_dict())
    base.D["gl"].load_state_dict(tr.D["gl"].state_dict())
    loss, logs, fake = tr.generator_loss(batch)
    for k in ("lpips", "patch", "patch_fm"):
        assert k in logs and math.isfinite(logs[k])
    assert logs["lpips"] > 0
    base_loss, _, _ = base.generator_loss(batch)
    extra = 10 * logs["lpips"] + 0.1 * logs["patch"] + 2 * logs["patch_fm"]
    assert abs(float(loss.detach()) - float(base_loss.detach()) - extra) < 1e-4 * max(1.0, abs(float(loss.detach())))
    loss.backward()
    assert all(p.grad is None for p in tr.D.parameters()), "the generator step leaves D alone"
    d_loss, d_logs = tr.discriminator_loss(batch, fake.detach())
    assert "d_patch" in d_logs
    d_loss.backward()
    assert all(p.grad is not None for p in tr.D["patch"].parameters())


def test_lpips_term_lowers_with_training(squeeze_features) -> None:
    if not HEADS.is_file():
        pytest.skip("LPIPS heads absent")
    torch.manual_seed(0)
    batch = _faces()
    tr = _trainer(squeeze_features, lpips=10, adv=0, fm=0, self_guided=0, perceptual=0, align=0)
    opt = torch.optim.Adam(tr.G.parameters(), lr=2e-3)
    first = None
    for _ in range(25):
        opt.zero_grad()
        loss, logs, _ = tr.generator_loss(batch)
        loss.backward()
        opt.step()
        first = logs["lpips"] if first is None else first
    assert logs["lpips"] < 0.8 * first


def test_color_jitter_is_deterministic_and_reaches_darker_skin() -> None:
    from skimage import data

    crop = cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
    a = color_jitter(crop, np.random.default_rng(5))
    b = color_jitter(crop, np.random.default_rng(5))
    assert np.array_equal(a, b) and a.shape == crop.shape and a.dtype == np.uint8
    means = [color_jitter(crop, np.random.default_rng(s)).mean() for s in range(60)]
    assert min(means) < 0.7 * crop.mean() and max(means) > 1.05 * crop.mean()


def test_dataset_jitter_changes_target_and_input_alike() -> None:
    from unmask.train.data.dataset import CensorDataset

    class Store:
        size = 64

        def __len__(self) -> int:
            return 4

        def crop(self, i: int) -> np.ndarray:
            from skimage import data

            return cv2.resize(data.astronaut()[0:300, 100:400], (64, 64), interpolation=cv2.INTER_AREA)

        def landmarks(self, i: int) -> np.ndarray:
            from unmask.infer.face.align import template

            return (template() * 64).astype(np.float32)

    plain = CensorDataset(Store(), dmfn.SPEC, {"bar": 1.0}, "zero", flip=False)
    jit = CensorDataset(Store(), dmfn.SPEC, {"bar": 1.0}, "zero", flip=False, jitter=1.0)
    p, j = plain[(0, 1)], jit[(0, 1)]
    assert not torch.equal(p["target"], j["target"]), "the target is jittered"
    known = j["mask"] < 0.5
    assert torch.allclose(j["image"][known.expand_as(j["image"])], j["target"][known.expand_as(j["target"])], atol=0.1)
    assert torch.equal(
        CensorDataset(Store(), dmfn.SPEC, {"bar": 1.0}, "zero", flip=False, jitter=1.0)[(0, 1)]["target"], j["target"]
    )


def test_validation_reports_detail_and_hole_box_lpips() -> None:
    from unmask.measure.validation import hole_box_pair, laplacian_energy

    rng = np.random.default_rng(1)
    sharp = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    soft = cv2.GaussianBlur(sharp, (0, 0), 1.5)
    region = np.zeros((64, 64), bool)
    region[20:40, 10:50] = True
    assert laplacian_energy(soft, region) < 0.5 * laplacian_energy(sharp, region)
    hole = region.astype(np.uint8) * 255
    a, b = hole_box_pair(sharp, soft, hole)
    assert a.shape == b.shape and min(a.shape[:2]) == 64 and a.shape[1] > a.shape[0]


def test_warm_start_skips_a_discriminator_the_new_run_does_not_use(tmp_path) -> None:
    """--init from a run with the hole-box PatchGAN into a run without it (and back) loads what both have."""
    from unmask.train.checkpoint import CheckpointError, load_discriminators

    with_patch = _trainer(None, self_guided=0, perceptual=0, align=0, patch=0.1)
    plain = _trainer(None, self_guided=0, perceptual=0, align=0)
    load_discriminators(plain.D, with_patch.D.state_dict(), tmp_path / "a.pt")
    for k, v in plain.D["gl"].state_dict().items():
        assert torch.equal(v, with_patch.D["gl"].state_dict()[k])
    again = _trainer(None, self_guided=0, perceptual=0, align=0, patch=0.1)
    assert load_discriminators(again.D, plain.D.state_dict(), tmp_path / "b.pt") == ["patch"], "patch starts fresh"
    bad = {k: v[..., :1] if v.ndim else v for k, v in with_patch.D.state_dict().items()}
    with pytest.raises(CheckpointError):
        load_discriminators(plain.D, bad, tmp_path / "c.pt")
