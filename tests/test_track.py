"""Following faces over frames (unmask.infer.video.track): detections beside the frames in their own thread, a
refused candidate not checked again at the next detection, and the stderr silencing they share across threads.
A scripted finder stands in for mediapipe: what it sees is written in the frame itself."""

from __future__ import annotations

import os
import threading

import numpy as np

from unmask.infer.face.detect import native_stderr_silenced
from unmask.infer.face.types import Face
from unmask.infer.video.track import DETECT_LAG, REJECTED_SKIP, Tracker

FACES = {1: (20.0, 20.0, 60.0, 60.0), 2: (100.0, 20.0, 140.0, 60.0)}
"""Face number -> its box; frame pixel (0, k) is 255 while face k is on screen."""
TEXTURE = (100.0, 80.0, 140.0, 120.0)  # always "detected", never passes the checks


class _Candidate:
    def __init__(self, box: tuple[float, ...]) -> None:
        self.box = np.asarray(box, np.float64)
        self.keypoints = np.zeros((6, 2), np.float32)
        self.score = 0.9


def _landmarks(box: tuple[float, ...]) -> np.ndarray:
    x0, y0, x1, y1 = box
    gx, gy = np.meshgrid(np.linspace(x0, x1, 22), np.linspace(y0, y1, 22))
    return np.stack([gx.ravel(), gy.ravel()], 1)[:478].astype(np.float32)


class ScriptedFinder:
    """Detects the faces a frame's first row says are there, and a texture that never passes ``confirm``."""

    max_faces, min_face = 20, 0

    def __init__(self) -> None:
        self.detect_threads: list[str] = []
        self.confirmed: list[tuple[float, ...]] = []
        self.closed = False

    @staticmethod
    def _on(rgb: np.ndarray) -> list[int]:
        return [k for k in FACES if rgb[0, k, 0] == 255]

    def detect(self, rgb: np.ndarray) -> list[_Candidate]:
        self.detect_threads.append(threading.current_thread().name)
        return [_Candidate(FACES[k]) for k in self._on(rgb)] + [_Candidate(TEXTURE)]

    def confirm(self, rgb: np.ndarray, cand: _Candidate, strict: bool = False) -> Face | None:
        box = tuple(float(v) for v in cand.box)
        self.confirmed.append(box)
        return None if box == TEXTURE else Face(box, _landmarks(box), None, cand.score)

    def landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        for k in self._on(rgb):
            f = FACES[k]
            if abs((box[0] + box[2]) / 2 - (f[0] + f[2]) / 2) < 20:
                return _landmarks(f)
        return None

    def close(self) -> None:
        self.closed = True


def _frame(*faces: int) -> np.ndarray:
    rgb = np.zeros((160, 200, 3), np.uint8)
    for k in faces:
        rgb[0, k] = 255
    return rgb


def _run(tracker: Tracker, frames: int, second_from: int) -> list[int]:
    """Faces followed on each frame; face 2 on screen from frame ``second_from``."""
    out = []
    for i in range(frames):
        faces = (1, 2) if i >= second_from else (1,)
        out.append(len(tracker.step(_frame(*faces), i / 25)))
    return out


def test_detections_beside_the_frames_join_lag_frames_later_and_do_not_depend_on_timing() -> None:
    main, spares = ScriptedFinder(), []

    def spare() -> ScriptedFinder:
        spares.append(ScriptedFinder())
        return spares[-1]

    with Tracker(main, detect_every=10, smooth=False, spare=spare) as tracker:
        aside = _run(tracker, 40, second_from=12)
    inline = _run(Tracker(ScriptedFinder(), detect_every=10, smooth=False), 40, second_from=12)
    # the first detection (nothing followed yet) runs on its frame, in the caller's thread; the others beside
    assert main.detect_threads == ["MainThread"]
    assert (
        len(spares) == 1
        and spares[0].detect_threads
        and all(n.startswith("unmask-detect") for n in spares[0].detect_threads)
    )
    assert spares[0].closed, "close() closes the spare finder"
    # face 2 enters at frame 12: the detection of frame 20 finds it; inline it joins on frame 20, beside on 20 + lag
    assert inline.index(2) == 20
    assert aside.index(2) == 20 + DETECT_LAG
    assert aside[: 20 + DETECT_LAG] == [1] * (20 + DETECT_LAG) and set(aside[20 + DETECT_LAG :]) == {2}
    again = Tracker(ScriptedFinder(), detect_every=10, smooth=False, spare=ScriptedFinder)
    try:
        assert _run(again, 40, second_from=12) == aside, "the same frames give the same tracks, whatever the timing"
    finally:
        again.close()


def test_a_refused_candidate_is_not_checked_again_at_the_next_detection() -> None:
    finder = ScriptedFinder()
    tracker = Tracker(finder, detect_every=1, smooth=False)
    for i in range(6):
        tracker.step(_frame(1), i / 25)
    texture_checks = [n for n, box in enumerate(finder.confirmed) if box == TEXTURE]
    # detections 1..6: checked at 1, skipped for REJECTED_SKIP, checked again, ...
    assert len(texture_checks) == len(range(0, 6, REJECTED_SKIP + 1))
    assert tracker.detections == 6


def test_stderr_silencing_nests_across_threads() -> None:
    """Two threads silence stderr with their spans overlapping (A in, B in, A out, B out): stderr stays silenced
    until the last one leaves and is then the real one again."""
    real = os.fstat(2)
    null = os.stat(os.devnull)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def silenced() -> bool:
        st = os.fstat(2)
        return (st.st_dev, st.st_ino, st.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)

    def a() -> None:
        with native_stderr_silenced():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with native_stderr_silenced():
            b_in.set()
            a_out.wait(5)
            seen["after A left"] = silenced()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["after A left"], "B's span is still silenced after A left"
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (real.st_dev, real.st_ino), "stderr is the real one again"


BIG = (110.0, 70.0, 190.0, 150.0)
"""A face larger than FACES[1] and FACES[2], lower in the frame; on screen while frame pixel (0, 3) is 255."""


class _SizedFinder(ScriptedFinder):
    """Detects the small faces first, as a detector ranking them by score would, then ``BIG`` (frame pixel 3)."""

    max_faces = 1

    def detect(self, rgb: np.ndarray) -> list[_Candidate]:
        return [_Candidate(FACES[k]) for k in self._on(rgb)] + ([_Candidate(BIG)] if rgb[0, 3, 0] == 255 else [])

    def landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        if rgb[0, 3, 0] == 255 and abs((box[0] + box[2]) / 2 - (BIG[0] + BIG[2]) / 2) < 20:
            return _landmarks(BIG)
        return super().landmarks(rgb, box)


def test_max_faces_keeps_the_largest_faces_and_counts_the_rest() -> None:
    """``max_faces`` keeps the largest faces, as a photo's do (issue 26: the tracker kept them in detection order),
    a smaller track giving way to a larger new face; the faces left out are counted for the warning."""
    frame = _frame(1, 2)
    frame[0, 3] = 255
    tracker = Tracker(_SizedFinder(), detect_every=1, smooth=False)
    tracks = tracker.step(frame, 0.0)
    assert [tuple(round(v) for v in t.face.box) for t in tracks] == [tuple(round(v) for v in BIG)]
    assert tracker.beyond == 2
    # a larger face entering later takes the place of a smaller one followed
    small = Tracker(_SizedFinder(), detect_every=1, smooth=False)
    assert [round(t.face.box[0]) for t in small.step(_frame(1, 2), 0.0)] == [20]
    later = small.step(frame, 0.04)
    assert [round(t.face.box[0]) for t in later] == [110] and small.beyond == 2


def test_the_faces_of_one_detection_are_numbered_in_reading_order() -> None:
    """Tracks of one detection get their numbers in reading order (left to right here), whatever order the
    detector gives them in, so the first frame's faces are numbered as a photo's are."""

    class Reversed(ScriptedFinder):
        def detect(self, rgb: np.ndarray) -> list[_Candidate]:
            return [_Candidate(FACES[k]) for k in reversed(self._on(rgb))]

    tracker = Tracker(Reversed(), detect_every=1, smooth=False)
    tracks = tracker.step(_frame(1, 2), 0.0)
    assert {t.id: round(t.face.box[0]) for t in tracks} == {0: 20, 1: 100} and tracker.numbered == 2
