"""A user's own edges for EdgeConnect (``unmask run --edges FILE``): the ``guide`` input of the graph, its
training, the runtime feed, the warp into each face's crop, and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import json_lines, save_image
from test_archs import make_batch, make_trainer
from unmask.edges import NO_GUIDE, EdgeGuide, guide_map


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """torch on one thread (conftest.one_torch_thread)."""


def _generator():
    torch.manual_seed(0)
    trainer = make_trainer("edgeconnect", None)
    return trainer, make_batch("edgeconnect", 32)


def test_guide_replaces_predicted_edges_only_inside_the_hole() -> None:
    trainer, b = _generator()
    G = trainer.G.eval()
    mask = b["mask"]
    with torch.no_grad():
        plain = G(b["image"], mask, b["edges"], b["guide"])
        assert torch.allclose(plain, G(b["image"], mask, b["edges"]), atol=1e-6), "-1 everywhere = no guide"
        lines = torch.zeros_like(mask)
        lines[..., ::4, :] = 1.0  # horizontal stripes of "edges"
        outside_only = torch.where(mask > 0, b["guide"], lines)
        assert torch.allclose(plain, G(b["image"], mask, b["edges"], outside_only), atol=1e-6), "outside is ignored"
        striped = G(b["image"], mask, b["edges"], torch.where(mask > 0, lines, b["guide"]))
        blank = G(b["image"], mask, b["edges"], torch.where(mask > 0, torch.zeros_like(mask), b["guide"]))
    assert (striped - blank).abs().max() > 1e-4, "given edges change the output"
    assert not torch.allclose(striped, plain, atol=1e-5)


def test_training_gives_true_edges_to_some_samples_and_eval_none() -> None:
    from unmask.train.archs.edgeconnect import GUIDE_PROB

    trainer, b = _generator()
    big = {k: v.repeat(200, 1, 1, 1) for k, v in b.items()}
    trainer.train()
    torch.manual_seed(1)
    g = trainer._training_guide(big)
    given = (g >= 0).flatten(1).all(dim=1)
    assert 0.15 < given.float().mean() < 0.35 and GUIDE_PROB == 0.25
    assert torch.equal(g[given], big["edges"][given]) and (g[~given] == NO_GUIDE).all()
    trainer.eval()
    assert torch.equal(trainer._training_guide(big), big["guide"])
    # a training step with the guide runs and reaches every parameter of both generators
    trainer.train()
    loss, logs, _ = trainer.generator_loss(b)
    loss.backward()
    assert all(p.grad is not None for p in trainer.G.parameters()) and np.isfinite(logs["rec"])


def test_guide_map_and_edge_guide_conventions() -> None:
    edges = np.zeros((8, 8), np.uint8)
    edges[2] = 255
    where = np.zeros((8, 8), np.uint8)
    where[:, :4] = 255
    m = guide_map(EdgeGuide(edges, where), (8, 8))
    assert m.dtype == np.float32 and (m[:, 4:] == NO_GUIDE).all()
    assert (m[2, :4] == 1).all() and m[:, :4].sum() == 4
    assert (guide_map(None, (8, 8)) == NO_GUIDE).all()
    with pytest.raises(ValueError, match="HxW uint8"):
        EdgeGuide(edges.astype(np.float32), where)
    with pytest.raises(ValueError, match="differ"):
        EdgeGuide(edges, where[:4])


def test_thin_strokes_survive_the_warp_into_a_smaller_crop() -> None:
    from unmask.infer.pipeline import guide_to_crop

    h = w = 1024
    edges = np.zeros((h, w), np.uint8)
    edges[500, 100:900] = 255  # a 1-px line
    guide = EdgeGuide(edges, np.full((h, w), 255, np.uint8))
    m = np.array([[0.125, 0, 0], [0, 0.125, 0]], np.float64)  # 1024 px -> 128 px crop
    crop = guide_to_crop(guide, m, 128)
    rows = np.nonzero(crop.edges.any(axis=1))[0]
    assert rows.size and rows.min() >= 61 and rows.max() <= 64
    assert crop.edges[rows].any(axis=0)[15:110].all(), "the line stays unbroken"
    assert (crop.where == 255).all()


# ------------------------------------------------------------------------------------ exported model, runtime, CLI
@pytest.fixture(scope="module")
def edge_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny EdgeConnect, trained one step on faces of ../shared and exported."""
    from test_export import trained
    from unmask.train.export import export

    runs = tmp_path_factory.mktemp("guide-runs")
    trained(runs, tmp_path_factory, "edgeconnect")
    out = tmp_path_factory.mktemp("guide-models") / "ec-eyes.onnx"
    export(runs / "edgeconnect-eyes", out, name="ec-eyes")
    return out


def test_runtime_feeds_the_guide(edge_model: Path, tiny_models: dict) -> None:
    from unmask.infer.runtime import ModelError, load_model

    m = load_model(edge_model, "cpu", 1)
    assert m.takes_edges and m.meta.inputs[-1] == "guide"
    s = m.size
    crop = np.full((s, s, 3), 120, np.uint8)
    crop[:, s // 2 :] = 40
    hole = np.zeros((s, s), np.uint8)
    hole[s // 3 : s // 2, s // 4 : 3 * s // 4] = 255
    lines = np.zeros((s, s), np.uint8)
    lines[::3] = 255
    guide = EdgeGuide(lines, np.full((s, s), 255, np.uint8))
    feed = m.to_tensors([crop, crop], [hole, hole], [None, guide])
    assert feed["guide"].shape == (2, 1, s, s) and (feed["guide"][0] == NO_GUIDE).all()
    assert set(np.unique(feed["guide"][1])) == {0.0, 1.0}
    (a,) = m.run([crop], [hole])
    (b,) = m.run([crop], [hole], [guide])
    assert np.abs(a.astype(int) - b.astype(int))[hole > 0].max() > 0
    with pytest.raises(ModelError, match="cannot follow given edges"):
        tiny_models["eyes"].to_tensors([crop], [hole], [guide])


def test_cli_edges(cli, edge_model: Path, censored_astronaut, tmp_path: Path) -> None:
    from unmask.infer.io import read_image

    censored, bar = censored_astronaut
    photo = save_image(tmp_path / "in" / "astronaut.png", censored)
    lines = np.zeros(bar.shape, np.uint8)
    lines[::6] = 255
    edges_png = save_image(tmp_path / "e" / "edges.png", lines)
    outs = {}
    for tag, extra in (("plain", ()), ("edges", ("--edges", edges_png))):
        res = cli(photo, "-o", tmp_path / tag, "--model", edge_model, *extra, "--json")
        assert res.exit_code == 0, res.stderr
        (rec,), _ = json_lines(res.stdout)
        assert rec["status"] == "restored" and rec["faces"][0]["model"] == "ec-eyes"
        outs[tag] = read_image(tmp_path / tag / "astronaut.png").rgb.astype(int)
    diff = np.abs(outs["plain"] - outs["edges"]).max(axis=2)
    assert diff[bar > 0].max() > 0, "the given edges change the restored eyes"
    ys, xs = np.nonzero(bar)
    far = np.ones_like(diff, bool)
    far[max(ys.min() - 60, 0) : ys.max() + 60, max(xs.min() - 60, 0) : xs.max() + 60] = False
    assert diff[far].max() == 0, "nothing changes away from the hole"
    # a model without a guide input: one line naming the file, nothing written
    res = cli(photo, "-o", tmp_path / "dmfn", "--edges", edges_png)
    assert res.exit_code == 2 and "cannot follow given edges" in res.stderr and str(edges_png) in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "dmfn").exists()
    # an edge map of another size: that photo fails, naming the map and both sizes
    small = save_image(tmp_path / "e" / "small.png", lines[:100, :100])
    res = cli(photo, "-o", tmp_path / "small", "--model", edge_model, "--edges", small, "--json")
    assert res.exit_code == 1
    (rec,), _ = json_lines(res.stdout)
    assert rec["status"] == "failed" and "edge map" in rec["error"] and "100x100" in rec["error"]
    # transparent pixels give no edges: a fully transparent map restores as without --edges
    rgba = np.dstack([lines, lines, lines, np.zeros_like(lines)])
    clear = save_image(tmp_path / "e" / "clear.png", rgba)
    res = cli(photo, "-o", tmp_path / "clear", "--model", edge_model, "--edges", clear)
    assert res.exit_code == 0, res.stderr
    assert np.array_equal(read_image(tmp_path / "clear" / "astronaut.png").rgb, outs["plain"].astype(np.uint8))
