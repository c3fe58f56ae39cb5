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

:func:`censored_frames` turns a clean video file into such a sequence (each face found on the clean frame,
censored at its landmarks with the same randomised censor on every frame), for ``unmask eval CLIP``;
:func:`unmask.measure.clips.clip_frames` gives the synthetic clips of the tests and of ``unmask bench``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unmask.measure.metrics import psnr_hole
from unmask.infer.pipeline import Restorer
from unmask.infer.video.settings import VideoSettings
from unmask.infer.video.steady import VideoRestorer
from unmask.measure.clips import SynthFrame

METHODS = ("steady", "per-frame", "telea", "none")


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
    ``time``). One frame is in memory at a time."""
    settings = settings or VideoSettings()
    with VideoRestorer(restorer, VideoSettings(**{**settings.__dict__, "steady": True})) as steady, \
            VideoRestorer(restorer, VideoSettings(**{**settings.__dict__, "steady": False})) as naive:  # fmt: skip
        return _evaluate(frames, steady, naive, on_frame)


def _evaluate(frames: Iterable[SynthFrame], steady: VideoRestorer, naive: VideoRestorer,
              on_frame: Callable[[int], None] | None) -> VideoEvalReport:  # fmt: skip
    from unmask.measure.baselines import Baseline

    telea = Baseline("telea")
    scores = {m: MethodScore(m) for m in METHODS}
    clean = Flicker()
    prev_hole: np.ndarray | None = None
    n = censored = 0
    for fr in frames:
        hole = fr.hole > 0
        pair = hole if prev_hole is None else hole | prev_hole
        outputs = {
            "steady": steady.step(fr.censored, fr.time),
            "per-frame": naive.step(fr.censored, fr.time),
        }
        images = {k: v.rgb for k, v in outputs.items()}
        images["telea"] = telea.inpaint_photo(fr.censored, fr.hole) if hole.any() else fr.censored
        images["none"] = fr.censored
        clean.add(fr.clean, pair)
        for name, img in images.items():
            s = scores[name]
            s.flicker.add(img, pair)
            if hole.any():
                s.psnr.append(psnr_hole(img, fr.clean, fr.hole))
            if name in outputs and outputs[name].restored:
                s.frames_restored += 1
        censored += bool(hole.any())
        prev_hole = hole
        n += 1
        if on_frame is not None:
            on_frame(n)
    return VideoEvalReport(n, censored, clean, scores)


def censored_frames(path: str | os.PathLike[str], finder: Any, kind: str, seed: int = 0) -> Iterator[SynthFrame]:
    """The frames of the clean video ``path`` with every face (``finder``: a FaceFinder; detected on every frame
    and followed by :class:`unmask.infer.video.track.Tracker`, so a face the detector misses on one frame is still
    censored) censored with ``kind`` at its smoothed landmarks, as an editor's tracked censor moves, with the same
    randomised censor (``seed``) on every frame."""
    from unmask.infer.censors import draw_censor
    from unmask.infer.video.stream import VideoReader
    from unmask.infer.video.track import Tracker

    tracker = Tracker(finder, detect_every=1)
    with VideoReader(path) as reader:
        for frame in reader.frames():
            censored = frame.rgb.copy()
            hole = np.zeros(frame.rgb.shape[:2], np.uint8)
            marks = []
            for track in tracker.step(frame.rgb, frame.time):
                censored, occ = draw_censor(censored, track.face.landmarks, kind, np.random.default_rng(seed))
                hole |= occ
                marks.append(track.face.landmarks)
            yield SynthFrame(frame.rgb, censored, hole, frame.pts or 0, marks, frame.time)
