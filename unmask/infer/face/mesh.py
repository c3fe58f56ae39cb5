"""FaceMesh's landmark model on a region of interest the caller gives, with its face-presence score.

mediapipe's ``solutions.face_mesh.FaceMesh`` finds the face itself (its short-range detector) before placing the
landmark model's region, so a face that detector misses on the crop gets no landmarks however well the caller
located it. Here mediapipe's own ``FaceLandmarkCpu`` subgraph (the landmark model with attention: 478 points)
runs on a rotated square region of interest (:class:`Roi`) instead, from any detector and any pass (a window of
the short-range model, a tile of the full-range one, a rotated copy, or the previous frame of a video), and the
model's face-presence score (``face_presence_score``, which the stock graph only thresholds) is returned with the
landmarks, so the caller decides what is a face.

The region is placed as mediapipe places it: from a detection, the box scaled by :data:`ROI_SCALE` and turned
by the eye line of the detection's keypoints; from landmarks (:func:`roi_from_landmarks`), their extent in the
face's own frame, scaled alike and turned by the outer eye corners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask.infer.face import landmarks as L

ROI_SCALE = 1.5
"""Side of the landmark model's square region, in detection-box (or landmark-extent) sizes: mediapipe's own
(``FaceDetectionFrontDetectionToRoi``, ``FaceLandmarkLandmarksToRoi``)."""

ROI_SIDE = 192
"""The region's neighbourhood is cut from the photo and area-averaged so the region is at most this many pixels:
the model's own input side, so a 24-megapixel photo costs no more than a small one and gives the same landmarks."""


@dataclass(frozen=True)
class Roi:
    """A square region of interest in image pixels: ``centre`` (x, y), ``side``, and ``angle``: how far the face
    is turned, in radians, clockwise on screen (mediapipe's ``NormalizedRect.rotation``)."""

    centre: tuple[float, float]
    side: float
    angle: float = 0.0


def eye_line_angle(right_eye: np.ndarray, left_eye: np.ndarray) -> float:
    """The turn (radians, clockwise on screen) that makes the line from the subject's right eye (image left) to
    the left eye horizontal: mediapipe's rotation from two keypoints with a target angle of 0."""
    dx, dy = float(left_eye[0] - right_eye[0]), float(left_eye[1] - right_eye[1])
    return math.atan2(dy, dx)


def roi_from_box(
    box: np.ndarray | tuple[float, ...], keypoints: np.ndarray | None = None, angle: float | None = None
) -> Roi:
    """The landmark model's region for a detection ``box`` (x0, y0, x1, y1), turned by ``angle`` or by the eye
    line of ``keypoints`` (6x2: right eye, left eye first) when given."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if angle is None:
        angle = eye_line_angle(keypoints[0], keypoints[1]) if keypoints is not None else 0.0
    return Roi(((x0 + x1) / 2, (y0 + y1) / 2), ROI_SCALE * max(x1 - x0, y1 - y0), angle)


def roi_from_landmarks(pts: np.ndarray) -> Roi:
    """The region the landmark model would track ``pts`` (478x2 image px) with: turned by the outer eye corners,
    centred on the landmarks' extent in the face's own frame and :data:`ROI_SCALE` times its longer side."""
    angle = eye_line_angle(pts[L.RIGHT_EYE_OUTER], pts[L.LEFT_EYE_OUTER])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # image -> face frame (undo the turn)
    q = np.asarray(pts, np.float64) @ rot.T
    lo, hi = q.min(0), q.max(0)
    centre = ((lo + hi) / 2) @ rot  # back to the image frame
    return Roi((float(centre[0]), float(centre[1])), ROI_SCALE * float((hi - lo).max()), angle)


def _graph_config():  # noqa: ANN202 - a CalculatorGraphConfig
    """``FaceLandmarkCpu`` alone, expanded, with the face-presence score as a graph output too."""
    from google.protobuf import text_format
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    graph = calculator_pb2.CalculatorGraphConfig()
    graph.input_stream.extend(["image", "roi"])
    graph.output_stream.append("face_landmarks")
    graph.input_side_packet.append("with_attention")
    node = graph.node.add()
    node.calculator = "FaceLandmarkCpu"
    node.input_stream.extend(["IMAGE:image", "ROI:roi"])
    node.input_side_packet.append("WITH_ATTENTION:with_attention")
    node.output_stream.append("LANDMARKS:face_landmarks")
    validated = validated_graph_config.ValidatedGraphConfig()
    validated.initialize(graph_config=graph)  # expands the subgraph, so its inner streams get their final names
    expanded = text_format.Parse(validated.text_config, calculator_pb2.CalculatorGraphConfig())
    expanded.output_stream.append(PRESENCE_STREAM)
    return expanded


PRESENCE_STREAM = "facelandmarkcpu__face_presence_score"
_THRESHOLD_PARAM = "facelandmarkcpu__ThresholdingCalculator.threshold"


class RoiMesh:
    """The landmark model on given regions. Not thread-safe; one per worker; :meth:`close` when done. Build it
    inside :func:`unmask.infer.face.quiet.native_stderr_silenced` to keep mediapipe's set-up lines off stderr."""

    def __init__(self) -> None:
        from mediapipe.python.solution_base import SolutionBase

        # Landmarks always come out (threshold 0): the caller judges the presence score itself.
        self._graph = SolutionBase(
            graph_config=_graph_config(),
            side_inputs={"with_attention": True},
            outputs=["face_landmarks", PRESENCE_STREAM],
            calculator_params={_THRESHOLD_PARAM: 0.0},
        )

    def run(self, rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """(478x2 float32 landmarks in image px, face-presence score in [0, 1]) for the face in ``roi``."""
        from mediapipe.framework.formats import rect_pb2

        # the neighbourhood that holds the turned region, at most ROI_SIDE px per region side
        side = roi.side * (abs(math.cos(roi.angle)) + abs(math.sin(roi.angle)))
        k = min(1.0, ROI_SIDE / max(roi.side, 1.0))
        n = max(8, int(math.ceil(side * k)) + 2)
        cx, cy = roi.centre
        # image px -> window px: scale by k about the centre, which lands in the window's middle
        m = np.array([[k, 0, n / 2 - k * cx], [0, k, n / 2 - k * cy]], np.float64)
        window = _window(rgb, m, n, k)
        rect = rect_pb2.NormalizedRect(x_center=0.5, y_center=0.5, width=roi.side * k / n, height=roi.side * k / n,
                                       rotation=roi.angle)  # fmt: skip
        res = self._graph.process({"image": window, "roi": rect})
        score = getattr(res, PRESENCE_STREAM)
        if res.face_landmarks is None or score is None:
            return np.zeros((L.N_LANDMARKS, 2), np.float32), 0.0
        pts = np.array([(p.x * n, p.y * n) for p in res.face_landmarks.landmark], np.float64)
        pts = (pts - m[:, 2]) / k
        return pts.astype(np.float32), float(score)

    def close(self) -> None:
        self._graph.close()


def _window(rgb: np.ndarray, m: np.ndarray, n: int, k: float) -> np.ndarray:
    """The ``n x n`` window that ``m`` (image -> window, a scale by ``k`` and a shift) maps ``rgb`` to, black
    outside the photo; area-averaged when it shrinks."""
    if k >= 1.0:
        return cv2.warpAffine(rgb, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    h, w = rgb.shape[:2]
    x0, y0 = int(math.floor(-m[0, 2] / k)), int(math.floor(-m[1, 2] / k))
    x1, y1 = int(math.ceil((n - m[0, 2]) / k)) + 1, int(math.ceil((n - m[1, 2]) / k)) + 1
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 <= sx0 or sy1 <= sy0:
        return np.zeros((n, n, 3), np.uint8)
    part = rgb[sy0:sy1, sx0:sx1]
    pw, ph = max(1, round((sx1 - sx0) * k)), max(1, round((sy1 - sy0) * k))
    small = cv2.resize(part, (pw, ph), interpolation=cv2.INTER_AREA)
    fx, fy = pw / (sx1 - sx0), ph / (sy1 - sy0)
    # small px -> window px: small u is image x = (u + 0.5) / fx - 0.5 + sx0
    to_win = np.array(
        [[k / fx, 0, k * (0.5 / fx - 0.5 + sx0) + m[0, 2]], [0, k / fy, k * (0.5 / fy - 0.5 + sy0) + m[1, 2]]]
    )
    return cv2.warpAffine(small, to_win, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def upright(rgb: np.ndarray, roi: Roi, side: int, context: float = 1.0) -> np.ndarray:
    """A ``side x side`` image of the square ``context`` times ``roi`` around its centre, turned so the face
    stands upright (area-averaged when it shrinks, black outside the photo)."""
    k = side / max(roi.side * context, 1.0)
    n = int(math.ceil(side * (abs(math.cos(roi.angle)) + abs(math.sin(roi.angle))))) + 2
    cx, cy = roi.centre
    window = _window(rgb, np.array([[k, 0, n / 2 - k * cx], [0, k, n / 2 - k * cy]], np.float64), n, k)
    turn = cv2.getRotationMatrix2D((n / 2, n / 2), math.degrees(roi.angle), 1.0)
    turn[:, 2] += side / 2 - n / 2
    return cv2.warpAffine(window, turn, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
