"""Every registered architecture at its ``tiny`` preset, on CPU: spec contract, forward/backward, gradients of
every generator and discriminator parameter, 30 optimisation steps on one batch, ONNX export with a dynamic
batch axis and ONNX Runtime parity. Cases with perceptual/style/self-guided losses use the real SqueezeNet
weights from ``../shared/weights`` and skip when they are absent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unmask.train import archs
from unmask.train.archs._base import hole_boxes, merge_weights
from unmask.spec import meta_from_spec

NAMES = archs.names()
EXPECTED = {"context-encoder", "dmfn", "edgeconnect", "glcic", "lsgan-ae"}


def _feature_keys(name: str) -> tuple[str, ...]:
    return tuple(getattr(archs.get(name).Trainer, "feature_keys", ()))


# every arch without feature losses; those that have them, also with them (real SqueezeNet weights)
CASES = [(n, False) for n in NAMES] + [(n, True) for n in NAMES if _feature_keys(n)]
CASE_IDS = [f"{n}{'-features' if f else ''}" for n, f in CASES]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (conftest.one_torch_thread)."""


def make_batch(name: str, size: int, n: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Smooth random 'faces' in [-1, 1], an eye-bar-like band (sample 0) and a box (sample 1) as holes."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    target = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False).clamp(-1, 1)
    mask = torch.zeros(n, 1, size, size)
    q = size // 8
    mask[0, :, 3 * q : 4 * q + 1, q : 7 * q] = 1.0
    mask[1 % n, :, 5 * q : 7 * q, 2 * q : 5 * q] = 1.0
    batch = {"target": target, "mask": mask, "image": target * (1 - mask)}
    if "edges" in archs.spec(name).extra_inputs:
        from unmask.edges import canny_edges

        rgb = ((target.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
        batch["edges"] = torch.from_numpy(np.stack([canny_edges(im) for im in rgb]))[:, None]
    if "guide" in archs.spec(name).extra_inputs:
        batch["guide"] = torch.full_like(mask, -1.0)  # no user edges, as the dataset gives
    return batch


def make_trainer(name: str, features: torch.nn.Module | None, preset: str = "tiny", **weights: float):
    mod = archs.get(name)
    spec = mod.SPEC
    p = spec.preset(preset)
    w = merge_weights(spec, weights)
    if features is None:
        w.update({k: 0.0 for k in _feature_keys(name)})
    return mod.Trainer(spec, p, mod.build_generator(p), mod.build_discriminators(p), w, features)


def _inputs(trainer, batch) -> tuple[torch.Tensor, ...]:
    return trainer.generator_inputs(batch)


def _features_for(with_features: bool, request) -> torch.nn.Module | None:
    return request.getfixturevalue("squeeze_features") if with_features else None


# -- contract ---------------------------------------------------------------------------------------------------
def test_all_archs_registered():
    assert EXPECTED <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_spec_contract(name):
    mod = archs.get(name)
    spec = mod.SPEC
    assert spec.name == name and spec.default_preset == "small"
    assert {"tiny", "small", "paper"} <= set(spec.presets)
    assert spec.preset("tiny").size == 32 and spec.preset("small").size == 128
    assert set(_feature_keys(name)) <= set(spec.loss_weights)
    assert all(isinstance(v, float) for v in spec.loss_weights.values())
    assert 0 < spec.lr < 1e-2 and all(0 <= b < 1 for b in spec.betas)
    meta = meta_from_spec(spec, "tiny", "eyes")
    assert meta.inputs == ("image", "mask", *spec.extra_inputs)
    G = mod.build_generator(spec.preset("tiny"))
    assert isinstance(mod.build_discriminators(spec.preset("tiny")), torch.nn.ModuleDict)
    assert sum(p.numel() for p in G.parameters()) > 0


@pytest.mark.parametrize("name", [n for n in NAMES if _feature_keys(n)])
def test_feature_losses_need_features(name):
    with pytest.raises(ValueError, match="feature"):
        mod = archs.get(name)
        p = mod.SPEC.preset("tiny")
        mod.Trainer(mod.SPEC, p, mod.build_generator(p), mod.build_discriminators(p), merge_weights(mod.SPEC, {}))


# -- forward / backward -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,with_features", CASES, ids=CASE_IDS)
def test_forward_backward_gradients(name, with_features, request):
    torch.manual_seed(0)
    trainer = make_trainer(name, _features_for(with_features, request))
    batch = make_batch(name, trainer.preset.size)
    size = trainer.preset.size

    out = trainer.G(*_inputs(trainer, batch))
    assert out.shape == (2, 3, size, size)
    assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1

    assert trainer.phases(0) >= {"g", "d"}
    loss, logs, fake = trainer.generator_loss(batch)
    assert fake.shape == (2, 3, size, size)
    assert torch.isfinite(loss) and loss.ndim == 0
    assert "rec" in logs and all(math.isfinite(v) for v in logs.values())
    if with_features:
        assert any(k in logs for k in _feature_keys(name))
    loss.backward()
    for pname, p in trainer.G.named_parameters():
        assert p.grad is not None, f"G.{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"G.{pname} has a non-finite gradient"
    for pname, p in trainer.D.named_parameters():  # a generator step must leave D alone
        assert p.grad is None, f"D.{pname} got a gradient from the generator loss"

    d_loss, d_logs = trainer.discriminator_loss(batch, fake.detach())
    assert torch.isfinite(d_loss) and all(math.isfinite(v) for v in d_logs.values())
    d_loss.backward()
    assert len(list(trainer.D.parameters())) > 0
    for pname, p in trainer.D.named_parameters():
        assert p.grad is not None, f"D.{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"D.{pname} has a non-finite gradient"


def _train(trainer, batch, steps: int = 30) -> list[dict[str, float]]:
    """``steps`` steps of the training loop's protocol on one fixed batch: ``phases``, G step, D step on the
    detached output (computed without grad when G does not step). Returns the generator logs per G step."""
    spec = trainer.spec
    opt_g = torch.optim.Adam(trainer.G.parameters(), lr=spec.lr, betas=spec.betas)
    opt_d = torch.optim.Adam(trainer.D.parameters(), lr=spec.d_lr or spec.lr, betas=spec.betas)
    history = []
    for step in range(steps):
        phases = trainer.phases(step)
        fake = None
        if "g" in phases:
            opt_g.zero_grad(set_to_none=True)
            loss, logs, fake = trainer.generator_loss(batch)
            loss.backward()
            opt_g.step()
            history.append(logs)
        if "d" in phases:
            if fake is None:
                with torch.no_grad():
                    fake = trainer.G(*_inputs(trainer, batch))
            opt_d.zero_grad(set_to_none=True)
            d_loss, _ = trainer.discriminator_loss(batch, fake.detach())
            d_loss.backward()
            opt_d.step()
    assert all(math.isfinite(v) for logs in history for v in logs.values())
    return history


@pytest.mark.parametrize("name", NAMES)
def test_training_lowers_reconstruction(name):
    """30 steps on one batch (paper learning rates, all non-feature losses on) lower the hole's L1 by >10 %."""
    torch.manual_seed(0)
    trainer = make_trainer(name, None)
    history = _train(trainer, make_batch(name, trainer.preset.size))
    first, last = history[0]["rec"], history[-1]["rec"]
    assert last < 0.9 * first, f"rec went {first:.4f} -> {last:.4f}"


@pytest.mark.parametrize("name", [n for n in NAMES if _feature_keys(n)])
def test_training_lowers_feature_losses(name, squeeze_features):
    """With the real SqueezeNet features and every default weight, 30 steps lower each feature loss."""
    torch.manual_seed(0)
    trainer = make_trainer(name, squeeze_features)
    history = _train(trainer, make_batch(name, trainer.preset.size))
    keys = [k for k in _feature_keys(name) if k in history[0]]
    assert keys
    for k in keys:
        assert history[-1][k] < history[0][k], f"{k} went {history[0][k]:.4f} -> {history[-1][k]:.4f}"


# -- ONNX -------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
@pytest.mark.filterwarnings("ignore:ONNX export mode is set to TrainingMode.EVAL:UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_dynamic_batch_parity(name, tmp_path):
    import onnx
    import onnxruntime as ort

    torch.manual_seed(0)
    trainer = make_trainer(name, None)
    G = trainer.export_module()
    for m in G.modules():  # batch-norm running statistics = those of one batch, so eval outputs are not flat
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        G.train()
        G(*_inputs(trainer, make_batch(name, trainer.preset.size, n=2, seed=1)))
    G.eval()
    names = ["image", "mask", *trainer.spec.extra_inputs]
    one = make_batch(name, trainer.preset.size, n=1, seed=2)
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(
        G,
        _inputs(trainer, one),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=names,
        output_names=["output"],
        dynamic_axes={k: {0: "batch"} for k in [*names, "output"]},
    )
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == names
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"

    two = make_batch(name, trainer.preset.size, n=2, seed=3)
    ort.set_default_logger_severity(3)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["output"], {k: v.numpy() for k, v in zip(names, _inputs(trainer, two))})[0]
    with torch.no_grad():
        want = G(*_inputs(trainer, two)).numpy()
    assert got.shape == (2, 3, trainer.preset.size, trainer.preset.size)
    assert want.std() > 1e-3 and np.abs(want[0] - want[1]).max() > 1e-4  # a real image per sample
    assert np.abs(got - want).max() < 1e-3


# -- arch-specific behaviour ------------------------------------------------------------------------------------
def test_glcic_three_phase_schedule():
    mod = archs.get("glcic")
    spec = mod.SPEC
    from dataclasses import replace

    preset = replace(spec.preset("tiny"), extra={"t_c": 2, "t_d": 3})
    trainer = mod.Trainer(spec, preset, mod.build_generator(preset), mod.build_discriminators(preset),
                          merge_weights(spec, {}))  # fmt: skip
    assert [trainer.phases(s) for s in range(6)] == [{"g"}, {"g"}, {"d"}, {"d"}, {"d"}, {"g", "d"}]
    batch = make_batch("glcic", preset.size)
    trainer.phases(0)
    assert "adv" not in trainer.generator_loss(batch)[1]  # completion-only phase: reconstruction alone
    trainer.phases(5)
    assert "adv" in trainer.generator_loss(batch)[1]
    paper = spec.preset("paper").extra
    assert (paper["t_c"], paper["t_d"]) == (90_000, 10_000)
    assert spec.preset("small").extra["t_c"] == 0 and spec.preset("small").extra["t_d"] == 0


@pytest.mark.parametrize("stage", ["edge", "image"])
def test_edgeconnect_single_stage_training(stage):
    torch.manual_seed(0)
    off = "image_stage" if stage == "edge" else "edge_stage"
    trainer = make_trainer("edgeconnect", None, **{off: 0.0})
    assert trainer.stage == stage
    batch = make_batch("edgeconnect", trainer.preset.size)
    loss, logs, fake = trainer.generator_loss(batch)
    loss.backward()
    trained, idle = (trainer.G.edge, trainer.G.inpaint) if stage == "edge" else (trainer.G.inpaint, trainer.G.edge)
    assert all(p.grad is not None for p in trained.parameters())
    assert all(p.grad is None for p in idle.parameters())
    assert ("edge_adv" in logs) == (stage == "edge") and ("l1" in logs) == (stage == "image")
    d_loss, d_logs = trainer.discriminator_loss(batch, fake.detach())
    d_loss.backward()
    assert set(d_logs) == ({"d_edge"} if stage == "edge" else {"d_image"})


def test_edgeconnect_canny_edges_and_hole_zeroing():
    from unmask.edges import canny_edges

    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, 16:] = 255  # one vertical step edge
    hole = np.zeros((32, 32), np.uint8)
    hole[:8] = 255
    edges = canny_edges(rgb)
    assert edges.dtype == np.float32 and set(np.unique(edges)) == {0.0, 1.0}
    assert edges[:, 14:18].sum() > 0 and edges[:, :10].sum() == 0
    masked = canny_edges(rgb, hole)
    assert masked[:8].sum() == 0 and np.array_equal(masked[8:], edges[8:])
    with pytest.raises(ValueError):
        canny_edges(rgb[..., 0])


def test_edgeconnect_ignores_edges_inside_the_hole():
    torch.manual_seed(0)
    G = make_trainer("edgeconnect", None).G.eval()
    batch = make_batch("edgeconnect", 32)
    noisy = batch["edges"] + batch["mask"]  # stray "edges" everywhere in the hole (e.g. a censor bar's border)
    with torch.no_grad():
        assert torch.allclose(G(batch["image"], batch["mask"], batch["edges"] * (1 - batch["mask"])),
                              G(batch["image"], batch["mask"], noisy), atol=1e-6)  # fmt: skip


def test_generators_see_the_hole_content():
    """The hole's pixels reach every generator (hole_fill ``keep``: a mosaic's colours are input); the dataset and
    the runtime blank them for ``zero`` models, the generator itself never does (issue 10: before, every arch
    zeroed the hole inside its forward, so ``keep`` did nothing)."""
    torch.manual_seed(0)
    for name in NAMES:
        trainer = make_trainer(name, None)
        G = trainer.G.eval()
        batch = make_batch(name, 32)
        scrambled = dict(batch, image=batch["image"] + batch["mask"] * torch.rand_like(batch["image"]))
        with torch.no_grad():
            a = G(*trainer.generator_inputs(batch))
            b = G(*trainer.generator_inputs(scrambled))
        # (untrained generators can be nearly constant: any difference at all shows the pixels arrive; a forward
        # that blanks the hole gives bit-identical outputs)
        assert not torch.equal(a, b), f"{name}: the hole's content does not reach the generator"


def test_context_encoder_channel_wise_fc_does_not_mix_channels():
    from unmask.train.archs.context_encoder import ChannelWiseFC

    layer = ChannelWiseFC(3, 4)
    x = torch.randn(2, 3, 4, 4)
    y = layer(x)
    x2 = x.clone()
    x2[:, 0] += 1.0
    y2 = layer(x2)
    assert y.shape == x.shape
    assert not torch.allclose(y[:, 0], y2[:, 0]) and torch.equal(y[:, 1:], y2[:, 1:])
    expected = x[1, 2].reshape(16) @ layer.weight[2] + layer.bias[2, 0]
    assert torch.allclose(y[1, 2].reshape(16), expected, atol=1e-6)


def test_dmfn_local_discriminator_sees_the_hole_box():
    batch = make_batch("dmfn", 32)
    boxes = hole_boxes(batch["mask"], 16)
    for m, (y0, x0) in zip(batch["mask"][:, 0], boxes.tolist()):
        ys, xs = torch.nonzero(m, as_tuple=True)
        cy, cx = (ys.min() + ys.max()).item() / 2, (xs.min() + xs.max()).item() / 2
        assert y0 <= cy < y0 + 16 and x0 <= cx < x0 + 16


def test_small_presets_fit_the_cpu_budget():
    """``small`` presets: 0.5-3.5 M generator parameters (the sizing MEASURED.md plans with)."""
    for name in NAMES:
        mod = archs.get(name)
        n = sum(p.numel() for p in mod.build_generator(mod.SPEC.preset("small")).parameters())
        assert 0.5e6 < n < 3.5e6, f"{name}: {n / 1e6:.2f} M parameters"


def test_dmfn_hole_loss_and_no_discriminator_without_adversarial_terms():
    """The fine-tune's ``hole`` term is the L1 in the hole (``rec``), weighed into the total; with ``adv`` and
    ``fm`` at 0 the discriminator is not stepped (and its terms are not computed)."""
    torch.manual_seed(0)
    batch = make_batch("dmfn", 32)
    plain = make_trainer("dmfn", None)
    assert plain.phases(0) == {"g", "d"}
    _, logs, _ = plain.generator_loss(batch)
    assert "hole" not in logs and "adv" in logs
    tuned = make_trainer("dmfn", None, hole=5.0, adv=0.0, fm=0.0)
    tuned.G.load_state_dict(plain.G.state_dict())
    assert tuned.phases(0) == {"g"}
    total, logs, out = tuned.generator_loss(batch)
    assert "adv" not in logs and "fm" not in logs
    from unmask.train.losses import l1

    hole_l1 = float(l1(out.detach(), batch["target"], batch["mask"]))
    assert logs["hole"] == pytest.approx(hole_l1, rel=1e-5) and logs["rec"] == pytest.approx(hole_l1, rel=1e-5)
    assert float(total) == pytest.approx(logs["l1"] + 5.0 * logs["hole"], rel=1e-4)
