"""Issue 25, out of the box: the weights ship with the package, statuses say what happened (and a rerun does not
look again at a photo with nothing to restore), help reads at 80 columns, progress reaches files, ``--show-faces``
only draws. Every README command is run in ``tests/test_readme.py``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from conftest import json_lines as _json_lines
from conftest import save_image as _save

NO_WEIGHT_VARS = ("UNMASK_PERCEPTUAL_WEIGHTS", "UNMASK_LPIPS_WEIGHTS")


# ----------------------------------------------------------------------------------------------------- weights


def test_weights_ship_inside_the_package_with_their_notice() -> None:
    import unmask.weights as w

    for name in (w.FEATURES_FILE, w.LPIPS_FILE):
        assert w.shipped(name).is_file() and w.shipped(name).parent == REPO / "unmask" / "weights"
    assert w.shipped(w.FEATURES_FILE).stat().st_size > 2_500_000 and w.shipped(w.LPIPS_FILE).stat().st_size > 10_000
    notice = w.NOTICE.read_text()
    for words in ("MIT", "BSD 2-Clause", "Zhang", "DeepScale", "squeezenet1_1_features.pth", "lpips_squeeze_v0.1.pth"):
        assert words in notice, words
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (the wheel test checks the same on any Python)
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["unmask"]
    packaged = {p for pattern in data for p in (REPO / "unmask").glob(pattern)}
    assert {w.shipped(w.FEATURES_FILE), w.shipped(w.LPIPS_FILE), w.NOTICE} <= packaged, "in the wheel too"


def test_weights_resolve_option_then_variable_then_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import unmask.weights as w
    from unmask.train.features import resolve_weights  # the name the losses and metrics call

    for var in NO_WEIGHT_VARS:
        monkeypatch.delenv(var, raising=False)
    assert resolve_weights(None, w.ENV_LPIPS, "LPIPS", w.LPIPS_FILE) == w.shipped(w.LPIPS_FILE)
    mine = tmp_path / "mine.pth"
    mine.write_bytes(b"x")
    monkeypatch.setenv(w.ENV_LPIPS, str(mine))
    assert resolve_weights(None, w.ENV_LPIPS, "LPIPS", w.LPIPS_FILE) == mine, "the variable wins over the shipped file"
    given = tmp_path / "given.pth"
    given.write_bytes(b"y")
    assert resolve_weights(given, w.ENV_LPIPS, "LPIPS", w.LPIPS_FILE) == given, "the option wins over the variable"
    with pytest.raises(w.WeightsNotFound, match="absent.pth"):  # a wrong path is an error, never replaced silently
        resolve_weights(tmp_path / "absent.pth", w.ENV_LPIPS, "LPIPS", w.LPIPS_FILE)
    monkeypatch.setenv(w.ENV_LPIPS, str(tmp_path / "gone.pth"))
    with pytest.raises(w.WeightsNotFound, match=r"gone.pth.*UNMASK_LPIPS_WEIGHTS"):
        resolve_weights(None, w.ENV_LPIPS, "LPIPS", w.LPIPS_FILE)


def test_lpips_and_features_load_with_no_variable_set(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from unmask.measure.metrics import LPIPS
    from unmask.train.features import SqueezeFeatures

    for var in NO_WEIGHT_VARS:
        monkeypatch.delenv(var, raising=False)
    assert len(SqueezeFeatures(levels=2)(__import__("torch").zeros(1, 3, 32, 32))) == 2
    a = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    d = LPIPS()(a, a[::-1])
    assert d.shape == (2,) and np.all(d > 0)


# ---------------------------------------------------------------------------------------------------- statuses


@pytest.fixture
def photos(tmp_path: Path, astronaut, censored_astronaut) -> Path:
    """A censored astronaut, the clean astronaut (a face, nothing covered) and a grey picture (no face)."""
    d = tmp_path / "photos"
    _save(d / "barred.png", censored_astronaut[0])
    _save(d / "clean.png", astronaut)
    _save(d / "grey.png", np.full((96, 128, 3), 120, np.uint8))
    return d


def test_statuses_say_what_happened(cli, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = cli(photos, "-o", out, "--json")
    assert res.exit_code == 0, res.stderr
    recs, summary = _json_lines(res.stdout)
    by = {Path(r["input"]).name: r for r in recs}
    assert {n: r["status"] for n, r in by.items()} == {"barred.png": "restored", "clean.png": "no-censor",
                                                       "grey.png": "no-face"}  # fmt: skip
    assert all(r["error"] is None for r in recs), "error only on failures"
    assert (
        "no censor found over the eyes" in by["clean.png"]["note"]
        and "1 face found, none covered" in by["clean.png"]["note"]
    )
    assert by["grey.png"]["note"] == "no face found"
    assert summary["summary"]["no-censor"] == 1 and summary["summary"]["no-face"] == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("restored 1, no face 1, no censor 1, exists 0, skipped 0, failed 0 in "), last
    plain = cli(photos / "clean.png", "-o", tmp_path / "plain")
    assert "clean.png: no censor: " in plain.stderr and "no face (" not in plain.stderr, plain.stderr


def test_a_rerun_does_not_look_again_at_a_photo_with_nothing_to_restore(cli, photos: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unmask.infer.runner import STATE_FILE, job

    out = tmp_path / "out"
    assert cli(photos, "-o", out).exit_code == 0
    assert (out / STATE_FILE).is_file()
    real_read = job.read_image
    read: list[str] = []

    def spy(path, *a, **kw):
        read.append(Path(path).name)
        return real_read(path, *a, **kw)

    monkeypatch.setattr(job, "read_image", spy)
    recs, summary = _json_lines(cli(photos, "-o", out, "--json").stdout)
    assert read == [], "nothing read again: restored -> exists, no face / no censor -> the state file"
    by = {Path(r["input"]).name: r for r in recs}
    assert [by[n]["status"] for n in ("barred.png", "clean.png", "grey.png")] == ["exists", "no-censor", "no-face"]
    assert "earlier run" in by["clean.png"]["note"] and summary["summary"]["no-censor"] == 1
    # other settings, a changed photo, or --overwrite: looked at again
    os.utime(photos / "grey.png", ns=(1, 1))
    cli(photos, "-o", out)
    assert read == ["grey.png"]
    assert (
        _json_lines(cli(photos / "clean.png", "-o", out, "--json", "--region", "mouth").stdout)[0][0]["status"]
        == "no-censor"
    )
    assert read == ["grey.png", "clean.png"]
    cli(photos, "-o", out, "--overwrite")
    assert read[2:] == ["barred.png", "clean.png", "grey.png"]
    lines = (out / STATE_FILE).read_text().splitlines()
    assert len(lines) == len({json.loads(ln)["output"] for ln in lines}), "one line per input after a rerun"


# ------------------------------------------------------------------------------------------------- show faces


def test_show_faces_alone_only_draws(cli, photos: Path, tmp_path: Path) -> None:
    out, picture = tmp_path / "out", tmp_path / "faces.png"
    res = cli(photos / "barred.png", "-o", out, "--show-faces", picture, "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), summary = _json_lines(res.stdout)
    assert rec["status"] == "drawn" and rec["output"] is None and "--restore" in rec["note"]
    assert picture.is_file() and not out.exists(), "the picture, and nothing else"
    assert "nothing is restored" in res.stderr
    both = cli(photos / "barred.png", "-o", out, "--show-faces", picture, "--restore", "--json")
    (rec,), _ = _json_lines(both.stdout)
    assert rec["status"] == "restored" and (out / "barred.png").is_file()
    assert cli(photos / "barred.png", "--restore").exit_code == 2, "--restore without --show-faces is a usage error"


def test_the_faces_picture_is_written_in_the_format_its_name_says(cli, photos: Path, tmp_path: Path) -> None:
    """--show-faces x.jpg writes a JPEG (it wrote PNG bytes under a .jpg name, issue 26); a name of no image format
    is a usage error before any work."""
    from PIL import Image

    for name, fmt in (("faces.jpg", "JPEG"), ("faces.webp", "WEBP"), ("faces.png", "PNG")):
        res = cli(photos / "barred.png", "-o", tmp_path / "out", "--show-faces", tmp_path / name)
        assert res.exit_code == 0, res.stderr
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt
    res = cli(photos / "barred.png", "-o", tmp_path / "out", "--show-faces", tmp_path / "faces.txt")
    assert res.exit_code == 2 and "not an image file name" in res.stderr and not (tmp_path / "faces.txt").exists()


def test_the_picture_of_a_draw_only_run_says_what_would_be_restored() -> None:
    from unmask.infer.show import label

    assert label("restored", "found a bar", "eyes") == "restored eyes"
    assert label("restored", "found a bar", "eyes", planned=True) == "to restore: eyes"


# -------------------------------------------------------------------------------------------------------- help


HELP_COMMANDS = [(), ("run",), ("models",), ("prepare",), ("train",), ("export",), ("eval",), ("bench",), ("serve",)]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_reads_at_80_columns(command: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    from unmask.cli.app import app

    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80", "TERM": "dumb"}, terminal_width=80)
    assert res.exit_code == 0, res.output
    text = res.output
    assert "…" not in text and not any(ln.endswith("...") for ln in text.splitlines()[1:]), "nothing cut short"
    assert not re.search(r" \.(\s|$)", text), "no stray ' .' (a default swallowed as markup)"
    assert not re.search(r"<(list\[|int|float|str|path)", text), "values named by a word, not a Python type"
    assert "{" not in text.split("\n")[0], text.split("\n")[0]
    assert all(len(line) <= 80 for line in text.splitlines()), [ln for ln in text.splitlines() if len(ln) > 80]
    if command == ("run",):
        assert "video" in text and text.startswith("Usage: unmask run [OPTIONS] INPUT...")


def test_every_command_and_option_says_what_it_does() -> None:
    import typer

    from unmask.cli.app import app

    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert command.help and command.short_help, name
        for p in command.params:
            assert p.help, f"unmask {name}: {p.name} has no help"


def test_train_help_gives_each_default() -> None:
    from typer.testing import CliRunner

    from unmask.cli.app import app

    text = CliRunner().invoke(app, ["train", "--help"], terminal_width=80).output
    flat = " ".join(text.split())
    for words in ("Region to learn; mix: both, half each (default: eyes)", "(default: 16)", "(default: runs)",
                  "else the copy shipped with unmask", "held out for validation"):  # fmt: skip
        assert words in flat, words


# ---------------------------------------------------------------------------------------------------- progress


def test_progress_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from unmask.cli import progress

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(progress, "is_tty", lambda: False)
    with progress.Counter(10, "preparing train faces", "bar", "count", "eta", unit="photos") as bar:
        for k in range(1, 11):
            clock[0] += 1.0
            bar.count(k)
    lines = capsys.readouterr().err.strip().splitlines()
    # every 5 s, and once at the end: stage, done/total, rate, time left
    assert lines == ["preparing train faces: 5/10 photos, 1.0 photos/s, about 5.0 s left",
                     "preparing train faces: 10/10 photos, 1.0 photos/s, done in 10 s"], lines  # fmt: skip
    with progress.Counter(4, "x", plain=False) as quiet:
        quiet.count(4)
    assert capsys.readouterr().err == ""


def test_run_rates_count_frames_for_videos_and_nothing_for_skipped_files() -> None:
    from types import SimpleNamespace

    from unmask.cli.run_view import Progress as _Progress

    p = _Progress(3, quiet_lines=False)
    seen: list[str] = []
    import unmask.cli.run_view as run_mod

    real = run_mod.say
    run_mod.say = lambda text, console=None: seen.append(str(text))
    try:
        with p:
            p.advance(SimpleNamespace(status="exists", input="a.png", output="o/a.png", faces=[], video=None, warnings=[],
                                      seconds=0.0002, note="", error=None))  # fmt: skip
            p.advance(SimpleNamespace(status="restored", input="v.mp4", output="o/v.mp4", faces=[], warnings=[], seconds=10.0,
                                      video={"frames": 50, "frames_restored": 50, "faces": 1, "fps": 5.0}, note=None, error=None))  # fmt: skip
            p.advance(SimpleNamespace(status="no-face", input="b.png", output=None, faces=[], video=None, warnings=[],
                                      seconds=0.5, note="no face found", error=None))  # fmt: skip
    finally:
        run_mod.say = real
    assert seen[0].endswith("a.png: exists: its output exists"), "no rate for a skipped file"
    assert "(5.0 frames/s)" in seen[1] and "photos/s" not in seen[1]
    assert seen[2].endswith("(2.0 photos/s)"), seen[2]


# ------------------------------------------------------------------------------------ validation by default


def test_training_without_val_holds_out_a_fixed_part_and_says_so(tmp_path_factory: pytest.TempPathFactory,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 one_torch_thread: None) -> None:  # fmt: skip
    pytest.importorskip("torch")
    from test_data import face_folder
    from unmask.train.config import TrainConfig
    from unmask.train.data.split import holdout_size
    from unmask.measure.validation import Validator
    from unmask.train.loop import resume_config, train

    monkeypatch.delenv("UNMASK_VAL", raising=False)
    faces = face_folder(tmp_path_factory, 24)
    cfg = TrainConfig(arch="glcic", preset="tiny", data=str(faces), batch_size=4, out=str(tmp_path), name="h",
                      cache=str(tmp_path / "cache"), val_images=64, max_steps=2, threads=1, workers=0)  # fmt: skip
    events = []
    res = train(cfg, progress=events.append, validator=Validator)
    notes = [e.message for e in events if e.kind == "note" and "no validation set" in e.message]
    stored = json.loads((tmp_path / "h" / "config.json").read_text())["holdout"]
    assert notes and f"the last {stored} of the" in notes[0] and "--no-val" in notes[0], notes
    start = next(e for e in events if e.kind == "start")
    usable = int(start.message.split(" faces")[0].rsplit(" ", 1)[1]) + stored
    assert stored == holdout_size(usable, 64) >= 2, "a tenth of the faces (fewer than --val-images)"
    assert f"{usable - stored} faces" in start.message, "the held-out faces are not trained on"
    assert res.metrics and "psnr" in res.metrics, "validated"
    assert (tmp_path / "h" / "samples" / "step_0000002.png").is_file(), "samples written"
    # a resume splits the same way, and says nothing new
    cfg2, path = resume_config(tmp_path / "h", {"max_steps": 3})
    events.clear()
    assert train(cfg2, resume_from=path, progress=events.append, validator=Validator).step == 3
    assert not [e for e in events if e.kind == "note" and "no validation set" in e.message]
    assert json.loads((tmp_path / "h" / "config.json").read_text())["holdout"] == stored
    # --no-val: every face trained on, nothing validated
    res = train(TrainConfig(**{**cfg.to_dict(), "name": "n", "validate": False}))
    assert not res.metrics and not (tmp_path / "n" / "samples").exists()


def test_held_out_part_is_the_end_of_the_store() -> None:
    from unmask.train.data.split import Part, holdout_size

    class Store:
        size = 8

        def __len__(self) -> int:
            return 30

        def crop(self, i: int) -> int:
            return i

        def landmarks(self, i: int) -> int:
            return -i

    part = Part(Store(), 27, 30)
    assert len(part) == 3 and part.crop(0) == 27 and part.landmarks(2) == -29 and part.size == 8
    with pytest.raises(IndexError):
        part.crop(3)
    assert [holdout_size(n, 64) for n in (9, 10, 300, 6400)] == [0, 1, 30, 64]
