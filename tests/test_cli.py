"""The ``unmask`` command (issue 2): the astronaut photo end to end, folders with progress lines and JSON lines,
resuming, exit codes, and the default-command routing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unmask.cli.app import COMMANDS, route
from unmask.infer.io import read_image, read_provenance

from conftest import MODEL_SIZE, REPO
from conftest import json_lines as _json_lines
from conftest import save_image as _save

RECORD_KEYS = {"input", "output", "faces", "region", "model", "status", "error", "note", "seconds"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def photo(tmp_path: Path, censored_astronaut) -> Path:
    """The astronaut with the project's own eye bar, as a PNG (lossless, so far pixels can be compared exactly)."""
    return _save(tmp_path / "in" / "astronaut.png", censored_astronaut[0])


@pytest.fixture
def folder(tmp_path: Path, censored_astronaut) -> Path:
    """Four photos: three censored astronauts (shifted, mirrored, as JPEG) and one without a face."""
    rgb = censored_astronaut[0]
    d = tmp_path / "photos"
    _save(d / "a.png", rgb)
    _save(d / "b.png", np.ascontiguousarray(rgb[:, ::-1]))
    _save(d / "c.jpg", np.roll(rgb, 40, axis=1), quality=92)
    _save(d / "d_noface.png", np.full((64, 80, 3), 90, np.uint8))
    return d


# ---------------------------------------------------------------------------------------------- end to end


def test_astronaut_end_to_end(cli, photo: Path, tmp_path: Path, censored_astronaut) -> None:
    censored, bar = censored_astronaut
    out = tmp_path / "out"
    before = _sha(photo)
    res = cli(photo, "--out", out, "--compare", "--save-mask", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), summary = _json_lines(res.stdout)
    assert RECORD_KEYS <= set(rec)
    assert rec["status"] == "restored" and rec["region"] == "eyes" and rec["model"] == "tiny_eyes"
    assert len(rec["faces"]) == 1 and rec["faces"][0]["status"] == "restored" and rec["error"] is None
    assert summary["summary"]["restored"] == 1 and summary["summary"]["failed"] == 0
    assert "tiny_eyes" in res.stderr and "CPU" in res.stderr, "the models and providers in use are reported"
    result = out / "astronaut.png"
    assert rec["output"] == str(result) and result.is_file()
    assert _sha(photo) == before, "the input is never written to"

    restored = read_image(result).rgb
    assert restored.shape == censored.shape
    assert (restored[bar > 0].astype(int).sum(1) > 60).mean() > 0.95, "the band over the eyes changed"
    mask = read_image(out / "astronaut.mask.png").rgb[..., 0]
    assert (mask[bar > 0] == 255).mean() > 0.99, "--save-mask shows the restored region over the bar"
    far = mask == 0  # the saved mask is the hole, censor + margin: nothing beyond it may change
    assert far.mean() > 0.8 and np.array_equal(restored[far], censored[far]), "pixels outside the hole are identical"

    tag = read_provenance(result)
    assert tag is not None and tag["synthetic"] is True
    assert tag["regions"] == ["eyes"] and tag["model"] == "tiny_eyes" and tag["faces"] == 1
    assert tag["model_version"] == "test"
    compare = read_image(out / "astronaut.compare.png").rgb
    assert compare.shape == (512, 1024, 3)
    assert np.array_equal(compare[:, :512], censored) and np.array_equal(compare[:, 512:], restored)
    assert read_provenance(out / "astronaut.compare.png") is not None


def test_flip_average_is_on_for_photos_and_can_be_turned_off(
    cli, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Photos go through flip averaging by default (and with --flip-average); --no-flip-average runs the model on
    the faces alone. (The tiny test models paint a flat colour, their own mirror image, so the outputs agree.)"""
    from unmask.infer.flip import FlipAveraged

    runs: list[int] = []
    real = FlipAveraged.run

    def counted(self, crops, holes, guides=None):
        runs.append(len(crops))
        return real(self, crops, holes, guides)

    monkeypatch.setattr(FlipAveraged, "run", counted)
    for name, flag, want in (("default", None, [1]), ("on", "--flip-average", [1]), ("off", "--no-flip-average", [])):
        runs.clear()
        res = cli(*([photo, "--out", tmp_path / name] + ([flag] if flag else [])))
        assert res.exit_code == 0, res.stderr
        assert runs == want, name


def test_retouch_is_on_for_photos_and_can_be_turned_off(
    cli, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Photos are pasted with grain by default (and with --retouch); --no-retouch pastes the plain fill (tone
    matching only)."""
    import unmask.infer.pipeline as pipeline

    seen: list[float] = []
    real = pipeline.paste_in_box

    def spy(*args, grain=0.0, **kw):
        seen.append(grain)
        return real(*args, grain=grain, **kw)

    monkeypatch.setattr(pipeline, "paste_in_box", spy)
    for name, flag, want in (("default", None, True), ("on", "--retouch", True), ("off", "--no-retouch", False)):
        seen.clear()
        res = cli(*([photo, "--out", tmp_path / name] + ([flag] if flag else [])))
        assert res.exit_code == 0, res.stderr
        assert seen and all((g > 0) == want for g in seen), (name, seen)  # the test photo: an eye bar


def test_python_m_unmask_on_a_jpeg(photo: Path, tmp_path: Path, subprocess_env: dict, models_dir: Path) -> None:
    """The installed entry point, as a user runs it: clean stderr (no mediapipe/onnxruntime noise), exit 0."""
    jpg = _save(tmp_path / "in" / "astro.jpg", read_image(photo).rgb, quality=95)
    proc = subprocess.run([sys.executable, "-m", "unmask", str(jpg), "-o", str(tmp_path / "o")], capture_output=True,
                          text=True, env=subprocess_env, timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("models ") and lines[-1].startswith("restored 1, no face 0, no censor 0")
    assert len(lines) == 3, f"one line per photo plus header and summary, nothing else: {lines}"
    assert "astro.jpg: restored 1 face(s)" in lines[1]
    out = tmp_path / "o" / "astro.jpg"
    assert read_image(out).format == "JPEG"
    tag = read_provenance(out)
    assert tag is not None and tag["regions"] == ["eyes"]


# ------------------------------------------------------------------------------------------------- folders


def test_folder_plain_progress_lines(cli, folder: Path, tmp_path: Path) -> None:
    res = cli(folder, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "", "progress goes to stderr"
    lines = res.stderr.strip().splitlines()
    progress = [ln for ln in lines if ln.startswith("[")]
    assert len(progress) == 4
    for k, (line, name) in enumerate(zip(progress, ["a.png", "b.png", "c.jpg", "d_noface.png"]), 1):
        assert line.startswith(f"[{k}/4] ") and name in line and "photos/s" in line
    assert "restored 1 face(s) -> " in progress[0] and "no face: no face found" in progress[3]
    assert lines[-1].startswith("restored 3, no face 1, no censor 0, exists 0, skipped 0, failed 0")
    assert not any("\x1b[" in ln for ln in lines), "no terminal control codes when not a TTY"
    for name in ("a.png", "b.png", "c.jpg"):
        assert (tmp_path / "out" / name).is_file()
    assert not (tmp_path / "out" / "d_noface.png").exists(), "no output for a photo without a face"


def test_folder_json_lines_resume_and_overwrite(cli, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = cli(folder, "-o", out, "--json")
    assert res.exit_code == 0, res.stderr
    recs, summary = _json_lines(res.stdout)
    assert [Path(r["input"]).name for r in recs] == ["a.png", "b.png", "c.jpg", "d_noface.png"]
    for r in recs:
        assert RECORD_KEYS <= set(r)
        assert isinstance(r["seconds"], float) and r["seconds"] >= 0
    assert [r["status"] for r in recs] == ["restored", "restored", "restored", "no-face"]
    assert [len(r["faces"]) for r in recs] == [1, 1, 1, 0]
    assert recs[3]["output"] is None and recs[3]["note"] == "no face found" and recs[3]["error"] is None
    assert summary["summary"] == {
        "restored": 3,
        "no-face": 1,
        "no-censor": 0,
        "drawn": 0,
        "exists": 0,
        "skipped": 0,
        "failed": 0,
        "notice": 0,
    }
    assert not any(ln.startswith("[") for ln in res.stderr.splitlines()), "--json: no progress lines"
    hashes = {p.name: _sha(p) for p in out.iterdir()}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    again = cli(folder, "-o", out, "--json")
    assert again.exit_code == 0
    recs2, summary2 = _json_lines(again.stdout)
    assert [r["status"] for r in recs2] == ["exists", "exists", "exists", "no-face"]
    assert "earlier run" in recs2[3]["note"], "the photo without a face is not looked at again (the state file)"
    assert summary2["summary"]["exists"] == 3 and summary2["summary"]["restored"] == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes, "skipped outputs are not rewritten"

    redo = cli(folder, "-o", out, "--json", "--overwrite")
    recs3, summary3 = _json_lines(redo.stdout)
    assert [r["status"] for r in recs3] == ["restored", "restored", "restored", "no-face"]
    assert {p.name: _sha(p) for p in out.iterdir()} == hashes, "the same photos restore to the same bytes"
    assert any(p.stat().st_mtime_ns != mtimes[p.name] for p in out.iterdir())


def test_folder_structure_is_kept(cli, folder: Path, tmp_path: Path, censored_astronaut) -> None:
    _save(folder / "sub" / "deeper" / "e.png", censored_astronaut[0])
    res = cli(folder, "-o", tmp_path / "out", "--recursive", "--json", "--format", "webp")
    assert res.exit_code == 0, res.stderr
    outputs = {r["output"] for r in _json_lines(res.stdout)[0] if r["output"]}
    assert str(tmp_path / "out" / "sub" / "deeper" / "e.webp") in outputs
    assert str(tmp_path / "out" / "c.webp") in outputs
    assert read_image(tmp_path / "out" / "sub" / "deeper" / "e.webp").format == "WEBP"


# ---------------------------------------------------------------------------------------------------- options


def test_region_mouth_and_auto(cli, tmp_path: Path, astronaut, astronaut_face) -> None:
    from unmask.infer.censors import draw_censor

    masked = _save(tmp_path / "in" / "masked.png", draw_censor(astronaut, astronaut_face.landmarks, "surgical")[0])
    clean = _save(tmp_path / "in" / "clean.png", astronaut)
    res = cli(masked, clean, "-o", tmp_path / "out", "--region", "auto", "--json")
    assert res.exit_code == 0, res.stderr
    (m, c), _ = _json_lines(res.stdout)
    assert m["status"] == "restored" and m["region"] == "mouth" and m["model"] == "tiny_mouth"
    assert "surgical" in m["faces"][0]["decision"]
    assert c["status"] == "no-censor" and "nothing covered" in c["note"] and c["error"] is None, (
        "auto says what it decided"
    )
    assert not (tmp_path / "out" / "clean.png").exists()


def test_user_mask_and_invert(cli, photo: Path, tmp_path: Path, censored_astronaut) -> None:
    _, bar = censored_astronaut
    white = _save(tmp_path / "m" / "white.png", bar)
    black = _save(tmp_path / "m" / "black.png", 255 - bar)
    outs = []
    for mask, extra in ((white, ()), (black, ("--invert-mask",))):
        out = tmp_path / f"out_{mask.stem}"
        res = cli(photo, "-o", out, "--mask", mask, *extra, "--save-mask", "--json")
        assert res.exit_code == 0, res.stderr
        (rec,), _ = _json_lines(res.stdout)
        assert rec["faces"][0]["decision"] == "user mask"
        outs.append(read_image(out / "astronaut.png").rgb)
        saved = read_image(out / "astronaut.mask.png").rgb[..., 0]
        assert (saved[bar > 0] > 0).all() and (saved > 0).sum() < 2 * (bar > 0).sum()
    assert np.array_equal(outs[0], outs[1])
    small = _save(tmp_path / "m" / "small.png", bar[:100, :100])
    res = cli(photo, "-o", tmp_path / "o3", "--mask", small, "--json")
    assert res.exit_code == 1
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "failed" and "100x100" in rec["error"] and "512x512" in rec["error"]


def test_models_command(cli, models_dir: Path) -> None:
    res = cli("models", "--json")
    assert res.exit_code == 0, res.stderr
    infos = {i["name"]: i for i in json.loads(res.stdout)}
    assert {"tiny_eyes", "tiny_mouth"} <= set(infos)
    assert infos["tiny_eyes"]["region"] == "eyes" and infos["tiny_eyes"]["size"] == MODEL_SIZE
    assert infos["tiny_mouth"]["default"] is True and infos["tiny_eyes"]["arch"] == "test-blur"
    table = cli("models")
    assert table.exit_code == 0 and "tiny_eyes" in table.stdout and "tiny_mouth" in table.stdout
    assert "default" in table.stdout and f"in {models_dir}" in table.stdout  # each folder under its table


def test_no_model_installed_says_so(cli, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from unmask.infer.runtime import registry

    empty = tmp_path / "none"
    empty.mkdir()
    monkeypatch.setattr(registry, "_REPO_MODELS", empty)
    monkeypatch.setattr(registry, "_INSTALLED_MODELS", empty)
    monkeypatch.setenv("UNMASK_MODELS", str(empty))
    from typer.testing import CliRunner

    from unmask.cli.app import app

    res = CliRunner().invoke(app, route([str(photo), "-o", str(tmp_path / "o")]), env={"UNMASK_MODELS": str(empty)})
    assert res.exit_code == 2
    assert "no model installed" in res.stderr and "Traceback" not in res.stderr
    listing = CliRunner().invoke(app, ["models"], env={"UNMASK_MODELS": str(empty)})
    assert listing.exit_code == 0 and "no models installed" in listing.stdout


# ------------------------------------------------------------------------------------------------- exit codes


def test_exit_0_when_all_restored_or_no_face(cli, folder: Path, tmp_path: Path) -> None:
    assert cli(folder, "-o", tmp_path / "o1").exit_code == 0
    assert cli(folder / "d_noface.png", "-o", tmp_path / "o2").exit_code == 0


def test_exit_1_when_any_input_failed(cli, folder: Path, tmp_path: Path) -> None:
    (folder / "zz_broken.jpg").write_text("not a photo")
    res = cli(folder, "-o", tmp_path / "o", "--json")
    assert res.exit_code == 1
    recs, summary = _json_lines(res.stdout)
    assert summary["summary"]["failed"] == 1 and summary["summary"]["restored"] == 3
    assert recs[-1]["status"] == "failed" and recs[-1]["error"]
    assert (
        res.stderr.strip()
        .splitlines()[-1]
        .startswith("restored 3, no face 1, no censor 0, exists 0, skipped 0, failed 1")
    )


@pytest.mark.parametrize(
    "args",
    [["--bogus"], ["--region", "nose"], ["--model", "/nonexistent/model.onnx"], ["--model", "no_such_name"],
     ["--format", "bmp"], ["--device", "gpu"], ["--max-faces", "0"]],
    ids=["unknown-option", "bad-region", "missing-model-path", "unknown-model-name", "format-without-tag",
         "bad-device", "bad-max-faces"],
)  # fmt: skip
def test_exit_2_for_usage_errors(cli, photo: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "out"
    res = cli(photo, "-o", out, *args)
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr and res.stderr.strip()
    assert not out.exists(), "nothing is written on a usage error"


def test_exit_2_without_inputs(cli) -> None:
    assert cli("run").exit_code == 2


def test_missing_model_message_names_the_file(cli, photo: Path, tmp_path: Path) -> None:
    res = cli(photo, "-o", tmp_path / "o", "--model", tmp_path / "gone.onnx")
    assert "gone.onnx" in res.stderr and "not found" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------- routing


def test_route() -> None:
    assert route(["photo.jpg"]) == ["run", "photo.jpg"]
    assert route(["photo.jpg", "--region", "auto"]) == ["run", "photo.jpg", "--region", "auto"]
    assert route(["--region", "auto", "photo.jpg"]) == ["run", "--region", "auto", "photo.jpg"]
    assert route(["models"]) == ["models"]
    assert route(["run", "train"]) == ["run", "train"]
    assert route(["--", "train"]) == ["run", "--", "train"]
    assert route(["--help"]) == ["--help"] and route([]) == []
    assert {"run", "train", "export", "eval", "bench", "models"} <= set(COMMANDS)


def test_default_command_equals_run(cli, folder: Path, tmp_path: Path) -> None:
    a = cli(folder, "-o", tmp_path / "o1", "--json")
    b = cli("run", folder, "-o", tmp_path / "o2", "--json")
    assert a.exit_code == b.exit_code == 0
    strip = lambda recs: [{k: v for k, v in r.items() if k not in ("seconds", "output")} for r in recs]
    ra, rb = _json_lines(a.stdout)[0], _json_lines(b.stdout)[0]
    assert strip(ra) == strip(rb)
    assert sorted(p.name for p in (tmp_path / "o1").iterdir()) == sorted(p.name for p in (tmp_path / "o2").iterdir())


def test_inputs_named_like_commands(cli, tmp_path: Path, censored_astronaut, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _save(tmp_path / "train" / "p.png", censored_astronaut[0])  # a folder named like the train command
    res = cli("run", "train", "-o", "out1", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["input"] == str(Path("train") / "p.png") and rec["status"] == "restored"
    # everything after `--` is input: options go before it; the default output folder is ./unmasked
    res = cli("--json", "--", "train")
    assert res.exit_code == 0, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    assert rec["status"] == "restored" and rec["output"] == str(Path("unmasked") / "p.png")
    assert (tmp_path / "unmasked" / "p.png").is_file()
    # a file literally named `train` reaches the run command as an input (and is refused for its name only)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    Path("train").write_bytes((tmp_path / "train" / "p.png").read_bytes())
    for args in (["run", "train", "--json"], ["--json", "--", "train"]):
        res = cli(*args)
        assert res.exit_code == 1, (args, res.stderr)
        (rec,), _ = _json_lines(res.stdout)
        assert rec["input"] == "train" and rec["status"] == "failed" and "extension" in rec["error"]


def test_version_and_help() -> None:
    from typer.testing import CliRunner

    from unmask import __version__
    from unmask.cli.app import app

    v = CliRunner().invoke(app, route(["--version"]))
    assert v.exit_code == 0 and v.stdout.strip() == f"unmask {__version__}"
    h = CliRunner().invoke(app, route(["--help"]))
    assert h.exit_code == 0 and "run" in h.stdout and "models" in h.stdout
    r = CliRunner().invoke(app, route(["run", "--help"]))
    for opt in ("--region", "--out", "--model", "--device", "--mask", "--invert-mask", "--edges", "--max-faces", "--min-face",
                "--compare", "--save-mask", "--overwrite", "--recursive", "--json", "--threads"):  # fmt: skip
        assert opt in r.stdout, opt


def test_help_is_instant_without_heavy_imports() -> None:
    code = ("import sys; from unmask.cli.app import main; sys.argv=['unmask','--help']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('mediapipe','onnxruntime','torch','cv2') if m in sys.modules]; print(heavy)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
