"""Issue 26, reliability third pass, the items outside videos: the faces pictures (an unwritable target is a usage
error, the pictures carry a provenance tag), checkpoints on a full disk, prepared sets checked, metrics.jsonl after a
resume, failed records, and the same exit code for a broken set in every command. Each test failed on the code
before its fix. The broken sets are cases of the bad-input corpus (tests/corpus.py, :data:`corpus.SET_ERRORS`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import json_lines as _json_lines
from conftest import save_image as _save
from conftest import small_tmpfs
from corpus import SET_ERRORS, make_bad_set
from unmask.infer.io import read_image, read_provenance


@pytest.fixture
def photos(tmp_path: Path, astronaut, censored_astronaut) -> Path:
    """A censored astronaut and the clean astronaut (a face, nothing covered)."""
    d = tmp_path / "photos"
    _save(d / "barred.png", censored_astronaut[0])
    _save(d / "clean.png", astronaut)
    return d


# ----------------------------------------------------------------------------- 6. an unwritable --show-faces target


@pytest.mark.parametrize("several", [False, True], ids=["one photo", "a folder"])
def test_an_unwritable_faces_picture_target_is_a_usage_error_up_front(
    cli, photos: Path, tmp_path: Path, several: bool
) -> None:
    """Every photo failed (those with nothing to restore too), each naming a temporary file; now exit 2 before any
    photo is read. A folder below a file cannot be created, even by root."""
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"x")
    target = blocker / ("pictures" if several else "faces.png")
    inputs = [photos] if several else [photos / "clean.png"]
    res = cli(*inputs, "-o", tmp_path / "out", "--show-faces", target, "--json")
    assert res.exit_code == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--show-faces" in lines[0] and str(blocker) in lines[0], lines
    assert ".tmp" not in res.stderr and res.stdout == "" and not (tmp_path / "out").exists()


def test_a_faces_picture_that_cannot_be_written_names_the_picture(tmp_path: Path) -> None:
    """The message named the temporary file next to the picture."""
    from unmask.infer.io import ImageError
    from unmask.infer.io.write import write_picture

    folder = tmp_path / "gone"
    folder.mkdir()
    target = folder / "faces.png"
    folder.rmdir()
    folder.write_bytes(b"a file where the folder was")
    with pytest.raises(ImageError) as e:
        write_picture(target, np.zeros((8, 8, 3), np.uint8))
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)


# ------------------------------------------------------------------------ 7. the faces pictures carry a provenance tag


@pytest.mark.parametrize("name", ["faces.png", "faces.jpg", "faces.webp"])
def test_a_faces_picture_is_tagged_and_a_later_run_skips_it(cli, photos: Path, tmp_path: Path, name: str) -> None:
    """The pictures carried no tag, so a run on the folder holding them restored them, drawn boxes and all."""
    picture = photos / name
    assert cli(photos / "barred.png", "-o", tmp_path / "o1", "--show-faces", picture).exit_code == 0
    tag = read_provenance(picture)
    assert tag is not None and tag["synthetic"] is False and tag["drawn"] == "faces picture" and tag["faces"] == 1, tag
    assert read_image(picture).provenance == tag
    res = cli(picture, "-o", tmp_path / "o2", "--json")
    assert res.exit_code == 0, res.stderr
    (rec,), summary = _json_lines(res.stdout)
    assert rec["status"] == "skipped" and rec["output"] is None and "faces picture" in rec["note"], rec
    assert summary["summary"]["skipped"] == 1 and not list((tmp_path / "o2").glob(name))


def test_a_folder_of_faces_pictures_is_skipped_by_a_later_run(cli, photos: Path, tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    assert cli(photos, "-o", tmp_path / "o1", "--show-faces", pictures).exit_code == 0
    drawn = sorted(p.name for p in pictures.iterdir())
    assert drawn == ["barred.faces.png", "clean.faces.png"]
    res = cli(pictures, "-o", tmp_path / "o2", "--json")
    records, summary = _json_lines(res.stdout)
    assert res.exit_code == 0 and [r["status"] for r in records] == ["skipped", "skipped"], records
    assert summary["summary"]["restored"] == 0


def test_the_drawn_tag_says_nothing_was_generated() -> None:
    from unmask.infer.io.provenance import Provenance, drawn_tag, is_drawn, parse_provenance

    tag = drawn_tag("faces picture", "1.2", 3)
    text = tag.to_text()
    assert text.startswith("Drawn:") and "nothing in it was generated" in text and "Synthetic" not in text
    parsed = parse_provenance(text)
    assert parsed == {"synthetic": False, "drawn": "faces picture", "regions": [], "model": "", "model_version": "",
                      "tool_version": "1.2", "faces": 3}  # fmt: skip
    assert is_drawn(parsed) and b"compositeWithTrainedAlgorithmicMedia" not in tag.to_xmp()
    restored = Provenance(regions=["eyes"], model="m", model_version="1", tool_version="1.2", faces=1)
    assert "drawn" not in restored.to_dict() and not is_drawn(parse_provenance(restored.to_text()))
    assert b"compositeWithTrainedAlgorithmicMedia" in restored.to_xmp()


# ------------------------------------------------------------------------------------ 9 and 16. prepared sets checked


@pytest.fixture(scope="module")
def good_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(7 fake photos, their set: three shards of up to 3 photos, one photo without a face), no mediapipe."""
    from test_prepare import FakeCropper, S
    from test_prepare import photos as fake_photos
    from unmask.train.data.shard_writer import write_set

    root = tmp_path_factory.mktemp("sets")
    folder = fake_photos(root / "photos", 7, bad=(3,))
    write_set(folder, root / "good", size=S, shard_size=3, cropper=FakeCropper)
    return folder, root / "good"


@pytest.mark.parametrize("case", list(SET_ERRORS))
def test_a_damaged_set_is_one_line_naming_its_manifest_and_exit_2_everywhere(
    cli, good_set, tmp_path: Path, case: str
) -> None:
    """Items 9 and 16: a damaged manifest made the set a folder of photos ('SET: no photos'), another crop recipe
    and shards listed twice were accepted, garbage gave a bare ValueError or AttributeError; `train` gave exit 1
    where `eval` gave 2."""
    from unmask.train.data.shards import FaceSet, SetError, is_face_set

    bad = make_bad_set(good_set[1], tmp_path / "set", case)
    assert is_face_set(bad)
    with pytest.raises(SetError) as e:
        FaceSet(bad)
    msg = str(e.value)
    named = bad / ("faces-00001.tar.gz" if case == "shard_corrupted" else "manifest.json")
    assert SET_ERRORS[case] in msg and str(named) in msg and "\n" not in msg, msg
    for args in (("eval", bad, "--region", "eyes", "--n", "2", "--no-lpips", "--baseline", "telea"),
                 ("train", "--arch", "glcic", "--preset", "tiny", "--data", bad, "--out", tmp_path / "runs",
                  "--max-steps", "1", "--no-val")):  # fmt: skip
        res = cli(*args)
        assert res.exit_code == 2, (args[0], res.stderr)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and SET_ERRORS[case] in lines[0] and "Traceback" not in res.stderr, (args[0], lines)
    assert not (tmp_path / "runs").exists(), "nothing was started"


@pytest.mark.parametrize("case", list(SET_ERRORS))
def test_prepare_rewrites_a_damaged_manifest_and_never_calls_it_complete_as_it_is(
    good_set, tmp_path: Path, case: str
) -> None:
    """Shards listed twice gave 1,000 faces from 500 photos and `prepare` called the set complete; a garbled entry
    stopped it with a bare error. Now it keeps the intact shards, rewrites the manifest, and the set reads whole."""
    from test_prepare import FakeCropper, S
    from unmask.train.data.shard_writer import write_set
    from unmask.train.data.shards import FaceSet

    folder, good = good_set
    bad = make_bad_set(good, tmp_path / "set", case)
    s = write_set(folder, bad, size=S, shard_size=3, cropper=FakeCropper)
    assert s.faces == 6 and s.shards == 3
    again, ref = FaceSet(bad), FaceSet(good)
    assert again.count == ref.count == 6 and again.names == ref.names
    assert [e["file"] for e in again.manifest["shards"]] == ["faces-00000.tar.gz", "faces-00001.tar.gz",
                                                              "faces-00002.tar.gz"]  # fmt: skip


def test_a_photo_folder_with_another_tools_manifest_is_still_photos(tmp_path: Path) -> None:
    from unmask.train.data.shards import is_face_set

    (tmp_path / "manifest.json").write_text(json.dumps({"files": ["a.jpg"]}))
    assert not is_face_set(tmp_path)


def test_prepare_does_not_suggest_an_option_it_lacks(tmp_path: Path) -> None:
    """An oversized photo's reason in a set's manifest said 'raise --max-pixels', which `prepare` does not have."""
    pytest.importorskip("mediapipe")
    from corpus import make_corpus
    from unmask.train.data.prepare import FaceCropper

    bomb = make_corpus(tmp_path / "corpus")["bomb.png"]
    cropper = FaceCropper(32)
    try:
        reason = cropper(bomb)
    finally:
        cropper.close()
    assert isinstance(reason, str) and "too large" in reason and "--max-pixels" not in reason, reason


# ------------------------------------------------------------------------------- 10. metrics.jsonl after a resume


def test_a_resumed_run_logs_each_step_once(good_set, tmp_path: Path, one_torch_thread: None) -> None:
    """After kill -9 the log held the steps logged after the last checkpoint, and the resumed run logged them
    again. The killed session is played here: a run checkpointed at step 2, then the lines it logged for steps 3
    and 4 and half a line, as a kill leaves them."""
    pytest.importorskip("torch")
    from unmask.train.config import TrainConfig
    from unmask.train.loop import resume_config, train

    cfg = TrainConfig(arch="glcic", preset="tiny", data=str(good_set[1]), batch_size=2, out=str(tmp_path), name="r",
                      max_steps=2, log_every=1, checkpoint_every=100, threads=1, workers=0, validate=False)  # fmt: skip
    assert train(cfg).step == 2
    log = tmp_path / "r" / "metrics.jsonl"
    for step in (3, 4):
        log.write_text(log.read_text() + json.dumps({"kind": "train", "step": step, "g/total": 9.0}) + "\n")
    log.write_text(log.read_text() + '{"kind": "train", "st')
    cfg2, path = resume_config(tmp_path / "r", {"max_steps": 5})
    assert train(cfg2, resume_from=path).step == 5
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5], steps
    assert all(json.loads(line).get("g/total") != 9.0 for line in log.read_text().splitlines())


def test_cut_after_keeps_earlier_lines_as_they_were(tmp_path: Path) -> None:
    from unmask.train.events import cut_after

    log = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"kind": "train", "step": s, "x": 0.5}) for s in (1, 2)] + [
        json.dumps({"kind": "val", "step": 2})
    ]
    log.write_text("\n".join(lines + [json.dumps({"kind": "train", "step": 3}), "{half"]) + "\n")
    assert cut_after(log, 2) == 2
    assert log.read_text() == "\n".join(lines) + "\n"
    assert cut_after(log, 2) == 0 and cut_after(tmp_path / "none.jsonl", 0) == 0


# ------------------------------------------------------------------------------------ 8. a full disk at a checkpoint


def _checkpoint_like() -> dict:
    import torch

    return {"G": {"w": torch.arange(50_000, dtype=torch.float32)}, "step": 7}


def test_a_full_disk_at_a_checkpoint_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch turned the disk's error into 'RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos'.
    The disk fills after 64 KiB of the new checkpoint here (os.write raising ENOSPC, as a full disk does)."""
    import errno
    import os

    torch = pytest.importorskip("torch")
    from unmask.infer.io import atomic
    from unmask.train import checkpoint as ckpt_io

    last = tmp_path / "checkpoints" / "last.pt"
    ckpt_io.save_atomic({"G": {"w": torch.zeros(3)}, "step": 5}, last)
    before = last.read_bytes()
    written = {"n": 0}
    real_write = os.write

    def filling(fd: int, data) -> int:
        if written["n"] + len(data) > 64 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written["n"] += len(data)
        return real_write(fd, data)

    monkeypatch.setattr(atomic.os, "write", filling)
    with pytest.raises(ckpt_io.CheckpointError) as e:
        ckpt_io.save_atomic(_checkpoint_like(), last)
    msg = str(e.value)
    assert msg.startswith(f"{last}: ") and "no space left on device" in msg and "\n" not in msg, msg
    assert "enforce" not in msg and "unexpected pos" not in msg
    assert last.read_bytes() == before and sorted(p.name for p in last.parent.iterdir()) == ["last.pt"]


def test_a_full_tmpfs_at_a_checkpoint(tmp_path: Path) -> None:
    """The same on a real full file system: a 64 KiB tmpfs (only where this runs as root and may mount)."""
    import os

    pytest.importorskip("torch")
    from unmask.train import checkpoint as ckpt_io

    with small_tmpfs(tmp_path, "64k", "the injected ENOSPC covers everyone") as tiny:
        last = tiny / "last.pt"
        ckpt_io.save_atomic({"step": 1}, last)
        before = last.read_bytes()
        with pytest.raises(ckpt_io.CheckpointError, match="no space left on device") as e:
            ckpt_io.save_atomic(_checkpoint_like(), last)
        assert str(last) in str(e.value)
        assert last.read_bytes() == before and os.listdir(tiny) == ["last.pt"]


# ---------------------------------------------------------------------- 15. --json records: one schema, the README's


def _readme_tables() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """The README's record table and face table (section "`--json` records"): ``{field: (type, what)}`` each."""
    from conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### `--json` records", 1)[1].split("\n#", 1)[0]
    record_part, face_part = section.split("Each face:", 1)

    def rows(part: str) -> dict[str, tuple[str, str]]:
        out = {}
        for line in part.splitlines():
            if line.startswith("| `"):
                field, kind, what = (c.strip() for c in line.strip().strip("|").split("|"))
                out[field.strip("`")] = (kind, what)
        return out

    return rows(record_part), rows(face_part)


def _values(what: str) -> set[str]:
    """The values a README row allows: the words in backticks outside parentheses."""
    import re

    return set(re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", what)))


def _check(value: object, kind: str, faces: dict) -> None:
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    ok = {"string": lambda v: isinstance(v, str), "string or null": lambda v: v is None or isinstance(v, str),
          "number": number, "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "list of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
          "list of 4 numbers": lambda v: isinstance(v, list) and len(v) == 4 and all(map(number, v)),
          "object, videos only": lambda v: isinstance(v, dict),
          "list of faces": lambda v: isinstance(v, list) and all(isinstance(f, dict) for f in v)}[kind]  # fmt: skip
    assert ok(value), f"{value!r} is not {kind}"


def check_record(rec: dict, video: bool = False) -> None:
    """``rec`` follows the README's schema: its fields, their types, the statuses it allows."""
    fields, face_fields = _readme_tables()
    expected = {f for f, (kind, _) in fields.items() if kind != "object, videos only" or video}
    assert set(rec) == expected, f"fields {sorted(set(rec) ^ expected)} differ from the README's: {rec}"
    for name, value in rec.items():
        _check(value, fields[name][0], face_fields)
    assert rec["status"] in _values(fields["status"][1]), rec["status"]
    assert (rec["error"] is not None) == (rec["status"] == "failed"), rec
    for face in rec["faces"]:
        assert set(face) == set(face_fields), f"face fields {sorted(set(face) ^ set(face_fields))}: {face}"
        for name, value in face.items():
            _check(value, face_fields[name][0], face_fields)
        assert face["status"] in _values(face_fields["status"][1]), face["status"]


def test_the_readme_schema_names_every_status_the_code_has() -> None:
    from unmask.infer.runner.records import STATUSES

    fields, face_fields = _readme_tables()
    assert _values(fields["status"][1]) == set(STATUSES)
    assert {"restored", "to-restore", "failed", "clean", "not-covered", "outside-mask", "skipped"} == _values(
        face_fields["status"][1]
    )


def test_records_of_every_status_follow_the_readme(cli, photos: Path, tmp_path: Path) -> None:
    from corpus import make_corpus

    broken = make_corpus(tmp_path / "corpus")
    _save(photos / "grey.png", np.full((96, 128, 3), 120, np.uint8))
    for name in ("text.jpg", "earlier_output.png"):
        (photos / name).write_bytes(broken[name].read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    (out / ".barred.png.999999999.abcdefgh.tmp").write_bytes(b"left by a killed run")
    seen: dict[str, dict] = {}
    for args in ((photos, "-o", out), (photos, "-o", out), (photos / "barred.png", "-o", tmp_path / "o2", "--show-faces",
                                                            tmp_path / "faces.png")):  # fmt: skip
        res = cli(*args, "--json")
        records, summary = _json_lines(res.stdout)
        assert set(summary) == {"summary", "seconds"}
        for rec in records:
            check_record(rec)
            seen.setdefault(rec["status"], rec)
    assert set(seen) == {"notice", "restored", "no-censor", "no-face", "failed", "skipped", "exists", "drawn"}, set(
        seen
    )
    assert [f["status"] for f in seen["drawn"]["faces"]] == ["to-restore"]


def test_a_failed_photo_does_not_report_its_faces_restored(cli, photos: Path, tmp_path: Path) -> None:
    """Item 15: the output could not be written (a folder stands where it goes), yet the record said the face was
    restored."""
    out = tmp_path / "out"
    (out / "barred.png").mkdir(parents=True)
    res = cli(photos / "barred.png", "-o", out, "--overwrite", "--json")
    assert res.exit_code == 1, res.stderr
    (rec,), _ = _json_lines(res.stdout)
    check_record(rec)
    assert rec["status"] == "failed" and rec["output"] is None and "directory" in rec["error"], rec
    assert [f["status"] for f in rec["faces"]] == ["failed"] and rec["faces"][0]["region"] == "eyes", rec["faces"]


def test_a_video_record_follows_the_readme(cli, stills, tmp_path: Path) -> None:
    """Photos and videos share the schema: a video's record lists every face followed, and has ``video`` too."""
    pytest.importorskip("av")
    from test_video_inputs import two_faces

    res = cli(two_faces(stills, tmp_path / "two.mp4"), "-o", tmp_path / "out", "--json")
    (rec,), _ = _json_lines(res.stdout)
    check_record(rec, video=True)
    assert rec["status"] == "restored" and [f["index"] for f in rec["faces"]] == [0, 1], rec
