"""Face detection and landmarks with mediapipe 0.10.21's legacy solutions (models bundled in the wheel).

Two stages, so that group photos, small faces and 24-megapixel photos all work:

1. ``FaceDetection`` (full-range model, then short-range) on a copy of the photo downscaled to at most
   :data:`DETECT_SIDE` pixels, retried with a black border (:data:`PAD_RETRY`) when nothing is found: tight
   crops with a censor bar are often missed without it (of 100 tight crops with a bar: 82 found as is, 97 padded).
   Photos of :data:`TILE_FROM` pixels and more are also searched in 3x3 overlapping half-size tiles: the
   full-range model sees the whole photo at 192 px, where the faces of a group photo are too small (a 5x4 grid
   of 200 px faces: 18 of 20 found on the whole photo, 7 of 20 with 80 px gaps between them; 20 of 20 with tiles).
2. ``FaceMesh`` (refined eyes, lips and irises: 478 points) on a square crop around each detection, padded
   with black where it leaves the photo and resized to at most :data:`MESH_SIDE` pixels.

Landmarks under a bar or mask drift (see :mod:`unmask.face.align`); the detection keypoints are kept for a cross-check and the
alignment fits only landmarks outside the region being restored (see :mod:`unmask.face.align`).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from unmask.face.types import Face, box_iou
from unmask.spec import MAX_FACES, MIN_FACE

DETECT_SIDE = 1024
MESH_SIDE = 384
MESH_CONTEXT = 1.9  # side of the FaceMesh crop, in detection-box sizes
PAD_RETRY = 0.25
NMS_IOU = 0.4
NMS_INSIDE = 0.6  # a box lying this much inside a larger kept one is the same face (cut by a tile edge)
TILE_FROM = 640  # long side (after the DETECT_SIDE downscale) from which tiles are searched too


@dataclass
class _Det:
    box: np.ndarray  # x0, y0, x1, y1 in image px
    keypoints: np.ndarray  # 6x2 image px
    score: float


def _quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null while mediapipe's C++ code runs: its absl/TFLite log lines
    ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") cannot be switched off
    otherwise in 0.10.21. Python-level errors are raised as exceptions and are not affected. Set
    UNMASK_NATIVE_LOGS=1 to see them."""
    if os.environ.get("UNMASK_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class FaceFinder:
    """Finds faces and their 478 landmarks. Not thread-safe; one per worker. Use as a context manager or call
    :meth:`close`.

    ``max_faces``: at most this many, largest first. ``min_face``: faces whose box is smaller (pixels, larger
    side) are dropped, and counted in :attr:`last_too_small`.
    """

    def __init__(self, max_faces: int = MAX_FACES, min_face: int = MIN_FACE, min_confidence: float = 0.5) -> None:
        _quiet_mediapipe()
        import mediapipe as mp  # heavy import, kept local

        self.max_faces = max_faces
        self.min_face = min_face
        self.last_too_small = 0
        fd = mp.solutions.face_detection
        with native_stderr_silenced():
            self._build(mp, fd, min_confidence)

    def _build(self, mp, fd, min_confidence: float) -> None:  # noqa: ANN001 - mediapipe modules
        self._detectors = [
            fd.FaceDetection(model_selection=1, min_detection_confidence=min_confidence),
            fd.FaceDetection(model_selection=0, min_detection_confidence=min_confidence),
        ]
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
        )
        # The graphs' threads log their set-up ("Feedback manager requires ...") asynchronously, after the
        # constructors return; one blank frame through each graph waits for that while stderr is silenced.
        blank = np.zeros((64, 64, 3), np.uint8)
        for d in self._detectors:
            d.process(blank)
        self._mesh.process(blank)

    # -- public -----------------------------------------------------------------------------------------------
    def find(self, rgb: np.ndarray) -> list[Face]:
        """All faces in ``rgb`` (HxWx3 uint8), largest first, each with landmarks in image pixels."""
        self.last_too_small = 0
        with native_stderr_silenced():
            return self._find(rgb)

    def _find(self, rgb: np.ndarray) -> list[Face]:
        dets = self.detect(rgb)
        faces: list[Face] = []
        for det in dets:
            if max(det.box[2] - det.box[0], det.box[3] - det.box[1]) < self.min_face:
                self.last_too_small += 1
                continue
            pts = self._landmarks(rgb, det.box)
            if pts is None:
                continue
            faces.append(
                Face(
                    box=tuple(float(v) for v in det.box),
                    landmarks=pts,
                    keypoints=det.keypoints.astype(np.float32),
                    score=det.score,
                )
            )
            if len(faces) >= self.max_faces:
                break
        return faces

    def detect(self, rgb: np.ndarray) -> list[_Det]:
        """Face boxes and keypoints (image px), largest first, non-overlapping."""
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        for pad_frac in (0.0, PAD_RETRY):
            img, pad = _pad(small, pad_frac)
            for det in self._detectors:
                res = det.process(img)
                found = [_to_det(d, img.shape, pad, scale) for d in res.detections or []]
                if det is self._detectors[0] and pad_frac == 0.0 and max(small.shape[:2]) >= TILE_FROM:
                    found += self._tiles(small, scale)
                if found:
                    return _nms(found)
        return []

    def _tiles(self, small: np.ndarray, scale: float) -> list[_Det]:
        """Full-range detections in 3x3 overlapping half-size tiles of ``small`` (boxes in image px)."""
        sh, sw = small.shape[:2]
        th, tw = sh // 2, sw // 2
        out: list[_Det] = []
        for y0 in np.linspace(0, sh - th, 3).astype(int):
            for x0 in np.linspace(0, sw - tw, 3).astype(int):
                tile = np.ascontiguousarray(small[y0 : y0 + th, x0 : x0 + tw])
                res = self._detectors[0].process(tile)
                for d in res.detections or []:
                    t = _to_det(d, tile.shape, 0, 1.0)
                    t.box = (t.box + np.array([x0, y0, x0, y0])) / scale
                    t.keypoints = (t.keypoints + np.array([x0, y0])) / scale
                    out.append(t)
        return out

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float] | np.ndarray) -> np.ndarray | None:
        """The 478 landmarks (image px) of the face in detection box ``box`` (x0, y0, x1, y1), FaceMesh alone, or
        None when it finds no face there: how a video follows a face between detections."""
        with native_stderr_silenced():
            return self._landmarks(rgb, np.asarray(box, np.float64))

    def close(self) -> None:
        for d in self._detectors:
            d.close()
        self._mesh.close()

    def __enter__(self) -> "FaceFinder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------------------
    def _landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = MESH_CONTEXT * max(box[2] - box[0], box[3] - box[1])
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        crop = _crop_padded(rgb, x0, y0, s)
        k = min(1.0, MESH_SIDE / s)
        if k < 1.0:
            crop = cv2.resize(crop, (round(s * k), round(s * k)), interpolation=cv2.INTER_AREA)
        res = self._mesh.process(np.ascontiguousarray(crop))
        if not res.multi_face_landmarks:
            return None
        ch, cw = crop.shape[:2]
        pts = np.array([(p.x * cw, p.y * ch) for p in res.multi_face_landmarks[0].landmark], dtype=np.float32)
        pts = pts / k + np.array([x0, y0], dtype=np.float32)
        return pts


def _pad(img: np.ndarray, frac: float) -> tuple[np.ndarray, int]:
    if frac <= 0:
        return img, 0
    p = int(round(frac * max(img.shape[:2])))
    return cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_CONSTANT, value=(0, 0, 0)), p


def _crop_padded(img: np.ndarray, x0: int, y0: int, s: int) -> np.ndarray:
    """The ``s x s`` window at (x0, y0), black where it leaves the image. Copies only the window."""
    h, w = img.shape[:2]
    out = np.zeros((s, s, 3), dtype=img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + s, w), min(y0 + s, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def _to_det(d, shape: tuple[int, ...], pad: int, scale: float) -> _Det:  # noqa: ANN001 (mediapipe proto)
    h, w = shape[:2]
    loc = d.location_data
    bb = loc.relative_bounding_box
    box = np.array([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h])
    kps = np.array([(k.x * w, k.y * h) for k in loc.relative_keypoints], dtype=np.float64)
    box = (box - pad) / scale
    kps = (kps - pad) / scale
    return _Det(box=box, keypoints=kps, score=float(d.score[0]) if d.score else 0.0)


def _nms(dets: list[_Det]) -> list[_Det]:
    dets = sorted(dets, key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
    kept: list[_Det] = []
    for d in dets:
        if all(box_iou(d.box, k.box) < NMS_IOU and _inside(d.box, k.box) < NMS_INSIDE for k in kept):
            kept.append(d)
    return kept


def _inside(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of box ``a`` that lies inside box ``b`` (a face cut by a tile edge lies inside the whole one)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 0.0
