"""The video formats unmask reads and writes: names and numbers only (no PyAV import), so the command line can
show them without loading anything."""

from __future__ import annotations

import os
from pathlib import Path

VIDEO_EXTENSIONS: dict[str, str] = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
}
"""Video file extensions (lower case) and the FFmpeg container each is written as."""

CODECS: dict[str, str] = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}
"""``--codec`` names and the FFmpeg encoder each uses (all take a CRF)."""

PRESET = {"h264": "veryfast", "hevc": "veryfast"}
"""x264/x265 speed preset. On the 720p benchmark clip at CRF 18, x264 ``medium`` took 56 ms of CPU per frame for
39.1 dB against the frames it was given, ``veryfast`` 23 ms for 38.4 dB and a 15% smaller file: encoding is a
large share of a frame's budget on two cores, so the faster preset (a lower ``--crf`` buys the decibel back)."""

DEFAULT_CODEC = "h264"
WEBM_CODEC = "vp9"  # WebM holds only VP8/VP9/AV1
DEFAULT_CRF = 18
CODEC_MAX_CRF: dict[str, int] = {"h264": 51, "hevc": 51, "vp9": 63, "av1": 63}
"""The largest CRF each codec's encoder takes (x264 and x265: 0-51; libvpx-vp9 and SVT-AV1: 0-63)."""
MAX_CRF = max(CODEC_MAX_CRF.values())
"""Default encoder and constant rate factor (H.264 at CRF 18 is visually lossless for most footage); the largest
CRF any of :data:`CODECS` takes (each codec's own limit: :data:`CODEC_MAX_CRF`)."""


def is_video_name(name: str | os.PathLike[str]) -> bool:
    """Whether ``name`` has a video extension unmask reads (:data:`VIDEO_EXTENSIONS`, any case)."""
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS


def default_codec(suffix: str) -> str:
    """The ``--codec`` used for an output with extension ``suffix`` when none is given."""
    return WEBM_CODEC if VIDEO_EXTENSIONS.get(suffix.lower()) == "webm" else DEFAULT_CODEC
