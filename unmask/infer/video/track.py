"""Following faces from frame to frame: identity by overlap, landmarks smoothed over time.

Face detection (:meth:`FaceFinder.detect`: boxes and keypoints, tiles on large frames) runs every
``detect_every`` frames, and on any frame where a face was lost; a detection joins the track whose box it overlaps
most (intersection over union at least :data:`MATCH_IOU`); the rest start new tracks when they pass the checks a
photo's faces pass (:meth:`FaceFinder.confirm`: landmarks that fit a face, seen upright), so that a texture the
detector fires on is not followed, restored, and re-detected on every frame it is lost. On every frame each face,
new or old, is found by FaceMesh alone (:meth:`FaceFinder.landmarks`) on a box placed from its own previous
landmarks, so it is framed the same way on every frame (FaceMesh's landmarks move a little with its crop: a
detection's box would make them jump every few frames). A face FaceMesh cannot find again is kept, unchanged,
for up to :data:`KEEP_MISSES` frames (``stale``) and then dropped. A new face is picked up at the next detection:
within ``detect_every`` frames of entering.

Landmarks are smoothed with a One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a
low-pass filter whose cutoff rises with the speed of the face, so a still face does not jitter and a moving one
does not lag. The speed is one number per face (in face sizes per second), so the whole shape is smoothed alike
and keeps its form; it is the speed of the face as a whole (shift, zoom and
turn, :func:`rigid_speed`), so the landmarks' own jitter does not open the filter. Time comes from the frames'
timestamps: a variable frame rate is smoothed by real time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unmask.infer.face.detect import FaceFinder, native_stderr_silenced
from unmask.infer.face.types import Face
from unmask.infer.face.types import box_iou as iou

DETECT_EVERY = 10
"""Frames between full detections (FaceMesh alone follows the faces in between); 1 detects on every frame. A new
face is picked up within 10 frames (0.4 s at 25 fps). A detection of a 720p frame costs about 215 ms of CPU (the
candidates of :mod:`unmask.infer.face.candidates`); every 5th frame that was 43 ms a frame, a third of the budget of 8 fps
(720p, one face: 6.9 fps at 10, 5.5 at 5 on this 2-core CPU)."""

MATCH_IOU = 0.3
"""A detection continues a track when their boxes overlap at least this much."""

SAME_IOU = 0.6
"""Two tracks whose boxes overlap this much follow the same face: the younger one is dropped."""

KEEP_MISSES = 3
"""Frames a face FaceMesh loses is kept (stale) before its track ends."""

MIN_CUTOFF = 1.0
"""One-Euro cutoff (Hz) of a still face."""

BETA = 8.0
"""One-Euro: how fast the cutoff rises with speed (Hz per face size per second). A face crossing its own size in a
second lags by about 2% of its size. Chosen on a moving 720p clip with an eye bar, aligned crops against the true
ones: BETA 5 / 15 / 40 gave frame-to-frame crop change 6.8 / 8.5 / 9.9 grey levels (12.1 unsmoothed) for an error
of 14.1 / 12.9 / 13.0 (13.6 unsmoothed)."""

D_CUTOFF = 1.0
"""One-Euro: cutoff (Hz) of the speed estimate."""


def _alpha(dt: float, cutoff: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """One-Euro filter of an array of points (Nx2): ``f(x, t, scale)`` returns the smoothed points at time ``t``
    (seconds); ``scale`` (pixels) makes the speed, and so :data:`BETA`, independent of the face's size."""

    def __init__(self, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t = 0.0

    def __call__(self, x: np.ndarray, t: float, scale: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x is None or self.x.shape != x.shape:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self.t
        if dt <= 1e-6:  # a repeated timestamp: nothing to learn about speed
            return self.x.copy()
        a_d = _alpha(dt, self.d_cutoff)
        self.dx = a_d * (x - self.x) / dt + (1.0 - a_d) * self.dx
        speed = rigid_speed(self.x, self.dx) / max(scale, 1e-6)
        a = _alpha(dt, self.min_cutoff + self.beta * speed)
        self.x = a * x + (1.0 - a) * self.x
        self.t = t
        return self.x.copy()


def rigid_speed(points: np.ndarray, velocity: np.ndarray) -> float:
    """How fast a shape moves as a whole (pixels per second): the speed of its centre plus that of its edge under
    the best linear fit of the velocities about the centre (zoom, rotation). Independent noise of the points
    averages out of both, so a still face jittering reads as still."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    vel = np.asarray(velocity, np.float64).reshape(-1, 2)
    centred = pts - pts.mean(0)
    shift = vel.mean(0)
    radius = float(np.sqrt((centred**2).sum(1).mean()))
    if len(pts) < 3 or radius <= 0:
        return float(np.linalg.norm(shift))
    fit, *_ = np.linalg.lstsq(centred, vel - shift, rcond=None)
    return float(np.linalg.norm(shift) + np.linalg.norm(fit, 2) * radius)


def _bbox(points: np.ndarray) -> np.ndarray:
    return np.array([points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()], np.float64)


@dataclass
class Track:
    """One face followed over frames. ``face``: its smoothed landmarks, keypoints and box at the last frame it was
    seen; ``stale``: frames since then (0: seen in the current frame); ``age``: frames since it started."""

    id: int
    face: Face
    stale: int = 0
    age: int = 0
    _raw: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment] - last unsmoothed landmarks
    _box_offset: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment] - detection box vs landmarks
    _points: OneEuro = field(default_factory=OneEuro, repr=False)

    @classmethod
    def start(cls, id: int, face: Face) -> Track:
        """A track for a newly detected ``face`` (its detection box and the landmarks found in it); the offset
        between the two is learnt once, so every later FaceMesh box frames the face the same way."""
        track = cls(id, face, age=-1)
        raw = face.landmarks.astype(np.float64)
        bb = _bbox(raw)
        track._box_offset = (np.asarray(face.box, np.float64) - bb) / max(bb[2] - bb[0], bb[3] - bb[1], 1.0)
        track._raw = raw
        return track

    def box_from(self, landmarks: np.ndarray) -> np.ndarray:
        """A detection-like box for ``landmarks`` (the offset between the two learnt when the track started)."""
        bb = _bbox(landmarks)
        side = max(bb[2] - bb[0], bb[3] - bb[1], 1.0)
        return bb + self._box_offset * side

    def observe(self, face: Face, t: float, smooth: bool, detected: bool) -> None:
        """Takes this frame's ``face`` (raw landmarks; with the detector's keypoints when ``detected``), smoothed
        when ``smooth``."""
        raw = face.landmarks.astype(np.float64)
        scale = max(face.size, 1.0)
        lm = self._points(raw, t, scale) if smooth else raw
        box = tuple(float(v) for v in self.box_from(lm))
        # the detector's keypoints (the alignment's cross-check) only where the detector ran: moved along between
        # detections they would follow the landmarks they are meant to check, and flip the check back and forth
        self.face = Face(box=box, landmarks=lm.astype(np.float32), keypoints=face.keypoints if detected else None,
                         score=face.score)  # fmt: skip
        self._raw = raw
        self.stale = 0


class Tracker:
    """Faces of consecutive frames with stable identities (see the module docstring). ``step(rgb, t)`` returns
    the tracks seen in this frame, largest face first (a face lost for up to :data:`KEEP_MISSES` frames stays in
    :attr:`tracks`). ``smooth=False`` gives every frame's raw landmarks (identities still tracked)."""

    def __init__(self, finder: FaceFinder, detect_every: int = DETECT_EVERY, smooth: bool = True,
                 max_faces: int | None = None) -> None:  # fmt: skip
        self.finder = finder
        self.detect_every = max(1, int(detect_every))
        self.smooth = smooth
        self.max_faces = max_faces or getattr(finder, "max_faces", 20)
        self.tracks: list[Track] = []
        self.frame = 0
        self._next_id = 0
        self._lost = False
        self.detections = 0

    def step(self, rgb: np.ndarray, t: float) -> list[Track]:
        detect = self.frame % self.detect_every == 0 or self._lost or not self.tracks
        self.frame += 1
        min_face = getattr(self.finder, "min_face", 0)
        keypoints: dict[int, np.ndarray] = {}
        if detect:
            self.detections += 1
            with native_stderr_silenced():
                dets = [d for d in self.finder.detect(rgb) if max(d.box[2] - d.box[0], d.box[3] - d.box[1]) >= min_face]
            for track, det in self._match(dets):
                if track is not None:
                    keypoints[track.id] = np.asarray(det.keypoints, np.float32)
                    continue
                if len(self.tracks) >= self.max_faces:
                    continue
                face = self.finder.confirm(rgb, det)  # a new face: only one that passes a photo's checks
                if face is not None and all(iou(face.box, tr.face.box) < SAME_IOU for tr in self.tracks):
                    self.tracks.append(Track.start(self._next_id, face))
                    self._next_id += 1
        for track in self.tracks:
            # every face, new or old, by FaceMesh on a box placed from its own landmarks: the same framing on every
            # frame (a detection's box frames it differently and would make the landmarks jump every few frames)
            lm = self.finder.landmarks(rgb, track.box_from(track._raw))
            box = None if lm is None else track.box_from(lm)
            if box is None or max(box[2] - box[0], box[3] - box[1]) < min_face:
                track.stale += 1
                continue
            face = Face(tuple(float(v) for v in box), lm, keypoints.get(track.id), track.face.score)
            track.observe(face, t, self.smooth, detected=track.id in keypoints)
        self._lost = any(tr.stale for tr in self.tracks)
        self.tracks = [tr for tr in self.tracks if tr.stale <= KEEP_MISSES]
        self._drop_duplicates()
        for tr in self.tracks:
            tr.age += 1
        self.tracks.sort(key=lambda tr: -tr.face.width * tr.face.height)
        return [tr for tr in self.tracks if tr.stale == 0][: self.max_faces]

    def _match(self, faces: list) -> list[tuple[Track | None, Any]]:
        """Each detection (anything with a ``box``) with the track it continues (None: a new face), greedily by
        overlap."""
        pairs = sorted(((iou(tr.face.box, f.box), i, j) for i, tr in enumerate(self.tracks) for j, f in enumerate(faces)),
                       reverse=True)  # fmt: skip
        taken_t, taken_f, out = set(), set(), []
        for overlap, i, j in pairs:
            if overlap < MATCH_IOU:
                break
            if i in taken_t or j in taken_f:
                continue
            taken_t.add(i)
            taken_f.add(j)
            out.append((self.tracks[i], faces[j]))
        out += [(None, f) for j, f in enumerate(faces) if j not in taken_f]
        return out

    def _drop_duplicates(self) -> None:
        kept: list[Track] = []
        for tr in sorted(self.tracks, key=lambda tr: (tr.stale, -tr.age)):
            if all(iou(tr.face.box, k.face.box) < SAME_IOU for k in kept):
                kept.append(tr)
        self.tracks = kept
