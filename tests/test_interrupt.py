"""Ctrl-C and SIGTERM stop the long stages at once (issue 25): preparing faces (with a pool of worker processes,
for `unmask prepare` and `unmask train` alike), training (after the current step with a checkpoint, or, when the
step is long, abandoning it: the run resumes from its last checkpoint), `unmask eval`, `unmask bench` and
restoring; each stops within two seconds, leaves what the next run resumes from and exits with 130; no worker
process outlives the command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, SHARED

TRAIN = SHARED / "data" / "celeba" / "train"
STOP_S = 2.0
"""How long a stage may take to stop once signalled (issue 25)."""


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 training photos (links into ../shared)."""
    if not TRAIN.is_dir():
        pytest.skip(f"training photos not found at {TRAIN}")
    pytest.importorskip("mediapipe", reason="mediapipe 0.10.21 is not installed (no wheel for this Python)")
    d = tmp_path_factory.mktemp("photos")
    for p in sorted(TRAIN.glob("*.jpg"))[:60]:
        (d / p.name).symlink_to(p)
    return d


class Command:
    """``unmask ARGS`` in its own process group, its stderr collected line by line."""

    def __init__(self, *args: object, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNMASK_")}
        env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", NO_COLOR="1", TERM="dumb")
        self.proc = subprocess.Popen([sys.executable, "-m", "unmask", *map(str, args)], cwd=cwd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, test, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test():
                return
            assert self.proc.poll() is None, f"ended early ({self.proc.returncode}): {self.lines[-20:]}"
            time.sleep(0.05)
        raise AssertionError(f"timed out; stderr: {self.lines[-20:]}")

    def stop(self, sig: int) -> float:
        """Sends ``sig`` to the command (not its group: as `kill` or `timeout` does); seconds until it exited."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._reader.join(5)
        return time.monotonic() - t0

    def group_gone(self) -> bool:
        """No process of the command's group is left (its worker processes included)."""
        for _ in range(40):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        os.killpg(self.proc.pid, signal.SIGKILL)
        return False


def _busy(folder: Path) -> bool:
    """Whether a preparation pass has started writing (its cache folder or set folder exists with something in it)."""
    return folder.is_dir() and any(folder.rglob("*"))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_preparing_faces_in_worker_processes_stops_at_once_and_resumes(photos: Path, tmp_path: Path, sig: int) -> None:
    out = tmp_path / "set"
    cmd = Command("prepare", photos, "-o", out, "--workers", "2", "--shard-size", "4", cwd=tmp_path)
    cmd.wait_for(
        lambda: (out / "manifest.json").is_file() and json.loads((out / "manifest.json").read_text())["shards"]
    )
    took = cmd.stop(sig)
    assert cmd.proc.returncode == 130, cmd.lines
    assert took < STOP_S, f"stopped {took:.2f} s after the signal"
    assert cmd.group_gone(), "a worker process outlived the command"
    assert cmd.lines[-1].startswith("interrupted: rerun the same command"), cmd.lines
    kept = len(json.loads((out / "manifest.json").read_text())["shards"])
    again = subprocess.run([sys.executable, "-m", "unmask", "prepare", str(photos), "-o", str(out), "--shard-size", "4"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=str(REPO)))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"resumed, {kept} shard(s) kept" in again.stderr or kept == 15, again.stderr


@pytest.mark.slow
def test_train_stops_at_once_while_preparing_and_after_the_step_while_training(photos: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    common = ("--arch", "glcic", "--preset", "tiny", "--data", photos, "--cache", cache, "--out", tmp_path / "runs",
              "--batch-size", "4", "--threads", "1", "--name", "r")  # fmt: skip
    cmd = Command("train", *common, "--workers", "2", "--max-steps", "100000", cwd=tmp_path)
    cmd.wait_for(lambda: _busy(cache))
    time.sleep(1.0)  # the pool of workers is up and finding faces
    took = cmd.stop(signal.SIGTERM)
    assert cmd.proc.returncode == 130 and took < STOP_S, (took, cmd.lines)
    assert cmd.group_gone(), "a worker process outlived the command"
    assert "interrupted: faces prepared so far are kept" in cmd.lines[-1], cmd.lines
    # training: the step ends, a checkpoint is written, no final validation; exit 130 and how to resume
    cmd = Command("train", *common, "--workers", "0", "--max-steps", "100000", "--checkpoint-every", "100000",
                  cwd=tmp_path)  # fmt: skip
    cmd.wait_for(lambda: any(ln.startswith("training ") for ln in cmd.lines), timeout=300)
    took = cmd.stop(signal.SIGINT)
    assert cmd.proc.returncode == 130, cmd.lines
    assert took < STOP_S, f"a tiny model's step and checkpoint took {took:.1f} s"
    assert any(ln.startswith("stopped: step ") for ln in cmd.lines), cmd.lines
    assert cmd.lines[-1].startswith("interrupted: continue with `unmask train --resume"), cmd.lines
    assert not any(ln.startswith("val @") for ln in cmd.lines), "no final validation when stopped"
    assert (tmp_path / "runs" / "r" / "checkpoints" / "last.pt").is_file()


@pytest.mark.slow
def test_restoring_a_folder_stops_at_once(tmp_path: Path, photos: Path) -> None:
    cmd = Command(photos, "-o", tmp_path / "out", "--threads", "1", cwd=tmp_path)
    cmd.wait_for(lambda: any(ln.startswith("[2/") for ln in cmd.lines), timeout=300)
    took = cmd.stop(signal.SIGTERM)
    assert cmd.proc.returncode == 130 and took < STOP_S, (took, cmd.lines)
    assert cmd.lines[-1].startswith("interrupted: rerun the same command"), cmd.lines


@pytest.fixture(scope="module")
def long_step_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training set of 32 fake faces at 128 px (no mediapipe): DMFN small takes about 4 s per step of 16 on one
    thread of this CPU when idle (1 s for a step of 4: shorter than the grace the stopper gives a step)."""
    from test_prepare import FakeCropper
    from test_prepare import photos as fake_photos
    from unmask.train.data.shard_writer import write_set

    root = tmp_path_factory.mktemp("long-step")
    write_set(fake_photos(root / "photos", 32), root / "set", size=128, cropper=FakeCropper)
    return root / "set"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_long_training_step_is_abandoned_within_two_seconds(long_step_set: Path, tmp_path: Path, sig: int) -> None:
    """The first signal used to wait for the step to end (seconds to minutes for a large model); now the step is
    abandoned within two seconds and the run resumes from its last checkpoint."""
    common = ("--arch", "dmfn", "--preset", "small", "--data", long_step_set, "--out", tmp_path / "runs", "--name", "r",
              "--batch-size", "16", "--threads", "1", "--workers", "0", "--no-val", "--log-every", "1")  # fmt: skip
    cmd = Command("train", *common, "--checkpoint-every", "1", "--max-steps", "100000", cwd=tmp_path)
    cmd.wait_for(lambda: any(ln.startswith("checkpoint @ step 1:") for ln in cmd.lines), timeout=300)
    time.sleep(0.2)  # inside step 2
    took = cmd.stop(sig)
    assert cmd.proc.returncode == 130 and took < STOP_S, (took, cmd.lines)
    assert not any(ln.startswith("step 2") for ln in cmd.lines), "the step was longer than the test assumes"
    assert cmd.lines[-1].startswith("interrupted: the step in progress was abandoned; continue with `unmask train "
                                    "--resume"), cmd.lines  # fmt: skip
    assert cmd.lines[-1].endswith("from its last checkpoint (step 1)"), cmd.lines
    ckpt = tmp_path / "runs" / "r" / "checkpoints"
    assert [p.name for p in ckpt.iterdir()] == ["last.pt"], "no temporary file is left"
    again = subprocess.run([sys.executable, "-m", "unmask", "train", "--resume", str(tmp_path / "runs" / "r"),
                            "--max-steps", "2", "--threads", "1"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))  # fmt: skip
    assert again.returncode == 0 and "max_steps: step 2" in again.stderr, again.stderr
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2], steps


@pytest.mark.slow
@pytest.mark.parametrize("command", ["eval", "bench"])
def test_eval_and_bench_stop_within_two_seconds(tmp_path: Path, command: str) -> None:
    """They printed their last line at once but took 2-3 s more to exit (the interpreter freeing models and face
    finders). What their reruns resume from is tested in test_resume.py."""
    val = SHARED / "data" / "celeba" / "val"
    if not val.is_dir():
        pytest.skip(f"validation photos not found at {val}")
    pytest.importorskip("mediapipe", reason="mediapipe 0.10.21 is not installed (no wheel for this Python)")
    args = {"eval": ("eval", val, "--region", "eyes", "--n", "60", "--threads", "1"),
            "bench": ("bench", val, "--n", "20", "--repeats", "1", "--threads", "1")}[command]  # fmt: skip
    started = {"eval": "evaluating", "bench": "bench: folder run"}[command]
    cmd = Command(*args, cwd=tmp_path)
    cmd.wait_for(lambda: any(ln.startswith(started) for ln in cmd.lines), timeout=300)
    time.sleep(1.0)
    took = cmd.stop(signal.SIGINT)
    assert cmd.proc.returncode == 130 and took < STOP_S, (took, cmd.lines)
    assert cmd.lines[-1].startswith("interrupted: "), cmd.lines
