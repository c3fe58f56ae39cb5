"""Speed and memory of the video path (``unmask bench --video``). Never prints; the command renders.

For each face count (1 and 4 by default) a synthetic 720p clip is made from still photos (:mod:`unmask.measure.clips`:
the faces move, each censored on every frame, a sine tone; encoded as H.264 at CRF 12 beforehand, not timed),
then restored file to file by :func:`unmask.infer.video.restore.restore_video` exactly as ``unmask clip.mp4`` does.
Reported per clip: frames per second of the whole run and seconds per frame in decode, detect (faces and
landmarks, tracking), censor (alignment and the censor finders), generator, paste, encode and finish, and the
process's resident memory (peak, sampled every 20 ms; at the start, after the first second of frames and after
the last, which shows whether it grows with the video's length) and its CPU time per frame (all threads),
which other work on the machine does not inflate as it does the wall time. The project's targets for these
numbers are in ``benchmarks/targets.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unmask.measure.memory import MIB, RssSampler, current_rss, load_average
from unmask.infer.pipeline import Restorer
from unmask.infer.video.restore import STAGES, VideoSettings, restore_video
from unmask.measure.clips import Actor, clip_frames, write_clip

SIZE = (1280, 720)
SECONDS = 4.0
FPS = 25
FACE_COUNTS = (1, 4)


@dataclass
class VideoBench:
    """One clip: ``faces`` censored faces, ``frames`` restored at ``size``; ``seconds`` of the whole run,
    ``stages`` seconds per :data:`unmask.infer.video.restore.STAGES`; resident memory at the start and at its peak (bytes);
    ``restored``: frames where a face was restored."""

    faces: int
    frames: int
    size: tuple[int, int]
    seconds: float
    stages: dict[str, float]
    rss_start: int
    rss_peak: int
    restored: int = 0
    cpu_seconds: float = 0.0
    rss_second: int = 0  # after the first second of frames
    rss_end: int = 0  # after the last frame

    def __post_init__(self) -> None:
        self.size = (int(self.size[0]), int(self.size[1]))  # a tuple again when read back from JSON (a kept clip)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_frame(self) -> float:
        """CPU time (all threads, user + system) per frame: what the frame costs whatever else the machine runs."""
        return 1000.0 * self.cpu_seconds / max(self.frames, 1)

    def ms_per_frame(self, stage: str) -> float:
        return 1000.0 * self.stages.get(stage, 0.0) / max(self.frames, 1)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            fps=round(self.fps, 2),
            ms_per_frame={s: round(self.ms_per_frame(s), 1) for s in STAGES},
            cpu_ms_per_frame=round(self.cpu_ms_per_frame, 1),
            rss_start_mib=round(self.rss_start / MIB, 1),
            rss_peak_mib=round(self.rss_peak / MIB, 1),
        )
        return d


@dataclass
class VideoBenchReport:
    clips: list[VideoBench]
    threads: int
    model: str
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float, float] | None = field(default_factory=load_average)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "threads": self.threads, "clips": [c.to_dict() for c in self.clips],
                "notes": self.notes, "load_average": None if self.load is None else [round(v, 2) for v in self.load]}  # fmt: skip


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def layout(faces: int) -> list[tuple[float, tuple[float, float]]]:
    """(height, centre) of each of ``faces`` faces on the frame: one large face, or a grid of smaller ones."""
    if faces == 1:
        return [(0.8, (0.5, 0.5))]
    cols = int(np.ceil(np.sqrt(faces)))
    rows = int(np.ceil(faces / cols))
    h = 0.85 / rows
    return [(h, ((c + 0.5) / cols, (r + 0.5) / rows)) for r in range(rows) for c in range(cols)][:faces]


def make_bench_clip(path: str | Path, stills: Sequence[tuple[np.ndarray, np.ndarray]], faces: int,
                    censor: str = "bar", size: tuple[int, int] = SIZE, seconds: float = SECONDS, fps: int = FPS) -> Path:  # fmt: skip
    """A clip of ``faces`` censored faces made from ``stills`` ((photo, landmarks), reused in turn)."""
    cast = [Actor(stills[i % len(stills)][0], stills[i % len(stills)][1], h, c, censor=censor)
            for i, (h, c) in enumerate(layout(faces))]  # fmt: skip
    write_clip(path, clip_frames(cast, size, seconds, fps, amount=0.5), fps)
    return Path(path)


def bench_video(restorer: Restorer, stills: Sequence[tuple[np.ndarray, np.ndarray]], folder: str | Path,
                counts: Sequence[int] = FACE_COUNTS, censor: str = "bar", size: tuple[int, int] = SIZE,
                seconds: float = SECONDS, settings: VideoSettings | None = None,
                on_frame: Callable[[int, int], None] | None = None) -> list[VideoBench]:  # fmt: skip
    """Restores a clip per face count in ``counts`` file to file and times it (see the module docstring)."""
    return [bench_clip(restorer, stills, folder, k, censor, size, seconds, settings, on_frame) for k in counts]


def bench_clip(restorer: Restorer, stills: Sequence[tuple[np.ndarray, np.ndarray]], folder: str | Path, faces: int,
               censor: str = "bar", size: tuple[int, int] = SIZE, seconds: float = SECONDS,
               settings: VideoSettings | None = None,
               on_frame: Callable[[int, int], None] | None = None) -> VideoBench:  # fmt: skip
    """Makes the clip of ``faces`` censored faces in ``folder``, restores it file to file and times it: one clip of
    :func:`bench_video` (``unmask bench --video`` keeps each as a section of its own)."""
    folder = Path(folder)
    clip = make_bench_clip(folder / f"clip-{faces}.mp4", stills, faces, censor, size, seconds)
    cpu = cpu_seconds()
    marks: dict[str, int] = {}

    def frame(done: int, total: int) -> None:
        if done == FPS:
            marks["second"] = current_rss()
        marks["end"] = current_rss()
        if on_frame is not None:
            on_frame(done, total)

    with RssSampler() as rss:
        stats = restore_video(clip, folder / "out" / clip.name, restorer, settings, on_frame=frame)
    return VideoBench(faces, stats.frames, size, stats.seconds, dict(stats.timings), rss.start, rss.peak,
                      stats.frames_restored, cpu_seconds() - cpu, marks.get("second", 0), marks.get("end", 0))  # fmt: skip
