"""Restoring on a Ray cluster (issue 30): one local cluster for the module (2 CPUs on 127.0.0.1, two actors), 20
censored validation photos plus a broken file and a photo with no face, compared with a plain run of the same
inputs: the same bytes, records and state file; an interrupted run (Ctrl-C) resumed; an actor killed with -9 in the
middle of the run; URL inputs and outputs (``file://``); images in memory through :func:`unmask.ray.restore_dataset`;
and, without Ray, one line naming the extra."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, save_image

PKG = REPO / "unmask"
N_PHOTOS = 20
WORKERS = 2
CENSORS = ("bar", "pixelate")


def _unmask(*args: object):
    """``unmask ARGS`` in process with the shipped models, 1 thread."""
    from typer.testing import CliRunner

    from unmask.cli.app import app, route

    return CliRunner().invoke(app, route([str(a) for a in args] + ["--threads", "1"]))


def _records(result) -> dict[str, dict]:
    """The --json records of the inputs of a run by input name, without their seconds and output folder (notices,
    such as temporary files of an interrupted run removed, are not inputs)."""
    out = {}
    for line in result.stdout.splitlines():
        obj = json.loads(line)
        if "input" in obj and obj["status"] != "notice":
            obj.pop("seconds")
            obj["output"] = obj["output"] and Path(obj["output"]).name
            out[Path(obj["input"]).name] = obj
    return out


def _summary(result) -> dict:
    return json.loads(result.stdout.splitlines()[-1])["summary"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _state(folder: Path) -> set[str]:
    return set((folder / ".unmask-state.jsonl").read_text().splitlines())


@pytest.fixture(scope="module")
def address() -> str:
    """A local Ray cluster for the module (2 CPUs, loopback only); its address for `--ray ADDRESS`."""
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'unmask[ray]')")
    from unmask.ray import connect

    with connect("local", cpus=WORKERS) as ray:
        yield ray.get_runtime_context().gcs_address


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, val_faces: list[Path], finder) -> Path:
    """A folder of 20 validation faces censored with the project's bar or mosaic (PNG and JPEG), a truncated
    JPEG and a photo of noise (no face)."""
    from PIL import Image

    from unmask.infer.censors import draw_censor

    folder = tmp_path_factory.mktemp("ray-in")
    k = 0
    for path in val_faces:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        faces = finder.search(rgb).faces
        if len(faces) != 1:
            continue
        censored, _ = draw_censor(rgb, faces[0].landmarks, CENSORS[k % 2], np.random.default_rng(k))
        save_image(folder / f"{path.stem}{'.png' if k % 3 == 0 else '.jpg'}", censored, quality=95)
        k += 1
        if k == N_PHOTOS:
            break
    good = (folder / f"{path.stem}.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(good[: len(good) // 3])
    save_image(folder / "noise.png", np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8))
    return folder


@pytest.fixture(scope="module")
def plain(photos: Path, tmp_path_factory: pytest.TempPathFactory):
    """A plain run of :func:`photos`: (its output folder, its result)."""
    out = tmp_path_factory.mktemp("plain") / "out"
    result = _unmask(photos, "--out", out, "--json")
    assert result.exit_code == 1, result.stderr  # the broken file failed
    return out, result


@pytest.mark.slow
def test_outputs_records_and_state_equal_a_plain_run(address: str, photos: Path, plain, tmp_path: Path) -> None:
    plain_out, plain_result = plain
    out = tmp_path / "out"
    result = _unmask(photos, "--out", out, "--json", "--ray", address, "--ray-workers", WORKERS)
    assert result.exit_code == 1, result.stderr
    assert _summary(result) == _summary(plain_result)
    assert _summary(result)["restored"] >= N_PHOTOS - 2  # a censor the finder misses is missed in both
    assert _records(result) == _records(plain_result)
    assert _records(result)["broken.jpg"]["status"] == "failed" and _records(result)["noise.png"]["status"] == "no-face"
    assert _files(out) == _files(plain_out)  # byte for byte, provenance tags included
    assert _state(out) == _state(plain_out)  # the driver remembered the photo with no face
    again = _unmask(photos, "--out", out, "--json", "--ray", address)  # resumes: nothing handed out
    statuses = [r["status"] for r in _records(again).values()]
    assert statuses.count("exists") == _summary(plain_result)["restored"] and "restored" not in statuses
    assert "not looked at again" in _records(again)["noise.png"]["note"]


@pytest.mark.slow
def test_ctrl_c_stops_and_the_next_run_resumes(address: str, photos: Path, plain, tmp_path: Path) -> None:
    plain_out, plain_result = plain
    out = tmp_path / "out"
    env = dict(os.environ, NO_COLOR="1", TERM="dumb", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "unmask", str(photos), "--out", str(out), "--ray", address,
                             "--ray-workers", str(WORKERS), "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while len(_files(out) if out.is_dir() else {}) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    done = _files(out)
    assert 3 <= len(done) < _summary(plain_result)["restored"], f"{len(done)} outputs when interrupted"
    assert all(data == _files(plain_out)[name] for name, data in done.items())  # nothing half-written
    rerun = _unmask(photos, "--out", out, "--json", "--ray", address, "--ray-workers", WORKERS)
    records = _records(rerun)
    assert {n for n, r in records.items() if r["status"] == "exists"} == set(done)
    assert _files(out) == _files(plain_out) and not _temps(out)
    expected = {n: r for n, r in _records(plain_result).items() if n not in done}
    assert {n: r for n, r in records.items() if n not in done} == expected


@pytest.mark.slow
def test_an_actor_killed_mid_run_loses_nothing(address: str, photos: Path, plain, tmp_path: Path) -> None:
    from unmask.infer.inputs import discover
    from unmask.infer.runner import BatchOptions
    from unmask.ray import RestorerSettings, restore_jobs

    if not Path("/proc").is_dir():
        pytest.skip("finds the actors' processes in /proc (Linux)")
    plain_out, _ = plain
    out = tmp_path / "out"
    items = list(discover([photos], out))
    killed, records = None, []
    for rec in restore_jobs(items, RestorerSettings(threads=1), BatchOptions(state_dir=out), workers=WORKERS):
        records.append(rec)
        if killed is None and rec.status == "restored":  # the pool is busy: each actor is in a photo
            killed = _actor_pids()[0]
            os.kill(killed, signal.SIGKILL)
    assert killed is not None and killed not in _actor_pids()
    assert [r.status for r in records].count("restored") == _summary(plain[1])["restored"]
    assert _files(out) == _files(plain_out) and not _temps(out)


def _actor_pids() -> list[int]:
    """Process ids of this cluster's restoring actors (their process title names the class)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/cmdline").read_bytes().startswith(
                b"ray::MapWorker(MapBatches(RestoreFiles"
            ):
                pids.append(int(entry))
        except OSError:
            continue
    return pids


@pytest.mark.slow
def test_url_inputs_and_outputs(address: str, photos: Path, plain, tmp_path: Path) -> None:
    plain_out, plain_result = plain
    out = tmp_path / "out"
    result = _unmask(f"file://{photos}", "--out", f"file://{out}", "--json", "--ray", address)
    assert result.exit_code == 1, result.stderr
    assert _files(out) == _files(plain_out) and not _temps(out)
    records = _records(result)
    assert records["broken.jpg"]["error"] and records["noise.png"]["status"] == "no-face"
    assert {n: r["faces"] for n, r in records.items()} == {n: r["faces"] for n, r in _records(plain_result).items()}
    assert all(r["input"].startswith("file:///") for r in records.values())
    again = _unmask(f"file://{photos}", "--out", f"file://{out}", "--json", "--ray", address)
    assert sum(r["status"] == "exists" for r in _records(again).values()) == _summary(plain_result)["restored"]


@pytest.mark.slow
def test_restore_dataset_of_images_in_memory(address: str, photos: Path, plain) -> None:
    import ray
    from PIL import Image

    from unmask.ray import RestorerSettings, restore_dataset

    plain_out, _ = plain
    pngs = sorted(p for p in photos.glob("*.png") if p.name != "noise.png")[:3]
    ds = ray.data.from_items([{"path": str(p), "image": np.asarray(Image.open(p).convert("RGB"))} for p in pngs])
    rows = restore_dataset(ds, RestorerSettings(threads=1), workers=1).take_all()
    assert [r["status"] for r in rows] == ["restored"] * len(pngs)
    for row, p in zip(rows, pngs):
        assert np.array_equal(row["image"], np.asarray(Image.open(plain_out / p.name).convert("RGB")))
        assert json.loads(row["record"])["faces"][0]["status"] == "restored"


def test_a_gpu_share_on_a_cluster_without_gpus_is_refused(address: str, photos: Path, tmp_path: Path) -> None:
    import ray

    if ray.cluster_resources().get("GPU"):
        pytest.skip("this cluster has a GPU")
    result = _unmask(photos, "--out", tmp_path / "out", "--ray", address, "--device", "cuda")
    assert result.exit_code == 2
    assert "the Ray cluster has no GPU" in result.stderr and not _files(tmp_path / "out")


@pytest.mark.slow
def test_actors_that_cannot_start_stop_the_run_with_their_cause(address: str, photos: Path, tmp_path: Path) -> None:
    from unmask.infer.inputs import discover
    from unmask.infer.runner import BatchOptions
    from unmask.ray import ClusterError, RestorerSettings, restore_jobs

    missing = tmp_path / "gone.onnx"  # what a node sees when a --model file is not on its file system
    items = list(discover([photos], tmp_path / "out"))
    with pytest.raises(ClusterError, match=f"ModelError: {missing}: model file not found$"):
        list(restore_jobs(items, RestorerSettings(model=str(missing), threads=1), BatchOptions(), workers=1))


def test_without_ray_one_line_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    photo = save_image(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = _unmask(photo, "--out", tmp_path / "out", "--ray", "local")
    assert result.exit_code == 2
    assert "pip install 'unmask[ray]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_address_nobody_answers_is_one_line_before_any_work(tmp_path: Path) -> None:
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'unmask[ray]')")
    import socket

    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    photo = save_image(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    result = _unmask(photo, "--out", tmp_path / "out", "--ray", f"127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"cannot join the Ray cluster at 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", sorted((PKG / "ray").glob("*.py")), ids=lambda p: p.name)
def test_ray_package_imports_only_inference_and_the_contract(path: Path) -> None:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    bad = sorted(
        m
        for m in names
        if m.startswith("unmask.")
        and not m.startswith(
            (
                "unmask.infer",
                "unmask.ray",
                "unmask.spec",
                "unmask.codec",
                "unmask.edges",
                "unmask.registry",
                "unmask.errors",
            )
        )
    )
    assert not bad, f"{path.name} imports {bad}"
    top = {a.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module for n in ast.parse(path.read_text()).body if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(m == "ray" or m.startswith("ray.") for m in top), f"{path.name} imports Ray at module level"
