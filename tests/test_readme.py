"""Every command the README shows works on a fresh install (issue 25): each is run as a user runs it, from a
fresh folder with ``../shared`` beside it, no ``UNMASK_*`` variable set (shipped models and weights only), in a
short version (a few photos, ``--n 3``, ``--max-steps 2``), and must exit 0. A README command this file does not
know fails ``test_every_readme_command_is_covered``: add its short version to :data:`RUNS` below."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHARED
from conftest import save_image as _save

README = REPO / "README.md"
TRAIN, VAL = SHARED / "data" / "celeba" / "train", SHARED / "data" / "celeba" / "val"

RUNS: dict[str, list[str] | str] = {
    # quick start: the install is checked by test_the_wheel_ships_the_weights; the demo runs here
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && python scripts/demo.py":
        ["python scripts/demo.py"],
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e \".[train,test]\" "
    "&& python -m pytest -q": "the test suite itself (CI runs it)",
    # use
    "unmask photo.jpg --region eyes": ["unmask photo.jpg --region eyes", "test -f unmasked/photo.jpg"],
    "unmask ./folder --out ./restored --recursive": ["unmask ./folder --out ./restored --recursive",
                                                     "test -f restored/sub/b.png"],
    "unmask clip.mp4 --region eyes": ["unmask clip.mp4 --region eyes", "test -f unmasked/clip.mp4"],
    "unmask group.png --region auto --compare": ["unmask group.png --region auto --compare",
                                                 "test -f unmasked/group.compare.png"],
    "unmask group.png --show-faces faces.png": ["unmask group.png --show-faces faces.png --out only-drawn",
                                                "test -f faces.png && test ! -e only-drawn"],
    "unmask group.png --region auto --faces 0,2": ["unmask group.png --region auto --faces 0,2 --overwrite"],
    "unmask photo.png --mask hole.png": ["unmask photo.png --mask hole.png"],
    "unmask photo.png --model my-edgeconnect.onnx --edges lines.png": [
        "unmask train --arch edgeconnect --preset tiny --data trainfaces --max-steps 1 --batch-size 4 --name ec --no-val",
        "unmask export ec -o my-edgeconnect.onnx",
        "unmask photo.png --model my-edgeconnect.onnx --edges lines.png --overwrite",
    ],
    "unmask models": ["unmask models"],
    "unmask quantize dmfn-eyes --val ../shared/data/celeba/val -o my-int8.onnx": [
        "unmask quantize dmfn-eyes --val ../shared/data/celeba/val --photos 2 -o my-int8.onnx", "test -f my-int8.onnx"],
    "unmask eval ../shared/data/celeba/val --region eyes --n 200": ["unmask eval ../shared/data/celeba/val --region eyes --n 3"],
    "unmask eval SET --region eyes --n 200": ["unmask prepare ../shared/data/celeba/val -o SET --limit 4",
                                              "unmask eval SET --region eyes --n 3"],
    "unmask bench ./folder": ["unmask bench ./folder --n 1 --repeats 1"],
    "unmask bench ./folder --json > b.json && python benchmarks/targets.py b.json":
        ["unmask bench ./folder --n 1 --repeats 1 --json > b.json && python benchmarks/targets.py b.json"],
    "unmask train --arch dmfn --data ../shared/data/celeba/train": [
        "unmask train --arch dmfn --data trainfaces --max-steps 2 --batch-size 4 --name dmfn-readme",
        "test -f runs/dmfn-readme/checkpoints/last.pt && ls runs/dmfn-readme/samples/step_0000002.png",
    ],
    # reproducing the tables and pictures
    'M="--model dmfn-eyes --model context-encoder-eyes"': "a shell variable, used by the lines below",
    "unmask eval ../shared/data/celeba/val --region eyes --censor bar --n 200 $M --json --grid "
    "docs/img/grid-eyes-bar.png > eyes-bar.json": [
        'M="--model dmfn-eyes --model context-encoder-eyes"; unmask eval ../shared/data/celeba/val --region eyes '
        "--censor bar --n 3 $M --json --grid docs/img/grid-eyes-bar.png > eyes-bar.json"],
    "unmask eval ../shared/data/celeba/val --region eyes --censor pixelate --n 200 $M --json --grid "
    "docs/img/grid-eyes-pix.png > eyes-pix.json": [
        'M="--model dmfn-eyes --model context-encoder-eyes"; unmask eval ../shared/data/celeba/val --region eyes '
        "--censor pixelate --n 3 $M --json --grid docs/img/grid-eyes-pix.png > eyes-pix.json"],
    "unmask eval ../shared/data/celeba/val --region mouth --censor surgical --n 200 --model dmfn-mouth --model "
    "context-encoder-mouth --json --grid docs/img/grid-mouth.png > mouth.json": [
        "unmask eval ../shared/data/celeba/val --region mouth --censor surgical --n 3 --model dmfn-mouth --model "
        "context-encoder-mouth --json --grid docs/img/grid-mouth.png > mouth.json"],
    "python scripts/results_table.py eyes-bar.json eyes-pix.json mouth.json":
        ["python scripts/results_table.py eyes-bar.json eyes-pix.json mouth.json"],
    "python scripts/choose_defaults.py eyes-bar.json eyes-pix.json mouth.json": [
        'M="--model dmfn-eyes"; unmask eval ../shared/data/celeba/val --region eyes --censor bar --n 3 $M --json > eyes-bar.json',
        "cp eyes-bar.json eyes-pix.json && cp eyes-bar.json mouth.json",
        "python scripts/choose_defaults.py eyes-bar.json eyes-pix.json mouth.json"],
    "python scripts/detail_grid.py ../shared/data/celeba/val --censor bar --n 12 --out docs/img/detail-eyes-bar.png":
        ["python scripts/detail_grid.py ../shared/data/celeba/val --censor bar --n 1 --out docs/img/detail-eyes-bar.png",
         "test -f docs/img/detail-eyes-bar.png"],
    "python scripts/blind_pairs.py ../shared/data/celeba/val --out blind --n 20 --seed 7":
        ["python scripts/blind_pairs.py ../shared/data/celeba/val --out blind --n 1 --seed 7",
         "test -f blind/pair-00.png && test -f blind/key.json"],
    "python scripts/readme_pictures.py ../shared/data/celeba/val --out docs/img":
        ["python scripts/readme_pictures.py ../shared/data/celeba/val --out docs/img --faces 1"],
    "python benchmarks/auto_accuracy.py ../shared/data/celeba/val --n 200":
        ["python benchmarks/auto_accuracy.py ../shared/data/celeba/val --n 2"],
    # unmask serve: the server started, its URL printed, a photo restored through the API (the install is the test's)
    'pip install -e ".[serve]" && unmask serve': [
        "unmask serve --port 8765 --workers 1 2> serve.log & pid=$!; for i in $(seq 150); do "
        "curl -sf http://127.0.0.1:8765/api/health > /dev/null && break; sleep 0.2; done; "
        "curl -sf -F file=@photo.png -F region=eyes -H 'Accept: image/*' http://127.0.0.1:8765/api/restore -o served.png; "
        "rc=$?; kill $pid; grep -q 'http://127.0.0.1:8765/' serve.log && test $rc = 0 && test -s served.png"],
    "python benchmarks/serve_load.py": ["python benchmarks/serve_load.py --requests 4 --clients 2 --photos 1"],
    # --ray (the test extra brings the ray extra)
    'pip install -e ".[ray]"': "the install: the test extra includes the ray extra, which the next line runs on",
    "unmask ./folder --out ./restored --ray local": ["unmask ./folder --out ./ray-restored --ray local --ray-workers 1",
                                                     "test -f ray-restored/a.png"],
    "ray start --head --port 6379 --num-cpus 16": "a cluster of several machines (tests/test_ray.py joins a local "
                                                  "cluster by its address; `ray stop` would stop other runs' too)",
    "ray start --address HEAD:6379": "a cluster of several machines (see ray start --head)",
    "unmask s3://bucket/photos --out s3://bucket/restored --recursive --ray HEAD:6379 --device cuda":
        "needs a bucket, a cluster and GPUs (tests/test_ray.py runs file:// URLs on a local cluster)",
}  # fmt: skip
"""README command -> the commands that run its short version (in order, in one shell each), or why it is not
run here."""


def readme_commands() -> list[str]:
    """The commands of the README's ``bash`` blocks, one per line (continued lines joined, comments cut)."""
    out = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in re.sub(r"\\\n\s*", "", block).splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and line not in out:
                out.append(line)
    return out


def test_every_readme_command_is_covered() -> None:
    commands = readme_commands()
    assert len(commands) >= 20, commands
    missing = [c for c in commands if c not in RUNS]
    stale = [c for c in RUNS if c not in commands]
    assert not missing, f"README commands this test does not run (add a short version to RUNS): {missing}"
    assert not stale, f"RUNS entries the README no longer shows: {stale}"


def _env() -> dict[str, str]:
    """The user's environment without any UNMASK_* variable; the venv's scripts first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNMASK_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(NO_COLOR="1", TERM="dumb", OMP_NUM_THREADS="1")
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, censored_astronaut, astronaut_face, _astronaut) -> Path:
    """A fresh folder with ``../shared`` beside it, the repository's scripts and benchmarks, and the files the README
    names: photo.jpg/.png, hole.png, lines.png, group.png (three faces), folder/ (with a subfolder), clip.mp4, and
    trainfaces/ (40 training photos: the short version of ../shared/data/celeba/train)."""
    if not (TRAIN.is_dir() and VAL.is_dir()):
        pytest.skip(f"../shared data not found at {SHARED}")
    from unmask.infer.censors import draw_censor
    from unmask.measure.clips import Actor, clip_frames, write_clip

    root = tmp_path_factory.mktemp("fresh")
    (root / "shared").symlink_to(SHARED, target_is_directory=True)
    w = root / "work"
    w.mkdir()
    for name in ("scripts", "benchmarks"):
        (w / name).symlink_to(REPO / name, target_is_directory=True)
    (w / "docs" / "img").mkdir(parents=True)
    barred, bar = censored_astronaut
    _save(w / "photo.jpg", barred, quality=92)
    _save(w / "photo.png", barred)
    _save(w / "hole.png", bar)
    lines = np.zeros(barred.shape[:2], np.uint8)
    lines[150:152, 150:350] = 255
    _save(w / "lines.png", lines)
    masked, _ = draw_censor(_astronaut, astronaut_face.landmarks, "surgical")
    _save(w / "group.png", np.concatenate([barred, _astronaut, masked], axis=1))
    _save(w / "folder" / "a.png", barred)
    _save(w / "folder" / "sub" / "b.png", np.ascontiguousarray(barred[:, ::-1]))
    actor = Actor(_astronaut, astronaut_face.landmarks, 0.9, (0.5, 0.5), censor="bar", until=1.0)
    write_clip(w / "clip.mp4", clip_frames([actor], (320, 240), 0.4, 25), 25)
    (w / "trainfaces").mkdir()
    for p in sorted(TRAIN.glob("*.jpg"))[:40]:
        (w / "trainfaces" / p.name).symlink_to(p)
    return w


@pytest.mark.slow
@pytest.mark.parametrize("command", list(RUNS), ids=lambda c: c[:60])
def test_readme_command_runs(command: str, workdir: Path) -> None:
    runs = RUNS[command]
    if isinstance(runs, str):
        pytest.skip(runs)
    for run in runs:
        proc = subprocess.run(["bash", "-c", f"set -o pipefail; {run}"], cwd=workdir, env=_env(), capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, f"{run}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"


def test_the_wheel_ships_the_weights(tmp_path: Path) -> None:
    """The install line (``pip install -e .`` / a wheel): the weights and their notice are in the package, so a
    fresh install trains and evaluates with no variable set."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REPO / "pyproject.toml", src)
    shutil.copy(README, src)
    shutil.copytree(REPO / "unmask", src / "unmask", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("unmask-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("squeezenet1_1_features.pth", "lpips_squeeze_v0.1.pth", "NOTICE.txt"):
        assert f"unmask/weights/{name}" in names, name
    for name in ("index.html", "app.js", "style.css"):  # the page of `unmask serve`
        assert f"unmask/serve/static/{name}" in names, name
