"""unmask.infer.runtime: loading models (one clear error per broken file), providers, preprocessing from the metadata,
and model discovery."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import pytest

from corpus import MODEL_ERRORS, graph_model, make_bad_model
from onnx_models import make_model
from unmask.infer.runtime import Model, ModelError, find_model, list_models, load_model, model_dirs
from unmask.infer.runtime.session import CPU, CUDA, DeviceError, create_session
from unmask.spec import META_KEY, ModelMeta


def _meta(**kw: object) -> dict:
    m = ModelMeta(arch="test-blur", region="eyes", size=16, value_range=(-1.0, 1.0), mask_convention="1=hole",
                  hole_fill="zero", inputs=("image", "mask"), name="t", version="test")  # fmt: skip
    return {**asdict(m), **kw}


# ------------------------------------------------------------------------------------------------- broken files


def _broken(tmp_path: Path, case: str) -> Path:
    p = tmp_path / f"{case}.onnx"
    if case == "missing":
        return p
    if case == "empty":
        p.write_bytes(b"")
    elif case == "truncated":
        good = make_model(tmp_path / "good.onnx", 16).read_bytes()
        p.write_bytes(good[: len(good) // 2])
    elif case == "text":
        p.write_text("this is not a model\n")
    elif case == "no_metadata":
        model = onnx.load(str(make_model(tmp_path / "good.onnx", 16)))
        del model.metadata_props[:]
        onnx.save(model, str(p))
    elif case == "bad_json":
        model = onnx.load(str(make_model(tmp_path / "good.onnx", 16)))
        model.metadata_props[0].value = "{not json"
        onnx.save(model, str(p))
    elif case == "wrong_inputs":  # metadata promises an edges input the graph does not have
        make_model(p, 16, meta=_meta(inputs=["image", "mask", "edges"]))
    elif case == "inputs_order":
        make_model(p, 16, meta=_meta(inputs=["mask", "image"]))
    elif case == "lacks_fields":
        make_model(p, 16, meta={"arch": "x", "region": "eyes"})
    elif case == "bad_region":
        make_model(p, 16, meta=_meta(region="ears"))
    elif case == "wrong_output":
        make_model(p, 16, meta=_meta(output="result"))
    elif case == "directory":
        p.mkdir()
    return p


CASES = {
    "missing": "not found",
    "empty": "empty",
    "truncated": "not a valid ONNX model",
    "text": "not a valid ONNX model",
    "no_metadata": "not an unmask model",
    "bad_json": "metadata is invalid",
    "wrong_inputs": "do not match metadata inputs",
    "inputs_order": "inputs must start with image, mask",
    "lacks_fields": "lacks",
    "bad_region": "unknown region",
    "wrong_output": "no output",
    "directory": "directory",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_model_gives_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    path = _broken(tmp_path, case)
    with pytest.raises(ModelError) as info:
        load_model(path, device="cpu")
    msg = str(info.value)
    assert "\n" not in msg, f"not one line: {msg!r}"
    assert path.name in msg, msg
    assert CASES[case] in msg, msg
    assert len(msg) < 400


@pytest.mark.parametrize("case", sorted(MODEL_ERRORS))
def test_graph_that_contradicts_its_metadata_is_refused_at_load(tmp_path: Path, case: str) -> None:
    """Issue 12, item 8: such models used to load and kill the batch on the first face with raw text."""
    path = make_bad_model(tmp_path / f"{case}.onnx", case)
    with pytest.raises(ModelError) as info:
        load_model(path, device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and path.name in msg and MODEL_ERRORS[case] in msg, msg


def test_symbolic_sizes_load_and_run(tmp_path: Path) -> None:
    m = load_model(graph_model(tmp_path / "dyn.onnx", size="S"), "cpu", 1)
    crop, hole = _crop_and_hole(0)
    (out,) = m.run([crop], [hole])
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_output_is_an_error_not_a_black_face(tmp_path: Path, bad: float) -> None:
    """Issue 12, item 4: NaN output was painted black (and numpy warned on stderr)."""
    import warnings

    m = load_model(graph_model(tmp_path / "nan.onnx", nan=True), "cpu", 1)
    crops, holes = zip(*(_crop_and_hole(s) for s in range(2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a cast of NaN
        with pytest.raises(ModelError, match="non-finite"):
            m.run(list(crops), list(holes))
        y = np.zeros((2, 3, 16, 16), np.float32)
        y[1, 0, 3, 3] = bad
        with pytest.raises(ModelError, match=r"face\(s\) 2 of 2"):
            m.from_tensor(y, 2)


def test_output_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    m = load_model(graph_model(tmp_path / "dyn.onnx", size="S"), "cpu", 1)
    with pytest.raises(ModelError, match="shape 1x3x8x8"):
        m.from_tensor(np.zeros((1, 3, 8, 8), np.float32), 1)
    with pytest.raises(ModelError, match="not 2x3x16x16"):
        m.from_tensor(np.zeros((1, 3, 16, 16), np.float32), 2)


def test_model_error_is_a_value_error() -> None:
    assert issubclass(ModelError, ValueError)


# ---------------------------------------------------------------------------------------------------- providers


def test_cpu_device_gets_the_cpu_provider(models_dir: Path) -> None:
    m = load_model(models_dir / "tiny_eyes.onnx", device="cpu", threads=1)
    assert m.providers == [CPU]
    assert m.session.get_providers() == [CPU]
    assert m.meta.region == "eyes" and m.size == 64 and m.name == "tiny_eyes"


def test_cpu_threads_do_not_spin_while_they_wait(models_dir: Path) -> None:
    """Spinning intra-op threads burn CPU seconds between the graph's parallel sections (issue 29)."""
    m = load_model(models_dir / "tiny_eyes.onnx", device="cpu", threads=2)
    assert m.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_auto_device_reports_what_the_session_really_uses(models_dir: Path) -> None:
    m = load_model(models_dir / "tiny_eyes.onnx", device="auto", threads=1)
    assert m.providers == list(m.session.get_providers())
    assert m.providers[-1] == CPU


def test_cuda_on_a_machine_without_it_fails_clearly(models_dir: Path) -> None:
    _, got = create_session(models_dir / "tiny_eyes.onnx", "auto", 1)
    if CUDA in got:
        pytest.skip("this machine really has CUDA")
    with pytest.raises(DeviceError) as info:
        load_model(models_dir / "tiny_eyes.onnx", device="cuda")
    msg = str(info.value)
    assert "CUDA" in msg and "\n" not in msg
    assert "cpu" in msg.lower() or "install" in msg.lower(), "says what to do instead"


def test_unknown_device_is_refused(models_dir: Path) -> None:
    with pytest.raises(DeviceError, match="tpu"):
        load_model(models_dir / "tiny_eyes.onnx", device="tpu")


def test_version_defaults_to_the_file_hash(tmp_path: Path) -> None:
    p = make_model(tmp_path / "v.onnx", 16, meta=_meta(version=""))
    m = load_model(p, "cpu", 1)
    assert len(m.meta.version) == 12 and all(c in "0123456789abcdef" for c in m.meta.version)


# -------------------------------------------------------------------------------------------------- preprocessing


@pytest.fixture(scope="module")
def identity_models(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple, Model]:
    """1x1 "blur" = identity generators that differ only in their metadata: the output shows the input tensor."""
    d = tmp_path_factory.mktemp("identity")
    out = {}
    for lo, hi in ((-1.0, 1.0), (0.0, 1.0)):
        for fill in ("zero", "keep"):
            p = make_model(d / f"id_{lo}_{fill}.onnx", 16, blur=1, meta=_meta(value_range=[lo, hi], hole_fill=fill))
            out[(lo, hi, fill)] = load_model(p, "cpu", 1)
    return out


def _crop_and_hole(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    crop = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    hole = np.zeros((16, 16), np.uint8)
    hole[4:9, 3:12] = 255
    return crop, hole


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_tensors_follow_value_range_and_mask_convention(identity_models: dict, value_range: tuple) -> None:
    m = identity_models[(*value_range, "keep")]
    crop, hole = _crop_and_hole(0)
    feed = m.to_tensors([crop], [hole])
    assert set(feed) == {"image", "mask"}
    assert feed["image"].shape == (1, 3, 16, 16) and feed["image"].dtype == np.float32
    assert feed["mask"].shape == (1, 1, 16, 16)
    lo, hi = value_range
    assert feed["image"].min() == pytest.approx(lo, abs=0.01) and feed["image"].max() == pytest.approx(hi, abs=0.01)
    np.testing.assert_array_equal(feed["mask"][0, 0], (hole > 0).astype(np.float32))
    np.testing.assert_allclose(feed["image"][0].transpose(1, 2, 0), crop / 255.0 * (hi - lo) + lo, atol=1e-6)


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
@pytest.mark.parametrize("fill", ["zero", "keep"])
def test_run_honours_value_range_and_hole_fill(identity_models: dict, value_range: tuple, fill: str) -> None:
    m = identity_models[(*value_range, fill)]
    crops, holes = zip(*(_crop_and_hole(s) for s in range(3)))
    outs = m.run(list(crops), list(holes))
    assert len(outs) == 3
    for crop, hole, out in zip(crops, holes, outs):
        assert out.shape == crop.shape and out.dtype == np.uint8
        keep = hole == 0
        assert np.abs(out[keep].astype(int) - crop[keep].astype(int)).max() <= 1, "identity outside the hole"
        if fill == "keep":
            assert np.abs(out[~keep].astype(int) - crop[~keep].astype(int)).max() <= 1
        else:  # the hole is filled with 0 in the model's range: mid-grey for [-1, 1], black for [0, 1]
            expected = 128 if value_range == (-1.0, 1.0) else 0
            assert np.abs(out[~keep].astype(int) - expected).max() <= 1


def test_run_on_an_empty_batch(identity_models: dict) -> None:
    assert next(iter(identity_models.values())).run([], []) == []


def test_the_tiny_generator_fills_the_hole(tiny_models: dict) -> None:
    crop = np.full((64, 64, 3), 180, np.uint8)
    crop[20:30, 10:54] = 0  # a black bar
    hole = np.zeros((64, 64), np.uint8)
    hole[18:32, 8:56] = 255
    (out,) = tiny_models["eyes"].run([crop], [hole])
    assert out[25, 32].mean() > 60, "the bar is not black any more"


# ---------------------------------------------------------------------------------------------------- discovery


def test_list_models_reads_metadata_and_flags_broken_files(isolated_models: Path) -> None:
    make_model(isolated_models / "alpha.onnx", 32, "eyes")
    make_model(isolated_models / "beta.onnx", 48, "mouth")
    (isolated_models / "broken.onnx").write_text("nope")
    infos = {i.name: i for i in list_models()}
    assert set(infos) == {"alpha", "beta", "broken"}
    assert (infos["alpha"].region, infos["alpha"].size, infos["alpha"].arch) == ("eyes", 32, "test-blur")
    assert (infos["beta"].region, infos["beta"].size) == ("mouth", 48)
    assert infos["broken"].error and "ONNX" in infos["broken"].error
    assert isolated_models in model_dirs()


def test_list_models_flags_a_dangling_symlink(isolated_models: Path, tmp_path: Path) -> None:
    """Issue 12, item 11: ``unmask models`` printed a traceback for it."""
    make_model(isolated_models / "alpha.onnx", 32, "eyes")
    (isolated_models / "gone.onnx").symlink_to(tmp_path / "nowhere.onnx")
    (isolated_models / "defaults.txt").write_bytes(b"\xff\xfe not text")  # an unreadable defaults file names no default
    infos = {i.name: i for i in list_models()}
    assert set(infos) == {"alpha", "gone"}
    assert infos["gone"].error == "broken symbolic link (its target is missing)" and infos["gone"].bytes == 0
    assert not infos["alpha"].error
    assert find_model(None, "eyes") == isolated_models / "alpha.onnx"


def test_find_model_by_name_path_or_region(isolated_models: Path, tmp_path: Path) -> None:
    make_model(isolated_models / "alpha.onnx", 32, "eyes")
    make_model(isolated_models / "beta.onnx", 48, "mouth")
    assert find_model("alpha", None) == isolated_models / "alpha.onnx"
    assert find_model(None, "mouth") == isolated_models / "beta.onnx"
    elsewhere = make_model(tmp_path / "x" / "gamma.onnx", 16)
    assert find_model(str(elsewhere), None) == elsewhere
    with pytest.raises(LookupError, match="zeta"):
        find_model("zeta", None)
    (isolated_models / "defaults.txt").write_text("# comment\neyes = alpha\n")
    assert find_model(None, "eyes") == isolated_models / "alpha.onnx"


def test_no_model_for_a_region_says_what_to_do(isolated_models: Path) -> None:
    with pytest.raises(LookupError) as info:
        find_model(None, "eyes")
    msg = str(info.value)
    assert "no model installed" in msg and "--model" in msg


def test_metadata_round_trips_through_the_file(tmp_path: Path) -> None:
    p = make_model(tmp_path / "r.onnx", 24, "mouth", name="nice")
    raw = {p.key: p.value for p in onnx.load(str(p)).metadata_props}[META_KEY]
    m = load_model(p, "cpu", 1)
    assert m.meta == ModelMeta.from_json(raw)
    assert json.loads(raw)["region"] == "mouth" and m.name == "nice"


class _FailingSession:
    """Stands in for a CUDA session whose run fails (out of memory, provider error)."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, outputs, feed):
        self.calls += 1
        raise RuntimeError("CUDA error: out of memory\nmore detail")


def test_cuda_failure_falls_back_to_cpu_for_that_batch(tmp_path: Path) -> None:
    path = make_model(tmp_path / "m.onnx", size=32)
    cpu = load_model(path, "cpu", 1)
    crops = [np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    holes = [np.zeros((32, 32), np.uint8)]
    holes[0][8:16] = 255
    expected = cpu.run(crops, holes)
    failing = _FailingSession()
    gpu = Model(path=path, meta=cpu.meta, session=failing, providers=[CUDA, CPU], device="cuda", threads=1)
    out = gpu.run(crops, holes)
    assert failing.calls == 1
    assert np.array_equal(out[0], expected[0])
    assert len(gpu.warnings) == 1 and "CUDA failed (CUDA error: out of memory)" in gpu.warnings[0]
    # a CPU session's failure is a real error, not retried
    broken = Model(path=path, meta=cpu.meta, session=_FailingSession(), providers=[CPU], device="cpu", threads=1)
    with pytest.raises(RuntimeError):
        broken.run(crops, holes)
