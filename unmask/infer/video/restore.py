"""One video file in, one video file out (the file job): frames decoded ahead and encoded behind in their own
threads, each restored by :class:`unmask.infer.video.steady.VideoRestorer` (the per-frame policy), audio copied,
the output written to a temporary file and renamed into place with the provenance tag. Never prints."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from unmask.infer.forward import Forwarded
from unmask.infer.io import Provenance, temp_path
from unmask.infer.pipeline import FaceReport, Restorer
from unmask.infer.stages import DECODE, ENCODE, FINISH, VIDEO, timed
from unmask.infer.video.formats import VIDEO_EXTENSIONS, check_codec
from unmask.infer.video.overlap import Ahead, Behind
from unmask.infer.video.settings import VideoSettings
from unmask.infer.video.steady import FrameResult, VideoRestorer
from unmask.infer.video.stream import Frame, VideoError, VideoReader, VideoWriter, finish

__all__ = ["STAGES", "FrameResult", "RestoredWith", "VideoRestorer", "VideoSettings", "VideoStats", "restore_video"]

STAGES = VIDEO
"""Stages of a video run, in order (``censor``: alignment and the censor finders; ``finish``: the final copy that
adds the provenance tag and renames the output into place). ``decode`` and ``encode`` run in their own threads,
beside the others (:mod:`unmask.infer.video.overlap`): their seconds overlap the rest."""


@dataclass
class RestoredWith:
    """What a video's faces were restored with over its frames: ``regions`` and ``models`` (names), gathered from
    the restored faces' reports; :meth:`names` as a record and the provenance tag write them."""

    regions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)

    def add(self, reports: list[FaceReport]) -> None:
        for rep in reports:
            if rep.status == "restored":
                self.regions.add(rep.region or "")
                self.models.add(rep.model)

    def names(self) -> tuple[list[str], str]:
        """The regions, sorted, and the models' names, sorted and joined by commas."""
        return sorted(self.regions), ",".join(sorted(self.models))


@dataclass
class VideoStats:
    """What happened to one video. ``frames``: frames written; ``frames_restored``: frames where at least one face
    was restored; ``frames_no_face``: frames where no face was seen; ``faces``: most faces restored in one frame;
    ``restored_with``: what was restored with what (:class:`RestoredWith`; ``regions`` and ``models`` are its own);
    ``timings``: seconds per :data:`STAGES`; ``skipped``: the provenance tag when the input is itself an output of
    unmask (nothing done); ``warnings``: one line each.
    ``frames_declared``: the count the file declares (else its duration implies; 0: unknown), against which
    ``frames`` (every frame read is written) tells a file that ends early; ``tracks``: each face followed, by its
    number (:meth:`faces_found`); ``first``: the first frame in which a face was found (its number, its pixels as
    read, its faces' reports), for ``--show-faces``."""

    frames: int = 0
    frames_declared: int = 0
    frames_restored: int = 0
    frames_no_face: int = 0
    faces: int = 0
    restored_with: RestoredWith = field(default_factory=RestoredWith)
    regions = Forwarded("restored_with")
    models = Forwarded("restored_with")
    timings: dict[str, float] = field(default_factory=dict)
    skipped: dict | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tracks: dict[int, _Tally] = field(default_factory=dict)
    first: tuple[int, np.ndarray, list[FaceReport]] | None = None

    def add(self, res: FrameResult) -> None:
        self.frames += 1
        for rep in res.reports:
            if rep.index is not None:
                self.tracks.setdefault(rep.index, _Tally(rep.box, rep.score)).add(rep)
        self.frames_no_face += res.faces == 0
        if res.restored:
            self.frames_restored += 1
            self.faces = max(self.faces, res.restored)
            self.restored_with.add(res.reports)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def faces_found(self) -> list[dict]:
        """Every face followed, by its number (as ``--faces`` and ``--show-faces`` number them), in a photo's face
        record's shape: ``box`` and ``score`` where it was first seen, ``status`` ``restored`` when it was on at least
        one frame (else what most of its frames said), ``decision`` with its frame counts."""
        return [t.to_dict(i) for i, t in sorted(self.tracks.items())]

    def to_dict(self) -> dict:
        return {
            "frames_declared": self.frames_declared,
            "frames_read": self.frames,
            "frames": self.frames,
            "frames_restored": self.frames_restored,
            "frames_no_face": self.frames_no_face,
            "faces": self.faces,
            "fps": round(self.fps, 2),
            "timings": {s: round(self.timings.get(s, 0.0), 3) for s in STAGES},
        }


@dataclass
class _Tally:
    """One followed face over the frames it was seen in."""

    box: tuple[float, float, float, float]
    score: float
    seen: int = 0
    restored: FaceReport | None = None  # its first restored frame's report
    times: int = 0  # frames it was restored on
    other: dict[str, FaceReport] = field(default_factory=dict)  # the first report of each other status
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, rep: FaceReport) -> None:
        self.seen += 1
        if rep.status == "restored":
            self.times += 1
            self.restored = self.restored or rep
        else:
            self.other.setdefault(rep.status, rep)
            self.counts[rep.status] = self.counts.get(rep.status, 0) + 1

    def to_dict(self, index: int) -> dict:
        if self.restored is not None:
            rep, text = self.restored, f"restored on {self.times} of {self.seen} frames"
        else:
            status = max(self.counts, key=lambda k: self.counts[k])
            rep, text = self.other[status], f"on {self.counts[status]} of {self.seen} frames"
        out = FaceReport(self.box, self.score, rep.region, f"{rep.decision} ({text})", rep.status, rep.model, index)
        return out.to_dict()


def _short_read(info_frames: int, declared: int, read: int, reader: VideoReader) -> str | None:
    """A warning when fewer frames were read than the file declares (``info_frames``: the count it declares, 0 when
    ``declared`` is only what its duration implies, which may be a frame or two off), or packets were damaged."""
    short = declared - read > (0 if info_frames else max(1, declared // 50))
    if not (short or reader.damaged or reader.cut):
        return None
    why = [f"{reader.damaged} damaged packet(s) skipped"] if reader.damaged else []
    why += [f"the rest of the file is unreadable: {reader.cut}"] if reader.cut else []
    why += ["the file ends early: truncated?"] if short and not reader.cut else []
    of = f"{read} of the {declared} frames the file declares were read" if declared else f"{read} frames were read"
    return f"{of} ({'; '.join(why)}): the output has those {read} frames"


def _write(writer: VideoWriter, item: tuple[np.ndarray, int | None] | object) -> None:
    """The writer thread's work: a restored frame (rgb, pts) encoded, an audio packet remuxed."""
    if isinstance(item, tuple):
        writer.write(*item)
    else:
        writer.copy(item)


def _face_warnings(restorer: Restorer, vr: VideoRestorer) -> list[str]:
    """As a photo's: faces beyond ``--max-faces``, numbers in ``--faces`` that no face had."""
    out = []
    limit = getattr(restorer.finder, "max_faces", 0)
    if vr.beyond and limit:
        out.append(f"{limit + vr.beyond} faces found in a frame but --max-faces is {limit}: only the {limit} largest "
                   f"were considered, {vr.beyond} left untouched (raise --max-faces)")  # fmt: skip
    choose = getattr(restorer, "choose", None)
    missing = choose.missing(vr.numbered) if choose is not None else []
    if missing:
        out.append(f"no face numbered {', '.join(map(str, missing))} in this video ({vr.numbered} followed)")
    return out


def first_faces(source: str | os.PathLike[str], restorer: Restorer,
                settings: VideoSettings | None = None) -> tuple[int, np.ndarray, list[FaceReport]]:  # fmt: skip
    """``--show-faces`` of a video: the first frame in which a face is found (its number, its pixels, one report
    per face, numbered as a run over the whole video numbers them), else the first frame with no reports. Nothing
    is written. Raises :class:`unmask.infer.video.stream.VideoError` as :func:`restore_video` does."""
    settings = replace(settings or VideoSettings(), detect_aside=False)
    with VideoReader(source, settings.max_pixels) as reader, VideoRestorer(restorer, settings) as vr:
        first: tuple[int, np.ndarray, list[FaceReport]] | None = None
        for frame in reader.frames():
            first = first or (frame.index, frame.rgb, [])
            reports = vr.step(frame.rgb, frame.time).reports
            if reports:
                return frame.index, frame.rgb, reports
    assert first is not None  # the reader decodes a first frame or raises
    return first


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
    with VideoReader(source, settings.max_pixels) as reader:  # the size is checked before any frame is decoded
        info = reader.info
        stats.frames_declared = info.expected_frames
        if info.provenance is not None:
            stats.skipped = info.provenance
            return stats
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
                    if stats.first is None and res.reports:
                        stats.first = (item.index, item.rgb, res.reports)
                    behind.put((res.rgb, item.pts, item.duration))
                    if on_frame is not None:
                        on_frame(stats.frames, info.expected_frames)
                behind.finish()
                stats.timings[DECODE], stats.timings[ENCODE] = items.seconds, behind.seconds
                stats.timings.update(vr.timings)
                stats.warnings += _face_warnings(restorer, vr)
            short = _short_read(info.frames, stats.frames_declared, stats.frames, reader)
            if short:
                stats.warnings.append(short)
            if stats.frames_restored:
                provenance = (
                    tag(stats) if tag is not None else Provenance(*stats.restored_with.names(), "", "", stats.faces)
                )
                with timed(stats.timings, FINISH):
                    finish(encoded, output, fmt, provenance)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(encoded)
    stats.seconds = time.perf_counter() - t0
    return stats
