"""int8 generators (issue 29): `unmask quantize` makes a static QDQ int8 copy of a float generator calibrated on
censored validation crops, the metadata says what it is and where it came from, a CPU session takes the int8 copy
as the default where models/defaults-cpu.txt names it (CUDA keeps the float model), and `unmask bench` times both
in one run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

onnx = pytest.importorskip("onnx")

FLOAT = REPO / "models" / "dmfn-eyes.onnx"
PHOTOS = 3


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory, val_dir: Path):
    if not FLOAT.is_file():
        pytest.skip("dmfn-eyes is not shipped in models/")
    from unmask.train.quantize import quantize

    return quantize(FLOAT, tmp_path_factory.mktemp("int8") / "dmfn-eyes-int8.onnx", val_dir, photos=PHOTOS)


def test_the_int8_copy_is_quantised_documented_and_close(quantized) -> None:
    from unmask.infer.runtime import load_model

    q, f = load_model(quantized.path, "cpu", 1), load_model(FLOAT, "cpu", 1)
    assert q.meta.precision == "int8" and f.meta.precision == "fp32"
    assert q.meta.name == "dmfn-eyes-int8" and q.meta.region == f.meta.region and q.meta.size == f.meta.size
    info = q.meta.quantization
    assert info["format"] == "QDQ" and info["from"] == "dmfn-eyes" and info["from_version"] == f.meta.version
    assert info["calibration_method"] == "percentile"
    assert info["calibration"]["censors"] == ["bar", "pixelate"]  # the eye censors dmfn-eyes was trained on
    # each face and its mirror image, as flip averaging hands them to the generator
    assert quantized.photos == PHOTOS and quantized.crops == 2 * PHOTOS
    graph = onnx.load(str(quantized.path))
    weights = {n.output[0] for n in graph.graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in graph.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert convs and all(n.input[1] in weights for n in convs), "every convolution reads int8 weights"
    # the two upsampling ConvTransposes became sub-pixel convolutions: no float ConvTranspose is left to run
    assert info["subpixel_conv_transposes"] == 2 and not any(n.op_type == "ConvTranspose" for n in graph.graph.node)
    assert quantized.path.stat().st_size < 0.5 * FLOAT.stat().st_size
    assert 25.0 < quantized.psnr_vs_fp32 < 60.0, "close to the float model in the holes, but not the same model"
    crops = [np.full((q.size, q.size, 3), 120, np.uint8)]
    holes = [np.zeros((q.size, q.size), np.uint8)]
    holes[0][40:70, 20:108] = 255
    a, b = f.run(crops, holes)[0].astype(int), q.run(crops, holes)[0].astype(int)
    assert np.abs(a - b)[holes[0] > 0].mean() < 8.0


def test_quantize_refuses_what_it_cannot_do(quantized, val_dir: Path, tmp_path: Path) -> None:
    from unmask.train.quantize import QuantizeError, quantize

    out = tmp_path / "x.onnx"
    with pytest.raises(QuantizeError, match="already an int8 model"):
        quantize(quantized.path, out, val_dir, photos=1)
    with pytest.raises(QuantizeError, match="has no Foo operators"):
        quantize(FLOAT, out, val_dir, photos=1, keep_float=("Foo",))
    with pytest.raises(QuantizeError, match="overwrite its float model"):
        quantize(FLOAT, FLOAT, val_dir, photos=1)
    with pytest.raises(QuantizeError, match="unknown calibration method 'mean'"):
        quantize(FLOAT, out, val_dir, photos=1, method="mean")
    with pytest.raises(QuantizeError, match="not a folder"):
        quantize(FLOAT, out, tmp_path / "nowhere", photos=1)
    assert not out.exists() and not list(tmp_path.iterdir())


def _folder(root: Path, quantized, cpu: bool) -> Path:
    root.mkdir()
    shutil.copy(FLOAT, root / FLOAT.name)
    shutil.copy(quantized.path, root / quantized.path.name)
    (root / "defaults.txt").write_text("eyes=dmfn-eyes\n")
    if cpu:
        (root / "defaults-cpu.txt").write_text("eyes=dmfn-eyes-int8\n")
    return root


def test_a_cpu_session_defaults_to_the_int8_copy(quantized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from unmask.infer.pipeline import load_models
    from unmask.infer.runtime import find_model, load_default, runs_on_cpu
    from unmask.infer.runtime.registry import int8_of

    d = _folder(tmp_path / "both", quantized, cpu=True)
    monkeypatch.setenv("UNMASK_MODELS", str(d))
    assert runs_on_cpu("cpu") and not runs_on_cpu("cuda")
    assert load_default("eyes", "cpu", 1).meta.precision == "int8"
    assert load_models(None, "eyes", "cpu", 1)["eyes"].name == "dmfn-eyes-int8"
    assert find_model(None, "eyes").name == "dmfn-eyes.onnx", "elsewhere the float model stays the default"
    assert load_models("dmfn-eyes", "eyes", "cpu", 1)["eyes"].meta.precision == "fp32", "a named model is that model"
    assert int8_of(d / "dmfn-eyes.onnx") == d / "dmfn-eyes-int8.onnx" and int8_of(d / "dmfn-eyes-int8.onnx") is None
    # a folder that names its own default and no CPU default keeps it on a CPU too: another folder's
    # defaults-cpu.txt (the repository's) does not reach past it
    own = _folder(tmp_path / "own", quantized, cpu=False)
    monkeypatch.setenv("UNMASK_MODELS", str(own))
    assert load_default("eyes", "cpu", 1).meta.precision == "fp32"


def test_bench_times_the_int8_copy_in_the_same_run(quantized) -> None:
    from unmask.infer.runtime import load_model
    from unmask.measure.generator import bench_generator

    f, q = load_model(FLOAT, "cpu", 1), load_model(quantized.path, "cpu", 1)
    g = bench_generator(f, batch=2, threads=1, repeats=2, warmup=1, int8=q, count=False)
    assert g.int8_name == "dmfn-eyes-int8" and g.int8_s > 0 and g.int8_min_s <= g.int8_s
    d = g.to_dict()
    assert d["int8_speedup"] == pytest.approx(g.ort_s / g.int8_s, rel=1e-2) and d["int8_ms_per_face"] > 0
    from test_bench import targets  # benchmarks/targets.py, loaded once

    folder = {"photos_per_s": 10.0, "around_generator_share": 0.5}
    report = {"generator": d, "folder": folder, "folder_int8": {"photos_per_s": 25.0, "around_generator_share": 0.3}}
    checks = {t.name: t for t in targets.check_int8(report)}
    assert checks["photos per second, int8 vs float32 folder run"].passed is True
    assert checks["around the generator, int8 folder run"].passed is True
    assert checks["int8 generator vs float32 (ONNX Runtime, per face)"].measured.startswith(
        f"{g.ort_s / g.int8_s:.2f}x"
    )


def test_quantize_command(cli, val_dir: Path, tmp_path: Path) -> None:
    if not FLOAT.is_file():
        pytest.skip("dmfn-eyes is not shipped in models/")
    out = tmp_path / "q.onnx"
    res = cli("quantize", "dmfn-eyes", "--val", val_dir, "--photos", 1, "-o", out)
    assert res.exit_code == 0, res.output
    assert out.is_file() and "int8 QDQ" in res.stderr and "\n" not in res.stderr.strip()
    res = cli("quantize", "no-such-model", "--val", val_dir)
    assert res.exit_code == 2 and "no-such-model" in res.stderr and "Traceback" not in res.output


def test_each_shipped_float_model_has_its_int8_copy_and_the_cpu_defaults_name_them() -> None:
    from unmask.infer.runtime import load_model
    from unmask.infer.runtime.registry import CPU_DEFAULTS, DEFAULTS, INT8_SUFFIX, int8_of

    models = REPO / "models"
    floats = [p for p in sorted(models.glob("*.onnx")) if not p.stem.endswith(INT8_SUFFIX)]
    if not floats:
        pytest.skip("no model shipped in models/")
    for p in floats:
        q = int8_of(p)
        assert q is not None and q.parent == models, f"{p.name} has no int8 copy beside it"
        f, i = load_model(p, "cpu", 1), load_model(q, "cpu", 1)
        assert i.meta.quantization["from"] == p.stem and i.meta.quantization["from_version"] == f.meta.version
        assert i.meta.region == f.meta.region and q.with_suffix(".md").is_file()
    lines = [
        ln.split("=", 1)
        for ln in (models / CPU_DEFAULTS).read_text().splitlines()
        if "=" in ln and not ln.startswith("#")
    ]
    floats_default = dict(
        ln.split("=", 1) for ln in (models / DEFAULTS).read_text().splitlines() if "=" in ln and not ln.startswith("#")
    )
    for region, name in lines:
        m = load_model(models / f"{name}.onnx", "cpu", 1)
        assert m.meta.region == region and name in (floats_default[region], floats_default[region] + INT8_SUFFIX)
