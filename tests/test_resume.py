"""`unmask eval` resumes after Ctrl-C / SIGTERM (issue 25): the photos scored before the interrupt are kept in a
journal keyed by everything that determines the result (:mod:`unmask.measure.resume`), a rerun of the same command
scores only the rest, and its report is the one an uninterrupted run gives. `unmask eval CLIP` keeps its finished
passes the same way; `unmask bench` (and `--video`) keeps its finished sections. Needs ../shared (validation
photos)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from onnx_models import make_model
from unmask.measure.evaluate import build_methods, evaluate, list_photos
from unmask.measure.resume import EvalState, Journal, eval_state_key, photo_identities
from unmask.measure.scores import EvalReport, EvalSettings

N = 3
STOP_AFTER = 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("models") / "tiny.onnx", size=64, region="eyes")


class Counting:
    """A baseline that counts the photos it inpaints, and raises ``KeyboardInterrupt`` (Ctrl-C in the middle of a
    photo) on call ``stop_at``."""

    def __init__(self, inner: object, stop_at: int | None = None) -> None:
        self.inner, self.stop_at, self.calls = inner, stop_at, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def inpaint_photo(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.inner.inpaint_photo(rgb, mask)  # type: ignore[attr-defined]


def _setup(tiny: Path, stop_at: int | None = None, **settings: object) -> tuple[dict, dict, EvalSettings, Counting]:
    methods, kinds, _ = build_methods([str(tiny)], ["telea", "none"], "eyes", "cpu", 1)
    counting = Counting(methods["telea"], stop_at)
    methods["telea"] = counting
    return methods, kinds, EvalSettings("eyes", **{"n": N, "seed": 3, "grid_faces": 3, **settings}), counting


def _key(val: Path, methods: dict, kinds: dict, settings: EvalSettings) -> str:
    return eval_state_key(val, methods, kinds, settings, photo_identities(list_photos(val, settings.n)), None)


def _comparable(report: EvalReport) -> dict:
    """The report with every number but the timings (which no two runs share)."""
    d = report.to_dict(per_face=True)
    for f in d["faces"]:
        f.pop("seconds")
    for r in d["rows"]:
        r.pop("seconds_per_face")
    return d


def _same_scores(a: EvalReport, b: EvalReport) -> None:
    assert _comparable(a) == _comparable(b)
    assert len(a.faces) == len(b.faces)
    for fa, fb in zip(a.faces, b.faces):
        for f in dataclasses.fields(fa):
            va, vb = getattr(fa, f.name), getattr(fb, f.name)
            if f.name == "seconds":
                continue
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                assert va.dtype == vb.dtype and np.array_equal(va, vb), f.name
            else:
                assert va == vb and type(va) is type(vb), (f.name, va, vb)
    assert [g.photo for g in a.grid] == [g.photo for g in b.grid]
    for ga, gb in zip(a.grid, b.grid):
        assert np.array_equal(ga.censored, gb.censored) and np.array_equal(ga.original, gb.original)
        assert ga.results.keys() == gb.results.keys()
        assert all(np.array_equal(ga.results[k], gb.results[k]) for k in ga.results)


@pytest.mark.slow  # 16-30 s on the shared 2-core machine (LPIPS, mediapipe); the training-set test below is quick
def test_an_interrupted_eval_resumes_and_gives_the_uninterrupted_report(
    val_dir: Path, tiny: Path, finder, lpips, tmp_path: Path
) -> None:
    photos = list_photos(val_dir, N)
    methods, kinds, settings, counting = _setup(tiny)
    whole = evaluate(photos, methods, settings, lpips=lpips, finder=finder, kinds=kinds)
    assert whole.scored == N and all(r.kid is not None for r in whole.rows())  # KID needs the stored features

    # Ctrl-C in the middle of photo STOP_AFTER + 1: the photos before it are in the journal, that one is not
    methods, kinds, settings, counting = _setup(tiny, stop_at=STOP_AFTER + 1)
    key = _key(val_dir, methods, kinds, settings)
    with pytest.raises(KeyboardInterrupt):
        evaluate(
            photos, methods, settings, lpips=lpips, finder=finder, kinds=kinds, state=EvalState.open(key, tmp_path)
        )
    state = EvalState.open(key, tmp_path)
    assert sorted(state.done) == list(range(STOP_AFTER)) and state.scored == STOP_AFTER

    methods, kinds, settings, counting = _setup(tiny)
    assert _key(val_dir, methods, kinds, settings) == key  # the same command, the same key
    seen: list[int] = []
    resumed = evaluate(photos, methods, settings, lpips=lpips, finder=finder, kinds=kinds,
                       on_photo=lambda done, total: seen.append(done), state=state)  # fmt: skip
    assert counting.calls == whole.scored - STOP_AFTER  # only the rest was restored
    assert seen == list(range(STOP_AFTER + 1, N + 1))
    _same_scores(resumed, whole)
    assert resumed.rows()[0].kid == whole.rows()[0].kid
    assert len(EvalState.open(key, tmp_path).done) == N  # every photo journalled, until the CLI removes it
    state.remove()
    assert not EvalState.open(key, tmp_path).done


def test_an_interrupted_eval_of_a_training_set_resumes(tiny: Path, tmp_path: Path) -> None:
    """The same on a set made by `unmask prepare` (no mediapipe): Ctrl-C between two faces this time."""
    from test_prepare import FakeCropper
    from test_prepare import photos as fake_photos
    from unmask.measure.evaluate import evaluate_set
    from unmask.train.data.shard_writer import write_set
    from unmask.train.data.shards import FaceSet

    write_set(fake_photos(tmp_path / "photos", 5), tmp_path / "set", size=128, cropper=FakeCropper)
    faces = FaceSet(tmp_path / "set")
    methods, kinds, settings, counting = _setup(tiny, n=5)
    whole = evaluate_set(faces, methods, settings, kinds=kinds)
    assert whole.scored == 5 and counting.calls == 5
    items = {"names": faces.names[:5]}

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    key = eval_state_key(faces.root, methods, kinds, settings, items, None)
    with pytest.raises(KeyboardInterrupt):
        evaluate_set(
            faces, methods, settings, kinds=kinds, on_photo=stop_after_two, state=EvalState.open(key, tmp_path)
        )
    methods, kinds, settings, counting = _setup(tiny, n=5)
    state = EvalState.open(eval_state_key(faces.root, methods, kinds, settings, items, None), tmp_path)
    assert sorted(state.done) == [0, 1]
    resumed = evaluate_set(faces, methods, settings, kinds=kinds, state=state)
    assert counting.calls == 3 and resumed.source == "set"
    _same_scores(resumed, whole)


def test_a_changed_option_model_or_photo_does_not_reuse_the_journal(val_dir: Path, tiny: Path, tmp_path: Path) -> None:
    methods, kinds, settings, _ = _setup(tiny)
    key = _key(val_dir, methods, kinds, settings)
    assert _key(val_dir, methods, kinds, settings) == key
    for changed in (
        {"seed": 4},
        {"n": N + 1},
        {"jpeg": 0},
        {"censor": "pixelate"},
        {"retouch": False},
        {"grid_faces": 2},
    ):
        assert _key(val_dir, methods, kinds, dataclasses.replace(settings, **changed)) != key, changed
    fewer = {k: v for k, v in methods.items() if k != "none"}
    assert _key(val_dir, fewer, kinds, settings) != key
    photos = photo_identities(list_photos(val_dir, N))
    assert eval_state_key(val_dir, methods, kinds, settings, photos, None, threads=2) != key
    assert eval_state_key(val_dir, methods, kinds, settings, photos, [tiny]) != key  # LPIPS on
    # a photo replaced under the same name (here: touched)
    copies = tmp_path / "photos"
    copies.mkdir()
    for p in list_photos(val_dir, N):
        (copies / p.name).write_bytes(p.read_bytes())
    before = eval_state_key(copies, methods, kinds, settings, photo_identities(list_photos(copies, N)), None)
    os.utime(list_photos(copies, N)[1], ns=(1, 1))
    assert eval_state_key(copies, methods, kinds, settings, photo_identities(list_photos(copies, N)), None) != before
    # the same model path retrained (another file): another key
    other = make_model(tmp_path / "tiny.onnx", size=64, region="eyes", blur=7)
    m2, k2, _ = build_methods([str(other)], ["telea", "none"], "eyes", "cpu", 1)
    assert other.read_bytes() != tiny.read_bytes()
    assert _key(val_dir, m2, k2, settings) != key


def test_a_torn_last_line_is_dropped_and_the_journal_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path, "k1")
    j.append({"i": 0, "x": 1.5})
    j.append({"i": 1, "x": float("inf")})
    with open(path, "ab") as f:
        f.write(b'{"i": 2, "x": 2')  # killed in the middle of a line
    j = Journal(path, "k1")
    assert j.records == [{"i": 0, "x": 1.5}, {"i": 1, "x": float("inf")}]
    assert path.read_bytes().endswith(b"}\n")  # rewritten without the torn line
    j.append({"i": 2, "x": 3.0})
    assert [r["i"] for r in Journal(path, "k1").records] == [0, 1, 2]
    assert Journal(path, "k2").records == [] and not path.exists()  # another key's journal is not used
    path.write_bytes(b"garbage\n")
    assert Journal(path, "k1").records == []


@pytest.mark.slow
def test_cli_eval_resumes_after_sigint_and_prints_the_uninterrupted_result(val_dir: Path, tmp_path: Path) -> None:
    """The real command: SIGINT after two photos, exit 130; the rerun says it resumed, scores the rest, prints the
    result of an uninterrupted run and removes its journal."""
    pytest.importorskip("mediapipe", reason="mediapipe 0.10.21 is not installed (no wheel for this Python)")
    from test_interrupt import Command

    args = ("eval", val_dir, "--region", "eyes", "--n", "5", "--baseline", "telea,none", "--no-lpips", "--json",
            "--per-face", "--threads", "1")  # fmt: skip
    journals = tmp_path / "a" / "runs" / "cache" / "eval"
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    cmd = Command(*args, cwd=tmp_path / "a")
    cmd.wait_for(lambda: any(len(p.read_bytes().splitlines()) >= 3 for p in journals.glob("*.jsonl")), timeout=300)
    assert cmd.stop(signal.SIGINT) < 2.0 and cmd.proc.returncode == 130
    assert "photos scored so far are kept" in cmd.lines[-1], cmd.lines
    done = len(next(journals.glob("*.jsonl")).read_bytes().splitlines()) - 1
    assert 2 <= done < 5

    env = {k: v for k, v in os.environ.items() if not k.startswith("UNMASK_")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", NO_COLOR="1", TERM="dumb")
    runs = {}
    for d in ("a", "b"):
        p = subprocess.run([sys.executable, "-m", "unmask", *map(str, args)], cwd=tmp_path / d, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
        assert p.returncode == 0, p.stderr
        runs[d] = (json.loads(p.stdout.strip().splitlines()[-1]), p.stderr)
    assert f"resumed: {done} of 5 photos already scored" in runs["a"][1], runs["a"][1]
    assert "resumed" not in runs["b"][1]
    for data, _ in runs.values():
        for f in data["faces"]:
            f.pop("seconds")
        for r in data["rows"]:
            r.pop("seconds_per_face")
    assert runs["a"][0] == runs["b"][0]
    assert not list(journals.glob("*")) and not list((tmp_path / "b" / "runs" / "cache" / "eval").glob("*"))


# -- unmask bench: finished sections are kept, the one stopped is timed afresh ---------------------------------------
def test_bench_keeps_its_finished_sections_and_times_the_rest(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import unmask.measure.folder as folder_mod
    import unmask.measure.generator as generator_mod
    from unmask.cli.app import app
    from unmask.measure.folder import FolderBench, demo_photos

    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path / "cache"))
    photos = demo_photos(tmp_path / "photos", 2)
    args = ["bench", str(photos[0].parent), "--model", str(tiny), "--n", "2", "--repeats", "1", "--threads", "1",
            "--json"]  # fmt: skip
    timed = generator_mod.bench_generator

    def stopped(*a: object, **k: object) -> object:
        raise KeyboardInterrupt  # Ctrl-C while the generator is timed: the folder run is finished

    monkeypatch.setattr(generator_mod, "bench_generator", stopped)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 130 and "sections measured so far are kept" in res.output, res.output
    (state,) = (tmp_path / "cache" / "bench").glob("*.json")
    kept = json.loads(state.read_text())
    assert list(kept["sections"]) == ["folder"]

    monkeypatch.setattr(generator_mod, "bench_generator", timed)
    folder_runs: list[int] = []
    real_folder = folder_mod.bench_folder
    monkeypatch.setattr(folder_mod, "bench_folder", lambda *a, **k: folder_runs.append(1) or real_folder(*a, **k))
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "resumed: folder already measured" in res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert folder_runs == []  # not timed again: the first run's numbers, to the last digit
    assert d["folder"] == FolderBench(**kept["sections"]["folder"]).to_dict()
    assert d["generator"]["ort_s"] > 0 and any("interrupted run" in note for note in d["notes"])
    assert not state.exists()  # the result is out: the next run measures afresh

    # a changed option (more repeats) does not reuse a state
    monkeypatch.setattr(generator_mod, "bench_generator", stopped)
    assert CliRunner().invoke(app, args).exit_code == 130
    monkeypatch.setattr(generator_mod, "bench_generator", timed)
    res = CliRunner().invoke(app, [*args[:7], "2", *args[8:]])
    assert res.exit_code == 0 and "resumed" not in res.output and folder_runs == [1, 1], res.output


def test_no_writable_cache_only_costs_the_resume(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache path that cannot be a folder (a file): eval and bench say so and still give their result."""
    from typer.testing import CliRunner

    from test_prepare import FakeCropper
    from test_prepare import photos as fake_photos
    from unmask.cli.app import app
    from unmask.train.data.shard_writer import write_set

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path / "file"))
    write_set(fake_photos(tmp_path / "photos", 3), tmp_path / "set", size=128, cropper=FakeCropper)
    res = CliRunner().invoke(app, ["eval", str(tmp_path / "set"), "--region", "eyes", "--n", "3", "--model",
                                   str(tiny), "--baseline", "telea", "--no-lpips", "--json", "--threads", "1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (
        "note: no resume journal" in res.output and json.loads(res.stdout.strip().splitlines()[-1])["faces_scored"] == 3
    )
    res = CliRunner().invoke(
        app, ["bench", "--model", "telea", "--n", "1", "--repeats", "1", "--threads", "1", "--json"]
    )
    assert res.exit_code == 0 and "could not be kept" in res.output, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["folder"]["photos"] == 1


# -- unmask eval CLIP: the passes finished are kept, the one stopped is scored afresh ---------------------------------
def _steps(monkeypatch: pytest.MonkeyPatch, stop_at: int | None = None) -> dict[bool, int]:
    """Counts the frames each kind of VideoRestorer steps (steady: True); raises ``KeyboardInterrupt`` (Ctrl-C in the
    middle of the per-frame pass) at its ``stop_at``-th frame."""
    from unmask.infer.video.steady import VideoRestorer

    steps = {True: 0, False: 0}
    step = VideoRestorer.step

    def counted(self: VideoRestorer, rgb: np.ndarray, t: float) -> object:
        steps[self.settings.steady] += 1
        if not self.settings.steady and steps[False] == stop_at:
            raise KeyboardInterrupt
        return step(self, rgb, t)

    monkeypatch.setattr(VideoRestorer, "step", counted)
    return steps


def test_an_interrupted_clip_eval_resumes_from_its_finished_passes(stills, tiny_models, finder, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The passes give the numbers of the side-by-side evaluation; Ctrl-C in the per-frame pass keeps the steady
    one, and the rerun scores only the per-frame pass, to the same report."""
    from test_video import actors
    from unmask.infer.pipeline import Restorer
    from unmask.measure.clips import clip_frames
    from unmask.measure.flicker import evaluate_clip, evaluate_frames
    from unmask.measure.resume import UnitState

    frames = list(clip_frames(actors(stills, second=False), (192, 144), 0.6, 25))
    n = len(frames)
    restorer = Restorer(tiny_models, "eyes", finder=finder)

    def same(a: object, b: object) -> None:
        assert a.to_dict() == b.to_dict()  # type: ignore[attr-defined]
        for m in a.methods:  # type: ignore[attr-defined]
            x, y = a.methods[m], b.methods[m]  # type: ignore[attr-defined]
            assert x.psnr == y.psnr and (x.flicker.change, x.flicker.count) == (y.flicker.change, y.flicker.count)

    side_by_side = evaluate_frames(iter(frames), restorer)
    given: list = []
    whole = evaluate_clip(lambda marks: given.append(marks) or iter(frames), restorer)
    assert list(whole.methods) == ["steady", "per-frame", "telea", "none"] and whole.frames == n
    assert given[0] is None and given[1] == [f.landmarks for f in frames]  # the per-frame pass: the same censors
    assert whole.methods["steady"].frames_restored > 0
    same(whole, side_by_side)

    steps = _steps(monkeypatch, stop_at=5)
    with pytest.raises(KeyboardInterrupt):
        evaluate_clip(lambda marks: iter(frames), restorer, state=UnitState.open("eval", "k", tmp_path))
    state = UnitState.open("eval", "k", tmp_path)
    assert list(state.done) == ["steady"] and steps == {True: n, False: 5}

    steps = _steps(monkeypatch)
    seen: list[int] = []
    resumed = evaluate_clip(lambda marks: iter(frames), restorer, on_frame=seen.append, state=state)
    assert steps == {True: 0, False: n}  # only the per-frame pass was scored
    assert seen == list(range(n + 1, 2 * n + 1))
    same(resumed, whole)
    assert list(UnitState.open("eval", "k", tmp_path).done) == ["steady", "per-frame"]


def test_cli_eval_clip_resumes_and_a_changed_option_starts_afresh(cli, stills, finder, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """`unmask eval CLIP`: interrupted (exit 130), the rerun says "resumed", scores only the pass stopped, prints the
    uninterrupted result and removes its journal; the same clip with another --seed does not take the journal. The
    per-frame pass after the steady one draws the censors at the landmarks the steady pass found (no face search),
    the resumed one finds them again: the same frames."""
    from test_video import actors
    from unmask.measure.clips import clip_frames, write_clip
    from unmask.measure.flicker import censored_frames

    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path / "cache"))
    journals = tmp_path / "cache" / "eval"
    clip = tmp_path / "clean.mkv"
    write_clip(clip, clip_frames(actors(stills, second=False), (192, 144), 0.4, 25), 25, censored=False)
    found = list(censored_frames(clip, finder, "bar", 0))
    drawn = list(censored_frames(clip, finder, "bar", 0, [f.landmarks for f in found]))
    assert len(found) == len(drawn) == 10 and all(f.hole.any() for f in found)
    for a, b in zip(found, drawn):
        assert np.array_equal(a.censored, b.censored) and np.array_equal(a.hole, b.hole) and a.time == b.time
    args = ("eval", clip, "--region", "eyes", "--json", "--threads", "1")
    whole = cli(*args)
    assert whole.exit_code == 0, whole.stderr
    assert "resumed" not in whole.stderr and not list(journals.glob("*"))

    steps = _steps(monkeypatch, stop_at=3)
    res = cli(*args)
    assert res.exit_code == 130 and "the finished passes (steady, then per-frame) are kept" in res.stderr, res.stderr
    assert len(list(journals.glob("*.jsonl"))) == 1
    steps = _steps(monkeypatch)
    res = cli(*args)
    assert res.exit_code == 0, res.stderr
    assert "resumed: the steady pass already scored" in res.stderr and steps[True] == 0 and steps[False] > 0
    assert json.loads(res.stdout) == json.loads(whole.stdout)
    assert not list(journals.glob("*"))

    _steps(monkeypatch, stop_at=3)
    assert cli(*args).exit_code == 130
    steps = _steps(monkeypatch)
    res = cli(*args[:-2], "--seed", "1", "--threads", "1")
    assert res.exit_code == 0 and "resumed" not in res.stderr and steps[True] > 0, res.stderr


# -- unmask bench --video: each clip is a section ---------------------------------------------------------------------
def test_bench_video_keeps_its_finished_clips_and_times_the_rest(
    cli, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the 4-face clip is timed keeps the 1-face clip; the rerun times only the 4-face clip (smaller
    clips than the command's 720p ones here, to keep the test short); another --threads times both afresh."""
    pytest.importorskip("av")
    pytest.importorskip("mediapipe", reason="mediapipe 0.10.21 is not installed (no wheel for this Python)")
    from unmask.measure import video_bench

    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path / "cache"))
    real = video_bench.bench_clip
    timed: list[int] = []
    stop = [True]

    def small(restorer: object, stills: object, folder: Path, faces: int, *a: object, **k: object) -> object:
        if stop[0] and faces == 4:
            raise KeyboardInterrupt
        timed.append(faces)
        return real(restorer, stills, folder, faces, *a, **{**k, "size": (256, 192), "seconds": 0.2})  # type: ignore

    monkeypatch.setattr(video_bench, "bench_clip", small)
    args = ("bench", "--video", "--model", tiny, "--json", "--threads", "1")
    res = cli(*args)
    assert res.exit_code == 130 and "sections measured so far are kept" in res.stderr, res.stderr
    (state,) = (tmp_path / "cache" / "bench").glob("*.json")
    kept = json.loads(state.read_text())["sections"]
    assert list(kept) == ["video-1"] and timed == [1]

    stop[0] = False
    res = cli(*args)
    assert res.exit_code == 0, res.stderr
    assert "resumed: video-1 already measured" in res.stderr and timed == [1, 4]
    clips = json.loads(res.stdout)["clips"]
    first = json.loads(json.dumps(video_bench.VideoBench(**kept["video-1"]).to_dict()))
    assert clips[0] == first  # the first run's numbers, exactly
    assert [c["faces"] for c in clips] == [1, 4] and clips[1]["frames"] == 5
    assert not state.exists()

    stop[0] = True
    assert cli(*args).exit_code == 130
    stop[0] = False
    res = cli(*args[:-1], "2")
    assert res.exit_code == 0 and "resumed" not in res.stderr and timed == [1, 4, 1, 1, 4], res.stderr
