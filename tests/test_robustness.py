"""Bad input, crashes and interruptions through the ``unmask`` command (issue 6): one clear line per broken file while
the batch goes on, inputs never modified, awkward photos handled, a killed run leaves nothing half-written and
resumes, broken model files give one line and exit 2."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import json_lines as _json_lines
from conftest import save_image as _save
from corpus import CONTROL_NAME, ERRORS, MODEL_ERRORS, SKIPPED, make_bad_model, make_corpus
from unmask.infer.censors import draw_censor
from unmask.infer.io import read_image, read_provenance

REASONS = {  # words the one line must hold for each broken case of the corpus
    "empty.jpg": "empty",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "text.jpg": "not an image",
    "folder.png": "directory",
    "bomb.png": "too large",
    "corrupt.png": "corrupt",
    "fifo.jpg": "not a regular file",
    "unreadable.jpg": "permission denied",
}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _hashes(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and os.access(p, os.R_OK):
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() + oct(st.st_mode) + str(st.st_mtime_ns)
    return out


def _broken_cases() -> list[str]:
    names = [n for n in ERRORS if n != "fifo.jpg" or hasattr(os, "mkfifo")]
    return [n for n in names if n != "unreadable.jpg" or not IS_ROOT]  # root reads a mode-000 file anyway


# ------------------------------------------------------------------------------------------------------ corpus


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    paths = make_corpus(tmp_path / "corpus")
    yield paths
    if "unreadable.jpg" in paths:
        paths["unreadable.jpg"].chmod(0o600)  # let pytest clean up


def test_corpus_one_line_per_broken_file_and_the_batch_goes_on(cli, corpus: dict[str, Path], tmp_path: Path) -> None:
    before = _hashes(tmp_path / "corpus")
    inputs = sorted(corpus.values())  # as a shell glob would list them
    out = tmp_path / "out"
    res = cli(*inputs, "-o", out, "--force")  # face.jpg is a clean face: --force restores its eye region
    assert res.exit_code == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr
    for name in _broken_cases():
        mine = [ln for ln in lines if f"{name}:" in ln]
        assert len(mine) == 1, f"{name}: expected one line, got {mine}"
        assert REASONS[name] in mine[0].lower(), f"{name}: reason missing in {mine[0]!r}"
    # the rest of the batch went on: the face was restored, the odd but valid photos were read
    assert any("face.jpg: restored 1 face(s)" in ln for ln in lines), lines
    for name in ("tiny1.png", "gray16.png", "cmyk.jpg", "la.png", "animated.gif", "exif_rotated_6.jpg", "noface.png"):
        (line,) = [ln for ln in lines if f"{name}:" in ln]
        assert "no face" in line, line
    assert lines[-1].startswith("restored 1, ") and f"failed {len(_broken_cases())} " in lines[-1], lines[-1]
    assert f", skipped {len(SKIPPED)}, " in lines[-1], lines[-1]
    for name, words in SKIPPED.items():  # an output of an earlier run is not restored again (issue 12, item 17)
        (line,) = [ln for ln in lines if f"{name}:" in ln]
        assert "skipped" in line and words in line, line
    # control characters in a name are shown escaped: one line per input, nothing for the terminal (item 15)
    assert not any(c in res.stderr for c in "\x1b\r\x07"), "raw control characters reached the terminal"
    if CONTROL_NAME in corpus:
        (line,) = [ln for ln in lines if "ctrl\\x1b[31m\\nname.png:" in ln]
        assert "no face" in line, line
    assert len(lines) == 2 + len(corpus), "a header, one line per input, the summary"
    assert _hashes(tmp_path / "corpus") == before, "inputs are never modified"
    assert (out / "face.jpg").is_file()
    assert sorted(p.name for p in out.iterdir()) == [".unmask-state.jsonl", "face.jpg"], (
        "nothing written for broken or faceless inputs (but the state file that remembers the faceless ones)"
    )


def test_corpus_json_records(cli, corpus: dict[str, Path], tmp_path: Path) -> None:
    res = cli(*sorted(corpus.values()), "-o", tmp_path / "out", "--json", "--force")
    assert res.exit_code == 1
    recs, summary = _json_lines(res.stdout)
    by_name = {Path(r["input"]).name: r for r in recs}
    assert set(by_name) == set(corpus)
    for name in _broken_cases():
        assert by_name[name]["status"] == "failed" and REASONS[name] in by_name[name]["error"].lower()
    ok = set(corpus) - set(_broken_cases()) - {"face.jpg", "unreadable.jpg"} - set(SKIPPED)
    assert all(by_name[n]["status"] == "no-face" for n in ok), {
        n: by_name[n] for n in ok if by_name[n]["status"] != "no-face"
    }
    assert by_name["face.jpg"]["status"] == "restored"
    for name, words in SKIPPED.items():
        assert (
            by_name[name]["status"] == "skipped" and words in by_name[name]["note"] and by_name[name]["error"] is None
        )
    # a record names an output only when one was written (issue 12, item 14: the 1x1 photo named one)
    assert by_name["face.jpg"]["output"] == str(tmp_path / "out" / "face.jpg")
    assert [n for n, r in by_name.items() if n != "face.jpg" and r["output"] is not None] == []
    assert by_name["tiny1.png"]["status"] == "no-face" and "too small" in by_name["tiny1.png"]["note"]
    assert summary["summary"]["failed"] == len(_broken_cases()) and summary["summary"]["restored"] == 1
    assert summary["summary"]["skipped"] == len(SKIPPED)
    assert summary["summary"]["no-face"] == len(corpus) - len(_broken_cases()) - 1 - len(SKIPPED)


def test_max_pixels_refuses_and_allows(cli, photo_png: Path, tmp_path: Path) -> None:
    res = cli(photo_png, "-o", tmp_path / "o1", "--max-pixels", "100000", "--json")
    assert res.exit_code == 1
    (rec,), _ = _json_lines(res.stdout)
    assert "too large" in rec["error"] and "--max-pixels" in rec["error"]
    res = cli(photo_png, "-o", tmp_path / "o2", "--max-pixels", "300000", "--json")
    assert res.exit_code == 0 and _json_lines(res.stdout)[0][0]["status"] == "restored"


@pytest.fixture
def photo_png(tmp_path: Path, censored_astronaut) -> Path:
    return _save(tmp_path / "in" / "astronaut.png", censored_astronaut[0])


# ------------------------------------------------------------------------------------------------ awkward photos


def _grid(val_faces: list[Path], finder, n: int = 20, side: int = 200, gap: int = 40) -> np.ndarray:
    faces = []
    for p in val_faces:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        if min(rgb.shape[:2]) >= 180 and len(finder.search(rgb).faces) == 1:
            faces.append(cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA))
        if len(faces) == n:
            break
    cell = side + gap
    grid = np.full((4 * cell, 5 * cell, 3), 235, np.uint8)
    for k, face in enumerate(faces):
        r, c = divmod(k, 5)
        grid[r * cell + gap // 2 : r * cell + gap // 2 + side, c * cell + gap // 2 : c * cell + gap // 2 + side] = face
    return grid


def test_group_photo_of_20_faces(cli, val_faces: list[Path], finder, tmp_path: Path) -> None:
    grid = _grid(val_faces, finder)
    path = _save(tmp_path / "in" / "group.png", grid)
    res = cli(path, "-o", tmp_path / "out", "--json", "--save-mask", "--force")  # clean faces: --force restores them
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored" and len(rec["faces"]) == 20
    assert all(f["status"] == "restored" for f in rec["faces"])
    mask = read_image(tmp_path / "out" / "group.mask.png").rgb[..., 0] > 0
    cell = 240
    for k in range(20):  # one eye band in every cell
        r, c = divmod(k, 5)
        assert mask[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell].any(), f"face {k} not restored"
    assert read_provenance(tmp_path / "out" / "group.png")["faces"] == 20
    res = cli(path, "-o", tmp_path / "out5", "--json", "--max-faces", "5", "--force")
    (rec,), _ = _json_lines(res.stdout)
    assert len(rec["faces"]) == 20 and sum(f["status"] == "restored" for f in rec["faces"]) == 5
    assert all("--max-faces 5" in f["decision"] for f in rec["faces"] if f["status"] == "skipped")


def test_group_photo_of_20_censored_faces(val_faces: list[Path], finder) -> None:
    """Every face of a 5x4 group photo found again under its eye bar (issue 15: 16-18 of 20 were)."""
    grid = _grid(val_faces, finder)
    faces = finder.search(grid).faces
    assert len(faces) == 20
    for f in faces:
        grid, _ = draw_censor(grid, f.landmarks, "bar")
    cells = sorted(
        (int((f.box[1] + f.box[3]) / 2 // 240), int((f.box[0] + f.box[2]) / 2 // 240))
        for f in finder.search(grid).faces
    )
    assert cells == [(r, c) for r in range(4) for c in range(5)], "one face in every cell"


@pytest.mark.parametrize("cut", ["left", "top"])
def test_faces_cut_by_the_border(cli, censored_astronaut, astronaut_face, tmp_path: Path, cut: str) -> None:
    rgb, bar = censored_astronaut
    x0, y0, x1, y1 = astronaut_face.box
    if cut == "left":  # through the image-left eye: part of the bar is outside the photo
        k = int(x0 + 0.3 * (x1 - x0))
        rgb, bar = rgb[:, k:], bar[:, k:]
    else:  # through the brows
        k = int(y0 + 0.2 * (y1 - y0))
        rgb, bar = rgb[k:], bar[k:]
    path = _save(tmp_path / "in" / "cut.png", np.ascontiguousarray(rgb))
    res = cli(path, "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored", rec
    out = read_image(tmp_path / "out" / "cut.png").rgb
    assert out.shape == rgb.shape
    assert (out[bar > 0].astype(int).sum(1) > 60).mean() > 0.9, "the part of the bar inside the photo is restored"
    if cut == "left":
        assert (out[:, 0][bar[:, 0] > 0].astype(int).sum(1) > 60).all(), "restored up to the border"


def test_rgba_png_keeps_its_alpha(cli, censored_astronaut, tmp_path: Path) -> None:
    rgb, bar = censored_astronaut
    alpha = np.tile(np.linspace(40, 255, 512).astype(np.uint8)[:, None], (1, 512))
    path = _save(tmp_path / "in" / "rgba.png", np.dstack([rgb, alpha]))
    res = cli(path, "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0 and _json_lines(res.stdout)[0][0]["status"] == "restored", res.stderr
    with Image.open(tmp_path / "out" / "rgba.png") as im:
        assert im.mode == "RGBA"
        out = np.asarray(im)
    assert np.array_equal(out[..., 3], alpha), "alpha unchanged"
    assert (out[..., :3][bar > 0].astype(int).sum(1) > 60).mean() > 0.95


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_rotated_photo_is_restored_upright(cli, censored_astronaut, tmp_path: Path, orientation: int) -> None:
    upright, bar = censored_astronaut
    upright, bar = upright[:, 56:456], bar[:, 56:456]  # 512 x 400: a wrong orientation shows in the size too
    stored = {6: np.rot90(upright, 1), 8: np.rot90(upright, -1), 3: upright[::-1, ::-1]}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _save(tmp_path / "in" / "rotated.jpg", np.ascontiguousarray(stored), quality=95, exif=exif.tobytes())
    res = cli(path, "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored", "the face is found once the photo is upright"
    out = read_image(tmp_path / "out" / "rotated.jpg")
    assert out.rgb.shape == upright.shape
    with Image.open(tmp_path / "out" / "rotated.jpg") as im:
        assert im.getexif().get(0x0112, 1) == 1, "pixels written upright, orientation reset"
    keep = cv2.dilate(bar, np.ones((61, 61), np.uint8)) == 0
    assert np.abs(out.rgb[keep].astype(int) - upright[keep].astype(int)).mean() < 3
    assert (out.rgb[bar > 0].astype(int).sum(1) > 60).mean() > 0.9


def test_unwritable_output_folder(cli, photo_png: Path, tmp_path: Path) -> None:
    """An --out nobody can write into is a usage error found before any model is loaded (issue 12, item 9)."""
    if IS_ROOT:
        pytest.skip(
            "running as root: a mode-555 folder is writable anyway (see the simulated case in test_reliability)"
        )
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        res = cli(photo_png, "-o", out, "--json", "--model", tmp_path / "no_such_model.onnx")
    finally:
        out.chmod(0o755)
    assert res.exit_code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "not writable" in line and str(out) in line and res.stdout == ""
    assert list(out.iterdir()) == []


def test_output_folder_that_cannot_be_created(cli, photo_png: Path, censored_astronaut, tmp_path: Path) -> None:
    """--out below a regular file: a usage error (exit 2, one line) before any model is loaded, nothing written
    (issue 12, item 9: it used to be found only after every photo was restored)."""
    _save(tmp_path / "in" / "second.png", censored_astronaut[0][:, ::-1].copy())
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    res = cli(tmp_path / "in", "-o", blocker / "out", "--model", tmp_path / "no_such_model.onnx")
    assert res.exit_code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error:") and "cannot be created" in line and str(blocker) in line, line
    assert "Traceback" not in res.stderr
    assert blocker.read_text().startswith("a file")


def test_output_escaping_out_is_refused(cli, photo_png: Path, censored_astronaut, tmp_path: Path) -> None:
    """A symbolic link inside --out must not send a result elsewhere; the other photos still go through."""
    src = tmp_path / "src"
    _save(src / "sub" / "a.png", censored_astronaut[0])
    _save(src / "b.png", censored_astronaut[0][:, ::-1].copy())
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "sub")
    res = cli(src, "-o", out, "--recursive", "--json")
    assert res.exit_code == 1
    recs, _ = _json_lines(res.stdout)
    by_name = {Path(r["input"]).name: r for r in recs}
    assert by_name["a.png"]["status"] == "failed" and "leave the output folder" in by_name["a.png"]["error"]
    assert by_name["b.png"]["status"] == "restored"
    assert list(elsewhere.iterdir()) == [], "nothing written outside --out"


def test_symlink_loop_under_recursive(cli, photo_png: Path, tmp_path: Path) -> None:
    folder = photo_png.parent
    os.symlink(folder, folder / "loop")
    res = cli(folder, "-o", tmp_path / "out", "--recursive", "--json")
    assert res.exit_code == 0, res.stderr
    recs, summary = _json_lines(res.stdout)
    assert [r["status"] for r in recs if r["status"] != "notice"] == ["restored"]
    assert any("loop" in (r["note"] or "") for r in recs if r["status"] == "notice")


# ------------------------------------------------------------------------------------------------ kill and resume


def _complete(path: Path) -> bool:
    try:
        read_image(path)
        return read_provenance(path) is not None
    except Exception:  # noqa: BLE001
        return False


def test_kill_9_midway_then_rerun_finishes_the_folder(censored_astronaut, tmp_path: Path, subprocess_env: dict,
                                                      models_dir: Path) -> None:  # fmt: skip
    photos = tmp_path / "photos"
    for i in range(8):  # 1024 px PNGs: a fraction of a second each, so the kill lands midway
        big = cv2.resize(np.roll(censored_astronaut[0], 7 * i, axis=1), (1024, 1024), interpolation=cv2.INTER_LINEAR)
        _save(photos / f"p{i}.png", big)
    before = _hashes(photos)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "unmask", str(photos), "-o", str(out), "--model", str(models_dir / "tiny_eyes.onnx"),
           "--json", "--threads", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    try:
        while not (out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir())):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.01)
        time.sleep(0.15)  # somewhere in the next photo
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert 1 <= len(done) < 8, f"the kill did not land midway: {done}"
    assert all(_complete(out / name) for name in done), "no truncated image under an output name"
    assert all(p.name.endswith(".tmp") for p in out.iterdir() if p.name.startswith(".")), "only hidden temporary files"
    # what a kill during a write leaves (whether or not this one did), and files that are not ours
    (out / ".p7.png.k1ll3d_x.tmp").write_bytes(b"\x89PNG half")
    (out / ".keep.tmp").write_bytes(b"mine")
    (out / "notes.tmp").write_bytes(b"mine too")

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, cwd=tmp_path, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    recs, summary = _json_lines(rerun.stdout)
    statuses = {Path(r["input"]).name: r["status"] for r in recs if r["status"] != "notice"}
    assert sorted(n for n, s in statuses.items() if s == "exists") == done, "what was done is skipped"
    assert sorted(n for n, s in statuses.items() if s == "restored") == sorted(
        set(f"p{i}.png" for i in range(8)) - set(done)
    )
    assert summary["summary"]["failed"] == 0
    notices = [r["note"] for r in recs if r["status"] == "notice"]
    assert any("temporary file" in n for n in notices), "the clean-up is reported"
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if not n.startswith(".")] == ["notes.tmp"] + [f"p{i}.png" for i in range(8)]
    assert [n for n in names if n.startswith(".")] == [".keep.tmp"], "stale temporary files are gone, others kept"
    assert all(_complete(out / f"p{i}.png") for i in range(8))
    assert _hashes(photos) == before


# ------------------------------------------------------------------------------------------------ model files


def _bad_model(tmp_path: Path, case: str, models_dir: Path) -> Path:
    import onnx

    p = tmp_path / f"{case}.onnx"
    good = (models_dir / "tiny_eyes.onnx").read_bytes()
    if case == "truncated":
        p.write_bytes(good[: len(good) // 2])
    elif case == "not_onnx":
        p.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 20)
    elif case == "no_metadata":
        model = onnx.load(str(models_dir / "tiny_eyes.onnx"))
        del model.metadata_props[:]
        onnx.save(model, str(p))
    elif case in MODEL_ERRORS:  # a graph that contradicts its metadata (issue 12, item 8)
        make_bad_model(p, case)
    return p


@pytest.mark.parametrize(("case", "reason"), [("missing", "not found"), ("truncated", "not a valid ONNX model"),
                                              ("not_onnx", "not a valid ONNX model"),
                                              ("no_metadata", "not an unmask model"),
                                              *sorted(MODEL_ERRORS.items())])  # fmt: skip
def test_broken_model_file_one_line_exit_2(
    cli, photo_png: Path, tmp_path: Path, models_dir: Path, case: str, reason: str
) -> None:
    model = _bad_model(tmp_path, case, models_dir)
    res = cli(photo_png, "-o", tmp_path / "out", "--model", model)
    assert res.exit_code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert model.name in lines[0] and reason in lines[0] and lines[0].startswith("error:")
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(photo_png: Path, tmp_path: Path, models_dir: Path, subprocess_env: dict) -> None:
    model = _bad_model(tmp_path, "no_metadata", models_dir)
    base = [sys.executable, "-m", "unmask", str(photo_png), "-o", str(tmp_path / "out"), "--model", str(model)]
    quiet = subprocess.run(base, capture_output=True, text=True, env=subprocess_env, timeout=120)
    loud = subprocess.run(base + ["--debug"], capture_output=True, text=True, env=subprocess_env, timeout=120)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert len(quiet.stderr.strip().splitlines()) == 1 and model.name in quiet.stderr
    assert loud.returncode != 0 and "Traceback" in loud.stderr and "ModelError" in loud.stderr
