"""Quality of restored video: hole PSNR per frame and flicker, steady against per-frame restoring. Never prints.

**Flicker** of a video inside a hole is the mean absolute frame-to-frame change of its pixels there: for each pair of
consecutive frames, over the pixels the censor covers in either frame, ``|frame(t) - frame(t-1)|`` averaged over
pixels, colour channels and pairs (grey levels). The **flicker ratio** of a method is the flicker of its restored
video divided by the flicker of the original, clean video over the same pixels: 1 means the restored region
changes as much as the real face did (motion included), above 1 that it changes more: it flickers. A censored
video that is left as it is scores far below 1 where the censor is flat.

:func:`evaluate_frames` scores these methods on a sequence of (clean, censored, censor pixels) frames:

* ``steady``: :class:`unmask.infer.video.steady.VideoRestorer` as ``unmask clip.mp4`` runs it;
* ``per-frame``: every frame restored on its own (``steady=False``), the naive baseline;
* ``telea``: OpenCV's Telea given each frame's true censor pixels (the fair classic baseline of ``unmask eval``);
* ``none``: the censored video itself.

:func:`evaluate_clip` scores the same methods in passes over the frames (:data:`PASSES`), each kept whole by a
:class:`unmask.measure.resume.UnitState` when it ends: an interrupted ``unmask eval CLIP`` resumes from its finished
passes. Every frame of a pass depends on the frames before it (the tracker's smoothing, the blend with the last
crop), so a pass is the smallest unit whose result a rerun can take over unchanged; a pass stopped halfway is scored
afresh. The methods do not share state, so the passes give the numbers the methods give side by side.

:func:`censored_frames` turns a clean video file into such a sequence (each face found on the clean frame,
censored at its landmarks with the same randomised censor on every frame), for ``unmask eval CLIP``;
:func:`unmask.measure.clips.clip_frames` gives the synthetic clips of the tests and of ``unmask bench``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.measure.metrics import psnr_hole
from unmask.infer.pipeline import Restorer
from unmask.infer.video.settings import VideoSettings
from unmask.infer.video.steady import VideoRestorer
from unmask.measure.clips import SynthFrame

METHODS = ("steady", "per-frame", "telea", "none")

PASSES = {"steady": ("steady", "telea", "none"), "per-frame": ("per-frame",)}
"""The passes of :func:`evaluate_clip` and the methods each scores; the first also measures the clean video."""

Marks = list[list[np.ndarray]]
"""Each frame's faces' landmarks (478x2 float32, frame pixels), as :attr:`SynthFrame.landmarks` holds them."""

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.resume import UnitState


@dataclass
class Flicker:
    """Running sums of the frame-to-frame change inside the holes, for one video."""

    change: float = 0.0
    count: int = 0
    _prev: np.ndarray | None = field(default=None, repr=False)

    def add(self, frame: np.ndarray, pair_hole: np.ndarray | None) -> None:
        """``frame`` (HxWx3 uint8) follows the previous one; ``pair_hole`` (HxW bool): pixels to measure."""
        if self._prev is not None and pair_hole is not None and pair_hole.any():
            d = np.abs(frame[pair_hole].astype(np.int16) - self._prev[pair_hole].astype(np.int16))
            self.change += float(d.sum())
            self.count += int(d.size)
        self._prev = frame

    @property
    def mean(self) -> float:
        """Mean change per pixel and channel (grey levels)."""
        return self.change / self.count if self.count else 0.0


@dataclass
class MethodScore:
    """One method on one clip: hole PSNR per frame (frames with a censor) and the flicker sums."""

    name: str
    psnr: list[float] = field(default_factory=list)
    flicker: Flicker = field(default_factory=Flicker)
    frames_restored: int = 0

    def to_dict(self, clean: Flicker) -> dict[str, Any]:
        p = np.array(self.psnr) if self.psnr else np.zeros(1)
        return {"method": self.name, "psnr_mean": round(float(p.mean()), 3), "psnr_min": round(float(p.min()), 3),
                "flicker": round(self.flicker.mean, 3), "flicker_ratio": round(ratio(self.flicker, clean), 3),
                "frames_restored": self.frames_restored}  # fmt: skip


def ratio(restored: Flicker, clean: Flicker) -> float:
    """Flicker of a restored video over the clean video's, on the same pixels (``inf`` when the clean one is still)."""
    return restored.mean / clean.mean if clean.mean > 0 else float("inf")


@dataclass
class VideoEvalReport:
    """Scores of :data:`METHODS` on one clip. ``frames``: frames scored; ``censored``: frames with a censor;
    ``clean``: the original's flicker; ``above_telea``: frames where the steady path's hole PSNR beats Telea's."""

    frames: int
    censored: int
    clean: Flicker
    methods: dict[str, MethodScore]

    @property
    def steady_ratio(self) -> float:
        return ratio(self.methods["steady"].flicker, self.clean)

    @property
    def naive_ratio(self) -> float:
        return ratio(self.methods["per-frame"].flicker, self.clean)

    def above(self, method: str = "steady", other: str = "telea") -> int:
        """Frames where ``method``'s hole PSNR is above ``other``'s."""
        return int(sum(a > b for a, b in zip(self.methods[method].psnr, self.methods[other].psnr)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "censored_frames": self.censored,
            "clean_flicker": round(self.clean.mean, 3),
            "steady_above_telea": self.above(),
            "rows": [m.to_dict(self.clean) for m in self.methods.values()],
        }


def evaluate_frames(frames: Iterable[SynthFrame], restorer: Restorer, settings: VideoSettings | None = None,
                    on_frame: Callable[[int], None] | None = None) -> VideoEvalReport:  # fmt: skip
    """Scores :data:`METHODS` on ``frames`` (clean, censored and censor pixels per frame, each shown at its
    ``time``), side by side in one pass. One frame is in memory at a time."""
    return _evaluate(frames, restorer, settings, METHODS, on_frame)


def evaluate_clip(frames: Callable[[Marks | None], Iterable[SynthFrame]], restorer: Restorer,
                  settings: VideoSettings | None = None, on_frame: Callable[[int], None] | None = None,
                  state: UnitState | None = None) -> VideoEvalReport:  # fmt: skip
    """The report of :func:`evaluate_frames`, scored in :data:`PASSES`, each over the frames ``frames(marks)``
    yields afresh: ``marks``, each frame's ``landmarks`` of the first pass scored in this call (None before it), lets
    the later passes draw the same censors without searching for the faces again (:func:`censored_frames`; about
    4 KB per face and frame held). A pass finished in ``state`` (by an interrupted run) is taken from it, each pass
    scored is kept there. ``on_frame(n)``: frames done over all passes."""
    parts: list[VideoEvalReport] = []
    done = 0
    marks: Marks | None = None
    for name, methods in PASSES.items():
        record = None if state is None else state.done.get(name)
        if record is not None:
            part = _unpack(record)
        else:
            count = None if on_frame is None else (lambda n, done=done: on_frame(done + n))
            seen: Marks | None = [] if marks is None else None
            part = _evaluate(frames(marks), restorer, settings, methods, count, seen)
            marks = marks if seen is None else seen
            if state is not None:
                state.add(name, _pack(part))
        parts.append(part)
        done += part.frames
    first = parts[0]
    scores = {m: s for part in parts for m, s in part.methods.items()}
    return VideoEvalReport(first.frames, first.censored, first.clean, {m: scores[m] for m in METHODS})


def _evaluate(frames: Iterable[SynthFrame], restorer: Restorer, settings: VideoSettings | None,
              methods: Iterable[str], on_frame: Callable[[int], None] | None,
              marks: Marks | None = None) -> VideoEvalReport:  # fmt: skip
    """Scores ``methods`` (of :data:`METHODS`) side by side in one pass over ``frames``; each frame's landmarks are
    appended to ``marks`` (when given)."""
    from unmask.measure.baselines import Baseline

    settings = settings or VideoSettings()
    telea = Baseline("telea")
    scores = {m: MethodScore(m) for m in methods}
    clean = Flicker()
    prev_hole: np.ndarray | None = None
    n = censored = 0
    with contextlib.ExitStack() as stack:
        restorers = {m: stack.enter_context(VideoRestorer(restorer, VideoSettings(**{**settings.__dict__,
                     "steady": m == "steady"}))) for m in scores if m in ("steady", "per-frame")}  # fmt: skip
        for fr in frames:
            hole = fr.hole > 0
            pair = hole if prev_hole is None else hole | prev_hole
            outputs = {m: r.step(fr.censored, fr.time) for m, r in restorers.items()}
            images = {k: v.rgb for k, v in outputs.items()}
            if "telea" in scores:
                images["telea"] = telea.inpaint_photo(fr.censored, fr.hole) if hole.any() else fr.censored
            if "none" in scores:
                images["none"] = fr.censored
            _score(fr, hole, pair, clean, scores, images, outputs)
            if marks is not None:
                marks.append(fr.landmarks)
            censored += bool(hole.any())
            prev_hole = hole
            n += 1
            if on_frame is not None:
                on_frame(n)
    return VideoEvalReport(n, censored, clean, scores)


def _score(fr: SynthFrame, hole: np.ndarray, pair: np.ndarray, clean: Flicker, scores: dict[str, MethodScore],
           images: dict[str, np.ndarray], outputs: dict[str, Any]) -> None:  # fmt: skip
    """Adds one frame's ``images`` (per method) to ``scores``, and the clean frame to ``clean``."""
    clean.add(fr.clean, pair)
    for name, img in images.items():
        s = scores[name]
        s.flicker.add(img, pair)
        if hole.any():
            s.psnr.append(psnr_hole(img, fr.clean, fr.hole))
        if name in outputs and outputs[name].restored:
            s.frames_restored += 1


def _pack(part: VideoEvalReport) -> dict[str, Any]:
    """One pass's report as JSON, every number exact (its flicker as the sums, not their mean)."""
    return {"frames": part.frames, "censored": part.censored, "clean": [part.clean.change, part.clean.count],
            "methods": {m: {"psnr": [float(p) for p in s.psnr], "flicker": [s.flicker.change, s.flicker.count],
                            "frames_restored": s.frames_restored} for m, s in part.methods.items()}}  # fmt: skip


def _unpack(d: dict[str, Any]) -> VideoEvalReport:
    methods = {m: MethodScore(m, list(s["psnr"]), Flicker(*s["flicker"]), s["frames_restored"])
               for m, s in d["methods"].items()}  # fmt: skip
    return VideoEvalReport(d["frames"], d["censored"], Flicker(*d["clean"]), methods)


def censored_frames(path: str | os.PathLike[str], finder: Any, kind: str, seed: int = 0,
                    marks: Sequence[list[np.ndarray]] | None = None) -> Iterator[SynthFrame]:  # fmt: skip
    """The frames of the clean video ``path`` with every face (``finder``: a FaceFinder; detected on every frame
    and followed by :class:`unmask.infer.video.track.Tracker`, so a face the detector misses on one frame is still
    censored) censored with ``kind`` at its smoothed landmarks, as an editor's tracked censor moves, with the same
    randomised censor (``seed``) on every frame. ``marks``: each frame's ``landmarks`` as an earlier pass over the
    same clip gave them: the same censors drawn again, no face searched for."""
    from unmask.infer.censors import draw_censor
    from unmask.infer.video.stream import VideoReader
    from unmask.infer.video.track import Tracker

    tracker = Tracker(finder, detect_every=1) if marks is None else None
    with VideoReader(path) as reader:
        for i, frame in enumerate(reader.frames()):
            if tracker is not None:
                faces = [track.face.landmarks for track in tracker.step(frame.rgb, frame.time)]
            else:
                faces = list(marks[i]) if i < len(marks) else []  # type: ignore[index,arg-type]
            censored = frame.rgb.copy()
            hole = np.zeros(frame.rgb.shape[:2], np.uint8)
            for landmarks in faces:
                censored, occ = draw_censor(censored, landmarks, kind, np.random.default_rng(seed))
                hole |= occ
            yield SynthFrame(frame.rgb, censored, hole, frame.pts or 0, faces, frame.time)
