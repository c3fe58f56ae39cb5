"""One video file in, one video file out (the file job): frames decoded ahead and encoded behind in their own
threads, each restored by :class:`unmask.infer.video.steady.VideoRestorer` (the per-frame policy), audio copied,
the output written to a temporary file and renamed into place with the provenance tag. Never prints."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unmask.infer.io import Provenance, temp_path
from unmask.infer.io.read import pixel_count
from unmask.infer.pipeline import Restorer, timed
from unmask.infer.video.formats import VIDEO_EXTENSIONS
from unmask.infer.video.overlap import Ahead, Behind
from unmask.infer.video.settings import VideoSettings
from unmask.infer.video.steady import FrameResult, VideoRestorer
from unmask.infer.video.stream import Frame, VideoError, VideoReader, VideoWriter, check_codec, finish

__all__ = ["STAGES", "FrameResult", "VideoRestorer", "VideoSettings", "VideoStats", "restore_video"]

STAGES = ("decode", "detect", "censor", "generator", "paste", "encode", "finish")
"""Stages of a video run, in order (``censor``: alignment and the censor finders; ``finish``: the final copy that
adds the provenance tag and renames the output into place). ``decode`` and ``encode`` run in their own threads,
beside the others (:mod:`unmask.infer.video.overlap`): their seconds overlap the rest."""


@dataclass
class VideoStats:
    """What happened to one video. ``frames``: frames written; ``frames_restored``: frames where at least one face
    was restored; ``frames_no_face``: frames where no face was seen; ``faces``: most faces restored in one frame;
    ``regions``, ``models``: what was restored with what; ``timings``: seconds per :data:`STAGES`; ``skipped``:
    the provenance tag when the input is itself an output of unmask (nothing done); ``warnings``: one line each."""

    frames: int = 0
    frames_restored: int = 0
    frames_no_face: int = 0
    faces: int = 0
    regions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: dict | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, res: FrameResult) -> None:
        self.frames += 1
        self.frames_no_face += res.faces == 0
        if res.restored:
            self.frames_restored += 1
            self.faces = max(self.faces, res.restored)
            for rep in res.reports:
                if rep.status == "restored":
                    self.regions.add(rep.region or "")
                    self.models.add(rep.model)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {
            "frames": self.frames,
            "frames_restored": self.frames_restored,
            "frames_no_face": self.frames_no_face,
            "faces": self.faces,
            "fps": round(self.fps, 2),
            "timings": {s: round(self.timings.get(s, 0.0), 3) for s in STAGES},
        }


def _write(writer: VideoWriter, item: tuple[np.ndarray, int | None] | object) -> None:
    """The writer thread's work: a restored frame (rgb, pts) encoded, an audio packet remuxed."""
    if isinstance(item, tuple):
        writer.write(*item)
    else:
        writer.copy(item)


def restore_video(source: str | os.PathLike[str], output: str | os.PathLike[str], restorer: Restorer,
                  settings: VideoSettings | None = None, tag: Callable[[VideoStats], Provenance] | None = None,
                  on_frame: Callable[[int, int], None] | None = None) -> VideoStats:  # fmt: skip
    """Restores ``source`` into ``output`` (same container; see :mod:`unmask.infer.video.stream` for what is kept).

    Frames are streamed: decoded a few ahead in one thread, encoded a few behind in another
    (:mod:`unmask.infer.video.overlap`), restored in the caller's. The encoded video goes to a temporary file next to ``output``; when at least one frame was
    restored it is copied with the provenance tag (``tag(stats)``, default: from the stats) into ``output``
    atomically, else nothing is written. Any failure or interruption leaves no ``output`` and no temporary file
    (a killed process's are removed by the next run: :func:`unmask.infer.io.remove_stale_temps`). ``on_frame(done,
    total)`` is called after each frame (``total``: the count the file declares or its duration implies, 0 when
    unknown). Raises :class:`unmask.infer.video.stream.VideoError` for a file that cannot be read or written,
    ``ValueError`` for a codec that the output's container cannot hold."""
    settings = settings or VideoSettings()
    output = Path(output)
    codec = check_codec(output.suffix, settings.codec)
    fmt = VIDEO_EXTENSIONS[output.suffix.lower()]
    stats = VideoStats()
    t0 = time.perf_counter()
    with VideoReader(source) as reader:
        info = reader.info
        if info.provenance is not None:
            stats.skipped = info.provenance
            return stats
        if info.width * info.height > settings.max_pixels:
            raise VideoError(f"frames of {info.width}x{info.height} exceed the limit of {pixel_count(settings.max_pixels)} "
                             "(raise --max-pixels to allow them)")  # fmt: skip
        if info.dropped:
            stats.warnings.append(f"{', '.join(sorted(set(info.dropped)))} stream(s) not copied (video and audio only)")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            encoded = temp_path(output)
        except OSError as e:
            raise VideoError(f"cannot write the output: {e.strerror or e}") from None
        try:
            with VideoRestorer(restorer, settings) as vr, \
                    VideoWriter(encoded, fmt, reader, codec, settings.crf, settings.threads) as writer, \
                    Ahead(reader) as items, Behind(lambda job: _write(writer, job)) as behind:  # fmt: skip
                for item in items:
                    if not isinstance(item, Frame):
                        behind.put(item)
                        continue
                    res = vr.step(item.rgb, item.time)
                    stats.add(res)
                    behind.put((res.rgb, item.pts))
                    if on_frame is not None:
                        on_frame(stats.frames, info.expected_frames)
                behind.finish()
                stats.timings["decode"], stats.timings["encode"] = items.seconds, behind.seconds
                stats.timings.update(vr.timings)
            if stats.frames_restored:
                provenance = tag(stats) if tag is not None else Provenance(
                    sorted(stats.regions), ",".join(sorted(stats.models)), "", "", stats.faces)
                with timed(stats.timings, "finish"):
                    finish(encoded, output, fmt, provenance)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(encoded)
    stats.seconds = time.perf_counter() - t0
    return stats
