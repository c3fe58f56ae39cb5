"""The training loop at the ``tiny`` presets on CPU: exact resume, crash safety of checkpoints, multi-process
(gloo) agreement, stopping rules, divergence, settings and the ``unmask train`` command. Uses a few photos of
``../shared/data/celeba/val`` (skipped when absent)."""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from test_data import face_folder
from unmask.train import checkpoint as ckpt_io
from unmask.train.config import ConfigError, TrainConfig, kind_probs, load_file, parse_mask_mix
from unmask.measure.validation import Validator
from unmask.train import loop
from unmask.train.loop import TrainingDiverged, resume_config

REPO = Path(__file__).resolve().parents[1]

train = functools.partial(loop.train, validator=Validator)  # as `unmask train` runs it: validated


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (conftest.one_torch_thread)."""


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 photos (about 11 usable faces: 2 steps of 4 per epoch), so short runs cross epochs."""
    return face_folder(tmp_path_factory, 12)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "train-cache"


def config(faces: Path, cache: Path, out: Path, **kw) -> TrainConfig:
    base = dict(
        arch="glcic", preset="tiny", data=str(faces), val=str(faces), batch_size=4, out=str(out), cache=str(cache),
        val_images=4, val_every=2, checkpoint_every=100, log_every=1, threads=1, workers=0, validate=False,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- exact resume ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["glcic", "edgeconnect"])
def test_interrupted_run_resumes_to_identical_weights(arch, faces, cache, tmp_path):
    """Stop at step 4, resume to 7 (crossing epochs of 2-3 steps): the same G, D and Adam state as a straight
    7-step run. glcic has
    batch norm and two discriminators; edgeconnect draws from torch's RNG inside its losses, and uses SqueezeNet
    features. Validation runs in between (it must not disturb anything)."""
    events = []
    straight = train(config(faces, cache, tmp_path, arch=arch, name="straight", max_steps=7, validate=True),
                     progress=events.append)  # fmt: skip
    assert straight.step == 7 and straight.reason == "max_steps"
    first = train(config(faces, cache, tmp_path, arch=arch, name="cut", max_steps=4, validate=True))
    assert first.step == 4
    cfg, path = resume_config("cut", {"max_steps": 7}, runs=tmp_path)
    assert cfg.max_steps == 7 and path == first.checkpoint
    resumed = train(cfg, resume_from=path)
    a, b = _load(straight.checkpoint), _load(resumed.checkpoint)
    assert a["step"] == b["step"] == 7 and a["samples"] == b["samples"] == 28
    assert a["epoch"] == b["epoch"] >= 2  # crossed epoch boundaries
    assert _same_tensors(a["G"], b["G"]) and _same_tensors(a["D"], b["D"])
    sa, sb = a["opt_g"]["state"], b["opt_g"]["state"]
    assert all(_same_tensors(sa[k], sb[k]) for k in sa)
    assert straight.digest == resumed.digest
    # what was logged and validated
    kinds = {e.kind for e in events}
    assert {"prepare", "start", "step", "val", "checkpoint", "end"} <= kinds
    assert all(e.logs["g/total"] == e.logs["g/total"] for e in events if e.kind == "step")
    assert set(a["metrics"]) >= {"psnr", "ssim", "l1", "lpips"} and a["metrics"] == b["metrics"]
    lines = [json.loads(x) for x in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if x["kind"] == "train"] == [1, 2, 3, 4, 5, 6, 7]
    assert (tmp_path / "straight" / "samples" / "step_0000004.png").is_file()
    assert json.loads((tmp_path / "straight" / "config.json").read_text())["arch"] == arch


def test_checkpoint_of_another_arch_is_refused(faces, cache, tmp_path):
    run = train(config(faces, cache, tmp_path, name="g", max_steps=1))
    with pytest.raises(ckpt_io.CheckpointError) as e:
        train(config(faces, cache, tmp_path, arch="dmfn", name="g"), resume_from=run.checkpoint)
    msg = str(e.value)
    assert str(run.checkpoint) in msg and "'glcic'" in msg and "'dmfn'" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="cannot resume"):
        resume_config(run.checkpoint, {"arch": "dmfn"})
    with pytest.raises(ConfigError, match="exists"):  # a fresh run never overwrites one
        train(config(faces, cache, tmp_path, name="g", max_steps=1))


def test_init_warm_starts_a_new_run_from_another_runs_weights(faces, cache, tmp_path):
    """``init``: the new run begins with the source's G and D (fresh optimisers, step 0), may change the region
    and hole fill, and refuses another arch or preset with one line naming the file."""
    src = train(config(faces, cache, tmp_path, name="src", max_steps=2))
    src_ck = _load(src.checkpoint)
    start = train(config(faces, cache, tmp_path, name="ft0", max_steps=0, init="src", hole_fill="keep"))
    ck = _load(start.checkpoint)
    assert ck["step"] == 0 and _same_tensors(ck["G"], src_ck["G"]) and _same_tensors(ck["D"], src_ck["D"])
    assert ck["opt_g"]["state"] == {}, "optimisers start fresh"
    assert json.loads(ck["config"])["init"] == "src"
    tuned = train(config(faces, cache, tmp_path, name="ft", max_steps=2, init=str(src.checkpoint), region="mouth"))
    assert tuned.step == 2 and not _same_tensors(_load(tuned.checkpoint)["G"], src_ck["G"])
    for kw, words in (({"arch": "dmfn"}, ("'glcic'", "'dmfn'")), ({"preset": "small"}, ("'tiny'", "'small'"))):
        with pytest.raises(ckpt_io.CheckpointError) as e:
            train(
                config(
                    faces,
                    cache,
                    tmp_path,
                    name="bad-" + next(iter(kw.values())),
                    max_steps=1,
                    init=str(src.checkpoint),
                    **kw,
                )
            )
        assert str(src.checkpoint) in str(e.value) and all(w in str(e.value) for w in words)
        assert "\n" not in str(e.value)


# -- the CUDA precision path, run on CPU ------------------------------------------------------------------------
def test_precision_choice(monkeypatch):
    """CPU: contiguous float32. CUDA: channels_last with bfloat16 autocast, float16 (GradScaler) without bf16."""
    from unmask.train.session import precision

    assert precision(torch.device("cpu"), True) == (torch.contiguous_format, None)
    cuda = torch.device("cuda")
    for bf16, dtype in ((True, torch.bfloat16), (False, torch.float16)):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda bf16=bf16: bf16)
        assert precision(cuda, True) == (torch.channels_last, dtype)
    assert precision(cuda, False) == (torch.channels_last, None)


@pytest.mark.parametrize("arch", ["dmfn", "edgeconnect", "glcic", "context-encoder", "lsgan-ae"])
def test_mixed_precision_channels_last_path_trains_every_arch(arch, faces, cache, tmp_path, monkeypatch):
    """This machine has no GPU, so the loop's CUDA path (channels_last, float16 autocast, GradScaler shared by the
    G and D steps, scaler state in checkpoints) runs here on CPU, where autocast and GradScaler work the same way:
    every arch's losses must stay finite under float16 autocast, update its weights once the scaler has backed off
    from its first overflows (dmfn skips 4 steps at 65536-8192), and resume."""
    from unmask.train import session

    monkeypatch.setattr(session, "precision", lambda device, amp: (torch.channels_last, torch.float16))
    events = []
    run = train(config(faces, cache, tmp_path, arch=arch, name="amp", max_steps=6, validate=True),
                progress=events.append)  # fmt: skip
    assert run.step == 6
    ck = _load(run.checkpoint)
    assert ck["scaler"]["scale"] > 0, "float16 turns the GradScaler on and its state is saved"
    steps = [e.logs for e in events if e.kind == "step"]
    assert len(steps) == 6 and all("scale" in x and math.isfinite(x.get("g/total", math.nan)) for x in steps)
    assert all(torch.isfinite(v).all() for v in ck["G"].values() if v.is_floating_point())
    fresh = train(config(faces, cache, tmp_path, arch=arch, name="amp0", max_steps=0))
    assert not _same_tensors(ck["G"], _load(fresh.checkpoint)["G"]), "the float16 steps updated the generator"
    cfg, path = resume_config("amp", {"max_steps": 7}, runs=tmp_path)
    assert train(cfg, resume_from=path).step == 7


# -- crash safety -------------------------------------------------------------------------------------------------
def test_kill_9_during_training_leaves_a_loadable_checkpoint(faces, cache, tmp_path):
    """A checkpoint every step, SIGKILL while training runs: the last checkpoint loads and resumes."""
    env = dict(os.environ, OMP_NUM_THREADS="1", NO_COLOR="1", PYTHONPATH=str(REPO))
    args = [
        sys.executable, "-m", "unmask", "train", "--arch", "glcic", "--preset", "tiny", "--data", str(faces),
        "--no-val", "--batch-size", "4", "--max-steps", "100000", "--checkpoint-every", "1", "--out", str(tmp_path),
        "--name", "k", "--cache", str(cache), "--threads", "1", "--workers", "0",
    ]  # fmt: skip
    last = tmp_path / "k" / "checkpoints" / "last.pt"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if last.exists() and ckpt_io.load(last)["step"] >= 3:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert last.exists(), "no checkpoint written in 90 s"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    ckpt = ckpt_io.load(last, arch="glcic")
    step = int(ckpt["step"])
    assert step >= 3
    cfg, path = resume_config(tmp_path / "k", {"max_steps": step + 1, "checkpoint_every": 100})
    result = train(cfg, resume_from=path)
    assert result.step == step + 1
    assert not list(last.parent.glob("*.tmp"))  # a killed write's temp file is cleaned up on resume


def test_atomic_save_never_leaves_a_torn_file(tmp_path, monkeypatch):
    target = tmp_path / "last.pt"
    ckpt_io.save_atomic({"x": torch.ones(3)}, target)

    def exploding_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", exploding_save)
    with pytest.raises(ckpt_io.CheckpointError, match=f"^{target}: cannot save the checkpoint: disk full"):
        ckpt_io.save_atomic({"x": torch.zeros(3)}, target)  # one line naming the file (issue 26, item 8)
    monkeypatch.undo()
    assert torch.equal(torch.load(target, weights_only=True)["x"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_rng_state_round_trips_through_weights_only_load(tmp_path):
    import random

    import numpy as np

    np.random.randn()  # a cached Gaussian is part of numpy's state
    state = ckpt_io.capture_rng()
    ckpt_io.save_atomic({"rng": state}, tmp_path / "r.pt")
    expected = (torch.rand(4), np.random.rand(4), random.random())
    ckpt_io.restore_rng(torch.load(tmp_path / "r.pt", weights_only=True)["rng"])
    got = (torch.rand(4), np.random.rand(4), random.random())
    assert torch.equal(expected[0], got[0]) and np.array_equal(expected[1], got[1]) and expected[2] == got[2]


# -- multi-process -----------------------------------------------------------------------------------------------
def _ddp_worker(rank: int, world: int, port: int, cfg_json: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), OMP_NUM_THREADS="1")  # fmt: skip
    torch.set_num_threads(1)
    result = train(TrainConfig.from_dict(json.loads(cfg_json)))
    Path(out, f"rank{rank}.json").write_text(json.dumps({"digest": result.digest, "step": result.step,
                                                         "samples": result.samples}))  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_run_keeps_ranks_identical(faces, cache, tmp_path):
    import torch.multiprocessing as mp

    from unmask.train.loop import weights_digest

    train(config(faces, cache, tmp_path, name="warm", max_steps=0))  # prepares the cache once, single process
    cfg = config(faces, cache, tmp_path, name="ddp", max_steps=3, batch_size=2)
    mp.spawn(_ddp_worker, args=(2, _free_port(), cfg.to_json(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["digest"] == r1["digest"]
    assert r0["step"] == 3 and r0["samples"] == 3 * 2 * 2  # each rank its own half of every batch
    ckpt = ckpt_io.load(tmp_path / "ddp" / "checkpoints" / "last.pt")
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]) == 2
    from unmask.train import archs

    G = archs.get("glcic").build_generator(archs.spec("glcic").preset("tiny"))
    G.load_state_dict(ckpt["G"])
    assert weights_digest(G) == r0["digest"]


# -- stopping rules and divergence ---------------------------------------------------------------------------------
def test_should_stop_and_max_minutes(faces, cache, tmp_path):
    calls = []
    res = train(config(faces, cache, tmp_path, name="s"), should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert res.reason == "stopped" and res.step == 2 and ckpt_io.load(res.checkpoint)["step"] == 2
    res = train(config(faces, cache, tmp_path, name="m", max_minutes=1e-6))
    assert res.reason == "max_minutes" and res.step == 1


def _nan_arch() -> types.ModuleType:
    from unmask.train.archs._base import ArchTrainer
    from unmask.spec import ArchSpec, Preset

    mod = types.ModuleType("nan_arch")
    mod.SPEC = ArchSpec(name="test-nan", title="t", paper="-", presets={"tiny": Preset(32, 4, 1)},
                        loss_weights={"l1": 1.0}, default_preset="tiny")  # fmt: skip

    class G(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 3, 3, padding=1)

        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.conv(torch.cat([image, mask], 1))

    class Trainer(ArchTrainer):
        def generator_loss(self, batch):
            out = self.G(batch["image"], batch["mask"])
            return (out - batch["target"]).abs().mean() * float("nan"), {"l1": float("nan")}, out

    mod.build_generator = lambda preset: G()
    mod.build_discriminators = lambda preset: nn.ModuleDict()
    mod.Trainer = Trainer
    return mod


def test_non_finite_loss_skips_updates_then_stops(faces, cache, tmp_path, monkeypatch):
    from unmask.train import archs

    archs.names()
    monkeypatch.setitem(archs.REGISTRY._entries, "test-nan", _nan_arch())
    with pytest.raises(TrainingDiverged, match="not finite for 3 steps"):
        train(config(faces, cache, tmp_path, arch="test-nan", name="nan", max_bad_steps=3, checkpoint_every=1))
    ckpt = ckpt_io.load(tmp_path / "nan" / "checkpoints" / "last.pt")
    assert ckpt["step"] == 2 and all(torch.isfinite(v).all() for v in ckpt["G"].values())


def test_run_log_mirrors_scalars_to_tensorboard(tmp_path, monkeypatch):
    from unmask.train.events import RunLog

    written = []

    class FakeWriter:
        def __init__(self, logdir: str, purge_step: int | None = None) -> None:
            written.append(("dir", logdir, purge_step))

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            written.append((tag, value, step))

        def close(self) -> None:
            written.append(("closed",))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter))
    log = RunLog(tmp_path, enabled=True)
    log.write("train", 3, {"g/total": 1.5}, samples=12)
    log.close()
    assert written == [
        ("dir", str(tmp_path / "tb"), 1),
        ("train/g/total", 1.5, 3),
        ("closed",),
    ]  # a new run: purged after 0
    assert json.loads((tmp_path / "metrics.jsonl").read_text()) == {"kind": "train", "step": 3, "samples": 12,
                                                                    "g/total": 1.5}  # fmt: skip
    RunLog(tmp_path / "absent", enabled=False).write("train", 1, {"x": 1.0})  # other ranks: nothing, no folder
    assert not (tmp_path / "absent").exists()


# -- settings -----------------------------------------------------------------------------------------------------
def test_config_files_mask_mix_and_errors(tmp_path):
    (tmp_path / "c.toml").write_text('[train]\narch = "dmfn"\nbatch-size = 8\nmask_mix = "bar=1,freeform=1"\n')
    (tmp_path / "c.json").write_text(json.dumps({"arch": "glcic", "region": "mix", "weights": {"adv": 0}}))
    t = TrainConfig.from_dict(load_file(tmp_path / "c.toml"))
    assert t.batch_size == 8 and dict(t.mask_mix) == {"bar": 1.0, "freeform": 1.0}
    assert kind_probs(t) == {"bar": 0.5, "freeform": 0.5}
    j = TrainConfig.from_dict(load_file(tmp_path / "c.json"))
    probs = kind_probs(j)
    assert (
        set(probs) == {"bar", "pixelate", "surgical", "blur", "blur-mouth", "freeform"}
        and abs(sum(probs.values()) - 1) < 1e-9
    )
    assert TrainConfig.from_dict(json.loads(j.to_json())) == j
    for bad, match in [({"arch": "x", "bogus": 1}, "unknown setting"), ({"arch": "x", "region": "nose"}, "region"),
                       ({"arch": "x", "batch_size": 0}, "batch_size"), ({"batch_size": 2}, "arch"),
                       ({"arch": "x", "region": "mouth", "mask_mix": "bar=1"}, "does not cover"),
                       ({"arch": "x", "name": "../up"}, "run name")]:  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            TrainConfig.from_dict(bad)
    for text in ("bar", "bar=x", "", "nose=1"):
        with pytest.raises(ConfigError):
            check = parse_mask_mix(text)
            TrainConfig(arch="x", mask_mix=check).check()
    (tmp_path / "c.yaml").write_text("arch: x")
    with pytest.raises(ConfigError, match="json or .toml"):
        load_file(tmp_path / "c.yaml")


# -- the command ----------------------------------------------------------------------------------------------------
def test_arch_choices_listed_without_torch_match_the_registry():
    from unmask.train import archs
    from unmask.cli.train import arch_modules

    assert arch_modules() == archs.names()


def test_train_command_runs_resumes_and_reports_errors(faces, cache, tmp_path):
    from typer.testing import CliRunner

    from unmask.cli.app import app

    runner = CliRunner()
    common = ["--data", str(faces), "--no-val", "--out", str(tmp_path), "--cache", str(cache), "--threads", "1"]
    (tmp_path / "cfg.json").write_text(json.dumps({"arch": "glcic", "preset": "tiny", "batch-size": 4, "max_steps": 9}))
    r = runner.invoke(app, ["train", "--config", str(tmp_path / "cfg.json"), "--max-steps", "2", "--name", "c",
                            "--weight", "adv=0.001", *common])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "max_steps: step 2" in r.output
    ckpt = ckpt_io.load(tmp_path / "c" / "checkpoints" / "last.pt")
    saved = json.loads(ckpt["config"])
    assert ckpt["step"] == 2 and saved["batch_size"] == 4 and saved["weights"] == {"adv": 0.001}
    r = runner.invoke(app, ["train", "--resume", "c", "--max-steps", "3", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert ckpt_io.load(tmp_path / "c" / "checkpoints" / "last.pt")["step"] == 3
    r = runner.invoke(app, ["train", "--resume", "c", "--arch", "dmfn", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "cannot resume" in r.output and len(r.output.strip().splitlines()) == 1
    r = runner.invoke(app, ["train", "--arch", "nope", *common])
    assert r.exit_code == 2 and "unknown arch 'nope'" in r.output
    r = runner.invoke(app, ["train", "--arch", "glcic", "--weight", "nope=1", "--preset", "tiny", "--name", "w",
                            *common])  # fmt: skip
    assert r.exit_code == 2 and "no loss weight nope" in r.output


def test_loose_checkpoint_file_resumes_under_its_run_name(faces, cache, tmp_path):
    """A checkpoint copied out of its run folder (e.g. committed to checkpoints/NAME.pt so a fresh clone can go
    on) keeps its run's name instead of taking the folder it now sits in."""
    run = train(config(faces, cache, tmp_path / "a", name="orig", max_steps=1))
    loose = tmp_path / "checkpoints" / "orig.pt"
    loose.parent.mkdir()
    loose.write_bytes(run.checkpoint.read_bytes())
    cfg, path = resume_config(loose, {"max_steps": 2, "out": str(tmp_path / "b")})
    assert path == loose and cfg.name == "orig" and cfg.out == str(tmp_path / "b")
    assert train(cfg, resume_from=path).step == 2


# -- slim checkpoints -------------------------------------------------------------------------------------------------
def test_slim_checkpoint_is_small_and_init_reproduces_its_weights(faces, cache, tmp_path):
    """``unmask export RUN --checkpoint OUT.pt [--fp16]``: generator and discriminators only (no optimiser, scaler
    or RNG state), a fraction of a full checkpoint; ``--init OUT.pt`` starts a run with exactly those weights
    (float16 ones rounded as stored); ``--resume`` refuses it with one line that says to use ``--init``."""
    from typer.testing import CliRunner

    from unmask.cli.app import app

    src = train(config(faces, cache, tmp_path, name="full", max_steps=2))
    full = _load(src.checkpoint)
    runner = CliRunner()
    r = runner.invoke(app, ["export", "full", "--runs", str(tmp_path), "--checkpoint", str(tmp_path / "s32.pt")])
    assert r.exit_code == 0 and "wrote " in r.output and "float32" in r.output, r.output
    path, s16 = ckpt_io.write_slim(src.checkpoint, tmp_path / "s16.pt", fp16=True)
    assert path == src.checkpoint
    size = src.checkpoint.stat().st_size
    assert (tmp_path / "s32.pt").stat().st_size < 0.45 * size and (tmp_path / "s16.pt").stat().st_size < 0.25 * size
    slim = ckpt_io.load(tmp_path / "s16.pt", arch="glcic")
    assert ckpt_io.is_slim(slim) and slim["dtype"] == "float16" and slim["step"] == 2
    assert not {"opt_g", "opt_d", "scaler", "rng"} & set(slim) and slim["config"] == full["config"]
    assert all(v.dtype == torch.float16 for v in slim["G"].values() if v.is_floating_point())
    a = _load(train(config(faces, cache, tmp_path, name="i32", max_steps=0, init=str(tmp_path / "s32.pt"))).checkpoint)
    assert _same_tensors(a["G"], full["G"]) and _same_tensors(a["D"], full["D"])
    b = _load(train(config(faces, cache, tmp_path, name="i16", max_steps=0, init=str(tmp_path / "s16.pt"))).checkpoint)
    rounded = {k: v.half().float() if v.is_floating_point() else v for k, v in full["G"].items()}
    assert _same_tensors(b["G"], rounded) and all(v.dtype == full["G"][k].dtype for k, v in b["G"].items())
    r = runner.invoke(app, ["train", "--resume", str(tmp_path / "s16.pt"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "slim checkpoint" in r.output and "--init" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = runner.invoke(app, ["export", "full", "--runs", str(tmp_path), "--fp16"])
    assert r.exit_code == 2 and "--checkpoint" in r.output
    r = runner.invoke(app, ["export", "full", "--runs", str(tmp_path), "--checkpoint", str(tmp_path / "x.pt"), "-o",
                            str(tmp_path / "x.onnx")])  # fmt: skip
    assert r.exit_code == 2 and not (tmp_path / "x.pt").exists()
