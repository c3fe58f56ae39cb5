"""Face detection and landmarks with mediapipe 0.10.21's legacy models (bundled in the wheel).

Three steps, so that group photos, small faces, turned faces, censored faces and 24-megapixel photos all work:

1. Candidates (:mod:`unmask.infer.face.candidates`): the full-range detector on the downscaled photo and its tiles
   (small bare faces), and the short-range detector on the padded photo and a pyramid of windows (censored
   faces, which the full-range model mostly misses), merged by overlap; the full-range pass and a third of the
   windows run in a second thread (:data:`ASIDE_SHARE`).
2. Landmarks on every candidate, best score first (:mod:`unmask.infer.face.mesh`: FaceMesh's landmark model on a
   region placed from the candidate's box, turned by its keypoints), retried on the other candidates of the same
   face and on other turns (:func:`_tries`) until the model's face-presence score reaches :data:`PRESENCE`:
   the eye keypoints of a face under a bar, or the mouth of one under a mask, can be far off and the region
   turned wrongly. When none places it, the short-range detector looks again around the candidate
   (:func:`unmask.infer.face.candidates.around`, :data:`AROUND`). The landmarks then place the region once more (as
   mediapipe's tracking does), so a face is framed alike whichever candidate found it.
3. A face is kept when its landmarks fit the face template (:func:`unmask.infer.face.align.fits_template`), when the
   short-range detector, shown the face turned upright, finds it too (:meth:`FaceFinder._upright`: textures the
   landmark model takes for faces fail this), and when it is not a face already kept. The ``max_faces`` largest
   are returned, the others reported as beyond the limit, and candidates smaller than ``min_face`` as too small
   (:class:`Found`).

Turned faces are found by turning the landmark region, not the photo: on the benchmark's canvases (faces turned
up to 45 degrees) the short-range windows find them as they are, and a detector pass on turned copies of a
1600x1200 photo would cost about 40 more detector runs per turn.

Landmarks under a bar or mask drift (see :mod:`unmask.infer.face.align`); the detection keypoints are kept for a
cross-check (when the landmarks were placed by them) and the alignment fits only landmarks outside the region
being restored.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from unmask.infer.face import candidates as C
from unmask.infer.face.align import fits_template
from unmask.infer.face.quiet import native_stderr_silenced, quiet_mediapipe
from unmask.infer.face.mesh import (
    ROI_SCALE,
    Roi,
    RoiMesh,
    eye_line_angle,
    roi_from_box,
    roi_from_landmarks,
    upright,
)
from unmask.infer.face.types import Face, box_iou
from unmask.spec import MAX_FACES, MIN_FACE
from unmask.infer.closing import Closing

PRESENCE = 0.5
"""Face-presence score of the landmark model from which a candidate is a face (mediapipe's own threshold). On
the benchmark canvases (benchmarks/detect_recall.py) 99% of the faces score 0.8-1.0, most candidates that are
no face below 0.1."""
TURNS = (0.0, math.radians(45), math.radians(-45))
"""Turns of the landmark region tried after those the candidates' keypoints give (eye line, eyes-to-mouth axis)."""
MAX_TRIES = 6
"""Landmark runs per face at most before the candidate is given up."""
SAME_TURN = math.radians(15)
SAME_BOX = 0.6
"""Two tries closer than SAME_TURN in turn, on boxes overlapping by SAME_BOX (IoU) or more, are one."""
OTHERS = 2
"""Merged candidates of the same face (after the best) whose boxes and keypoints are tried too."""
AROUND = (2.0, 3.0)
"""Views around a candidate the landmark model did not take (:func:`unmask.infer.face.candidates.around`), in its sizes."""
AROUND_TRIES = 2
"""Landmark runs per candidate found around another (its eye line, then its next turn)."""
UPRIGHT_CONTEXTS = (2.0, 1.3)
"""The upright check's views: this many landmark regions around the face, turned upright, at the short-range
model's input side (the face then fills a third, and half, of it)."""
UPRIGHT_SCORE = (0.5, 0.7)
"""The short-range model's scores on the upright views (at their middle, 0 where it finds nothing there) from which
a face is kept: the best one, or their average (in ``strict`` mode only when the landmarks are steady too:
:data:`STEADY_MOVE_SEEN`)."""
STEADY_SCORE = 0.5
"""A face the upright check is unsure of (its best view below :data:`UPRIGHT_SCORE`'s, but at least this) is kept
when its landmarks are steady (:data:`STEADY_MOVE`)."""
STEADY_JITTER = ((0.12, 0.0, 1.0, 0.0), (0.0, 0.12, 1.0, 0.0), (-0.12, -0.06, 1.0, 0.0), (0.0, 0.0, 1.2, 0.0),
                 (0.0, 0.0, 0.85, 0.0), (0.0, 0.0, 1.0, 0.25))  # fmt: skip
"""The landmark region moved (x, y in region sides), scaled and turned (radians) for the steadiness test."""
STEADY_MOVE_SEEN = 0.05
"""With ``strict`` (:meth:`FaceFinder.confirm`, how a video starts following a face), the limit for a face the upright
check would keep on its average alone (both views see it, neither surely). On the benchmark canvases (seed 7, 8
per cell) 12 of 350 faces that reached the check passed that way and moved 0.017-0.037, the 2 textures of 120
faceless canvases that did 0.062 and 0.077, and a logo with a lock of hair above the face of the video bench's clip
0.085 (it had been followed and restored as a second face for 30 frames); but a barred face turned 45 degrees of
the suite's canvases moved 0.085 too. So photos keep such faces; a video, where a face missed at one detection is
found at a later one and a texture followed is painted on every frame, does not."""
STEADY_MOVE = 0.035
"""Mean landmark move (in region sides) over the :data:`STEADY_JITTER` regions below which landmarks are steady.
A face's landmarks stay where the face is wherever its region is placed; on a texture the landmark model takes
for a face they wander with the region. Measured (benchmarks/detect_recall.py): 0.014-0.058 on 44 faces of the
benchmark canvases (bars and masks), 0.045-0.082 on the 8 textures of 150 faceless canvases (seed 7) that pass
the landmark model; of the 7 faces the upright check was unsure of, 4 moved under 0.035 (0.026-0.034), the other
3 0.038-0.058. 0.04 also let through an astronaut's suit (0.039) on the scaling bench's canvas."""
CENTRE = 0.15
"""An upright view's detection counts when its centre is within this share of the view's side of the middle."""
TRACK_CONTEXT = 1.9
"""The view around a given box in which :meth:`FaceFinder.landmarks` lets the detector place the region (the crop
side the FaceMesh solution was given before, in box sizes)."""
ASIDE_SHARE = 3
"""Every third view of the short-range pass runs in a second thread, beside the full-range pass there (its 2x2
tiles of the 192 px model cost about as much as a third of the windows; mediapipe lets go of Python's lock while
its graphs run). On 52 of the detection benchmark's 1600x1200 canvases (seed 5), per photo: 0.317 s wall in one
thread, 0.224 s in two (every other view aside: 0.26 s), the same CPU time (0.30 s) and the same faces; the
detector before issue 15 took 0.164 s wall, 0.174 s CPU on them."""
BOX_SHARE = 0.9
"""A face's box side as a share of its landmarks' extent, so that a found face's box is framed as the detectors'
boxes are (0.81-1.01 of the extent, 10th-90th percentile, median 0.90, on 59 faces of the benchmark canvases)."""


@dataclass
class Found:
    """What :meth:`FaceFinder.search` found: ``faces`` (largest first, at most ``max_faces``), ``beyond`` (faces
    past that limit, largest first) and ``too_small`` (detections smaller than ``min_face``, not looked at further:
    (box, score) each)."""

    faces: list[Face]
    beyond: list[Face] = field(default_factory=list)
    too_small: list[tuple[tuple[float, float, float, float], float]] = field(default_factory=list)


class FaceFinder(Closing):
    """Finds faces and their 478 landmarks. Not thread-safe (it runs a helper thread of its own); one per worker.
    Use as a context manager or call :meth:`close`.

    ``max_faces``: at most this many, largest first. ``min_face``: faces whose box is smaller (pixels, larger
    side) are dropped, and listed in the :class:`Found` of :meth:`search` (``too_small``). ``min_confidence``: the detectors' threshold.
    ``second_look``: the second look's windows too (:data:`unmask.infer.face.candidates.SECOND_LEVELS`; a video's
    detections leave it out: a face it would add is seen again ten frames on, and it costs a tenth more CPU).
    """

    def __init__(self, max_faces: int = MAX_FACES, min_face: int = MIN_FACE, min_confidence: float = 0.5,
                 second_look: bool = True) -> None:  # fmt: skip
        quiet_mediapipe()
        import mediapipe as mp  # heavy import, kept local

        self.max_faces = max_faces
        self.min_face = min_face
        self.second_look = second_look
        fd = mp.solutions.face_detection
        with native_stderr_silenced():
            self._build(fd, min_confidence)

    def _build(self, fd, min_confidence: float) -> None:  # noqa: ANN001 - mediapipe module
        self._full = fd.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
        self._short = fd.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
        self._short_aside = fd.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
        self._check = fd.FaceDetection(model_selection=0, min_detection_confidence=UPRIGHT_SCORE[0] / 2)
        self._mesh = RoiMesh()
        self._aside: ThreadPoolExecutor | None = None  # pass 1 and a share of pass 2, beside the rest
        # The graphs' threads log their set-up ("Feedback manager requires ...") asynchronously, after the
        # constructors return; one blank frame through each graph waits for that while stderr is silenced.
        blank = np.zeros((64, 64, 3), np.uint8)
        for d in self._detectors():
            d.process(blank)
        self._mesh.run(blank, Roi((32.0, 32.0), 48.0))

    # -- public -----------------------------------------------------------------------------------------------
    def search(self, rgb: np.ndarray) -> Found:
        """The faces of ``rgb`` (HxWx3 uint8), and those left out (beyond ``max_faces``, smaller than
        ``min_face``); see the module."""
        with native_stderr_silenced():
            found = self._search(rgb)
        return found

    def detect(self, rgb: np.ndarray) -> list[C.Candidate]:
        """The candidates of steps 1 and 2, one per face (best score first; the second look's after the first's,
        where the first found none), boxes and keypoints in image px."""
        with native_stderr_silenced():
            return self._heads(rgb)

    def confirm(self, rgb: np.ndarray, candidate: C.Candidate, strict: bool = False) -> Face | None:
        """The face of ``candidate`` (one of :meth:`detect`'s) after the checks every face of :meth:`search` passes
        (landmarks found, fitting the template, seen upright), or None: how a video starts following a face.
        ``strict``: a face the upright check is not sure of in either view must have steady landmarks
        (:data:`STEADY_MOVE_SEEN`)."""
        with native_stderr_silenced():
            return self._face(rgb, candidate, strict)

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float] | np.ndarray) -> np.ndarray | None:
        """The 478 landmarks (image px) of the face in detection box ``box`` (x0, y0, x1, y1), or None when the
        landmark model finds no face there: how a video follows a face between detections. As mediapipe's own
        FaceMesh on a crop does: the short-range detector places the region in a view of :data:`TRACK_CONTEXT`
        times the box (its detection nearest the middle, turned by its eye line); without one, the box itself,
        upright and then at the other :data:`TURNS`."""
        box = np.asarray(box, np.float64)
        with native_stderr_silenced():
            near = [c for c in C.around(self._short, rgb, box, (TRACK_CONTEXT,)) if C.same_face(c.box, box)]
            placed = [
                (c.box, eye_line_angle(c.keypoints[0], c.keypoints[1]))
                for c in sorted(near, key=lambda c: -c.score)[:1]
            ]
            for where, angle in placed + [(box, turn) for turn in TURNS]:
                pts, presence = self._mesh.run(rgb, roi_from_box(where, angle=angle))
                if presence >= PRESENCE:
                    return pts
        return None

    def close(self) -> None:
        if self._aside is not None:
            self._aside.shutdown(wait=True)
            self._aside = None
        for d in self._detectors():
            d.close()
        self._mesh.close()

    def _detectors(self) -> tuple:
        return (self._full, self._short, self._short_aside, self._check)

    # -- internals ----------------------------------------------------------------------------------------------
    def _candidates(self, rgb: np.ndarray) -> tuple[list[C.Candidate], list[C.Candidate]]:
        """Steps 1 and 2 of the module (the first look's candidates, merged), and the second look's
        (:data:`unmask.infer.face.candidates.SECOND_LEVELS`), in two threads: the full-range pass and every
        :data:`ASIDE_SHARE`-th short-range view in one (on a second short-range graph), the other views in the
        caller's; merged in the same order whichever finishes first."""
        small, scale = C.downscaled(rgb)
        first, second = C.window_views(small, scale, self.min_face)
        second = second if self.second_look else []
        views = first + second
        aside = views[ASIDE_SHARE - 1 :: ASIDE_SHARE]
        if self._aside is None:
            self._aside = ThreadPoolExecutor(1, thread_name_prefix="unmask-candidates")
        job = self._aside.submit(
            lambda: (C.full_range(self._full, small, scale), C.detect_views(self._short_aside, aside))
        )
        here = C.detect_views(self._short, [v for i, v in enumerate(views) if i % ASIDE_SHARE != ASIDE_SHARE - 1])
        full, there = job.result()
        mine, theirs = iter(here), iter(there)
        per_view = [next(theirs) if i % ASIDE_SHARE == ASIDE_SHARE - 1 else next(mine) for i in range(len(views))]
        found = list(full) + [c for v in per_view[: len(first)] for c in v]
        second_found = C.merge([c for v in per_view[len(first) :] for c in v])
        for head in second_found:
            head.second = True
        return C.merge(found), second_found

    def _heads(self, rgb: np.ndarray) -> list[C.Candidate]:
        """The first look's candidates, then the second look's (marked ``second``: their faces must pass the
        strict checks; see :data:`unmask.infer.face.candidates.SECOND_LEVELS`)."""
        first, second = self._candidates(rgb)
        return first + second

    def _search(self, rgb: np.ndarray) -> Found:
        faces: list[Face] = []
        too_small: list[tuple[tuple[float, float, float, float], float]] = []
        for head in self._heads(rgb):
            if head.size < self.min_face:
                too_small.append((tuple(float(v) for v in head.box), head.score))
                continue
            if any(C.same_face(head.box, np.asarray(f.box)) for f in faces):
                continue
            face = self._face(rgb, head, strict=head.second)
            if face is not None and not any(_same(face.box, f.box) for f in faces):
                faces.append(face)
        faces.sort(key=lambda f: -f.width * f.height)
        too_small = [
            (b, score) for b, score in too_small if not any(_inside(b, f.box) for f in faces)
        ]  # part of a face
        return Found(faces[: self.max_faces], faces[self.max_faces :], too_small)

    def _face(self, rgb: np.ndarray, head: C.Candidate, strict: bool = False) -> Face | None:
        """The face of candidate ``head`` (and its merged others, or the candidates :func:`C.around` finds when
        none of them places the landmark model), or None when the landmark model sees none there or the landmarks
        fail the checks (``strict``: see :meth:`confirm`)."""
        found = self._landmarks(rgb, _tries(head))
        if found is None:
            for cand in C.merge(C.around(self._short, rgb, head.box, AROUND)):
                found = self._landmarks(rgb, _tries(cand)[:AROUND_TRIES])
                if found is not None:
                    break
        if found is None:
            return None
        pts, roi, placed_by = found
        again = roi_from_landmarks(pts)  # placed again by the landmarks: the same face, framed alike whatever found it
        pts2, presence2 = self._mesh.run(rgb, again)
        if presence2 >= PRESENCE:
            pts, again = pts2, roi_from_landmarks(pts2)
        if not fits_template(pts) or not self._upright(rgb, again, strict):
            return None
        return Face(
            box=_box(again),
            landmarks=pts,
            keypoints=None if placed_by is None else placed_by.keypoints.astype(np.float32),
            score=head.score,
        )

    def _landmarks(
        self, rgb: np.ndarray, tries: list[tuple[C.Candidate, float, bool]]
    ) -> tuple[np.ndarray, Roi, C.Candidate | None] | None:
        """The landmarks of the first try whose region the landmark model finds a face in (presence at least
        :data:`PRESENCE`): (landmarks, the region, the candidate when its own keypoints turned the region)."""
        for cand, angle, own in tries:
            roi = roi_from_box(cand.box, angle=angle)
            pts, presence = self._mesh.run(rgb, roi)
            if presence >= PRESENCE:
                return pts, roi, cand if own else None
        return None

    def _upright(self, rgb: np.ndarray, roi: Roi, strict: bool = False) -> bool:
        """The check of an independent model: the short-range detector, shown the face turned upright in each of
        the :data:`UPRIGHT_CONTEXTS` views, must find it at their middle (:data:`UPRIGHT_SCORE`). On 150 procedural
        canvases without faces (benchmarks/detect_recall.py, seed 7) 8 textures passed the landmark model (presence
        0.9-1.0) and this check dropped 6 of them; of the 275 faces of the benchmark canvases that reached it, it
        dropped 3 (the detector blind in one view, unsure in the other). A face it is not sure of in either view gets
        a second opinion (:meth:`_steady`)."""
        scores = []
        for context in UPRIGHT_CONTEXTS:
            res = self._check.process(upright(rgb, roi, C.SHORT_INPUT, context))
            middle = [
                float(d.score[0])
                for d in res.detections or []
                if d.score and _at_middle(d.location_data.relative_bounding_box)
            ]
            scores.append(max(middle, default=0.0))
            if scores[-1] >= UPRIGHT_SCORE[1]:  # sure in this view: kept whatever the next would say
                return True
        if float(np.mean(scores)) >= UPRIGHT_SCORE[0]:
            return not strict or self._steady(rgb, roi, STEADY_MOVE_SEEN)
        return max(scores) >= STEADY_SCORE and self._steady(rgb, roi, STEADY_MOVE)

    def _steady(self, rgb: np.ndarray, roi: Roi, limit: float) -> bool:
        """Whether the landmarks stay put when their region moves (:data:`STEADY_JITTER`: mean move under ``limit``
        region sides): the second opinion on a face the upright check is unsure of (one view sure, the other blind:
        a mask or bar hides what the detector looks for; or both views unsure)."""
        base, _ = self._mesh.run(rgb, roi)
        moves = []
        for dx, dy, k, turn in STEADY_JITTER:
            moved = Roi((roi.centre[0] + dx * roi.side, roi.centre[1] + dy * roi.side), roi.side * k, roi.angle + turn)
            pts, _ = self._mesh.run(rgb, moved)
            moves.append(float(np.linalg.norm(pts - base, axis=1).mean()) / roi.side)
        return float(np.mean(moves)) < limit


def _tries(head: C.Candidate) -> list[tuple[C.Candidate, float, bool]]:
    """(candidate, turn, whether the turn is the candidate's own) to try in order: the best candidate turned by
    its eye line, the next :data:`OTHERS` (other boxes) by theirs, the best one by its eyes-to-mouth axis and by
    each of :data:`TURNS`, then the others by their axes; repeats (a turn within :data:`SAME_TURN` on a box
    overlapping by :data:`SAME_BOX`) dropped, at most :data:`MAX_TRIES`."""
    out: list[tuple[C.Candidate, float, bool]] = []

    def add(cand: C.Candidate, angle: float, own: bool) -> None:
        angle = math.atan2(math.sin(angle), math.cos(angle))
        for c, a, _ in out:
            if (
                abs(math.atan2(math.sin(angle - a), math.cos(angle - a))) < SAME_TURN
                and box_iou(cand.box, c.box) >= SAME_BOX
            ):
                return
        out.append((cand, angle, own))

    cands = [head] + head.others[:OTHERS]
    for cand in cands:
        add(cand, eye_line_angle(cand.keypoints[0], cand.keypoints[1]), True)
    add(head, _axis_angle(head.keypoints), True)
    for angle in TURNS:
        add(head, angle, False)
    for cand in cands[1:]:
        add(cand, _axis_angle(cand.keypoints), True)
    return out[:MAX_TRIES]


def _axis_angle(kp: np.ndarray) -> float:
    """The turn the keypoints' mouth-to-eyes axis gives ("up" in the face; the eye line is not seen under a bar)."""
    axis = (kp[0] + kp[1]) / 2 - kp[3]
    return math.atan2(axis[0], -axis[1])


def _at_middle(bb) -> bool:  # noqa: ANN001 - mediapipe's relative bounding box
    """Whether a detection's box (relative to its view) is centred within :data:`CENTRE` of the view's middle."""
    return abs(bb.xmin + bb.width / 2 - 0.5) <= CENTRE and abs(bb.ymin + bb.height / 2 - 0.5) <= CENTRE


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two found faces' boxes are one face: the same as for candidates (:func:`C.same_face`), or the
    centre of the smaller inside the larger at any size (a face found again at the wrong scale, framed around the
    real one: no two faces seen in a photo have one's middle inside the other's box). The face found first (from
    the better-scoring candidate) is kept."""
    if C.same_face(np.asarray(a), np.asarray(b)):
        return True
    small, large = (a, b) if (a[2] - a[0]) <= (b[2] - b[0]) else (b, a)
    return _inside(small, large)


def _inside(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether the centre of box ``a`` lies inside box ``b``."""
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


def _box(roi: Roi) -> tuple[float, float, float, float]:
    """The detection-like box of a landmark region (from :func:`roi_from_landmarks`): centred on it, with a side of
    :data:`BOX_SHARE` of the landmarks' extent, as the detector's own boxes are, so that a region placed from it
    (:func:`unmask.infer.face.mesh.roi_from_box`, as :meth:`FaceFinder.landmarks` does) is the detector's."""
    half = roi.side / ROI_SCALE * BOX_SHARE / 2
    return (roi.centre[0] - half, roi.centre[1] - half, roi.centre[0] + half, roi.centre[1] + half)
