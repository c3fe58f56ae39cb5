"""The video parts of ``unmask eval CLIP`` and ``unmask bench --video``: thin, they call :mod:`unmask.infer.video` and
render what it returns. Interrupted, the rerun of the same command resumes: ``eval CLIP`` with the passes scored so far
(:func:`unmask.measure.flicker.evaluate_clip`), ``bench --video`` with the clips timed so far (sections of a
:class:`unmask.measure.bench.BenchState`)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from unmask.cli._common import EXIT_OK, fail, interrupted, out, photos_or_fail, safe, say
from unmask.cli.progress import Counter

FRAMES = ("bar", "count", "frames", "eta")
"""Columns of a frames bar, after its label."""


def eval_video(clip: Path, region: str, kind: str, models: list[str] | None, seed: int, as_json: bool,
               device: str, threads: int) -> int:  # fmt: skip
    """``unmask eval CLIP``: each face of the clean video censored on every frame, restored steadily and frame by
    frame; hole PSNR against Telea and the flicker ratio of each."""
    from rich.table import Table

    from unmask.cli._common import wide_console
    from unmask.cli.run import _load_models
    from unmask.infer.pipeline import Restorer
    from unmask.measure.flicker import PASSES, censored_frames, evaluate_clip
    from unmask.infer.video.stream import VideoError, VideoReader

    if models and len(models) > 1:
        fail("a video is evaluated with one model (give one --model)")
    loaded = _load_models(models[0] if models else None, region, device, threads)
    try:
        with VideoReader(clip) as r:
            total = r.info.frames
    except VideoError as e:
        fail(f"{clip}: {e}", 1)
    state, problem = _clip_state(clip, loaded, region, kind, seed, device, threads)
    kept = sum(state.done[p]["frames"] for p in state.done)
    try:
        with Restorer(loaded, region) as restorer, \
                Counter(total * len(PASSES), "evaluating", *FRAMES, unit="frames", completed=kept) as bar:  # fmt: skip
            report = evaluate_clip(lambda marks: censored_frames(clip, restorer.finder, kind, seed, marks), restorer,
                                   on_frame=bar.count, state=state)  # fmt: skip
    except VideoError as e:
        fail(f"{clip}: {e}", 1)
    except KeyboardInterrupt:
        interrupted(f"rerun the same command to go on: the finished passes ({', then '.join(PASSES)}) are kept, "
                    "the one stopped is scored afresh")  # fmt: skip
    data = report.to_dict()
    data["clip"], data["region"], data["censor"], data["model"] = (
        str(clip),
        region,
        kind,
        ",".join(m.name for m in loaded.values()),
    )
    if as_json:
        print(json.dumps(data), flush=True)
        return _done(state, problem)
    t = Table(title=f"{safe(clip.name)}: {report.frames} frames, {report.censored} with a {kind} censor; flicker of the "
                    f"original in the holes {report.clean.mean:.2f} grey levels per frame")  # fmt: skip
    for c in ("method", "hole PSNR dB (mean)", "worst frame", "flicker", "flicker ratio", "frames restored"):
        t.add_column(c, justify="left" if c == "method" else "right")
    for row in data["rows"]:
        t.add_row(row["method"], f"{row['psnr_mean']:.2f}", f"{row['psnr_min']:.2f}", f"{row['flicker']:.2f}",
                  f"{row['flicker_ratio']:.2f}", str(row["frames_restored"]))  # fmt: skip
    wide_console(out).print(t)
    say(
        f"steady: hole PSNR above Telea's on {report.above()} of {report.censored} censored frames; flicker ratio "
        f"{report.steady_ratio:.2f}, per-frame baseline {report.naive_ratio:.2f} (the target: benchmarks/targets.py)",
        out,
    )
    return _done(state, problem)


def _clip_state(clip: Path, loaded: dict, region: str, kind: str, seed: int, device: str, threads: int) -> Any:
    """The passes an interrupted run of this very command (clip file, models, options) scored, and why none can be
    kept (None: they can); says "resumed" when there are some."""
    import dataclasses

    from unmask.infer.video.settings import VideoSettings
    from unmask.measure.resume import UnitState, method_identity, photo_identities, state_key

    key = state_key({"clip": [str(clip.resolve()), photo_identities([clip])], "region": region, "censor": kind,
                     "models": [[r, method_identity(m)] for r, m in loaded.items()], "seed": seed, "device": device,
                     "threads": threads, "video": dataclasses.asdict(VideoSettings())})  # fmt: skip
    state = UnitState.open("eval", key)
    problem = None if state.done else state.check()
    if state.done:
        say(f"resumed: the {', '.join(state.done)} pass already scored (by an interrupted run of this command)")
    elif problem is not None:
        say(f"note: no resume journal ({problem}): if interrupted, this run starts over")
        state.error = problem
    return state, problem


def _done(state: Any, problem: str | None) -> int:
    """The result is out: the journal goes (the next run starts afresh), and a journal that could not be written is
    said."""
    state.remove()
    if state.error and state.error != problem:
        say(f"note: the resume journal could not be written ({state.error})")
    return EXIT_OK


def bench_videos(folder: Path | None, inpainter: Any, region: str, as_json: bool, report: Any, state: Any) -> int:
    """``unmask bench --video``: 720p clips with 1 and 4 censored faces restored file to file, per stage, into
    ``report`` (a VideoBenchReport); each clip timed is kept in ``state`` (a BenchState, removed by the caller once
    the result is out), and one kept there by an interrupted run is not timed again."""
    from rich.table import Table

    from unmask.cli._common import wide_console
    from unmask.measure import video_bench
    from unmask.measure.bench import temp_dir
    from unmask.measure.memory import MIB
    from unmask.infer.pipeline import Restorer
    from unmask.spec import KIND_REGION
    from unmask.measure.video_bench import FACE_COUNTS, FPS, SECONDS, SIZE
    from unmask.infer.video.restore import STAGES

    kind = next(k for k, r in KIND_REGION.items() if r == region)
    name, threads = report.model, report.threads
    with Restorer({region: inpainter}, region) as restorer, temp_dir() as tmp:
        stills = _stills(folder, restorer.finder, report.notes)
        with Counter(int(SECONDS * FPS), "restoring", *FRAMES, unit="frames") as bar:
            for k in FACE_COUNTS:
                clip = partial(video_bench.bench_clip, restorer, stills, tmp, k, censor=kind, on_frame=bar.count)
                report.clips.append(state.section(f"video-{k}", report, clip))
    if as_json:
        print(json.dumps(report.to_dict()), flush=True)
        return EXIT_OK
    con = wide_console(out)
    load = "" if report.load is None else f"; load average {report.load[0]:.1f} at the start"
    say(f"model {name}, {threads} threads{load}", con)
    t = Table(title=f"video, file to file ({SIZE[0]}x{SIZE[1]}, {SECONDS:g} s at {FPS} fps, {kind} "
                    "censors): ms per frame")  # fmt: skip
    for c in ("faces", "fps", *STAGES, "CPU ms (all threads)", "MiB after 1 s", "MiB at the end", "peak MiB"):
        t.add_column(c, justify="right")
    for c in report.clips:
        t.add_row(str(c.faces), f"{c.fps:.2f}", *(f"{c.ms_per_frame(s):.1f}" for s in STAGES),
                  f"{c.cpu_ms_per_frame:.0f}", *(f"{v / MIB:.0f}" for v in (c.rss_second, c.rss_end, c.rss_peak)))  # fmt: skip
    con.print(t)
    for note in report.notes:
        say(f"note: {note}", con)
    return EXIT_OK


def _stills(folder: Path | None, finder: Any, notes: list) -> list:
    """(photo, landmarks) of the first photos of ``folder`` holding a face (up to 4), else the astronaut."""
    from unmask.infer.face.photos import photo_faces

    if folder is None:
        from skimage import data

        notes.append("no folder given: clips made of scikit-image's astronaut portrait")
        rgb = data.astronaut()
        return [(rgb, finder.search(rgb).faces[0].landmarks)]
    stills = []
    for rgb, faces in photo_faces(photos_or_fail(folder, 50), finder):
        if faces:
            stills.append((rgb, faces[0].landmarks))
        if len(stills) == 4:
            break
    if not stills:
        fail(f"{folder}: no photo with a face found")
    return stills
