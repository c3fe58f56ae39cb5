"""Export of trained checkpoints to ONNX: every registered arch at ``tiny`` (one training step on a few photos of
``../shared``, skipped when absent), metadata round trip, runtime loading, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from test_data import face_folder
from unmask.train import archs
from unmask.train.export import ExportError, export
from unmask.spec import META_KEY, ModelMeta
from unmask.train import checkpoint as ckpt_io
from unmask.train.config import TrainConfig
from unmask.train.loop import train


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (conftest.one_torch_thread)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


def trained(runs: Path, tmp_path_factory: pytest.TempPathFactory, arch: str, region: str = "eyes") -> Path:
    """A one-step run of ``arch`` at tiny; returns its checkpoint."""
    name = f"{arch}-{region}"
    last = runs / name / "checkpoints" / "last.pt"
    if not last.exists():
        cfg = TrainConfig(
            arch=arch, preset="tiny", data=str(face_folder(tmp_path_factory, 12)), batch_size=2, max_steps=1,
            out=str(runs), name=name, cache=str(tmp_path_factory.getbasetemp() / "train-cache"), threads=1,
            validate=False, region=region,
        )  # fmt: skip
        train(cfg)
    return last


@pytest.mark.parametrize("arch", archs.names())
def test_export_every_arch_with_parity_and_metadata(arch, runs, tmp_path_factory, tmp_path):
    import onnx

    from unmask.infer.runtime import load_model

    ckpt = trained(runs, tmp_path_factory, arch)
    out = tmp_path / "models" / "m.onnx"
    report = export(runs / f"{arch}-eyes", out, name="face-eyes")
    assert report.path == out and out.is_file() and report.max_abs_diff <= 1e-3
    assert [p.name for p in out.parent.iterdir()] == ["m.onnx"]  # no temp file left
    spec = archs.spec(arch)
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["image", "mask", *spec.extra_inputs]
    assert [o.name for o in model.graph.output] == ["output"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.opset_import[0].version == 17
    meta = ModelMeta.from_json({p.key: p.value for p in model.metadata_props}[META_KEY])
    assert meta == report.meta
    assert (meta.arch, meta.region, meta.size, meta.name, meta.preset) == (arch, "eyes", spec.preset("tiny").size,
                                                                         "face-eyes", "tiny")  # fmt: skip
    assert meta.hole_fill == spec.hole_fill and meta.inputs == ("image", "mask", *spec.extra_inputs)
    t = meta.training
    assert t["steps"] == 1 and t["samples"] == 2 and t["hole_fill"] == spec.hole_fill and t["init"] is None
    assert t["data"].endswith("faces-12") and t["torch"] == str(torch.__version__) and t["exported"]
    # the runtime reads it and restores crops of the right size
    m = load_model(out, "cpu", 1)
    size = meta.size
    crop = np.full((size, size, 3), 120, np.uint8)
    hole = np.zeros((size, size), np.uint8)
    hole[size // 3 : size // 2, size // 4 : 3 * size // 4] = 255
    (restored,) = m.run([crop], [hole])
    assert restored.shape == (size, size, 3) and restored.dtype == np.uint8
    assert ckpt_io.load(ckpt)["step"] == 1


def test_export_cli_and_region_rules(runs, tmp_path_factory, tmp_path):
    from typer.testing import CliRunner

    from unmask.cli.app import app

    trained(runs, tmp_path_factory, "glcic", region="mix")
    with pytest.raises(ExportError, match="pass the region"):
        export(runs / "glcic-mix", tmp_path / "a.onnx")
    rep = export(runs / "glcic-mix" / "checkpoints" / "last.pt", tmp_path / "a.onnx", region="mouth")
    assert rep.meta.region == "mouth" and rep.meta.training["region"] == "mix"
    trained(runs, tmp_path_factory, "glcic")
    with pytest.raises(ExportError, match="trained for the eyes region"):
        export(runs / "glcic-eyes", tmp_path / "b.onnx", region="mouth")
    r = CliRunner().invoke(app, ["export", "glcic-eyes", "--runs", str(runs), "-o", str(tmp_path / "c.onnx")])
    assert r.exit_code == 0, r.output
    assert "max |diff|" in r.output and (tmp_path / "c.onnx").is_file()


def test_corrupt_or_foreign_files_get_one_line_errors(runs, tmp_path_factory, tmp_path):
    from typer.testing import CliRunner

    from unmask.cli.app import app

    good = trained(runs, tmp_path_factory, "glcic")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:5000])
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    cases = {truncated: "not an unmask checkpoint", other: "not an unmask training checkpoint",
             text: "not an unmask checkpoint", tmp_path / "missing.pt": "no checkpoint"}  # fmt: skip
    for path, message in cases.items():
        with pytest.raises(ckpt_io.CheckpointError, match=message) as e:
            export(path, tmp_path / "x.onnx")
        assert str(path) in str(e.value) and "\n" not in str(e.value)
        r = CliRunner().invoke(app, ["export", str(path), "-o", str(tmp_path / "x.onnx")])
        assert r.exit_code == 1 and message in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.onnx").exists()
    # a checkpoint whose generator does not fit its arch/preset
    ck = ckpt_io.load(good)
    ck["G"] = {k: v[..., :1].clone() if v.ndim else v for k, v in ck["G"].items()}
    ckpt_io.save_atomic(ck, tmp_path / "shapes.pt")
    with pytest.raises(ckpt_io.CheckpointError, match="generator weights do not fit"):
        export(tmp_path / "shapes.pt", tmp_path / "x.onnx")


def test_parity_failure_writes_nothing(runs, tmp_path_factory, tmp_path, monkeypatch):
    import unmask.train.export as E

    good = trained(runs, tmp_path_factory, "glcic")
    (tmp_path / "keep.onnx").write_bytes(b"previous model")
    monkeypatch.setattr(E, "parity", lambda *a, **k: 0.5)
    with pytest.raises(ExportError, match="differs from PyTorch by 0.5"):
        export(good, tmp_path / "keep.onnx")
    assert (tmp_path / "keep.onnx").read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]
    assert json.loads(ckpt_io.load(good)["config"])["arch"] == "glcic"


@pytest.mark.parametrize("hole_fill", ["keep", "zero"])
def test_hole_content_reaches_an_exported_keep_model_only(hole_fill, runs, tmp_path_factory, tmp_path):
    """Issue 10: a model exported with hole_fill keep sees the censor's pixels (a mosaic's colours) through ONNX
    Runtime; a zero model never does. Before, every arch blanked the hole in its forward and both gave the same
    output whatever the hole held."""
    from unmask.infer.runtime import load_model

    name = f"glcic-{hole_fill}"
    if not (runs / name / "checkpoints" / "last.pt").exists():
        train(TrainConfig(arch="glcic", preset="tiny", data=str(face_folder(tmp_path_factory, 12)), batch_size=2,
                          max_steps=1, out=str(runs), name=name, threads=1, validate=False, hole_fill=hole_fill,
                          cache=str(tmp_path_factory.getbasetemp() / "train-cache")))  # fmt: skip
    out = tmp_path / f"{name}.onnx"
    export(runs / name, out, name=name, region="eyes")
    m = load_model(out, "cpu", 1)
    assert m.meta.hole_fill == hole_fill
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (m.size, m.size, 3), dtype=np.uint8)
    hole = np.zeros((m.size, m.size), np.uint8)
    hole[m.size // 3 : m.size // 2, m.size // 4 : 3 * m.size // 4] = 255
    other = crop.copy()
    other[hole > 0] = rng.integers(0, 256, (int((hole > 0).sum()), 3), dtype=np.uint8)
    # the raw output (an untrained tiny generator is nearly constant: differences vanish in uint8 rounding)
    (a,) = m.session.run([m.meta.output], m.to_tensors([crop], [hole]))
    (b,) = m.session.run([m.meta.output], m.to_tensors([other], [hole]))
    if hole_fill == "keep":
        assert not np.array_equal(a, b), "the hole's pixels reach the network"
    else:
        assert np.array_equal(a, b), "a zero model never sees the hole's pixels"
