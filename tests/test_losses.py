"""Each loss in unmask.train.losses on inputs whose answer is known."""

from __future__ import annotations

import math

import pytest
import torch

from unmask.train import losses
from unmask.train.losses import adversarial as adv


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- pixel ------------------------------------------------------------------------------------------------------
def test_pixel_losses_zero_on_identical_and_known_values():
    x = torch.rand(2, 3, 8, 8)
    assert losses.l1(x, x) == 0 and losses.mse(x, x) == 0
    y = x + 2.0
    assert losses.l1(x, y).item() == pytest.approx(2.0)
    assert losses.mse(x, y).item() == pytest.approx(4.0)


def test_pixel_weight_restricts_to_region_and_normalises_by_it():
    x = torch.zeros(1, 3, 8, 8)
    y = torch.zeros(1, 3, 8, 8)
    y[..., :2, :] = 1.0  # error only in the top two rows
    hole = torch.zeros(1, 1, 8, 8)
    hole[..., :4, :] = 1.0  # the top half
    assert losses.l1(x, y, hole).item() == pytest.approx(0.5)  # half of the weighted pixels are wrong by 1
    assert losses.l1(x, y, 1.0 - hole).item() == 0.0
    assert losses.l1(x, y, torch.zeros_like(hole)).item() == 0.0  # no weighted pixel: 0, not NaN


# -- perceptual / style -------------------------------------------------------------------------------------------
def test_gram_known_value():
    f = torch.ones(1, 2, 2, 2)
    assert torch.allclose(losses.gram(f), torch.full((1, 2, 2), 4.0 / 8.0))


def test_perceptual_and_style_zero_on_identical_positive_otherwise():
    fx = [torch.rand(2, 4, 8, 8), torch.rand(2, 8, 4, 4)]
    assert losses.perceptual_loss(fx, fx) == 0 and losses.style_loss(fx, fx) == 0
    fy = [f + 0.5 for f in fx]
    assert losses.perceptual_loss(fx, fy).item() == pytest.approx(1.0)  # 0.5 per level, two levels
    assert losses.style_loss(fx, fy).item() > 0
    assert losses.perceptual_loss(fx, fy, [1.0, 0.0]).item() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        losses.perceptual_loss(fx, fy, [1.0])


def test_feature_losses_do_not_differentiate_the_target():
    a = torch.rand(1, 2, 4, 4, requires_grad=True)
    b = torch.rand(1, 2, 4, 4, requires_grad=True)
    (losses.perceptual_loss([a], [b]) + losses.style_loss([a], [b]) + losses.feature_matching([a], [b])).backward()
    assert a.grad is not None and b.grad is None


# -- adversarial ------------------------------------------------------------------------------------------------
def test_ragan_known_values():
    zero = torch.zeros(4)
    assert adv.ragan_d_loss(zero, zero).item() == pytest.approx(math.log(2))
    assert adv.ragan_g_loss(zero, zero).item() == pytest.approx(math.log(2))
    real, fake = torch.full((4,), 2.0), torch.full((4,), -2.0)
    confident = math.log1p(math.exp(-4.0))  # both relative logits are +-4 on the right side
    assert adv.ragan_d_loss(real, fake).item() == pytest.approx(confident, rel=1e-5)
    assert adv.ragan_g_loss(real, fake).item() == pytest.approx(math.log1p(math.exp(4.0)), rel=1e-5)


def test_lsgan_known_values():
    ones, zeros = torch.ones(3), torch.zeros(3)
    assert adv.lsgan_d_loss(ones, zeros).item() == 0.0
    assert adv.lsgan_d_loss(zeros, ones).item() == pytest.approx(1.0)
    assert adv.lsgan_g_loss(ones).item() == 0.0
    assert adv.lsgan_g_loss(zeros).item() == pytest.approx(0.5)


def test_hinge_and_nsgan_known_values():
    assert adv.hinge_d_loss(torch.ones(2), -torch.ones(2)).item() == 0.0
    assert adv.hinge_d_loss(torch.zeros(2), torch.zeros(2)).item() == pytest.approx(2.0)
    assert adv.hinge_g_loss(torch.full((2,), 3.0)).item() == pytest.approx(-3.0)
    assert adv.nsgan_d_loss(torch.zeros(2), torch.zeros(2)).item() == pytest.approx(2 * math.log(2))
    assert adv.nsgan_g_loss(torch.zeros(2)).item() == pytest.approx(math.log(2))


def test_dispatch_matches_functions_and_rejects_unknown():
    real, fake = torch.randn(5), torch.randn(5)
    for kind in losses.GAN_KINDS:
        assert torch.isfinite(losses.d_loss(kind, real, fake))
        assert torch.isfinite(losses.g_loss(kind, real, fake))
    assert losses.g_loss("lsgan", None, fake) == adv.lsgan_g_loss(fake)
    with pytest.raises(ValueError):
        losses.g_loss("ragan", None, fake)
    with pytest.raises(ValueError):
        losses.d_loss("wgan", real, fake)


def test_ragan_generator_gradient_reaches_only_fake():
    real = torch.randn(6, requires_grad=True)
    fake = torch.randn(6, requires_grad=True)
    adv.ragan_g_loss(real, fake).backward()
    assert real.grad is None and fake.grad is not None and fake.grad.abs().sum() > 0


def test_feature_matching_zero_on_identical_and_weighted():
    feats = [torch.rand(1, 2, 4, 4), torch.rand(1, 3, 2, 2)]
    assert losses.feature_matching(feats, feats) == 0
    shifted = [f + 1.0 for f in feats]
    assert losses.feature_matching(shifted, feats).item() == pytest.approx(2.0)
    assert losses.feature_matching(shifted, feats, [0.5, 0.0]).item() == pytest.approx(0.5)


# -- geometric alignment ------------------------------------------------------------------------------------------
def _delta(h: int, w: int, y: int, x: int) -> torch.Tensor:
    f = torch.zeros(1, 1, h, w)
    f[0, 0, y, x] = 1.0
    return f


def test_feature_centres_of_a_delta_and_of_a_uniform_map():
    c = losses.feature_centres(_delta(5, 5, 4, 1))  # x index 1 of 5 -> -0.5, y index 4 -> 1
    assert torch.allclose(c, torch.tensor([[[-0.5, 1.0]]]), atol=1e-5)
    assert torch.allclose(losses.feature_centres(torch.zeros(2, 3, 6, 4)), torch.zeros(2, 3, 2), atol=1e-6)


def test_alignment_zero_for_equal_centres_positive_for_shifted():
    f = torch.rand(2, 4, 8, 8)
    assert losses.alignment_loss(f, f).item() == pytest.approx(0.0, abs=1e-12)
    assert losses.alignment_loss(3.0 * f, f).item() == pytest.approx(0.0, abs=1e-10)  # same centres
    a, b = _delta(5, 5, 2, 1), _delta(5, 5, 2, 3)  # centres x = -0.5 and 0.5, same y
    assert losses.alignment_loss(a, b).item() == pytest.approx(0.5, rel=1e-4)  # (1^2 + 0^2) / 2
    shifted = torch.roll(f, shifts=2, dims=3)
    assert losses.alignment_loss(shifted, f).item() > 0


# -- self-guided regression ---------------------------------------------------------------------------------------
def test_guidance_map_normalised_per_image():
    pred = torch.zeros(2, 3, 4, 4)
    target = torch.zeros(2, 3, 4, 4)
    target[0, :, 1, 2] = 0.5
    target[1, :, 3, 3] = 4.0
    target[1, :, 0, 0] = 1.0
    g = losses.guidance_map(pred, target)
    assert g.shape == (2, 1, 4, 4)
    assert g[0, 0, 1, 2] == 1.0 and g[1, 0, 3, 3] == 1.0 and g[1, 0, 0, 0] == pytest.approx(0.25)
    assert g.min() >= 0 and not g.requires_grad


def test_self_guided_zero_on_identical_and_emphasises_high_error_pixels():
    f = torch.rand(1, 2, 4, 4)
    guidance = torch.zeros(1, 1, 4, 4)
    guidance[0, 0, 0, 0] = 1.0  # the generator's worst pixel
    assert losses.self_guided_loss([f], [f], guidance).item() == 0.0
    at_worst, elsewhere = f.clone(), f.clone()
    at_worst[0, :, 0, 0] += 1.0
    elsewhere[0, :, 3, 3] += 1.0
    hi = losses.self_guided_loss([at_worst], [f], guidance).item()
    lo = losses.self_guided_loss([elsewhere], [f], guidance).item()
    assert hi == pytest.approx(2 * lo)  # weight 1 + guidance: 2 at the worst pixel, 1 where it is right


def test_self_guided_resizes_guidance_to_each_level():
    fx = [torch.rand(1, 2, 8, 8), torch.rand(1, 2, 4, 4)]
    fy = [torch.rand(1, 2, 8, 8), torch.rand(1, 2, 4, 4)]
    guidance = torch.rand(1, 1, 16, 16)
    loss = losses.self_guided_loss(fx, fy, guidance, [1.0, 0.5])
    expected = sum(
        w * ((1 + torch.nn.functional.adaptive_avg_pool2d(guidance, a.shape[-2:])) * (a - b).abs()).mean()
        for w, a, b in zip([1.0, 0.5], fx, fy)
    )
    assert loss.item() == pytest.approx(expected.item())
    with pytest.raises(ValueError):
        losses.self_guided_loss(fx, fy, guidance, [1.0])
