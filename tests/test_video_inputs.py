"""Videos keep a photo's promises (issue 26): the face options (``--faces`` by track number, ``--largest``,
``--max-faces`` by size) with a photo's warnings, every face listed in ``--json``, ``--show-faces``, and awkward or
broken files (the video cases of the bad-input corpus, :func:`corpus.make_video_corpus`): what decodes is restored
and said, the rest fails in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from corpus import VIDEO_ERRORS, VIDEO_VALID, VIDEO_WARNINGS, make_video_corpus
from unmask.measure.clips import Actor, clip_frames, write_clip

av = pytest.importorskip("av")

SIZE = (256, 144)
FPS = 25


def cast(stills, bars: tuple[int, ...] = (0, 1)) -> list[Actor]:
    """Two faces, under eye bars (those in ``bars``) from the first frame: number 0 on the left and larger, number 1
    on the right."""
    (p1, l1), (p2, l2) = stills
    return [Actor(p1, l1, 0.8, (0.28, 0.5), censor="bar" if 0 in bars else None),
            Actor(p2, l2, 0.6, (0.74, 0.5), censor="bar" if 1 in bars else None)]  # fmt: skip


def two_faces(stills, path: Path, seconds: float = 0.4) -> Path:
    write_clip(path, clip_frames(cast(stills), SIZE, seconds, FPS), FPS)
    return path


def bar_of(stills, face: int, seconds: float = 0.4) -> list[np.ndarray]:
    """The inside of face ``face``'s bar on each frame of :func:`two_faces` (HxW bool: 2 px in from its edge, which
    re-encoding rings)."""
    import cv2

    return [
        cv2.erode(fr.hole, np.ones((5, 5), np.uint8)) > 0
        for fr in clip_frames(cast(stills, (face,)), SIZE, seconds, FPS)
    ]


def one_face(stills, path: Path, seconds: float = 1.0, vfr: bool = False) -> Path:
    (p1, l1), _ = stills
    write_clip(path, clip_frames([Actor(p1, l1, 0.8, (0.5, 0.5))], (192, 144), seconds, FPS, vfr=vfr), FPS)
    return path


def frames_of(path: Path) -> list[np.ndarray]:
    from unmask.infer.video.stream import VideoReader

    with VideoReader(path) as r:
        return [f.rgb for f in r.frames()]


def changed(src: Path, out: Path) -> list[np.ndarray]:
    """Where each frame of ``out`` differs from ``src`` by more than re-encoding does (HxW bool)."""
    return [np.abs(a.astype(int) - b).max(axis=2) > 40 for a, b in zip(frames_of(src), frames_of(out))]


def touched(masks: list[np.ndarray], where: list[np.ndarray]) -> int:
    """Frames on which ``masks`` has pixels inside ``where``."""
    return sum(bool((m & w).any()) for m, w in zip(masks, where))


def run_json(cli, *args: object) -> tuple[dict, object]:
    """The record of one video run with ``--json``, checked against the README's schema (a photo's)."""
    from test_reliability3 import check_record

    res = cli(*args, "--json")
    rec = json.loads(res.stdout.splitlines()[0])
    check_record(rec, video=rec["status"] in ("restored", "no-face", "no-censor"))
    return rec, res


# ------------------------------------------------------------------------------------------------- face options


def test_a_video_honours_faces_largest_and_max_faces(cli, stills, tmp_path: Path) -> None:
    src = two_faces(stills, tmp_path / "two.mp4")
    every, _ = run_json(cli, src, "-o", tmp_path / "all")
    assert every["status"] == "restored", every
    faces = {f["index"]: f for f in every["faces"]}  # every face followed is listed, by its track number
    assert set(faces) == {0, 1} and all(f["status"] == "restored" for f in faces.values()), every["faces"]
    assert faces[0]["box"][0] < faces[1]["box"][0], "numbered in reading order: left to right"
    assert "restored on" in faces[0]["decision"] and faces[0]["region"] == "eyes"
    bars = [bar_of(stills, 0), bar_of(stills, 1)]
    both = changed(src, tmp_path / "all" / "two.mp4")
    assert touched(both, bars[0]) == touched(both, bars[1]) == 10

    for option, kept, why in ((("--faces", "1"), 1, "not chosen (--faces 1)"),
                              (("--largest",), 0, "not the largest face (--largest)"),
                              (("--max-faces", "1"), 0, None)):  # fmt: skip
        out = tmp_path / option[0].strip("-")
        rec, _ = run_json(cli, src, "-o", out, *option)
        assert rec["status"] == "restored", (option, rec)
        left = 1 - kept
        mine = changed(src, out / "two.mp4")
        assert touched(mine, bars[left]) == 0, f"{option}: face {left} was changed"
        assert touched(mine, bars[kept]) == 10, f"{option}: face {kept} was not restored on every frame"
        statuses = {f["index"]: f["status"] for f in rec["faces"]}
        assert statuses.get(kept) == "restored", (option, rec["faces"])
        if why is not None:
            assert statuses[left] == "skipped" and why in {f["index"]: f["decision"] for f in rec["faces"]}[left]
        else:  # the larger face kept, with a photo's warning
            assert left not in statuses
            assert any("--max-faces is 1: only the 1 largest were considered" in w for w in rec["warnings"]), rec
    rec, _ = run_json(cli, src, "-o", tmp_path / "seven", "--faces", "7")
    assert rec["status"] == "no-face" and any("no face numbered 7 in this video" in w for w in rec["warnings"]), rec


def test_show_faces_draws_a_videos_first_faces_numbered_as_faces_numbers_them(cli, stills, tmp_path: Path) -> None:
    from PIL import Image

    src = two_faces(stills, tmp_path / "two.mp4", seconds=0.2)
    rec, res = run_json(cli, src, "-o", tmp_path / "out", "--show-faces", tmp_path / "faces.png")
    assert res.exit_code == 0 and rec["status"] == "drawn", rec
    assert [f["index"] for f in rec["faces"]] == [0, 1] and "frame 0" in rec["note"]
    assert {f["status"] for f in rec["faces"]} == {"to-restore"}
    with Image.open(tmp_path / "faces.png") as im:
        assert im.size == SIZE
    first = frames_of(src)[0]
    drawn = np.asarray(Image.open(tmp_path / "faces.png").convert("RGB"))
    assert np.abs(drawn.astype(int) - first).max() > 100, "boxes are drawn on the first frame"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), "it only draws"
    rec, res = run_json(cli, src, "-o", tmp_path / "out", "--show-faces", tmp_path / "both.png", "--restore")
    assert (
        rec["status"] == "restored" and (tmp_path / "both.png").is_file() and (tmp_path / "out" / "two.mp4").is_file()
    )


# ------------------------------------------------------------------------------------------------- awkward files


@pytest.fixture(scope="module")
def video_corpus(stills, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    here = tmp_path_factory.mktemp("videos")
    clip, mkv = one_face(stills, here / "clip.mp4"), one_face(stills, here / "clip.mkv")
    return make_video_corpus(here / "corpus", clip, mkv, one_face(stills, here / "vfr_clip.mp4", vfr=True))


def test_the_video_corpus(cli, video_corpus: dict[str, Path], tmp_path: Path) -> None:
    from conftest import json_lines

    res = cli(video_corpus["cut.mkv"].parent, "-o", tmp_path / "out", "--json")
    from test_reliability3 import check_record

    recs, summary = json_lines(res.stdout)
    by_name = {Path(r["input"]).name: r for r in recs}
    for rec in recs:
        check_record(rec, video=rec["status"] != "failed")
    assert res.exit_code == 1 and summary["summary"]["failed"] == len(VIDEO_ERRORS)
    for name, words in VIDEO_ERRORS.items():
        rec = by_name[name]
        assert rec["status"] == "failed" and words in rec["error"] and "\n" not in rec["error"], rec
        assert "tmp" not in rec["error"] and "odd" not in rec["error"], rec
    for name, words in VIDEO_WARNINGS.items():
        rec = by_name[name]
        assert rec["status"] == "restored", rec
        video = rec["video"]
        assert any(words in w for w in rec["warnings"]), rec["warnings"]
        assert 0 < video["frames_read"] == video["frames"] < video["frames_declared"], video
        assert video["frames_declared"] == 25 or name != "cut_faststart.mp4", "a cut MP4 still declares every frame"
        assert video["frames_restored"] > 0 and len(frames_of(tmp_path / "out" / name)) == video["frames_read"]
    for name in VIDEO_VALID:
        assert by_name[name]["status"] == "restored" and not by_name[name]["warnings"], by_name[name]
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("failed:")]
    assert len(lines) == len(VIDEO_ERRORS)


def test_an_odd_sized_video_keeps_its_exact_size(cli, video_corpus: dict[str, Path], tmp_path: Path) -> None:
    src = video_corpus["odd_size.mkv"]
    for codec, pix_fmt in (("h264", "yuv444p"), ("vp9", "yuv420p")):
        out = tmp_path / codec
        rec, res = run_json(cli, src, "-o", out, "--codec", codec)
        assert rec["status"] == "restored", rec
        with av.open(str(out / src.name)) as c:
            ctx = c.streams.video[0].codec_context
            assert (ctx.width, ctx.height) == (191, 143) and ctx.pix_fmt == pix_fmt
        a, b = frames_of(src), frames_of(out / src.name)
        assert len(a) == len(b) and b[0].shape == a[0].shape == (143, 191, 3)


def test_an_mp4_named_avi_and_a_variable_frame_rate_keep_their_frames_and_duration(
    cli, video_corpus: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("mp4_named.avi", "vfr.mp4"):
        src = video_corpus[name]
        rec, res = run_json(cli, src, "-o", tmp_path / "out")
        assert rec["status"] == "restored", rec
        out = tmp_path / "out" / name
        assert len(frames_of(out)) == len(frames_of(src)) == 25
        if name == "vfr.mp4":
            with av.open(str(src)) as a, av.open(str(out)) as b:
                assert a.duration == b.duration, (a.duration, b.duration)


def test_the_bomb_check_comes_before_any_frame_is_decoded(video_corpus: dict[str, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unmask.infer.io.read import DEFAULT_MAX_PIXELS
    from unmask.infer.video import stream

    def decoded(self):
        raise AssertionError("a frame was decoded before the size was checked")

    monkeypatch.setattr(stream.VideoReader, "_demux", decoded)
    with pytest.raises(stream.VideoError, match="frames of 12000x12000 exceed the limit of"):
        stream.VideoReader(video_corpus["bomb.mkv"], DEFAULT_MAX_PIXELS)


@pytest.mark.parametrize("codec,name", [("hevc", "hevc"), ("av1", "av1")])
def test_encoders_print_nothing(
    stills,
    tiny_models,
    finder,
    tmp_path: Path,
    capfd: pytest.CaptureFixture,
    codec: str,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """x265 and SVT-AV1 write their own logs past FFmpeg's log level (23 and 24 lines on a normal run): the library
    never prints."""
    from unmask.infer.pipeline import Restorer
    from unmask.infer.video.formats import CODECS
    from unmask.infer.video.restore import VideoSettings, restore_video

    if CODECS[codec] not in av.codecs_available:
        pytest.skip(f"{CODECS[codec]} is not in this PyAV")
    monkeypatch.delenv("SVT_LOG", raising=False)
    src = one_face(stills, tmp_path / "clip.mp4", seconds=0.2)
    capfd.readouterr()
    stats = restore_video(
        src, tmp_path / "out.mp4", Restorer(tiny_models, "eyes", finder=finder), VideoSettings(codec=codec)
    )
    assert stats.frames_restored > 0
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].codec_context.name in (name, "libdav1d")
    err = capfd.readouterr().err
    assert not err.strip(), err
