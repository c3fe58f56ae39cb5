"""PyAV, loaded when a video is read or written (not at import: the command line shows the video formats without
it), with FFmpeg's own log silenced; and :class:`VideoError`, the one error of the video wing. Below both the
formats (:mod:`unmask.infer.video.formats`) and the streams (:mod:`unmask.infer.video.stream`), which import it."""

from __future__ import annotations

from typing import Any

from unmask.errors import InputError


class VideoError(InputError, ValueError):
    """A video that cannot be read or written: one line naming the reason (no path: the caller adds it)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def load_av() -> Any:
    try:
        import av
    except ImportError as e:  # a core dependency, but say what is missing in one line
        raise VideoError("reading videos needs PyAV (pip install av)") from e
    av.logging.set_level(av.logging.PANIC)  # the library never prints: FFmpeg's own log lines too
    return av
