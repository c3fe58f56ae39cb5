"""What a video run is given (:class:`VideoSettings`): the encoder's choices and the per-frame policy's. Names and
numbers only: no PyAV, no numpy."""

from __future__ import annotations

from dataclasses import dataclass

from unmask.infer.io.read import DEFAULT_MAX_PIXELS
from unmask.infer.video.formats import DEFAULT_CRF
from unmask.infer.video.track import DETECT_EVERY


@dataclass
class VideoSettings:
    """``codec``: a key of :data:`unmask.infer.video.stream.CODECS` (None: H.264, VP9 for WebM); ``crf``: the encoder's
    constant rate factor; ``steady``: tracking, smoothing and blending (False: every frame on its own);
    ``detect_every``: frames between full face detections; ``detect_aside``: they run in a thread of their own, on
    a second FaceFinder, while the next frames are restored (:data:`unmask.infer.video.track.DETECT_LAG`); ``threads``: encoder threads (0: FFmpeg's choice);
    ``max_pixels``: larger frames are refused (as photos are, :data:`unmask.infer.io.DEFAULT_MAX_PIXELS`);
    ``flip_average``: :mod:`unmask.infer.flip` on every frame (off by default: it doubles the generator's share of a
    frame's time); ``retouch``: grain at the paste (off by default: grain drawn afresh per frame
    would shimmer)."""

    codec: str | None = None
    crf: int = DEFAULT_CRF
    steady: bool = True
    detect_every: int = DETECT_EVERY
    detect_aside: bool = True
    threads: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    flip_average: bool = False
    retouch: bool = False
