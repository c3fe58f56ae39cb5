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
from unmask.infer.io import read_image, read_provenance


@pytest.fixture
def photos(tmp_path: Path, astronaut, censored_astronaut) -> Path:  # noqa: ANN001
    """A censored astronaut and the clean astronaut (a face, nothing covered)."""
    d = tmp_path / "photos"
    _save(d / "barred.png", censored_astronaut[0])
    _save(d / "clean.png", astronaut)
    return d


# ----------------------------------------------------------------------------- 6. an unwritable --show-faces target


@pytest.mark.parametrize("several", [False, True], ids=["one photo", "a folder"])
def test_an_unwritable_faces_picture_target_is_a_usage_error_up_front(cli, photos: Path, tmp_path: Path,  # noqa: ANN001
                                                                       several: bool) -> None:
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
def test_a_faces_picture_is_tagged_and_a_later_run_skips_it(cli, photos: Path, tmp_path: Path, name: str) -> None:  # noqa: ANN001
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


def test_a_folder_of_faces_pictures_is_skipped_by_a_later_run(cli, photos: Path, tmp_path: Path) -> None:  # noqa: ANN001
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
