"""The names of the stages a photo or a video goes through, defined once: the photo path
(:mod:`unmask.infer.pipeline`, :mod:`unmask.infer.runner.job`), the video path (:mod:`unmask.infer.video`), ``unmask
bench`` (:mod:`unmask.measure.folder`, :mod:`unmask.cli.bench`) and ``benchmarks/report.py`` time and report them by
these names. Each stage's seconds are measured apart: finding the censor is not alignment, writing is not restoring.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

READ = "read"
"""A photo file read and decoded (EXIF orientation applied)."""
DECODE = "decode"
"""A video's frames decoded (its own thread; the seconds it spent)."""
DETECT = "detect"
"""Faces found and their landmarks (a video: detection, or FaceMesh tracking between detections)."""
ALIGN = "align"
"""Each face aligned to the model's crop (the similarity fit and the warp)."""
CENSOR = "censor"
"""The censor itself found at photo resolution, and its hole warped into the crop."""
GENERATOR = "generator"
"""The generator run on the batch of crops (with flip averaging, the mirrored crops too)."""
PASTE = "paste"
"""The results pasted back into the holes (tone field, grain, a mosaic's block means)."""
WRITE = "write"
"""A restored photo encoded and written with its provenance tag."""
ENCODE = "encode"
"""A video's frames encoded (its own thread; the seconds it spent)."""
FINISH = "finish"
"""A video's final file: the provenance tag added and the streams remuxed."""
OTHER = "other"
"""What is left of a run's wall time after its stages (reports only)."""

PHOTO = (READ, DETECT, ALIGN, CENSOR, GENERATOR, PASTE, WRITE)
"""The stages of a photo, in order."""
VIDEO = (DECODE, DETECT, CENSOR, GENERATOR, PASTE, ENCODE, FINISH)
"""The stages of a video, in order (a video's alignment is timed with its censor finding: the tracked faces are
aligned and searched in one step)."""
AROUND = tuple(s for s in PHOTO if s != GENERATOR)
"""The photo stages around the generator."""


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Adds the seconds the block takes to ``timings[stage]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0
