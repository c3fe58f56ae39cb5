"""unmask.infer.inputs: which files become jobs, where their results go, and what is skipped and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corpus import ERRORS, make_corpus
from unmask.infer.inputs import Job, Skip, discover, map_output


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _run(*args: object, **kw: object) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(jobs as (source, output), skips as (path, reason)), paths relative to the current folder."""
    items = list(discover(*args, **kw))  # type: ignore[arg-type]
    jobs = [(str(i.source), str(i.output)) for i in items if isinstance(i, Job)]
    skips = [(str(i.path), i.reason) for i in items if isinstance(i, Skip)]
    return jobs, skips


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_mapping_and_order(here: Path) -> None:
    _touch(here, "a/z.jpg", "a/B.PNG", "a/m.webp", "a/notes.txt", "a/.hidden.jpg", "a/._x.jpg", "a/b/c.jpg",
           "a/b/d/e.tiff", "a/.git/f.jpg", "x/c.jpg")  # fmt: skip
    jobs, skips = _run(["a", "x/c.jpg"], "out", recursive=True)
    assert jobs == [
        ("a/B.PNG", "out/B.PNG"),
        ("a/b/c.jpg", "out/b/c.jpg"),
        ("a/b/d/e.tiff", "out/b/d/e.tiff"),
        ("a/m.webp", "out/m.webp"),
        ("a/z.jpg", "out/z.jpg"),
        ("x/c.jpg", "out/c.jpg"),  # a file given alone goes to the top of the output folder
    ]
    assert skips == []


def test_single_file_maps_to_the_output_folder(here: Path) -> None:
    _touch(here, "x/c.jpg")
    assert _run(["x/c.jpg"], "out") == ([("x/c.jpg", "out/c.jpg")], [])
    assert _run([here / "x/c.jpg"], here / "out") == ([(str(here / "x/c.jpg"), str(here / "out/c.jpg"))], [])


def test_without_recursive_subfolders_are_noted_once(here: Path) -> None:
    _touch(here, "a/x.jpg", "a/b/c.jpg", "a/d/e.jpg")
    jobs, skips = _run(["a"], "out")
    assert jobs == [("a/x.jpg", "out/x.jpg")]
    assert skips == [("a", "2 subfolders not searched (use --recursive)")]


def test_format_changes_the_extension_and_collisions_are_refused(here: Path) -> None:
    _touch(here, "a/c.jpg", "a/c.png", "a/d.bmp", "a/e.JPG")
    jobs, skips = _run(["a"], "out", fmt="png")
    assert jobs == [("a/c.jpg", "out/c.png"), ("a/d.bmp", "out/d.png"), ("a/e.JPG", "out/e.png")]
    assert skips == [("a/c.png", "output out/c.png already taken by a/c.jpg")]
    jobs, _ = _run(["a"], "out")
    assert ("a/d.bmp", "out/d.png") in jobs  # BMP cannot carry the provenance tag
    with pytest.raises(ValueError):
        discover(["a"], "out", fmt="bmp")  # refused at the call, not at the first job
    with pytest.raises(ValueError):
        discover(["a"], "out", fmt="heic")


def test_same_name_from_two_places(here: Path) -> None:
    _touch(here, "x/c.jpg", "y/c.jpg")
    jobs, skips = _run(["x/c.jpg", "y/c.jpg", "x/c.jpg"], "out")
    assert jobs == [("x/c.jpg", "out/c.jpg")]
    assert skips == [("y/c.jpg", "output out/c.jpg already taken by x/c.jpg"), ("x/c.jpg", "listed twice (as x/c.jpg)")]


def test_explicit_paths_that_are_not_images(here: Path) -> None:
    _touch(here, "notes.txt", "shots.png/inside.jpg")
    os.symlink("gone.jpg", here / "dangling.jpg")
    jobs, skips = _run(["missing.jpg", "notes.txt", "shots.png", "dangling.jpg"], "out")
    assert jobs == []
    reasons = dict(skips)
    assert reasons["missing.jpg"] == "no such file or directory"
    assert reasons["notes.txt"].startswith("not an image or video extension (.txt")
    assert reasons["shots.png"].startswith("is a directory, not an image")
    assert reasons["dangling.jpg"] == "broken symbolic link"


def test_a_folder_named_like_an_image_inside_a_walk_is_a_folder(here: Path) -> None:
    _touch(here, "a/shots.png/inside.jpg")
    assert _run(["a"], "out", recursive=True) == ([("a/shots.png/inside.jpg", "out/shots.png/inside.jpg")], [])


def test_special_files_and_broken_links_in_a_folder(here: Path) -> None:
    (here / "a").mkdir()
    os.symlink("nowhere.jpg", here / "a/broken.jpg")
    os.symlink("nowhere.txt", here / "a/broken.txt")  # not an image name: ignored
    if hasattr(os, "mkfifo"):
        os.mkfifo(here / "a/pipe.jpg")
    jobs, skips = _run(["a"], "out")
    assert jobs == []
    expected = [("a/broken.jpg", "broken symbolic link")]
    if hasattr(os, "mkfifo"):
        expected.append(("a/pipe.jpg", "not a regular file"))
    assert sorted(skips) == expected


def test_symlink_loops_are_reported_once_and_walking_ends(here: Path) -> None:
    _touch(here, "a/x.jpg", "a/b/c.jpg")
    os.symlink("..", here / "a/b/up")  # a/b/up -> a: a loop
    os.symlink(".", here / "a/self")  # a/self -> a: a loop
    os.symlink("b", here / "a/alias")  # a second route to a/b: not a loop, but not scanned twice
    jobs, skips = _run(["a"], "out", recursive=True)
    assert jobs == [("a/b/c.jpg", "out/b/c.jpg"), ("a/x.jpg", "out/x.jpg")]
    assert skips == [
        ("a/b/up", "symbolic link loop back to a; not followed"),
        ("a/alias", "same folder as a/b; not scanned twice"),
        ("a/self", "symbolic link loop back to a; not followed"),
    ]


def test_symlinked_folder_outside_is_followed(here: Path) -> None:
    _touch(here, "elsewhere/p.jpg", "a/x.jpg")
    os.symlink(here / "elsewhere", here / "a/link")
    jobs, _ = _run(["a"], "out", recursive=True)
    assert jobs == [("a/x.jpg", "out/x.jpg"), ("a/link/p.jpg", "out/link/p.jpg")]


def test_inputs_are_never_outputs(here: Path) -> None:
    _touch(here, "a/x.jpg", "a/y.jpg", "a/y.png")
    jobs, skips = _run(["a"], "a")  # output folder = input folder, same format
    assert jobs == []
    assert {p for p, _ in skips} == {"a/x.jpg", "a/y.jpg", "a/y.png"}
    assert all("inputs are never written to" in r for _, r in skips)
    jobs, skips = _run(["a"], "a", fmt="png")
    assert jobs == [("a/x.jpg", "a/x.png")]
    assert ("a/y.jpg", "output a/y.png is the input a/y.png") in skips
    os.symlink(here / "a", here / "via")  # the same folder under another name
    jobs, _ = _run(["a"], "via")
    assert jobs == []


def test_output_folder_inside_the_input_is_not_scanned(here: Path) -> None:
    _touch(here, "a/x.jpg", "a/restored/old.jpg")
    jobs, skips = _run(["a"], "a/restored", recursive=True)
    assert jobs == [("a/x.jpg", "a/restored/x.jpg")] and skips == []


def test_listing_is_taken_before_any_job_runs(here: Path) -> None:
    _touch(here, "a/x.jpg")
    items = discover(["a"], "a/out", recursive=True)
    _touch(here, "a/late.jpg")
    assert [i.source for i in items if isinstance(i, Job)] == [Path("a/x.jpg")]


@pytest.mark.parametrize(
    "parts", [("..", "x.jpg"), ("x", "..", "..", "y.jpg"), ("/etc", "x.jpg"), ("a/../../b.jpg",), ("",), (".",), ()]
)
def test_escaping_output_names_are_refused(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        map_output(Path("out"), parts)


def test_map_output() -> None:
    assert map_output(Path("out"), ("b", "c.jpg")) == Path("out/b/c.jpg")
    assert map_output(Path("out"), ("b", "c.tar.jpg"), "webp") == Path("out/b/c.tar.webp")
    assert map_output(Path("out"), ("..c.jpg",)) == Path("out/..c.jpg")  # a name, not a parent reference


def test_unlistable_folder(here: Path) -> None:
    _touch(here, "a/locked/x.jpg")
    (here / "a/locked").chmod(0)
    try:
        if os.access(here / "a/locked", os.R_OK):
            pytest.skip("running with privileges (root) that list a mode-000 folder anyway")
        jobs, skips = _run(["a"], "out", recursive=True)
        assert jobs == [] and skips == [("a/locked", "cannot list folder: Permission denied")]
    finally:
        (here / "a/locked").chmod(0o755)


def test_the_corpus_folder(here: Path) -> None:
    paths = make_corpus(here / "corpus")
    jobs, skips = _run(["corpus"], "out")
    sources = {Path(s).name for s, _ in jobs}
    regular = {n for n, p in paths.items() if p.is_file()}
    assert sources == regular and "fifo.jpg" not in sources and "folder.png" not in sources
    assert ("corpus", "1 subfolder not searched (use --recursive)") in skips
    if "fifo.jpg" in paths:
        assert ("corpus/fifo.jpg", "not a regular file") in skips
    assert set(ERRORS) >= {"folder.png", "fifo.jpg"}
