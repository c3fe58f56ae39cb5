"""Synthetic clips made from still photos, for tests, ``unmask bench`` and ``unmask eval``: nothing is downloaded.

Each face is a still photo moved over a background by a smooth similarity transform (pan, zoom and a small
rotation) and, where asked, censored on every frame with :func:`unmask.infer.censors.draw_censor` drawn at that frame's
landmarks (the still's landmarks moved by the same transform), so the censor moves with the face exactly and keeps
its shape and colour. A second face may slide in halfway. :func:`clip_frames` yields the frames with the truth
(clean frame, censored frame, the censor's pixels); :func:`write_clip` encodes them with a sine-tone audio track,
optionally a display rotation (frames stored turned) and a variable frame rate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unmask.infer.censors import draw_censor
from unmask.infer.video.formats import CODECS, VIDEO_EXTENSIONS, default_codec
from unmask.infer.video.stream import load_av

TONE_HZ = 440.0
AUDIO_RATE = 16000
AUDIO_CODEC = {"webm": "libopus", "avi": "pcm_s16le"}  # else AAC
TIME_BASE = Fraction(1, 12800)


@dataclass(frozen=True)
class Actor:
    """One face of a clip: ``photo`` (HxWx3 uint8) with its ``landmarks`` (478x2, photo pixels), shown at
    ``height`` (fraction of the clip's height), entering at ``start`` (fraction of the clip) from the right
    edge when ``start`` > 0, censored with ``censor`` (a kind of :func:`draw_censor`, or ``None``) until ``until``
    (fraction of the clip), with censor randomness ``seed`` (``None``: the nominal censor)."""

    photo: np.ndarray
    landmarks: np.ndarray
    height: float = 0.8
    centre: tuple[float, float] = (0.5, 0.5)
    start: float = 0.0
    censor: str | None = "bar"
    until: float = 1.0
    seed: int | None = None


@dataclass
class SynthFrame:
    """``clean`` and ``censored`` frames (HxWx3 uint8, upright), ``hole``: the censors' pixels (HxW uint8, 255),
    ``pts`` in :data:`TIME_BASE`, ``landmarks``: per actor on screen, its 478x2 landmarks in the frame; ``time``:
    when it is shown (seconds)."""

    clean: np.ndarray
    censored: np.ndarray
    hole: np.ndarray
    pts: int
    landmarks: list[np.ndarray]
    time: float = 0.0


def motion(t: float, amount: float = 1.0) -> tuple[float, float, float, float]:
    """(zoom factor, angle in degrees, dx, dy as fractions of the frame) at clip fraction ``t`` in [0, 1]: a slow
    pan, a zoom in and out, and a rotation of a few degrees, all smooth."""
    zoom = 1.0 + 0.12 * amount * math.sin(math.pi * t)
    angle = 6.0 * amount * math.sin(2 * math.pi * t)
    dx = 0.08 * amount * math.sin(2 * math.pi * t * 0.75)
    dy = 0.04 * amount * math.sin(2 * math.pi * t * 0.5)
    return zoom, angle, dx, dy


def _place(actor: Actor, size: tuple[int, int], t: float, amount: float) -> np.ndarray:
    """2x3 photo -> frame matrix of ``actor`` at clip fraction ``t``."""
    w, h = size
    ph, pw = actor.photo.shape[:2]
    zoom, angle, dx, dy = motion(t, amount)
    scale = actor.height * h / ph * zoom
    cx, cy = actor.centre
    if actor.start > 0:  # slides in from the right edge over a fifth of the clip
        slide = min(max((t - actor.start) / 0.2, 0.0), 1.0)
        cx = cx + (1.0 - slide) * (1.0 - cx + 0.5 * scale * pw / w)
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
    m[:, 2] += np.array([cx * w + dx * w - pw / 2, cy * h + dy * h - ph / 2])
    return m


def backdrop(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A smooth colour field with mild grain (``size`` = (w, h)): no face in it, and it codes like real footage."""
    w, h = size
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (3, 4, 3)).astype(np.uint8)
    canvas = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(-5, 6, (h, w, 1), dtype=np.int16)
    return np.clip(canvas.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def frame_times(frames: int, fps: int, vfr: bool = False) -> list[int]:
    """Timestamps in :data:`TIME_BASE` of ``frames`` frames at ``fps``; with ``vfr`` every third interval is
    doubled (a variable frame rate, as phones record in low light)."""
    step = int(TIME_BASE.denominator / fps)
    pts, t = [], 0
    for i in range(frames):
        pts.append(t)
        t += 2 * step if vfr and i % 3 == 2 else step
    return pts


def clip_frames(
    actors: Sequence[Actor],
    size: tuple[int, int] = (320, 240),
    seconds: float = 1.0,
    fps: int = 25,
    vfr: bool = False,
    amount: float = 1.0,
    seed: int = 0,
) -> Iterator[SynthFrame]:
    """The frames of a clip of ``actors`` (later ones drawn over earlier ones), one at a time."""
    w, h = size
    back = backdrop(size, seed)
    n = max(1, int(round(seconds * fps)))
    for i, pts in enumerate(frame_times(n, fps, vfr)):
        t = i / max(n - 1, 1)
        clean = back.copy()
        placed = []
        for actor in actors:
            if t < actor.start:
                continue
            m = _place(actor, size, t, amount)
            ph, pw = actor.photo.shape[:2]
            warped = cv2.warpAffine(actor.photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            inside = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)
            a = inside[..., None].astype(np.float32) / 255.0
            clean = np.clip(a * warped + (1 - a) * clean + 0.5, 0, 255).astype(np.uint8)
            lm = (actor.landmarks.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
            placed.append((actor, lm, t))
        censored = clean.copy()
        hole = np.zeros((h, w), np.uint8)
        for actor, lm, tt in placed:
            if actor.censor is not None and tt <= actor.until:
                rng = None if actor.seed is None else np.random.default_rng(actor.seed)
                censored, occ = draw_censor(censored, lm, actor.censor, rng)
                hole |= occ
        yield SynthFrame(clean, censored, hole, pts, [lm for _, lm, _ in placed], float(pts * TIME_BASE))


def write_clip(
    path: str | os.PathLike[str],
    frames: Iterator[np.ndarray | SynthFrame],
    fps: int = 25,
    pts: Sequence[int] | None = None,
    audio: bool = True,
    rotation: int = 0,
    codec: str | None = None,
    crf: int = 12,
    censored: bool = True,
) -> int:
    """Encodes ``frames`` (upright arrays, or :class:`SynthFrame` whose censored or clean frame is taken) into
    ``path`` (container from its extension) with a sine tone as long as the video, stored turned by
    ``rotation`` (counter-clockwise degrees, a multiple of 90) with the display matrix that turns them back.
    Timestamps: each SynthFrame's, else ``pts``, else regular. Returns the number of frames written."""
    av = load_av()
    suffix = os.path.splitext(str(path))[1].lower()
    fmt = VIDEO_EXTENSIONS[suffix]
    codec = codec or default_codec(suffix)
    turns = (-(rotation // 90)) % 4
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt) as out:
        v = None
        count, last = 0, 0
        samples_done = 0
        a = None
        if audio:
            a = out.add_stream(AUDIO_CODEC.get(fmt, "aac"), rate=48000 if fmt == "webm" else AUDIO_RATE)
            a.layout = "mono"
        for i, item in enumerate(frames):
            rgb = (item.censored if censored else item.clean) if isinstance(item, SynthFrame) else item
            p = (
                item.pts
                if isinstance(item, SynthFrame)
                else (pts[i] if pts is not None else i * int(TIME_BASE.denominator / fps))
            )
            tb = TIME_BASE
            if fmt == "avi":  # AVI keeps no timestamps: one tick per frame
                p, tb = i, Fraction(1, fps)
            stored = np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
            if v is None:
                opts = {"crf": str(crf)}
                if codec == "vp9":
                    opts.update({"b": "0", "deadline": "realtime", "cpu-used": "8"})
                if fmt == "avi":
                    opts["bf"] = "0"
                v = out.add_stream(CODECS[codec], rate=fps, options=opts)
                v.height, v.width = stored.shape[:2]
                v.pix_fmt = "yuv420p"
                v.time_base = tb
                v.codec_context.time_base = tb
                if rotation:
                    v.set_display_rotation(rotation)
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts, frame.time_base = p, tb
            for packet in v.encode(frame):
                out.mux(packet)
            count, last = count + 1, p
            if a is not None:  # audio up to this frame's end
                end = int((last * tb + Fraction(1, fps)) * a.rate)
                samples_done = _tone(a, out, samples_done, end)
        if v is not None:
            for packet in v.encode(None):
                out.mux(packet)
        if a is not None:
            for packet in a.encode(None):
                out.mux(packet)
    return count


def _tone(stream: Any, out: Any, start: int, end: int) -> int:  # PyAV's audio stream and output container
    av = load_av()
    chunk = 1024 if stream.codec_context.name != "libopus" else 960
    while start + chunk <= end:
        t = (np.arange(start, start + chunk) / stream.rate).astype(np.float64)
        wave = (0.3 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
        frame.sample_rate, frame.pts = stream.rate, start
        for packet in stream.encode(frame):
            out.mux(packet)
        start += chunk
    return start
