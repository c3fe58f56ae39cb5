"""The video formats unmask reads and writes: names and numbers (no PyAV import), so the command line can show them
without loading anything; :func:`check_codec` (PyAV loaded when it is called) checks a choice of codec and CRF."""

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


def check_codec(suffix: str, codec: str | None, crf: int | None = None) -> str:
    """The ``--codec`` to write a ``suffix`` file with: ``codec`` (``ValueError`` naming the choices when unknown or
    when that container cannot hold it), or the container's default; ``crf``, when given, must be within that
    codec's range (:data:`unmask.infer.video.formats.CODEC_MAX_CRF`), else ``ValueError``."""
    from unmask.infer.video.pyav import load_av  # PyAV only when a video is written

    av = load_av()
    fmt = VIDEO_EXTENSIONS.get(suffix.lower())
    if fmt is None:
        raise ValueError(
            f"not a video extension: {suffix or 'none'} (unmask writes {', '.join(sorted(VIDEO_EXTENSIONS))})"
        )
    name = codec or default_codec(suffix)
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r} (choose from {', '.join(CODECS)})")
    if CODECS[name] not in av.codecs_available:
        raise ValueError(f"codec {name} is not in this build of PyAV (encoder {CODECS[name]} missing)")
    fits = [c for c in CODECS if _container_holds(fmt, c)]
    if name not in fits:
        raise ValueError(f"a {suffix} file cannot hold {name} video (choose from {', '.join(fits)})")
    if crf is not None and not 0 <= crf <= CODEC_MAX_CRF[name]:
        raise ValueError(f"--crf {crf} is out of range for {name} (0-{CODEC_MAX_CRF[name]})")
    return name


def _container_holds(fmt: str, codec: str) -> bool:
    if fmt == "webm":
        return codec in ("vp9", "av1")
    if fmt == "mov":
        return codec in ("h264", "hevc")
    if fmt == "avi":
        return codec in ("h264", "hevc")
    return True
