"""Following faces from frame to frame: identity by overlap, landmarks smoothed over time.

Face detection (:meth:`FaceFinder.detect`: boxes and keypoints, tiles on large frames) runs every
``detect_every`` frames, and on any frame where a face was lost; a detection joins the track whose box it overlaps
most (intersection over union at least :data:`MATCH_IOU`); the rest start new tracks when they pass the checks a
photo's faces pass, strictly (:meth:`FaceFinder.confirm`: landmarks that fit a face, seen upright, or steady when
seen only unsurely), so that a texture the detector fires on is not followed, restored, and re-detected on every
frame it is lost (nor checked again at the next detection: :data:`REJECTED_SKIP`). On every frame each face, new
or old, is found by FaceMesh alone (:meth:`FaceFinder.landmarks`) on a box placed from its own previous
landmarks, so it is framed the same way on every frame (FaceMesh's landmarks move a little with its crop: a
detection's box would make them jump every few frames). A face FaceMesh cannot find again is kept, unchanged,
for up to :data:`KEEP_MISSES` frames (``stale``) and then dropped. A new face is picked up at the next detection:
within ``detect_every`` frames of entering (``detect_every + DETECT_LAG`` when detections run in their own thread,
as a video's do: :data:`DETECT_LAG`). A frame with no face followed is detected on at once, in the caller's thread.

Landmarks are smoothed with a One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a
low-pass filter whose cutoff rises with the speed of the face, so a still face does not jitter and a moving one
does not lag. The speed is one number per face (in face sizes per second), so the whole shape is smoothed alike
and keeps its form; it is the speed of the face as a whole (shift, zoom and
turn, :func:`rigid_speed`), so the landmarks' own jitter does not open the filter. Time comes from the frames'
timestamps: a variable frame rate is smoothed by real time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unmask.infer.face.choose import reading_order
from unmask.infer.face.detect import FaceFinder
from unmask.infer.face.types import Face
from unmask.infer.face.types import box_iou as iou
from unmask.infer.closing import Closing

DETECT_EVERY = 10
"""Frames between full detections (FaceMesh alone follows the faces in between); 1 detects on every frame. A new
face is picked up within 10 frames (0.4 s at 25 fps; 13 when detections run in their own thread:
:data:`DETECT_LAG`). A detection of a 720p frame costs about 215 ms of CPU (the candidates of
:mod:`unmask.infer.face.candidates`); every 5th frame that was 43 ms a frame, a third of the budget of 8 fps (720p,
one face, stop 12, detections in the frames' thread: 6.9 fps at 10, 5.5 at 5 on this 2-core CPU)."""

DETECT_LAG = 3
"""Frames a detection may run beside the others (in a thread of its own, on a second FaceFinder) before its faces
are taken, with the tracker's ``spare``: the frames go on meanwhile, so the 215 ms a 720p detection costs leave the
frames' own path (FaceMesh, censor, generator, paste), and the second CPU core, which that path leaves partly idle,
does it. Its faces join on the frame ``DETECT_LAG`` on (the frame waits for it when it is not done by then, so the
result does not depend on the machine's speed): a new face is picked up within ``detect_every + DETECT_LAG``
frames."""

MATCH_IOU = 0.3
"""A detection continues a track when their boxes overlap at least this much."""

SAME_IOU = 0.6
"""Two tracks whose boxes overlap this much follow the same face: the younger one is dropped."""

REJECTED_SKIP = 1
"""Detections after one whose new face failed the checks (:meth:`FaceFinder.confirm`) on which a detection at the
same place (IoU at least :data:`SAME_IOU`) is not checked again: a texture the detector fires on is seen at every
detection, and its check (landmarks, the upright views, perhaps the steadiness test) cost 65 ms each time on the
video bench's clip. A real face refused once is checked again two detections later."""

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

    def observe(self, face: Face, t: float, smooth: bool) -> None:
        """Takes this frame's ``face`` (raw landmarks), smoothed when ``smooth``. The face carries no detector
        keypoints: the alignment's cross-check with them (:func:`unmask.infer.crop.align_checked`) is a
        photo's, where the keypoints are those of the candidate that placed the landmarks; a video's detection
        joins a track by overlap only, and its keypoints, often off on a face under a bar, had the check realign
        a followed face on them (the benchmark clip: on 4 of 9 detections, keypoint error 0.47-0.97 against its
        tolerance of 0.4), losing the censor on 2 of those frames (a bar flashing back for one frame)."""
        raw = face.landmarks.astype(np.float64)
        scale = max(face.size, 1.0)
        lm = self._points(raw, t, scale) if smooth else raw
        box = tuple(float(v) for v in self.box_from(lm))
        self.face = Face(box=box, landmarks=lm.astype(np.float32), keypoints=None, score=face.score)
        self._raw = raw
        self.stale = 0


@dataclass
class _Detection:
    """A detection running beside the frames (:data:`DETECT_LAG`): the frame it looks at, its number, its result
    to come."""

    frame: int
    number: int
    result: Future


class Tracker(Closing):
    """Faces of consecutive frames with stable identities (see the module docstring). ``step(rgb, t)`` returns
    the tracks seen in this frame, largest face first (a face lost for up to :data:`KEEP_MISSES` frames stays in
    :attr:`tracks`). ``smooth=False`` gives every frame's raw landmarks (identities still tracked).

    ``spare``: makes a second FaceFinder (the same settings as ``finder``) for detections that run in a thread of
    their own while the frames go on (:data:`DETECT_LAG`); None: every detection on its frame, in the caller's
    thread. :meth:`close` stops that thread (the tracker is a context manager)."""

    def __init__(self, finder: FaceFinder, detect_every: int = DETECT_EVERY, smooth: bool = True,
                 max_faces: int | None = None, spare: Callable[[], FaceFinder] | None = None,
                 lag: int = DETECT_LAG) -> None:  # fmt: skip
        self.finder = finder
        self.detect_every = max(1, int(detect_every))
        self.smooth = smooth
        self.max_faces = max_faces or getattr(finder, "max_faces", 20)
        self.tracks: list[Track] = []
        self.frame = 0
        self._next_id = 0
        self._lost = False
        self.detections = 0
        self.beyond = 0  # most faces of one detection left out for ``max_faces`` (the largest are followed)
        self._rejected: list[tuple[tuple[float, float, float, float], int]] = []  # (box, detection number)
        self._spare_factory = spare
        self._spare: FaceFinder | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: _Detection | None = None
        self.lag = max(1, int(lag))

    def step(self, rgb: np.ndarray, t: float) -> list[Track]:
        due = self.frame % self.detect_every == 0 or self._lost or not self.tracks
        frame, self.frame = self.frame, self.frame + 1
        min_face = getattr(self.finder, "min_face", 0)
        found: list[tuple[Any, Face | None]] | None = None
        pending = self._pending
        if pending is not None and (frame - pending.frame >= self.lag or not self.tracks):
            self._pending = None
            found, number = pending.result.result(), pending.number
            self._remember_refused(found, number)
            if not self.tracks:  # every face lost meanwhile: this frame's own detection instead
                found = None
        if due and found is None and self._pending is None:
            self.detections += 1
            boxes = {tr.id: tuple(tr.face.box) for tr in self.tracks}
            refused = self._refused(self.detections)
            if self._spare_factory is None or not self.tracks:
                found = self._detect(self.finder, rgb, boxes, refused, min_face)
                self._remember_refused(found, self.detections)
            else:  # beside the next frames; its faces are taken DETECT_LAG frames on
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="unmask-detect")
                job = self._pool.submit(self._detect, None, rgb, boxes, refused, min_face)
                self._pending = _Detection(frame, self.detections, job)
        if found is not None:
            self._join(found)
        for track in self.tracks:
            # every face, new or old, by FaceMesh on a box placed from its own landmarks: the same framing on every
            # frame (a detection's box frames it differently and would make the landmarks jump every few frames)
            lm = self.finder.landmarks(rgb, track.box_from(track._raw))
            box = None if lm is None else track.box_from(lm)
            if box is None or max(box[2] - box[0], box[3] - box[1]) < min_face:
                track.stale += 1
                continue
            track.observe(Face(tuple(float(v) for v in box), lm, None, track.face.score), t, self.smooth)
        self._lost = any(tr.stale for tr in self.tracks)
        self.tracks = [tr for tr in self.tracks if tr.stale <= KEEP_MISSES]
        self._drop_duplicates()
        for tr in self.tracks:
            tr.age += 1
        self.tracks.sort(key=lambda tr: -tr.face.width * tr.face.height)
        return [tr for tr in self.tracks if tr.stale == 0][: self.max_faces]

    @property
    def numbered(self) -> int:
        """Faces numbered so far: tracks get the numbers 0, 1, ... as they start, those of one detection in reading
        order (:func:`unmask.infer.face.choose.reading_order`), so the first frame's faces are numbered as a photo's."""
        return self._next_id

    def _join(self, found: list[tuple[Any, Face | None]]) -> None:
        """A detection's new faces start tracks, the largest faces kept when there are more than ``max_faces`` with
        the tracks (a smaller track gives way to a larger new face); :attr:`beyond` counts the faces left out."""
        new = [f for _, f in found if f is not None and all(iou(f.box, tr.face.box) < SAME_IOU for tr in self.tracks)]
        over = sum(1 for det, _ in found if det is None)  # candidates past the limit, not examined
        ranked = sorted([*self.tracks, *new], key=lambda x: -_area(x.face.box if isinstance(x, Track) else x.box))
        kept = ranked[: self.max_faces]
        self.beyond = max(self.beyond, len(ranked) - len(kept) + over)
        self.tracks = [x for x in kept if isinstance(x, Track)]
        starting = [x for x in kept if not isinstance(x, Track)]
        for k in reading_order([f.box for f in starting]):
            self.tracks.append(Track.start(self._next_id, starting[k]))
            self._next_id += 1

    def _detect(self, finder: FaceFinder | None, rgb: np.ndarray, boxes: dict[int, tuple[float, ...]],
                refused: list[tuple[float, ...]], min_face: float) -> list[tuple[Any, Face | None]]:  # fmt: skip
        """One detection of ``rgb``: each candidate that continues no track (``boxes``: track id -> box) with its
        face when it passes a photo's checks, strictly (:meth:`FaceFinder.confirm`), else None; candidates at the
        ``refused`` boxes are left out. ``finder`` None: the spare one (made on first use, in the thread that runs
        this)."""
        if finder is None:
            if self._spare is None:
                self._spare = self._spare_factory()  # type: ignore[misc]
            finder = self._spare
        dets = [d for d in finder.detect(rgb) if max(d.box[2] - d.box[0], d.box[3] - d.box[1]) >= min_face]
        dets.sort(key=lambda d: -_area(d.box))  # the largest first: those past max_faces are the smaller ones
        out: list[tuple[Any, Face | None]] = []
        new: list[Face] = []
        for tid, det in _match(boxes, dets):
            if tid is not None:  # a face followed already
                continue
            if any(iou(b, det.box) >= SAME_IOU for b in refused) or any(iou(f.box, det.box) >= MATCH_IOU for f in new):
                continue  # refused lately, or that face is in already
            if len(new) >= self.max_faces:  # as many new faces as could be followed: the rest are only counted
                out.append((None, None))
                continue
            face = finder.confirm(rgb, det, strict=True)  # a new face: a photo's checks, strictly
            if face is not None:
                new.append(face)
            out.append((det, face))
        return out

    def close(self) -> None:
        """Stops the detection thread and closes the spare FaceFinder (the tracker can go on, without them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool, self._pending = None, None
        if self._spare is not None:
            self._spare.close()
            self._spare = None

    def _remember_refused(self, found: list[tuple[Any, Face | None]], number: int) -> None:
        self._rejected += [
            (tuple(float(v) for v in det.box), number) for det, face in found if face is None and det is not None
        ]

    def _refused(self, number: int) -> list[tuple[float, ...]]:
        """Boxes whose detection failed the checks within :data:`REJECTED_SKIP` detections before detection
        ``number``."""
        self._rejected = [(b, n) for b, n in self._rejected if number - n <= REJECTED_SKIP]
        return [b for b, n in self._rejected if n < number]

    def _drop_duplicates(self) -> None:
        kept: list[Track] = []
        for tr in sorted(self.tracks, key=lambda tr: (tr.stale, -tr.age)):
            if all(iou(tr.face.box, k.face.box) < SAME_IOU for k in kept):
                kept.append(tr)
        self.tracks = kept


def _area(box: tuple[float, ...]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _match(boxes: dict[int, tuple[float, ...]], faces: list) -> list[tuple[int | None, Any]]:
    """Each detection (anything with a ``box``) with the id of the track it continues (``boxes``: track id -> box;
    None: a new face), greedily by overlap."""
    ids = list(boxes)
    pairs = sorted(((iou(boxes[i], f.box), i, j) for i in ids for j, f in enumerate(faces)), reverse=True)
    taken_t, taken_f, out = set(), set(), []
    for overlap, i, j in pairs:
        if overlap < MATCH_IOU:
            break
        if i in taken_t or j in taken_f:
            continue
        taken_t.add(i)
        taken_f.add(j)
        out.append((i, faces[j]))
    out += [(None, f) for j, f in enumerate(faces) if j not in taken_f]
    return out
