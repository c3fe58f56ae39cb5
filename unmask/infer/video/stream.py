"""Reading and writing videos with PyAV (FFmpeg's libraries ship in its wheels: no ``ffmpeg`` program needed).

:class:`VideoReader` streams a file: decoded frames of its first video stream, upright (the display matrix's
rotation applied, so faces stand up for detection), each with its own timestamp, interleaved with the raw packets
of its audio streams, which are copied, never decoded. :class:`VideoWriter` encodes frames back in the stored
orientation with the same size, time base and timestamps (a variable frame rate stays variable, the frame count
and duration stay the same), the same display matrix and colour description, and remuxes the audio packets as
they came. :func:`finish` copies a written file once more, packets only, to add the provenance tag to the
container's metadata (known only once every frame is done) and renames it into place atomically.

Every problem with a file is a :class:`VideoError`: one line, no path (the caller adds it).
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unmask.infer.io import Provenance, atomic_path, parse_provenance
from unmask.infer.io.read import pixel_count
from unmask.infer.video.formats import CODECS, PRESET
from unmask.infer.video.pyav import VideoError, load_av
from unmask.infer.closing import Closing

PIXEL_FORMAT = "yuv420p"
ODD_FORMAT: dict[str, str] = {"h264": "yuv444p", "hevc": "yuv444p"}
"""The pixel format of an odd-sized video for the codecs whose 4:2:0 needs even sides (x264 and x265 refuse an odd
one); VP9 and SVT-AV1 write odd sizes in 4:2:0 (:data:`PIXEL_FORMAT`). The stored size is kept exactly."""
X265_PARAMS = "log-level=error"
"""x265 writes its own log lines to stderr (23 on a normal run), past FFmpeg's log level: only errors."""
SVT_LOG = ("SVT_LOG", "1")
"""SVT-AV1 writes its own log lines to stderr too (24 on a small clip) unless its environment variable says errors
only (1); a value the user set is kept."""
LIMITED_RANGE = 1  # FFmpeg's AVCOL_RANGE_MPEG: 16-235 luma, what OpenCV's 4:2:0 conversion writes
TAG_KEY = "comment"
"""Container metadata key of the provenance tag (MP4/MOV ``\u00a9cmt``, Matroska/WebM ``COMMENT``, AVI ``ICMT``)."""

_DROP_META = ("encoder", "major_brand", "minor_version", "compatible_brands", "duration")


@dataclass
class Frame:
    """One decoded frame: ``rgb`` upright (HxWx3 uint8), ``pts`` in the stream's time base (``None`` when the
    file gives none), ``time`` in seconds and ``index`` from 0."""

    rgb: np.ndarray
    pts: int | None
    time: float
    index: int
    duration: int | None = None  # how long it is shown, in the stream's time base (None: unknown)


@dataclass
class VideoInfo:
    """What a video declares. ``width``, ``height``: stored (coded) size; ``rotation``: counter-clockwise degrees
    of the display matrix (a multiple of 90), the frames are turned upright by it; ``display_matrix``: the raw
    matrix (9 int32, FFmpeg's layout) or ``None``; ``fps``: average frame rate; ``frames``: the count the
    container declares (0 when it does not); ``duration``: seconds (``None`` when unknown); ``audio``: codec
    names of the audio streams (copied as they are); ``dropped``: kinds of the other streams (not copied);
    ``provenance``: unmask's tag when the file is an output of unmask."""

    container: str
    codec: str
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int
    duration: float | None
    rotation: int = 0
    display_matrix: tuple[int, ...] | None = None
    audio: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    provenance: dict[str, Any] | None = None
    colour: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_frames(self) -> int:
        """The declared frame count, else one estimated from the duration (0 when neither is known): for progress."""
        if self.frames:
            return self.frames
        return int(round(self.duration * float(self.fps))) if self.duration else 0


def _error(e: BaseException) -> VideoError:
    av = load_av()
    if isinstance(e, VideoError):
        return e
    if isinstance(e, av.error.InvalidDataError):
        return VideoError("not a video, or damaged (FFmpeg could not read its data)")
    if isinstance(e, FileNotFoundError):
        return VideoError("no such file")
    if isinstance(e, PermissionError):
        return VideoError("permission denied")
    if isinstance(e, IsADirectoryError):
        return VideoError("is a directory, not a video")
    if isinstance(e, av.error.FFmpegError):
        return VideoError(f"damaged or unsupported video ({getattr(e, 'strerror', None) or e})")
    if isinstance(e, OSError):
        return VideoError(f"cannot read the file: {e.strerror or e}")
    return VideoError(f"damaged or unsupported video ({type(e).__name__}: {e})")


def _display_matrix(frame: Any) -> tuple[int, ...] | None:
    side = frame.side_data
    for item in side:
        # PyAV 18.1.0 iterates the side data itself; 18.1.1 made the container a mapping whose keys are the types
        sd = item if hasattr(item, "type") else side[item]
        if sd.type.name == "DISPLAYMATRIX":
            raw = bytes(sd)
            if len(raw) == 36:
                return struct.unpack("<9i", raw)
    return None


def to_rgb(frame: Any) -> np.ndarray:
    """A decoded frame as HxWx3 uint8 RGB. 8-bit 4:2:0 frames (nearly all video) are converted by OpenCV, the
    exact inverse of how :class:`VideoWriter` converts back, so pixels left alone come back as they were up to the
    encoder's loss (FFmpeg's own conversion darkens them by about one grey level each way); other formats by
    FFmpeg."""
    if frame.format.name == PIXEL_FORMAT and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def av_packet_type() -> type:
    return load_av().Packet


def _quarter_turns(rotation: float) -> int:
    return int(round(rotation / 90.0)) % 4


class VideoReader(Closing):
    """Reads ``path`` frame by frame (never the whole video in memory). Iterating yields :class:`Frame` for each
    frame of the first video stream and the raw ``av.Packet`` of each audio packet, in file order; use as a context
    manager. ``info`` is filled on opening (the first frame is decoded to learn the display matrix)."""

    def __init__(self, path: str | os.PathLike[str], max_pixels: int | None = None) -> None:
        av = load_av()
        self.path = Path(path)
        self.max_pixels = max_pixels
        self.damaged = 0  # video packets that could not be decoded, skipped
        self.cut: str | None = None  # why reading stopped before the end of the file, if it did
        if self.path.is_dir():
            raise VideoError("is a directory, not a video")
        try:
            if self.path.stat().st_size == 0:
                raise VideoError("empty file (0 bytes)")
            self.container = av.open(str(self.path), "r")
        except Exception as e:  # noqa: BLE001 - untrusted data: every failure is one line
            raise _error(e) from None
        try:
            self.info = self._probe()
        except BaseException:
            self.container.close()
            raise

    def _probe(self) -> VideoInfo:
        c = self.container
        image = c.format.name[: -len("_pipe")] if c.format.name.endswith("_pipe") else None
        if image is not None or c.format.name == "image2":
            kind = (image or "image").upper()
            raise VideoError(f"a {kind} image, not a video (give it its image extension to restore it as a photo)")
        if not c.streams.video:
            raise VideoError("no video stream in the file")
        v = c.streams.video[0]
        self.video = v
        self.audio = list(c.streams.audio)
        ctx = v.codec_context
        fps = v.average_rate or v.guessed_rate or v.base_rate or Fraction(25)
        tb = v.time_base or Fraction(1, int(round(fps)) or 25)
        duration = float(c.duration / 1_000_000) if c.duration else (float(v.duration * tb) if v.duration else None)
        dropped = [s.type for s in c.streams if s is not v and s not in self.audio]
        meta = dict(c.metadata or {})
        info = VideoInfo(
            container=c.format.name, codec=ctx.name, width=int(ctx.width), height=int(ctx.height), fps=Fraction(fps),
            time_base=Fraction(tb), frames=int(v.frames or 0), duration=duration,
            audio=[s.codec_context.name for s in self.audio], dropped=dropped,
            provenance=parse_provenance(meta.get(TAG_KEY)) or parse_provenance(meta.get(TAG_KEY.upper())),
        )  # fmt: skip
        if info.width < 1 or info.height < 1:
            raise VideoError(f"invalid frame size {info.width}x{info.height}")
        if self.max_pixels is not None and info.width * info.height > self.max_pixels:  # before any frame is decoded
            raise VideoError(f"frames of {info.width}x{info.height} exceed the limit of {pixel_count(self.max_pixels)} "
                             "(raise --max-pixels to allow them)")  # fmt: skip
        self._items = self._demux()
        self._pending: list[Any] = []  # audio packets read before the first frame, then that frame
        for item in self._items:
            self._pending.append(item)
            if not isinstance(item, av_packet_type()):
                break
        else:
            raise VideoError("no frame could be decoded (empty or damaged video stream)")
        first = self._pending[-1]
        info.display_matrix = _display_matrix(first)
        info.rotation = int(round(first.rotation or 0)) if info.display_matrix else 0
        info.colour = {"colorspace": first.colorspace, "color_range": first.color_range, "format": first.format.name}
        return info

    def _demux(self) -> Iterator[Any]:
        """Raw decoded video frames and raw audio packets, in file order. A video packet that cannot be decoded is
        skipped (counted in :attr:`damaged`); where the file can no longer be read, reading stops there
        (:attr:`cut` says why): what decodes is restored, and the caller compares it with what the file declares."""
        av = load_av()
        packets = self.container.demux(self.video, *self.audio)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as e:  # damage in the middle of the file: the rest cannot be read
                self.cut = _error(e).args[0]
                return
            if packet.stream is self.video:
                try:
                    frames = packet.decode()  # the last, empty packet flushes the decoder
                except av.error.FFmpegError:  # a damaged packet: the frames after it may still decode
                    self.damaged += 1
                    continue
                yield from frames
            elif packet.size:
                yield packet

    def __iter__(self) -> Iterator[Frame | Any]:
        packet_type = av_packet_type()
        turns = _quarter_turns(self.info.rotation)
        tb, step = float(self.info.time_base), 1.0 / float(self.info.fps)
        index = 0
        pending, self._pending = self._pending, []
        for raw in itertools.chain(pending, self._items):
            if isinstance(raw, packet_type):
                yield raw
                continue
            if (raw.width, raw.height) != (self.info.width, self.info.height):
                raise VideoError(f"the frame size changes at frame {index} ({self.info.width}x{self.info.height} -> "
                                 f"{raw.width}x{raw.height}): a video whose size changes midway is not supported")  # fmt: skip
            try:
                rgb = to_rgb(raw)
            except Exception as e:  # noqa: BLE001 - a frame that cannot be converted
                raise _error(e) from None
            if turns:
                rgb = np.ascontiguousarray(np.rot90(rgb, turns))
            t = raw.pts * tb if raw.pts is not None else index * step
            yield Frame(rgb, raw.pts, float(t), index, raw.duration or None)
            index += 1

    def frames(self) -> Iterator[Frame]:
        """Only the frames (audio packets skipped)."""
        for item in self:
            if isinstance(item, Frame):
                yield item

    def close(self) -> None:
        self.container.close()


class VideoWriter:
    """Encodes frames into ``path`` (written as container ``fmt``) like the video of ``like``: same stored size,
    time base, timestamps, display matrix and colour description; ``codec`` (a key of :data:`CODECS`) at ``crf``.
    Audio packets given to :meth:`copy` are remuxed unchanged. ``threads``: encoder threads (0 = FFmpeg's
    choice). Use as a context manager; :meth:`close` flushes the encoder and writes the trailer."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, like: VideoReader, codec: str, crf: int,
                 threads: int = 0) -> None:  # fmt: skip
        av = load_av()
        self.info = like.info
        self._turns = (4 - _quarter_turns(self.info.rotation)) % 4
        self._cfr = fmt == "avi"
        try:
            self.container = av.open(str(path), "w", format=fmt)
        except Exception as e:  # noqa: BLE001
            raise VideoError(f"cannot create the output: {getattr(e, 'strerror', None) or e}") from None
        try:
            self._setup(like, codec, crf, threads)
        except BaseException:
            self.container.close()
            raise
        self.frames = 0
        self._last_pts: int | None = None
        self._durations: dict[int, int] = {}  # pts -> the input frame's duration, given to its packet

    def _setup(self, like: VideoReader, codec: str, crf: int, threads: int) -> None:
        info = self.info
        encoder = CODECS[codec]
        options = {"crf": str(crf)}
        if codec == "hevc":
            options["x265-params"] = X265_PARAMS
        if codec == "av1":
            os.environ.setdefault(*SVT_LOG)
        if codec == "vp9":
            options.update({"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
        if codec in PRESET:
            options["preset"] = PRESET[codec]
        if self.container.format.name == "avi" and codec in ("h264", "hevc"):
            options["bf"] = "0"  # AVI stores no presentation times: B-frames would come back out of order
        rate = info.fps if info.fps.denominator < 1_000_000 else Fraction(round(float(info.fps) * 1000), 1000)
        odd = bool(info.width % 2 or info.height % 2)
        self.pix_fmt = ODD_FORMAT.get(codec, PIXEL_FORMAT) if odd else PIXEL_FORMAT
        self._fast = not odd  # OpenCV's 4:2:0 conversion (even sides only); else FFmpeg's
        # AVI stores no timestamps, only frames at the stream's rate: its frames are numbered in a time base of 1/rate
        self.time_base = 1 / Fraction(rate) if self._cfr else info.time_base
        v = self.container.add_stream(encoder, rate=rate, options=options)
        v.width, v.height, v.pix_fmt = info.width, info.height, self.pix_fmt
        v.time_base = self.time_base
        v.codec_context.time_base = self.time_base
        if threads:
            v.codec_context.thread_count = threads
        # the input's colour matrix tag (the Y'CbCr values of pixels left alone come back as they were); the range
        # is always the limited one :func:`write` produces
        v.codec_context.color_range = LIMITED_RANGE
        if info.colour.get("colorspace") is not None:
            v.codec_context.colorspace = info.colour["colorspace"]
        if info.display_matrix is not None:
            v.set_display_matrix(list(info.display_matrix))
        v.metadata.update({k: val for k, val in dict(like.video.metadata or {}).items() if k not in _DROP_META})
        self.video = v
        self.audio = {}
        for s in like.audio:
            try:
                self.audio[s] = self.container.add_stream_from_template(s)
            except Exception as e:  # noqa: BLE001
                raise VideoError(
                    f"cannot copy the {s.codec_context.name} audio into a {self.container.format.name} file ({e})"
                ) from None
        self.container.metadata.update(
            {k: val for k, val in dict(like.container.metadata or {}).items() if k not in _DROP_META}
        )

    def write(self, rgb: np.ndarray, pts: int | None, duration: int | None = None) -> None:
        """Encodes one upright frame (HxWx3 uint8) at ``pts`` (the input frame's; ``None``: the next one), shown for
        ``duration`` (the input frame's, in the stream's time base: a variable frame rate's last frame keeps its
        length; ``None``: the muxer's guess from the frame rate)."""
        av = load_av()
        stored = np.ascontiguousarray(np.rot90(rgb, self._turns)) if self._turns else rgb
        if self._fast:
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(stored, cv2.COLOR_RGB2YUV_I420), format=PIXEL_FORMAT)
        else:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), format="rgb24").reformat(
                format=self.pix_fmt
            )
        if self._cfr:  # AVI stores no timestamps, only frames at the stream's rate: number them
            pts, duration = self.frames, None
        elif pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = (
                0
                if self._last_pts is None
                else self._last_pts + max(1, round(1 / (float(self.info.fps) * float(self.info.time_base))))
            )
        frame.pts, frame.time_base = pts, self.time_base
        self._last_pts = pts
        if duration:
            self._durations[pts] = duration
        try:
            for packet in self.video.encode(frame):
                self._mux(packet)
        except Exception as e:  # noqa: BLE001
            raise _write_error(e) from None
        self.frames += 1

    def _mux(self, packet: Any) -> None:
        duration = self._durations.pop(packet.pts, None) if packet.pts is not None else None
        if duration:
            packet.duration = duration
        self.container.mux(packet)

    def copy(self, packet: Any) -> None:
        """Remuxes an audio packet of the input unchanged."""
        out = self.audio.get(packet.stream)
        if out is None or packet.size == 0:
            return
        packet.stream = out
        try:
            self.container.mux(packet)
        except Exception as e:  # noqa: BLE001
            raise _write_error(e) from None

    def close(self) -> None:
        try:
            for packet in self.video.encode(None):
                self._mux(packet)
        except Exception as e:  # noqa: BLE001
            self.container.close()
            raise _write_error(e) from None
        self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the error being raised matters, not this one
                pass


def _write_error(e: BaseException) -> VideoError:
    if isinstance(e, OSError) and e.strerror:
        return VideoError(f"cannot write the output: {e.strerror}")
    return VideoError(f"cannot encode the output ({type(e).__name__}: {e})")


def tag_text(tag: Provenance) -> str:
    """The tag's sentence and JSON (:meth:`Provenance.to_text`) speaking of a video."""
    return tag.to_text().replace(" in this image ", " in this video ", 1)


def finish(encoded: str | os.PathLike[str], output: str | os.PathLike[str], fmt: str, tag: Provenance) -> None:
    """Copies ``encoded`` (written by :class:`VideoWriter`) into ``output`` packet by packet with the provenance tag
    in the container's metadata, atomically (:func:`unmask.infer.io.atomic_path`): ``output`` is complete or untouched."""
    av = load_av()
    with atomic_path(output) as tmp, av.open(str(encoded), "r") as src, av.open(str(tmp), "w", format=fmt) as dst:
        # opaque: the packets are copied, not re-encoded, so no encoder is opened; without it PyAV looks for an encoder
        # named after the stream's decoder, and an AV1 stream (decoded by libdav1d) failed every `--codec av1` run
        streams = {s: dst.add_stream_from_template(s, opaque=True) for s in src.streams}
        dst.metadata.update(
            {**{k: v for k, v in dict(src.metadata or {}).items() if k not in _DROP_META}, TAG_KEY: tag_text(tag)}
        )
        for packet in src.demux():
            if packet.dts is None and packet.size == 0:
                continue
            packet.stream = streams[packet.stream]
            dst.mux(packet)


def read_video_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance JSON in a video's container metadata, or ``None``; :class:`VideoError` if unreadable."""
    with VideoReader(path) as r:
        return r.info.provenance
