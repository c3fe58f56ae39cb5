"""Portable training sets: ``unmask prepare PHOTOS -o SET`` (checksummed tar shards + manifest), reading them
(:class:`unmask.train.data.shards.FaceSet`), resuming and repairing a preparation, and training, slimming and exporting
from a set in a process where ``import mediapipe`` is blocked, and evaluating on a set (``unmask eval SET``).

The set logic runs on a fake cropper (no mediapipe); the real-photo tests use 16 photos of
``../shared/data/celeba/val`` (skipped when absent)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

import fake_prepare
from fake_prepare import Interrupt, stop_after
from unmask.train.data.prepare import PrepareError
from unmask.train.data.shard_writer import write_set
from unmask.train.data.shards import FaceSet, SetError, is_face_set

REPO = Path(__file__).resolve().parents[1]
VAL = REPO.parent / "shared" / "data" / "celeba" / "val"
S = 48  # crop side of the fake sets


# -- a fake cropper: deterministic textured crops, no mediapipe ----------------------------------------------------
CALLS: list[str] = []


def fake_crop(name: str, size: int = S) -> tuple[np.ndarray, np.ndarray]:
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    phase = (seed % 97) / 97 * 6.28
    rgb = np.stack([np.sin(6 * x + phase), np.cos(5 * y - phase), np.sin(4 * (x + y) + 2 * phase)], -1)
    crop = np.clip(128 + 90 * rgb, 0, 255).astype(np.uint8)
    from unmask.infer.face.align import template

    lm = (template() * size + (seed % 7) * 0.1).astype(np.float32)
    return crop, lm


class FakeCropper(fake_prepare.FakeCropper):
    """Crop and landmarks from the file name; files named bad* have no face."""

    calls = CALLS

    def face(self, path: Path):
        return fake_crop(path.name, self.size)


def photos(root: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / (f"bad{i:03d}.jpg" if i in bad else f"img{i:03d}.jpg")).write_bytes(bytes([i, 1, 2]))
    return root


def shas(root: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("faces-*.tar.gz"))]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def _strings(obj: object):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


# -- writing and reading ---------------------------------------------------------------------------------------------
def test_set_round_trip_manifest_and_shards(tmp_path):
    folder = photos(tmp_path / "my photos", 7, bad=(3,))
    s = write_set(folder, tmp_path / "set", size=S, shard_size=3, cropper=FakeCropper)
    assert (s.photos, s.faces, s.shards, s.written, s.resumed) == (7, 6, 3, 3, 0)
    assert s.failed == (("bad003.jpg", "no face found"),)
    root = tmp_path / "set"
    text = (root / "manifest.json").read_text()
    m = json.loads(text)
    assert m["format"] == "unmask-faces" and m["format_version"] == 1 and m["recipe_version"] >= 1
    assert m["complete"] and m["size"] == S and m["photos"] == 7 and m["faces"] == 6
    assert m["image"]["codec"] == "jpeg" and 90 <= m["image"]["quality"] <= 95
    assert m["landmarks"] == {"points": 478, "dtype": "float16", "units": "crop pixels"}
    assert m["unusable"] == [["bad003.jpg", "no face found"]]
    assert m["source"]["folder"] == "my photos" and m["source"]["photos"] == 7
    # no absolute paths: nothing names the machine or the folder's location
    assert str(tmp_path) not in text and not any(v.startswith(("/", "\\")) or ":\\" in v for v in _strings(m))
    assert sorted(p.name for p in root.iterdir()) == ["faces-00000.tar.gz", "faces-00001.tar.gz",
                                                      "faces-00002.tar.gz", "manifest.json"]  # fmt: skip
    for e in m["shards"]:
        data = (root / e["file"]).read_bytes()
        assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["bytes"] == len(data)
    # names sort as bad003, img000, ...: KEY is the photo's place in that order
    assert [e["faces"] for e in m["shards"]] == [2, 3, 1] and [e["photos"] for e in m["shards"]] == [
        [0, 3],
        [3, 6],
        [6, 7],
    ]
    assert m["shards"][0]["unusable"] == [["bad003.jpg", "no face found"]] and m["shards"][0]["names"] == [
        "img000.jpg",
        "img001.jpg",
    ]
    # a WebDataset-style shard: KEY.jpg + KEY.lm.npy per face, readable with the standard library alone
    with tarfile.open(root / "faces-00000.tar.gz", "r:gz") as tar:
        assert tar.getnames() == ["0000001.jpg", "0000001.lm.npy", "0000002.jpg", "0000002.lm.npy"]
        lm = np.load(io.BytesIO(tar.extractfile("0000002.lm.npy").read()))
    assert lm.dtype == np.float16 and lm.shape == (478, 2)
    # read back: the crops within JPEG error, the landmarks within float16 rounding
    fs = FaceSet(root)
    assert is_face_set(root) and is_face_set(root / "manifest.json") and not is_face_set(folder)
    assert len(fs) == 6 and fs.names == [
        "img000.jpg",
        "img001.jpg",
        "img002.jpg",
        "img004.jpg",
        "img005.jpg",
        "img006.jpg",
    ]
    assert fs.failed == s.failed and fs.total == 7 and fs.size == S
    for i, name in enumerate(fs.names):
        crop, lm = fake_crop(name)
        got = fs.crop(i)
        assert got.shape == (S, S, 3) and got.dtype == np.uint8 and got.flags.writeable
        assert psnr(got, crop) > 38
        assert fs.landmarks(i).dtype == np.float32 and np.abs(fs.landmarks(i) - lm).max() <= 0.02
    # deterministic: the same photos and settings give byte-identical shards
    again = write_set(
        photos(tmp_path / "copy", 7, bad=(3,)), tmp_path / "set2", size=S, shard_size=3, cropper=FakeCropper
    )
    assert again.faces == 6 and shas(tmp_path / "set2") == shas(root)


def test_set_is_served_at_smaller_sizes_only(tmp_path):
    write_set(photos(tmp_path / "p", 3), tmp_path / "set", size=S, cropper=FakeCropper)
    full, half = FaceSet(tmp_path / "set"), FaceSet(tmp_path / "set", size=S // 2)
    assert half.crop(0).shape == (S // 2, S // 2, 3) and half.size == S // 2 and half.stored_size == S
    assert np.allclose(half.landmarks(0), (full.landmarks(0) + 0.5) / 2 - 0.5)
    # the half-size crop is the area average of the full one
    avg = full.crop(0).astype(np.float64).reshape(S // 2, 2, S // 2, 2, 3).mean((1, 3))
    assert np.abs(half.crop(0) - avg).max() <= 1
    with pytest.raises(SetError, match=f"holds {S} px crops, {2 * S} px are needed"):
        FaceSet(tmp_path / "set", size=2 * S)


def test_interrupted_prepare_resumes_where_it_stopped(tmp_path):
    folder = photos(tmp_path / "p", 7, bad=(3,))
    root = tmp_path / "set"
    CALLS.clear()
    with pytest.raises(Interrupt):
        write_set(folder, root, size=S, shard_size=2, cropper=FakeCropper, progress=stop_after(5))
    assert len(CALLS) == 5  # shards 0 and 1 written, shard 2 interrupted
    assert sorted(p.name for p in root.iterdir()) == ["faces-00000.tar.gz", "faces-00001.tar.gz", "manifest.json"]
    with pytest.raises(SetError, match="preparation not finished") as e:
        FaceSet(root)
    assert "unmask prepare" in str(e.value) and "\n" not in str(e.value)
    CALLS.clear()
    seen = []
    s = write_set(
        folder, root, size=S, shard_size=2, cropper=FakeCropper, progress=lambda d, t, f: seen.append((d, t, f))
    )
    assert CALLS == ["img004.jpg", "img005.jpg", "img006.jpg"]  # names sort as bad003, img000, ...
    assert seen[0] == (4, 7, 1) and seen[-1] == (7, 7, 1)
    assert (s.written, s.resumed, s.faces) == (2, 2, 6)
    straight = write_set(photos(tmp_path / "q", 7, bad=(3,)), tmp_path / "straight", size=S, shard_size=2,
                         cropper=FakeCropper)  # fmt: skip
    assert straight.faces == 6 and shas(root) == shas(tmp_path / "straight")
    # a finished set: nothing to do, nothing rewritten
    CALLS.clear()
    before = (root / "manifest.json").stat().st_mtime_ns
    again = write_set(folder, root, size=S, shard_size=2, cropper=FakeCropper)
    assert CALLS == [] and again.written == 0 and (root / "manifest.json").stat().st_mtime_ns == before


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_shard_is_named_in_one_line_and_prepare_rewrites_it(damage, tmp_path):
    folder = photos(tmp_path / "p", 6)
    root = tmp_path / "set"
    write_set(folder, root, size=S, shard_size=2, cropper=FakeCropper)
    good = shas(root)
    shard = root / "faces-00001.tar.gz"
    data = bytearray(shard.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        shard.write_bytes(bytes(data))
    elif damage == "truncate":
        shard.write_bytes(bytes(data[: len(data) // 2]))
    else:
        shard.unlink()
    with pytest.raises(SetError) as e:
        FaceSet(root)
    msg = str(e.value)
    assert msg.startswith(str(shard) + ":") and "\n" not in msg
    assert ("missing" if damage == "delete" else "checksum mismatch") in msg
    CALLS.clear()
    s = write_set(folder, root, size=S, shard_size=2, cropper=FakeCropper)
    assert CALLS == ["img002.jpg", "img003.jpg"] and (s.written, s.resumed) == (1, 2)
    assert shas(root) == good and len(FaceSet(root)) == 6


def test_set_errors(tmp_path):
    folder = photos(tmp_path / "p", 3)
    write_set(folder, tmp_path / "set", size=S, cropper=FakeCropper)
    with pytest.raises(SetError, match="other photos or settings.*size 48 -> 32"):
        write_set(folder, tmp_path / "set", size=32, cropper=FakeCropper)
    with pytest.raises(SetError, match="other photos"):
        write_set(photos(tmp_path / "p4", 4), tmp_path / "set", size=S, cropper=FakeCropper)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SetError, match="not empty"):
        write_set(folder, tmp_path / "busy", size=S, cropper=FakeCropper)
    with pytest.raises(PrepareError, match="no usable face"):
        write_set(photos(tmp_path / "bad", 2, bad=(0, 1)), tmp_path / "none", size=S, cropper=FakeCropper)
    with pytest.raises(SetError, match="not a training set"):
        FaceSet(tmp_path / "p")
    m = json.loads((tmp_path / "set" / "manifest.json").read_text())
    m["shards"][0]["file"] = "../p/img000.jpg"  # a manifest never points out of its set
    (tmp_path / "set" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SetError, match="not faces-NNNNN"):
        FaceSet(tmp_path / "set")
    (tmp_path / "set" / "manifest.json").write_text("{")
    with pytest.raises(SetError, match="unreadable manifest"):
        FaceSet(tmp_path / "set")


def test_shard_with_a_bad_member_is_refused(tmp_path):
    """A shard whose checksum matches the manifest but whose content does not (e.g. made by another tool)."""
    root = tmp_path / "set"
    write_set(photos(tmp_path / "p", 2), root, size=S, cropper=FakeCropper)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("0000000.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    data = gzip.compress(raw.getvalue())
    (root / "faces-00000.tar.gz").write_bytes(data)
    m = json.loads((root / "manifest.json").read_text())
    m["shards"][0].update(sha256=hashlib.sha256(data).hexdigest(), faces=1, names=["img000.jpg"])
    (root / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SetError, match="face 0000000 lacks its landmarks"):
        FaceSet(root)


# -- real photos, the command, and training without mediapipe ------------------------------------------------------
@pytest.fixture(scope="module")
def real_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(16 validation photos plus a broken file, the set `unmask prepare` made of them at 128 px)."""
    if not VAL.is_dir():
        pytest.skip(f"validation faces not found at {VAL} (../shared is not available)")
    from typer.testing import CliRunner

    from unmask.cli.app import app

    folder = tmp_path_factory.mktemp("photos")
    for p in sorted(VAL.glob("*.jpg"))[:16]:
        shutil.copy(p, folder / p.name)
    (folder / "zz_broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path_factory.mktemp("sets") / "faces"
    r = CliRunner().invoke(app, ["prepare", str(folder), "-o", str(out), "--shard-size", "8"])
    assert r.exit_code == 0, r.output
    assert f"wrote {out}: " in r.output and "of 17 photos at 128 px" in r.output, r.output
    return folder, out


def test_prepare_command_on_real_photos(real_set):
    folder, out = real_set
    m = json.loads((out / "manifest.json").read_text())
    reasons = dict(m["unusable"])
    assert reasons["zz_broken.jpg"].startswith("unreadable")
    assert m["faces"] == 17 - len(reasons) >= 15 and m["size"] == 128 and len(m["shards"]) == 3
    fs = FaceSet(out)
    crop, lm = fs.crop(0), fs.landmarks(0)
    assert crop.shape == (128, 128, 3) and 0 <= lm.min() and lm.max() < 128
    assert abs(lm[:, 0].mean() - 64) < 13  # an aligned face, centred
    # 128 px faces cost well under the 150 MB per 12,000 (12.5 KB each)
    assert sum(e["bytes"] for e in m["shards"]) / m["faces"] < 10_500
    # the crops equal the crop cache's (same recipe) up to JPEG error
    from unmask.train.data.prepare import CropStore, prepare

    cache = CropStore(prepare(folder, 128, out.parent / "cache", limit=4).root)
    assert cache.names[:3] == fs.names[:3]
    for i in range(3):
        assert psnr(fs.crop(i), cache.crop(i)) > 36 and np.abs(fs.landmarks(i) - cache.landmarks(i)).max() < 0.07


BLOCKER = r'''
import json, runpy, sys
ATTEMPTS = []


class _NoMediapipe:
    """Any import of mediapipe fails, as on a Python without its wheels; attempts are counted."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mediapipe":
            ATTEMPTS.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoMediapipe())
from typer.testing import CliRunner
from unmask.cli.app import app

results = []
for args in json.loads(sys.argv[1]):
    before = len(ATTEMPTS)
    r = CliRunner().invoke(app, args)
    results.append({"args": args, "code": r.exit_code, "output": r.output, "attempts": len(ATTEMPTS) - before,
                    "error": repr(r.exception) if r.exception and not isinstance(r.exception, SystemExit) else None})
print("RESULTS=" + json.dumps({"results": results, "loaded": [m for m in sys.modules if "mediapipe" in m]}))
'''


def test_train_slim_and_export_from_a_set_with_mediapipe_blocked(real_set, tmp_path):
    """The GPU-machine story on Python 3.13: no mediapipe. Training from a set (and validating on one), slimming
    the checkpoint and exporting the model never import it; preparing photos fails with one line that names the
    Python versions where mediapipe installs."""
    folder, out = real_set
    runs = tmp_path / "runs"
    common = ["--arch", "glcic", "--preset", "tiny", "--batch-size", "4", "--threads", "1", "--out", str(runs)]
    commands = [
        ["train", *common, "--data", str(out), "--val", str(out), "--val-images", "4", "--val-every", "2",
         "--max-steps", "3", "--name", "fromset", "--workers", "1"],  # a data-loader process reads the set too
        ["export", "fromset", "--runs", str(runs), "--checkpoint", str(tmp_path / "slim.pt"), "--fp16"],
        ["export", str(tmp_path / "slim.pt"), "-o", str(tmp_path / "m.onnx"), "--region", "eyes"],
        ["eval", str(out), "--region", "eyes", "--model", str(tmp_path / "m.onnx"), "--baseline", "telea,none",
         "--n", "5", "--no-lpips", "--json", "--threads", "1"],
        ["prepare", str(folder), "-o", str(tmp_path / "other")],
        ["train", *common, "--data", str(folder), "--no-val", "--max-steps", "1", "--name", "photos",
         "--cache", str(tmp_path / "cache"), "--workers", "0"],
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", NO_COLOR="1", COLUMNS="400", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", BLOCKER, json.dumps(commands)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULTS=")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(line[len("RESULTS=") :])
    train, slim, onnx, ev, prep, photo_train = report["results"]
    for r in (train, slim, onnx, ev):
        assert r["code"] == 0 and r["attempts"] == 0, r
    assert report["loaded"] == []
    assert "max_steps: step 3" in train["output"] and "served at 32 px" in train["output"]
    ckpt = runs / "fromset" / "checkpoints" / "last.pt"
    assert ckpt.is_file() and (runs / "fromset" / "samples" / "step_0000002.png").is_file()
    assert (tmp_path / "slim.pt").stat().st_size < ckpt.stat().st_size / 3 and (tmp_path / "m.onnx").is_file()
    scores = json.loads(next(x for x in ev["output"].splitlines() if x.startswith("{")))
    assert scores["settings"]["source"] == "set" and scores["photos"] == scores["faces_scored"] == 5, scores
    rows = {r["name"]: r for r in scores["rows"]}
    assert set(rows) == {"m", "telea", "none"} and all(
        r["faces"] == 5 and r["outside_pixels"] == 0 for r in rows.values()
    )
    assert rows["telea"]["psnr"]["mean"] > rows["none"]["psnr"]["mean"] + 3, rows
    for r in (prep, photo_train):
        lines = [x for x in r["output"].strip().splitlines() if x.strip()]
        assert r["code"] == 2 and len(lines) == 1 and r["error"] is None, r
        assert "mediapipe 0.10.21" in lines[0] and "3.9-3.12" in lines[0] and "unmask prepare" in lines[0], r
    assert str(folder) in photo_train["output"]


def test_eval_on_a_set_censors_its_crops_at_its_landmarks(real_set):
    """``evaluate_set``: face i of the set is the photo, censored at its stored landmarks with seed + i (as
    ``evaluate`` censors photo i), so the ``none`` baseline scores exactly that censored, JPEG'd crop."""
    from unmask.infer.censors import draw_censor, jpeg
    from unmask.measure.evaluate import build_methods, evaluate_set
    from unmask.measure.metrics import psnr_hole, ssim_box
    from unmask.measure.scores import EvalSettings

    _, out = real_set
    faces = FaceSet(out)
    methods, kinds, _ = build_methods([], ["telea", "none"], "eyes")
    settings = EvalSettings("eyes", "pixelate", n=4, seed=7)
    report = evaluate_set(faces, methods, settings, kinds=kinds)
    assert (report.source, report.data, report.photos, report.scored, report.lost) == ("set", str(out), 4, 4, 0)
    for i, score in enumerate(report.scores("none")):
        crop = faces.crop(i)
        censored, hole = draw_censor(crop, faces.landmarks(i), "pixelate", np.random.default_rng(7 + i))
        censored = jpeg(censored, settings.jpeg)
        assert score.photo == faces.names[i] and score.hole_pixels == int((hole > 127).sum()) > 100
        assert score.psnr == pytest.approx(psnr_hole(censored, crop, hole)) and score.ssim == pytest.approx(
            ssim_box(censored, crop, hole)
        )
    telea = report.rows()[0]
    assert telea.name == "telea" and telea.faces == 4 and telea.outside_pixels == 0
    assert report.to_dict()["settings"]["source"] == "set"
    # issue 24's columns on a set too: detail and tone (no LPIPS here: no hole LPIPS, no KID), skin from the landmarks
    assert telea.detail is not None and telea.tone is not None and telea.hole_lpips is None and telea.kid is None
    assert all(f.ita is not None for f in report.faces) and sum(g.faces for g in report.skin_groups()) == 4


# -- the dependencies by Python version ------------------------------------------------------------------------------
def test_dependencies_by_python_version():
    """mediapipe (and the numpy<2 world it needs) only where its wheels exist; Python 3.13 gets numpy 2 instead."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert SpecifierSet(project["requires-python"]).contains("3.13") and SpecifierSet(
        project["requires-python"]
    ).contains("3.10")

    def installed(py: str, extra: str | None = None) -> dict[str, SpecifierSet]:
        env = {"python_version": py, "python_full_version": py + ".0", "sys_platform": "linux",
               "platform_machine": "x86_64"}  # fmt: skip
        out: dict[str, SpecifierSet] = {}
        for d in project["dependencies"] if extra is None else project["optional-dependencies"][extra]:
            r = Requirement(d)
            if r.marker is None or r.marker.evaluate(env):
                assert r.name not in out, f"{r.name} listed twice for Python {py}"
                out[r.name] = r.specifier
        return out

    for py in ("3.10", "3.12"):
        deps = installed(py)
        assert str(deps["mediapipe"]) == "==0.10.21"
        assert not deps["numpy"].contains("2.0.0") and deps["numpy"].contains("1.26.4")
        # the newest OpenCV and jaxlib need numpy 2: bounded so that pip does not backtrack through them
        assert not deps["opencv-contrib-python"].contains("4.12.0.88") and deps["opencv-contrib-python"].contains(
            "4.11.0.86"
        )
        assert not deps["jaxlib"].contains("0.7.2") and deps["jaxlib"].contains("0.7.1")
        # ... and so do the newest releases of what jax, scikit-image, matplotlib and the train extra pull
        for name, first_numpy2_only, kept in [
            ("ml-dtypes", "0.6.0", "0.5.4"),
            ("scipy", "1.18.0", "1.17.1"),
            ("tifffile", "2026.4.11", "2026.3.3"),
            ("contourpy", "1.4.0", "1.3.3"),
        ]:
            assert not deps[name].contains(first_numpy2_only) and deps[name].contains(kept), name
        onnx = installed(py, "train")["onnx"]
        assert not onnx.contains("1.23.0") and onnx.contains("1.22.0")
    deps = installed("3.13")
    assert not {"mediapipe", "jax", "jaxlib", "ml-dtypes", "tifffile", "contourpy"} & set(deps)
    assert deps["numpy"].contains("2.3.0") and deps["opencv-contrib-python"].contains("4.13.0.90")
    assert deps["scipy"].contains("1.18.1") and installed("3.13", "train")["onnx"].contains("1.23.2")
