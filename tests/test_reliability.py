"""Issue 12, reliability second pass: a full disk, clashing outputs and unexpected errors must not lose or fake work;
usage errors come early with one line; records are honest. One or more tests per item; each failed on the code
before the fix. The cases that fit the bad-input corpus (tests/corpus.py) live there and run in test_robustness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import json_lines as _json_lines
from conftest import save_image as _save
from conftest import small_tmpfs
from corpus import graph_model, make_corpus
from unmask.infer.io import read_image, read_provenance

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NAME_MAX = 255


@pytest.fixture
def photo(tmp_path: Path, censored_astronaut) -> Path:
    return _save(tmp_path / "in" / "astronaut.png", censored_astronaut[0])


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ------------------------------------------------------------------------------------- 1. full disk, short writes


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG (inherited)
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    return apply


def test_full_disk_jpeg_is_failed_not_restored(censored_astronaut, tmp_path: Path, subprocess_env: dict) -> None:
    """Item 1: past a file-size limit (RLIMIT_FSIZE, as any user) the JPEG output used to be left truncated,
    reported restored with exit 0, and skipped as existing by the rerun."""
    if sys.platform == "win32":
        pytest.skip("RLIMIT_FSIZE is POSIX")
    jpg = _small_jpeg(censored_astronaut[0], tmp_path / "in" / "photo.jpg")
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "unmask", str(jpg), "-o", str(out), "--json", "--threads", "1"]
    limited = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, cwd=tmp_path, timeout=300,
                             preexec_fn=_limit_file_size(16 * 1024))  # fmt: skip
    assert limited.returncode == 1, limited.stderr
    (rec,), summary = _json_lines(limited.stdout)
    assert rec["status"] == "failed" and rec["output"] is None, rec
    assert "file too large" in rec["error"].lower(), rec["error"]
    assert summary["summary"]["failed"] == 1 and summary["summary"]["restored"] == 0
    assert _visible(out) == [], "no output and no temporary file is left"
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    (rec,), _ = _json_lines(rerun.stdout)
    assert rec["status"] == "restored", "the rerun restores it: nothing was taken for done"
    assert read_image(out / "photo.jpg").size == (256, 256) and read_provenance(out / "photo.jpg") is not None
    assert (out / "photo.jpg").stat().st_size > 16 * 1024, "the limit was below the output's size"


def _small_jpeg(rgb: np.ndarray, path: Path) -> Path:
    """A 256 px JPEG: its output (< 64 KiB) is one chunk of PIL's JPEG encoder, whose short write to a file went
    unnoticed (the encoder ignores a partial ``write``), so the truncation used to be silent."""
    import cv2

    return _save(path, cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA), quality=95)


def test_full_tmpfs_is_failed_not_restored(cli, censored_astronaut, tmp_path: Path) -> None:
    """Item 1 on a real full file system: a 32 KiB tmpfs (only where this runs as root and may mount)."""
    with small_tmpfs(tmp_path, "32k", "the RLIMIT_FSIZE case covers everyone") as tiny:
        (tiny / "filler").write_bytes(b"\0" * 16 * 1024)  # nearly full, as in the report
        jpg = _small_jpeg(censored_astronaut[0], tmp_path / "in" / "photo.jpg")
        res = cli(jpg, "--out", tiny / "o", "--json")
        assert res.exit_code == 1, res.stderr
        (rec,), _ = _json_lines(res.stdout)
        assert rec["status"] == "failed" and rec["output"] is None and "no space" in rec["error"].lower(), rec
        assert _visible(tiny / "o") == []


# --------------------------------------------------------------------------- 2. extra images never overwrite outputs


def test_extra_images_never_overwrite_other_outputs(cli, censored_astronaut, tmp_path: Path) -> None:
    """Item 2: ``b.jpg``'s side-by-side used to overwrite the restoration of the input ``b.compare.png``, and
    ``a.jpg`` and ``a.png`` both wrote ``a.compare.png``. Main outputs win; a clash fails the later input."""
    rgb = censored_astronaut[0]
    src, out = tmp_path / "in", tmp_path / "out"
    _save(src / "a.jpg", rgb, quality=95)
    _save(src / "a.png", np.ascontiguousarray(np.roll(rgb, 30, axis=1)))
    _save(src / "b.compare.png", np.ascontiguousarray(rgb[:, ::-1]))
    _save(src / "b.jpg", rgb, quality=95)
    res = cli(src, "-o", out, "--compare", "--json")
    assert res.exit_code == 1, res.stderr
    recs, summary = _json_lines(res.stdout)
    by = {Path(r["input"]).name: r for r in recs}
    assert by["a.jpg"]["status"] == "restored" and by["b.compare.png"]["status"] == "restored"
    assert by["a.png"]["status"] == "failed" and by["a.png"]["output"] is None
    assert "a.compare.png" in by["a.png"]["error"] and "a.jpg" in by["a.png"]["error"], by["a.png"]["error"]
    assert by["b.jpg"]["status"] == "failed" and "b.compare.png" in by["b.jpg"]["error"], by["b.jpg"]["error"]
    assert summary["summary"] == {**summary["summary"], "restored": 2, "failed": 2}
    assert _visible(out) == ["a.compare.png", "a.jpg", "b.compare.compare.png", "b.compare.png"]
    restored_b = read_image(out / "b.compare.png").rgb
    assert restored_b.shape == (512, 512, 3), "b.compare.png holds the restoration of the input b.compare.png"
    compare_a = read_image(out / "a.compare.png").rgb
    assert compare_a.shape == (512, 1024, 3) and np.array_equal(compare_a[:, :512], read_image(src / "a.jpg").rgb)
    assert np.abs(compare_a[:, 512:].astype(int) - read_image(out / "a.jpg").rgb).mean() < 2, "a.jpg's (a JPEG)"
    assert len(res.stderr.strip().splitlines()) == 1 + 2 + 1, res.stderr  # models line, one line per failure, summary


def test_an_extra_image_never_overwrites_an_input(cli, censored_astronaut, tmp_path: Path) -> None:
    """--out is the input folder with another format: ``c.jpg`` -> ``c.png`` is allowed, but its compare image
    ``c.compare.png`` is an input file there and must not be written."""
    rgb = censored_astronaut[0]
    src = tmp_path / "in"
    _save(src / "c.jpg", rgb, quality=95)
    keep = _save(src / "c.compare.png", np.full((8, 8, 3), 7, np.uint8))  # too small for a face
    before = keep.read_bytes()
    res = cli(src / "c.jpg", keep, "-o", src, "--format", "webp", "--compare", "--json")
    recs, _ = _json_lines(res.stdout)
    by = {Path(r["input"]).name: r for r in recs}
    assert by["c.jpg"]["status"] == "failed" and "inputs are never written to" in by["c.jpg"]["error"]
    assert keep.read_bytes() == before and not (src / "c.webp").exists()


# --------------------------------------------------------------------- 3 and 6. half-done inputs, unexpected errors


def test_an_input_is_done_only_when_all_its_outputs_are(cli, censored_astronaut, tmp_path: Path) -> None:
    """Items 3 and 6: a 247-character name leaves room for the output but not for ``NAME.compare.png``. That
    ``OSError: File name too long`` used to abort the batch (exit 1, no JSON) after the main output was written,
    and the rerun then skipped the input as done."""
    rgb = censored_astronaut[0]
    src, out = tmp_path / "in", tmp_path / "out"
    long = "x" * 247 + ".png"
    assert len(long) <= NAME_MAX < len("x" * 247 + ".compare.png")
    _save(src / long, rgb)
    _save(src / "z.png", np.ascontiguousarray(rgb[:, ::-1]))
    for attempt in (1, 2):
        res = cli(src, "-o", out, "--compare", "--json")
        assert res.exit_code == 1, res.stderr
        recs, summary = _json_lines(res.stdout)  # the JSON is complete: the batch went on
        by = {Path(r["input"]).name: r for r in recs}
        assert by[long]["status"] == "failed", f"attempt {attempt}: {by[long]}"
        assert "compare image" in by[long]["error"] and "too long" in by[long]["error"].lower(), by[long]["error"]
        assert by[long]["output"] is None
        assert by["z.png"]["status"] == ("restored" if attempt == 1 else "exists")
        assert summary["summary"]["failed"] == 1
        assert "Traceback" not in res.stderr
    assert _visible(out) == ["z.compare.png", "z.png"], "the main output is written last, so never alone"


def test_a_failed_extra_image_leaves_the_input_to_do(cli, photo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Item 3 with a write failure (a file-size limit, a full disk) on the mask image; the rerun redoes it."""
    import unmask.infer.runner.job as B
    from unmask.infer.io import ImageError

    real = B.write_image

    def failing(path, *args, **kw):
        if ".mask." in Path(path).name:
            raise ImageError("cannot write the output: File too large", "write")
        return real(path, *args, **kw)

    out = tmp_path / "out"
    monkeypatch.setattr(B, "write_image", failing)
    res = cli(photo, "-o", out, "--save-mask", "--json")
    (rec,), _ = _json_lines(res.stdout)
    assert res.exit_code == 1 and rec["status"] == "failed" and "mask image" in rec["error"], rec
    assert rec["output"] is None and _visible(out) == []
    monkeypatch.setattr(B, "write_image", real)
    res = cli(photo, "-o", out, "--save-mask", "--json")
    (rec,), _ = _json_lines(res.stdout)
    assert res.exit_code == 0 and rec["status"] == "restored", rec
    assert _visible(out) == ["astronaut.mask.png", "astronaut.png"]
    # done means all outputs: asking for one more extra image redoes the input
    res = cli(photo, "-o", out, "--save-mask", "--compare", "--json")
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored" and (out / "astronaut.compare.png").is_file()
    res = cli(photo, "-o", out, "--save-mask", "--compare", "--json")
    assert _json_lines(res.stdout)[0][0]["status"] == "exists"


def test_an_unexpected_error_fails_that_input_only(cli, photo: Path, censored_astronaut, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Item 6: any exception while handling one input is one failed record; the batch and its JSON go on."""
    import unmask.infer.runner.job as B

    second = _save(tmp_path / "in" / "second.png", np.ascontiguousarray(censored_astronaut[0][:, ::-1]))
    real = B.read_image

    def flaky(path, *args, **kw):
        if Path(path).name == "astronaut.png":
            raise RuntimeError("something unforeseen\nwith a second line")
        return real(path, *args, **kw)

    monkeypatch.setattr(B, "read_image", flaky)
    res = cli(photo, second, "-o", tmp_path / "out", "--json")
    assert res.exit_code == 1, res.stderr
    (bad, good), summary = _json_lines(res.stdout)
    assert bad["status"] == "failed" and bad["error"] == "RuntimeError: something unforeseen with a second line"
    assert good["status"] == "restored" and summary["summary"]["failed"] == 1
    (line,) = [ln for ln in res.stderr.splitlines() if "astronaut.png" in ln]
    assert line.startswith("failed: ") and "something unforeseen" in line


# ------------------------------------------------------------------------------------- 4. a model that outputs NaN


def test_nan_model_fails_the_photo_and_writes_nothing(cli, photo: Path, tmp_path: Path) -> None:
    """Item 4: NaN output used to be painted black and reported restored, with a numpy RuntimeWarning on stderr."""
    model = graph_model(tmp_path / "nan_eyes.onnx", size=64, nan=True)
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cli(photo, "-o", out, "--model", model, "--json", "--compare")
    assert res.exit_code == 1, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "failed" and rec["output"] is None
    assert "non-finite" in rec["error"] and "nan_eyes" in rec["error"], rec["error"]
    assert _visible(out) == [], "nothing written"
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    assert "RuntimeWarning" not in res.stderr


# ----------------------------------------------------------------------------------- 5. two runs on the same --out


def test_a_second_run_on_a_busy_output_folder_refuses(cli, photo: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Item 5: a second run used to delete the first's temporary file as left by an interrupted run."""
    fcntl = pytest.importorskip("fcntl")
    import unmask.infer.runner.folder as B

    out = tmp_path / "out"
    out.mkdir()
    theirs = out / ".astronaut.png.abcd1234.tmp"  # the first run's file, being written
    theirs.write_bytes(b"\x89PNG half")
    holder = os.open(out, os.O_RDONLY)  # the first run holds the folder's lock
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        res = cli(photo, "-o", out, "--json")
        assert res.exit_code == 2, res.stderr
        (line,) = res.stderr.strip().splitlines()[-1:]
        assert line.startswith("error:") and "in use by another unmask run" in line and str(out) in line
        assert res.stdout == "" and _visible(out) == [theirs.name], "nothing touched"
        # without locks (no fcntl) the run goes on; the temporary files' process ids keep runs apart
        monkeypatch.setattr(B, "fcntl", None)
        live = out / f".astronaut.png.{os.getpid()}.abcd1234.tmp"
        live.write_bytes(b"\x89PNG half")
        res = cli(photo, "-o", out, "--json")
        assert res.exit_code == 0, res.stderr
        assert live.exists(), "a live process's temporary file is never removed"
        monkeypatch.undo()
    finally:
        os.close(holder)
    res = cli(photo, "-o", out, "--json", "--overwrite")
    assert res.exit_code == 0, "the lock is released with the first run"


def test_the_lock_leaves_no_file_and_is_released(tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    from unmask.infer.runner import OutputBusy, lock_output_folder

    with lock_output_folder(tmp_path / "o"):
        with pytest.raises(OutputBusy, match="in use by another unmask run"):
            with lock_output_folder(tmp_path / "o"):
                pass
    with lock_output_folder(tmp_path / "o"):
        pass
    assert _visible(tmp_path / "o") == []


# ------------------------------------------------------------------------------ 7. unreadable file on the command line


def test_an_unreadable_file_named_on_the_command_line_is_one_line(cli, photo: Path, corpus_dir: dict, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Item 7: the argument parser refused the whole run (exit 2) for one unreadable file. Root reads a mode-000
    file anyway, so the parser's check (``os.access``) is made to say no as it would for a user."""
    unreadable = corpus_dir["unreadable.jpg"]
    real_access = os.access

    def access(path, mode, *args, **kw):
        if Path(path).name == "unreadable.jpg" and mode & os.R_OK:
            return False
        return real_access(path, mode, *args, **kw)

    monkeypatch.setattr(os, "access", access)
    res = cli(unreadable, photo, "-o", tmp_path / "out", "--json")
    assert res.exit_code != 2, res.stderr
    recs, _ = _json_lines(res.stdout)
    by = {Path(r["input"]).name: r for r in recs}
    assert by["astronaut.png"]["status"] == "restored"
    if real_access(unreadable, os.R_OK):  # root: it is read
        assert by["unreadable.jpg"]["status"] in ("no-face", "restored")
    else:
        assert by["unreadable.jpg"]["status"] == "failed" and "permission denied" in by["unreadable.jpg"]["error"]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> dict[str, Path]:
    paths = make_corpus(tmp_path / "corpus")
    yield paths
    paths["unreadable.jpg"].chmod(0o600)


# --------------------------------------------------------------------------- 9 and 13. usage errors, early and clear


def test_out_that_is_a_file_is_a_usage_error_before_models_load(cli, photo: Path, tmp_path: Path) -> None:
    """Item 9: found only after every photo was restored. A missing --model shows nothing was loaded first."""
    blocker = tmp_path / "out.txt"
    blocker.write_text("mine")
    res = cli(photo, "-o", blocker, "--model", tmp_path / "absent.onnx")
    assert res.exit_code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line == f"error: output folder {blocker} is a file, not a folder"
    assert blocker.read_text() == "mine"


def test_out_that_is_not_writable_is_a_usage_error(cli, photo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == locked and m & os.W_OK
                        else real_access(p, m, *a, **k))  # fmt: skip
    for out in (locked, locked / "sub" / "deeper"):
        res = cli(photo, "-o", out, "--model", tmp_path / "absent.onnx")
        assert res.exit_code == 2, res.stderr
        (line,) = res.stderr.strip().splitlines()
        assert "not writable" in line and str(locked) in line, line
    assert _visible(locked) == []


def test_invert_mask_without_mask_is_a_usage_error(cli, photo: Path, tmp_path: Path) -> None:
    """Item 13: --invert-mask without --mask was silently ignored."""
    res = cli(photo, "-o", tmp_path / "out", "--invert-mask")
    assert res.exit_code == 2 and "--invert-mask needs --mask" in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


def test_train_without_arch_is_a_usage_error(cli, tmp_path: Path) -> None:
    """Item 13: it exited 1."""
    res = cli("train", "--data", tmp_path, "--out", tmp_path / "runs")
    assert res.exit_code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error:") and "--arch is required" in line


def test_a_mistyped_command_is_suggested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """Item 13: ``unmask modles`` was taken for a missing photo."""
    from unmask.cli.app import main, mistyped

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["modles"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: modles: no such command, file or folder; did you mean `unmask models`?"
    assert mistyped(["trian", "--arch", "dmfn"]) == "train" and mistyped(["evl"]) == "eval"
    assert mistyped(["photo.jpg"]) is None and mistyped(["holiday"]) is None and mistyped(["--json"]) is None
    Path("modles").write_bytes(b"x")  # a file of that name is an input, as before
    assert mistyped(["modles"]) is None


# ---------------------------------------------------------------------------------------------- 10. --threads bound


@pytest.mark.parametrize("command", ["run", "eval", "bench", "train"])
def test_absurd_thread_counts_are_refused(cli, photo: Path, tmp_path: Path, command: str) -> None:
    """Item 10: --threads 100000 ran for 10 minutes with 3,328 threads and 16 GB before it was killed."""
    args = {"run": [photo, "-o", tmp_path / "out"], "eval": ["eval", photo.parent, "--region", "eyes"],
            "bench": ["bench", photo.parent], "train": ["train", "--arch", "dmfn", "--data", photo.parent]}[command]  # fmt: skip
    res = cli(*args, "--threads", "100000")
    assert res.exit_code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: --threads 100000 is too many: at most") and "per CPU core" in line, line
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------ 11. dangling model symlinks


def test_models_command_lists_a_dangling_symlink_as_broken(tmp_path: Path, models_dir: Path,
                                                           isolated_models: Path) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from unmask.cli.app import app

    mine = isolated_models
    (mine / "tiny_eyes.onnx").write_bytes((models_dir / "tiny_eyes.onnx").read_bytes())
    (mine / "gone [old].onnx").symlink_to(tmp_path / "deleted.onnx")
    env = {"UNMASK_MODELS": str(mine)}
    res = CliRunner().invoke(app, ["models", "--json"], env=env)
    assert res.exit_code == 0, res.stderr
    infos = {i["name"]: i for i in json.loads(res.stdout)}
    assert infos["gone [old]"]["error"] == "broken symbolic link (its target is missing)"
    assert infos["tiny_eyes"]["error"] is None
    table = CliRunner().invoke(app, ["models"], env=env)
    assert table.exit_code == 0 and "Traceback" not in table.stderr
    assert "gone [old]" in table.stdout and "broken symbolic link" in table.stdout, table.stdout


# -------------------------------------------------------------------------- 12. missing extras, markup in messages

NO_TORCH = "import sys; sys.modules['torch'] = None; from unmask.cli.app import main; main(sys.argv[1:])"


@pytest.mark.parametrize("command", ["train", "export", "eval"])
def test_without_torch_one_line_names_the_extra(
    command: str, photo: Path, tmp_path: Path, subprocess_env: dict
) -> None:
    """Item 12: train and export crashed with a traceback raised again inside the error handler; eval said
    ``pip install 'unmask'`` because rich markup ate ``[train]``."""
    args = {"train": ["train", "--arch", "dmfn", "--data", str(photo.parent), "--out", str(tmp_path / "runs")],
            "export": ["export", str(tmp_path / "runs" / "x")],
            "eval": ["eval", str(photo.parent), "--region", "eyes", "--baseline", "telea", "--n", "1"]}[command]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, cwd=tmp_path,
                          env=subprocess_env, timeout=300)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error:") and "pip install 'unmask[train]'" in line, line


def test_messages_keep_their_brackets(cli, photo: Path, tmp_path: Path) -> None:
    """Item 12: every message is shown as written, markup or not."""
    odd = tmp_path / "[red]x[/red]" / "mask [v2].png"
    res = cli(photo, "-o", tmp_path / "out", "--mask", odd)
    assert res.exit_code == 2
    assert f"error: {odd}: no such file" in res.stderr, res.stderr


# ------------------------------------------------------------------------------------------- 14. honest records


@pytest.fixture
def two_faces(censored_astronaut, tmp_path: Path) -> Path:
    rgb = censored_astronaut[0]
    return _save(tmp_path / "in" / "pair.png", np.concatenate([rgb, rgb[:, ::-1]], axis=1))


def test_faces_beyond_max_faces_are_reported(cli, two_faces: Path, tmp_path: Path) -> None:
    """Item 14: faces beyond --max-faces were dropped without a word."""
    res = cli(two_faces, "-o", tmp_path / "o1", "--json")
    (rec,), _ = _json_lines(res.stdout)
    assert len(rec["faces"]) == 2 and rec["warnings"] == [], "both faces are found without a limit"
    res = cli(two_faces, "-o", tmp_path / "o2", "--json", "--max-faces", "1")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored" and sorted(f["status"] for f in rec["faces"]) == ["restored", "skipped"]
    (beyond,) = [f for f in rec["faces"] if f["status"] == "skipped"]  # reported, with its number (issue 15)
    assert beyond["decision"] == "beyond the 1 largest faces (--max-faces 1)" and beyond["index"] in (0, 1)
    (warning,) = rec["warnings"]
    assert "2 faces found but --max-faces is 1" in warning and "1 left untouched" in warning
    assert f"warning: {two_faces}: {warning}" in res.stderr.splitlines()
    plain = cli(two_faces, "-o", tmp_path / "o3", "--max-faces", "1")
    (line,) = [ln for ln in plain.stderr.splitlines() if ln.startswith("[1/1]")]
    assert "restored 1 face(s)" in line and "warning: 2 faces found but --max-faces is 1" in line


def test_multi_frame_inputs_say_only_the_first_frame_was_restored(cli, censored_astronaut, tmp_path: Path) -> None:
    """Item 14: an animated GIF or a multi-page TIFF became a one-frame output without a word."""
    first = Image.fromarray(censored_astronaut[0])
    path = tmp_path / "in" / "pages.tif"
    path.parent.mkdir(parents=True)
    first.save(path, save_all=True, append_images=[Image.new("RGB", first.size, (0, 0, 255))])
    res = cli(path, "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored"
    assert any("2 frames: only the first frame was restored" in w for w in rec["warnings"]), rec["warnings"]
    with Image.open(tmp_path / "out" / "pages.tif") as im:
        assert getattr(im, "n_frames", 1) == 1


def test_no_output_written_means_output_null(cli, tmp_path: Path) -> None:
    """Item 14: the record of a photo too small for a face named an output that was never written."""
    tiny = _save(tmp_path / "in" / "tiny.png", np.full((1, 1, 3), 9, np.uint8))
    res = cli(tiny, "-o", tmp_path / "out", "--json")
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "no-face" and rec["output"] is None


# ------------------------------------------------------------------------------------- 15. control characters


@pytest.mark.skipif(os.name == "nt", reason="such names cannot be made on Windows")
def test_control_characters_in_names_are_escaped(cli, censored_astronaut, tmp_path: Path) -> None:
    """Item 15: a newline or an ANSI escape in a file name broke the one-line-per-input promise and reached the
    terminal."""
    src = tmp_path / "in"
    face = _save(src / "a\nb\x1b[2J.png", censored_astronaut[0])
    broken = src / "c\x1b]0;title\x07.jpg"
    broken.write_text("not a photo")
    res = cli(src, "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert not any(c in res.stderr for c in "\x1b\x07\r"), "no control character reaches the terminal"
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 4, lines  # models, two inputs, summary
    assert "a\\nb\\x1b[2J.png: restored 1 face(s)" in lines[1], lines[1]
    assert "c\\x1b]0;title\\x07.jpg: failed: not an image" in lines[2], lines[2]
    as_json = cli(src, "-o", tmp_path / "out2", "--json")
    recs, _ = _json_lines(as_json.stdout)
    assert {r["input"] for r in recs} == {str(face), str(broken)}, "JSON keeps the real names (escaped by JSON)"
    assert not any(c in as_json.stderr for c in "\x1b\x07") and len(as_json.stderr.strip().splitlines()) == 3


def test_printable() -> None:
    from unmask.cli._common import printable, safe

    assert printable("a\nb\tc\x1b[0m\x7f\x85\u202e\u2028") == "a\\nb\\tc\\x1b[0m\\x7f\\x85\\u202e\\u2028"
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"  # a name that is not UTF-8
    assert printable("ordinary naïve 写真.jpg") == "ordinary naïve 写真.jpg"
    assert safe("pip install 'unmask[train]'") == "pip install 'unmask\\[train]'"


# ------------------------------------------------------------------------------------ 16. refused pickle checkpoint


class _Payload:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_refused_pickle_checkpoint_does_not_advise_unsafe_loading(tmp_path: Path) -> None:
    """Item 16: the message quoted PyTorch's advice to pass ``weights_only=False``."""
    torch = pytest.importorskip("torch")
    from unmask.train.checkpoint import CheckpointError, load

    path = tmp_path / "evil.pt"
    torch.save({"kind": "unmask-train", "format": 1, "payload": _Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        load(path)
    msg = str(info.value)
    assert "\n" not in msg and path.name in msg and "refused" in msg and "posix.getcwd" in msg, msg
    assert "weights_only" not in msg and "False" not in msg and "trusted" not in msg, msg


# ---------------------------------------------------------------------------------- 17. outputs of an earlier run


def test_outputs_of_an_earlier_run_are_skipped(cli, photo: Path, tmp_path: Path) -> None:
    """Item 17: they were restored again (a restoration of a restoration)."""
    first = tmp_path / "first"
    assert cli(photo, "-o", first).exit_code == 0
    fresh = _save(tmp_path / "in" / "fresh.png", read_image(photo).rgb)
    res = cli(first / "astronaut.png", fresh, "-o", tmp_path / "second", "--json")
    assert res.exit_code == 0, res.stderr
    (again, fresh), summary = _json_lines(res.stdout)
    assert again["status"] == "skipped" and again["output"] is None
    assert "already an output of unmask" in again["note"] and "tiny_eyes" in again["note"] and again["error"] is None
    assert fresh["status"] == "restored" and summary["summary"]["skipped"] == 1
    assert _visible(tmp_path / "second") == ["fresh.png"]
    plain = cli(first / "astronaut.png", "-o", tmp_path / "third")
    assert plain.exit_code == 0
    assert "skipped: already an output of unmask" in plain.stderr
    assert ", skipped 1, " in plain.stderr.strip().splitlines()[-1]
