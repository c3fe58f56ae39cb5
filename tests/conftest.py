"""Shared fixtures of the inference-path tests: the astronaut photo, validation faces from ../shared (skipped when
absent), a models folder holding two tiny ONNX generators, one FaceFinder for the whole session, and a runner for
the ``unmask`` command (in process, with the root's default-command routing applied)."""

from __future__ import annotations

import sys
import subprocess
import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VAL = SHARED / "data" / "celeba" / "val"

# The library finds data only where it is told (options or these variables); the tests use ../shared's. The weights
# of the losses and of LPIPS ship with the package (unmask/weights): no variable, as on a user's fresh install.
for _env, _path in (("UNMASK_DATA", SHARED / "data" / "celeba" / "train"), ("UNMASK_VAL", VAL)):
    if _path.exists():
        os.environ.setdefault(_env, str(_path))

MODEL_SIZE = 64
"""Crop side of the tiny test generators (a box blur; see tests/onnx_models.py)."""


# ----------------------------------------------------------------------------------------------------- photos


@pytest.fixture(scope="session")
def _astronaut() -> np.ndarray:
    from skimage import data

    img = data.astronaut()
    img.setflags(write=False)
    return img


@pytest.fixture
def astronaut(_astronaut: np.ndarray) -> np.ndarray:
    """The public-domain astronaut portrait shipped with scikit-image (512x512x3 uint8 RGB), a fresh copy."""
    return _astronaut.copy()


@pytest.fixture(scope="session")
def finder() -> Iterator["FaceFinder"]:  # noqa: F821 - imported lazily (mediapipe is heavy)
    """One FaceFinder for the session (mediapipe graphs take a while to build). Skips where mediapipe has no
    wheel (Python 3.13+: unmask installs without it)."""
    pytest.importorskip("mediapipe", reason="mediapipe 0.10.21 is not installed (no wheel for this Python)")
    from unmask.infer.face.detect import FaceFinder

    with FaceFinder(max_faces=20, min_face=24) as f:
        yield f


@pytest.fixture(scope="session")
def astronaut_face(finder, _astronaut: np.ndarray):
    """The astronaut's face as FaceFinder finds it (landmarks in photo pixels)."""
    faces = finder.search(_astronaut).faces
    assert len(faces) == 1, f"expected one face in the astronaut photo, found {len(faces)}"
    return faces[0]


@pytest.fixture(scope="session")
def censored_astronaut(_astronaut: np.ndarray, astronaut_face) -> tuple[np.ndarray, np.ndarray]:
    """(the astronaut with the project's own black eye bar drawn on, the bar mask HxW uint8 255 = bar)."""
    from unmask.infer.censors import draw_censor

    censored, bar = draw_censor(_astronaut, astronaut_face.landmarks, "bar")
    censored.setflags(write=False)
    bar.setflags(write=False)
    return censored, bar


@pytest.fixture(scope="session")
def val_dir() -> Path:
    """../shared/data/celeba/val (face photos of about 200x200 px); skips the test when absent."""
    if not VAL.is_dir():
        pytest.skip(f"validation faces not found at {VAL} (../shared is not available)")
    return VAL


@pytest.fixture(scope="session")
def val_faces(val_dir: Path) -> list[Path]:
    """The validation photos, sorted by name."""
    files = sorted(val_dir.glob("*.jpg"))
    if len(files) < 40:
        pytest.skip(f"too few validation faces in {val_dir} ({len(files)})")
    return files


# ----------------------------------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def squeeze_features():
    """SqueezeNet 1.1 features with the weights of ../shared/weights (the perceptual losses and LPIPS use them);
    skips the test when they are absent."""
    weights = SHARED / "weights" / "squeezenet1_1_features.pth"
    if not weights.is_file():
        pytest.skip(f"SqueezeNet weights not found at {weights} (../shared absent)")
    from unmask.train.features import SqueezeFeatures

    return SqueezeFeatures(weights)


@pytest.fixture(scope="session")
def lpips():
    """The LPIPS metric with the SqueezeNet heads of ../shared/weights; skips the test when they are absent."""
    if not (SHARED / "weights" / "lpips_squeeze_v0.1.pth").is_file():
        pytest.skip("LPIPS weights absent from ../shared/weights")
    from unmask.measure.metrics import LPIPS

    return LPIPS()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with ``tiny_eyes.onnx`` and ``tiny_mouth.onnx`` (box-blur generators of side
    :data:`MODEL_SIZE`) and a ``defaults.txt`` naming them, so they win over anything in the repo's models/."""
    from onnx_models import make_model  # needs the onnx package (train extra): imported only where used

    d = tmp_path_factory.mktemp("models")
    make_model(d / "tiny_eyes.onnx", MODEL_SIZE, "eyes")
    make_model(d / "tiny_mouth.onnx", MODEL_SIZE, "mouth")
    (d / "defaults.txt").write_text("eyes=tiny_eyes\nmouth=tiny_mouth\n")
    return d


@pytest.fixture
def models_env(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``UNMASK_MODELS`` pointed at :func:`models_dir` for this test."""
    monkeypatch.setenv("UNMASK_MODELS", str(models_dir))
    return models_dir


@pytest.fixture
def isolated_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Model search restricted to $UNMASK_MODELS, an empty folder of this test's (the repo's models/ and the
    installed copy point at empty folders)."""
    from unmask.infer.runtime import registry

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(registry, "_REPO_MODELS", empty)
    monkeypatch.setattr(registry, "_INSTALLED_MODELS", empty)
    d = tmp_path / "user_models"
    d.mkdir()
    monkeypatch.setenv("UNMASK_MODELS", str(d))
    return d


@pytest.fixture(scope="session")
def tiny_models(models_dir: Path) -> dict:
    """The two tiny generators loaded on CPU: ``{"eyes": Model, "mouth": Model}``."""
    from unmask.infer.runtime import load_model

    return {
        "eyes": load_model(models_dir / "tiny_eyes.onnx", "cpu", 1),
        "mouth": load_model(models_dir / "tiny_mouth.onnx", "cpu", 1),
    }


# -------------------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(models_env: Path) -> Callable[..., "Result"]:  # noqa: F821
    """``cli(*args)`` runs ``unmask ARGS`` in process (``route()`` applied, as the console script does) and returns
    typer's Result (``exit_code``, ``stdout``, ``stderr``, ``exception``)."""
    from typer.testing import CliRunner

    from unmask.cli.app import app, route

    runner = CliRunner()

    def run(*args: object):
        return runner.invoke(app, route([str(a) for a in args]), env={"UNMASK_MODELS": str(models_env)})

    return run


@pytest.fixture(scope="session")
def subprocess_env(models_dir: Path) -> dict[str, str]:
    """Environment for ``python -m unmask`` subprocesses: the tiny models, 1 thread per library, no colour."""
    env = dict(os.environ)
    env.update(UNMASK_MODELS=str(models_dir), OMP_NUM_THREADS="1", NO_COLOR="1", TERM="dumb")
    return env


def save_image(path: Path, rgb: np.ndarray, **kw: object) -> Path:
    """Writes ``rgb`` with PIL (parents created); returns ``path``."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, **kw)
    return path


def json_lines(stdout: str) -> tuple[list[dict], dict]:
    """The per-input objects and the summary object of ``unmask --json`` output."""
    import json

    objs = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert objs and "summary" in objs[-1], stdout
    return objs[:-1], objs[-1]


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """torch on one thread for the test (tiny models run faster so, and tests sharing the cores stay polite)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


STILLS = ("182654.jpg", "182707.jpg")  # a face the bar, mosaic and mask finders all find; a second face


@pytest.fixture(scope="module")
def stills(val_dir: Path, finder: "FaceFinder") -> list[tuple[np.ndarray, np.ndarray]]:  # noqa: F821 - imported lazily
    """(photo, landmarks) of the two validation faces the clips are made of."""
    from unmask.infer.io import read_image

    out = []
    for name in STILLS:
        path = val_dir / name
        if not path.is_file():
            pytest.skip(f"{path} missing")
        rgb = read_image(path).rgb
        faces = finder.search(rgb).faces
        assert faces, f"no face found in {name}"
        out.append((rgb, faces[0].landmarks))
    return out


@pytest.fixture(scope="session")
def single_faces(val_faces: list[Path], finder: "FaceFinder") -> list[tuple[np.ndarray, "Face"]]:  # noqa: F821 - lazily
    """(photo, face) of the first 12 validation photos, among the first 40, in which one face is found."""
    from unmask.infer.io import read_image

    out = []
    for path in val_faces[:40]:
        rgb = read_image(path).rgb
        faces = finder.search(rgb).faces
        if len(faces) == 1:
            out.append((rgb, faces[0]))
        if len(out) == 12:
            break
    return out


def named_face(val_faces: list[Path], finder: "FaceFinder", name: str) -> tuple[int, np.ndarray, "Face"]:  # noqa: F821
    """(its place among the validation photos, its pixels, its one face) of validation photo ``name``; skips the test
    when the photo is not there."""
    from unmask.infer.io import read_image

    names = [p.name for p in val_faces]
    if name not in names:
        pytest.skip(f"{name} not among the validation faces")
    index = names.index(name)
    clean = read_image(val_faces[index]).rgb
    faces = finder.search(clean).faces
    assert len(faces) == 1
    return index, clean, faces[0]


def stress_staged(
    val_faces: list[Path],
    finder: "FaceFinder",  # noqa: F821 - imported lazily
    kind: str,
    name: str,
    seed: int = 0,
) -> tuple:
    """The stress benchmark's ``kind`` censor on validation photo ``name``, staged exactly as ``benchmarks/stress.py``
    stages it with ``seed`` (:func:`unmask.measure.stress.stage`): (censored photo, censor mask, face, ...)."""
    from unmask.measure.stress import stage
    from unmask.measure.stress_draw import DRAW

    index, clean, face = named_face(val_faces, finder, name)
    staged = stage(clean, face, finder, kind, np.random.default_rng((seed, list(DRAW).index(kind), index)))
    assert staged is not None
    return staged


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path, size: str, why: str) -> Iterator[Path]:
    """A real, nearly full file system: a tmpfs of ``size`` (e.g. ``"32k"``) mounted at ``tmp_path / "tiny"`` and
    unmounted after; the test is skipped (``why``: what covers the case elsewhere) where it cannot be mounted (not
    root on Linux)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip(f"mounting a tmpfs needs root on Linux ({why})")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(tiny)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield tiny
    finally:
        subprocess.run(["umount", str(tiny)], capture_output=True)
