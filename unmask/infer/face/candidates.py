"""Where faces may be: candidate boxes from several passes of mediapipe's two face detectors, merged by overlap.

The full-range model (192 px input) finds small bare faces on a whole photo, but a face with its eyes or its
mouth covered it mostly misses at any size; the short-range model (128 px input) finds censored faces too, bars
and masks alike, turned up to 45 degrees, as long as the face fills a sixth to a half of the image it is given
(on 270 censored faces of the benchmark canvases: 97-100% at a face side of 1/2 to 1/6 of the window, 82-88% at
1/8). So the passes are:

1. full-range on the photo downscaled to at most :data:`DETECT_SIDE`, or on 2x2 overlapping tiles of it from
   :data:`TILE_FROM` px (small faces of group photos);
2. short-range on the whole photo, as it is and with a black border of :data:`PAD` (a face filling a tight
   crop, or cut by the photo's edge), and, on photos of :data:`TILE_FROM` px and more, on square windows of a
   pyramid: sides of 0.8 and 0.4 of the photo's shorter side (:data:`WINDOW_LEVELS`), overlapping by 0.4, each
   seen at the model's 128 px. Together they cover faces from a fifteenth of the shorter side up to the whole
   photo;
3. (:func:`around`, only for a candidate whose landmarks were not found: its box placed a censored face badly)
   the short-range model again on views centred on that candidate, two and three times its size.

Every candidate keeps its detector's six keypoints (eyes first), which turn the landmark model's region
(:mod:`unmask.infer.face.mesh`). :func:`merge` groups candidates of the same face by overlap, best score first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from unmask.infer.face.types import box_iou

DETECT_SIDE = 1024
"""Long side (px) to which a photo is downscaled for the full-range passes."""
TILE_FROM = 640
"""Long side (after the DETECT_SIDE downscale) from which the full-range model searches 2x2 tiles instead of the
whole photo: on the whole photo it sees a group photo's faces too small (a 5x4 grid of 200 px faces: 18 of 20
found, 20 with tiles)."""
TILE_OVERLAP = 0.125
"""Tiles overlap by this share of the shorter side: faces up to that size lie whole in one tile; larger ones are
the short-range windows' (from a fifteenth of the shorter side)."""
PAD = 0.25
"""Black border (a fraction of the longer side) around the photo for a pass over all of it: tight crops with a
censor bar are often missed without it (of 100: 82 found as is, 97 padded), and so are faces cut by the edge."""
SHORT_INPUT = 128
"""The short-range model's input side: windows are cut at it from one resize of the photo per level."""
WINDOW_LEVELS = (0.8, 0.4)
"""Window sides, as fractions of the photo's shorter side. A window finds faces of 1/6 to 1/2 of its side, so
these two levels and the whole photo cover faces of 1/15 of the shorter side and more. Masked faces of 1x
(100-150 px on 1600x1200) are found more often in the smaller windows: 98.3% of 477 masked faces at 1x-2x with
(0.8, 0.4), 96.2% with (1.0, 0.5), for 16% more time."""
WINDOW_STRIDE = 0.6
"""Windows start every 0.6 of their side: every face up to 0.4 of a window lies whole in one (larger faces are the
next level's, or the whole photo's). Starting every half side found the same faces of the benchmark's 52 timing
canvases for 12% more time (detection, in one thread then, at 1.9x the time of the detector before issue 15, was
2.1x). Denser windows
at the 0.4 level (every 0.45 or 0.35 of the side) found 3-5 of the 12 masked faces missed at 0-30 degrees (seeds 0
and 1) but lost others the sparser grid found (its candidates merge differently, and a face placed by another one
fails its checks): 95.9% and 97.3-98.4% of masked faces instead of 97.1% and 96.2%, so not kept."""
SECOND_LEVELS = (0.4,)
"""Levels of the second look: windows centred where four windows of the first grid meet, so a face the first grid
cut at a window's edge is seen whole near a window's middle, where the model finds it best. Its candidates are
looked at after all of the first look's, where no face was found yet, and their faces must pass the strict checks
(:meth:`unmask.infer.face.detect.FaceFinder.confirm`), so it adds faces and changes none of the first look's. On
the detection benchmark (masks, 0-30 degrees) it found 6 of the 12 masked faces the first look missed (seed 0:
97.1% -> 98.2%, seed 1: 96.2% -> 98.4%) for 12 more windows on a 1600x1200 photo (the first look's 0.4 level has
20), and 1 and 3 more false faces on the face canvases (hair beside a face); detection per photo then took 1.7x
the wall time of the detector before issue 15 (two threads) and 2.2x its CPU time (1.8x without it). Tried:
skipping a second-look candidate wherever the first look had one (4 of the 12 found), checking its faces as a
photo's (the same 6, and one more false face), fewer landmark placements or no look around for its candidates
(2-3 of the 12). See benchmarks/RESULTS.md ("Detection recall")."""
MERGE_IOU = 0.3
"""Candidates overlapping this much (box IoU), or one's centre inside the other at a size within 2x, are one face."""


@dataclass
class Candidate:
    """A detector's box (x0, y0, x1, y1) and 6 keypoints (6x2: right eye, left eye, nose tip, mouth, right ear,
    left ear) in image px, its score, and the pass that found it."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float
    source: str
    others: list["Candidate"] = field(default_factory=list)  # merged candidates of the same face, best first
    second: bool = False  # from the second look (SECOND_LEVELS)

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def _from_detection(d, shape: tuple[int, ...], to_image: np.ndarray, source: str) -> Candidate:  # noqa: ANN001 - mediapipe proto
    """A mediapipe detection on an image of ``shape``, mapped to photo px by ``to_image`` (2x3, a scale and a
    shift)."""
    h, w = shape[:2]
    loc = d.location_data
    bb = loc.relative_bounding_box
    corners = np.array([[bb.xmin * w, bb.ymin * h], [(bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h]])
    kps = np.array([(k.x * w, k.y * h) for k in loc.relative_keypoints], np.float64)
    box = (corners @ to_image[:, :2].T + to_image[:, 2]).ravel()
    kps = kps @ to_image[:, :2].T + to_image[:, 2]
    return Candidate(box, kps, float(d.score[0]) if d.score else 0.0, source)


def _detect(detector, img: np.ndarray, to_image: np.ndarray, source: str) -> list[Candidate]:  # noqa: ANN001
    res = detector.process(np.ascontiguousarray(img))
    return [_from_detection(d, img.shape, to_image, source) for d in res.detections or []]


def _shift_scale(scale: float, x0: float = 0.0, y0: float = 0.0) -> np.ndarray:
    """2x3: px of an image that is ``rgb`` scaled by ``scale`` and cut at (x0, y0) (its px) -> ``rgb`` px."""
    return np.array([[1 / scale, 0, x0 / scale], [0, 1 / scale, y0 / scale]], np.float64)


def downscaled(rgb: np.ndarray, side: int = DETECT_SIDE) -> tuple[np.ndarray, float]:
    """``rgb`` area-averaged to at most ``side`` px on its long side, and the scale applied (1.0: as it was)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return rgb, 1.0
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA), scale


def full_range(detector, small: np.ndarray, scale: float) -> list[Candidate]:  # noqa: ANN001 - mediapipe FaceDetection
    """Pass 1: the full-range model on ``small`` (the photo scaled by ``scale``, :func:`downscaled`), or, when it
    is large, on its 2x2 tiles overlapping by :data:`TILE_OVERLAP`. Boxes in photo px."""
    sh, sw = small.shape[:2]
    if max(sh, sw) < TILE_FROM:  # as it is and with a black border (a face cut by the photo's edge)
        padded, p = _padded(small)
        return _detect(detector, small, _shift_scale(scale), "full") + _detect(
            detector, padded, _shift_scale(scale, -p, -p), "full-pad"
        )
    margin = int(round(TILE_OVERLAP * min(sh, sw) / 2))
    th, tw = sh // 2 + margin, sw // 2 + margin
    out: list[Candidate] = []
    for y0 in (0, sh - th):
        for x0 in (0, sw - tw):
            out += _detect(detector, small[y0 : y0 + th, x0 : x0 + tw], _shift_scale(scale, x0, y0), "full-tile")
    return out


def _positions(length: int, window: int) -> list[int]:
    """Window starts along one side: one every :data:`WINDOW_STRIDE` of the window, the last one flush with the end."""
    if length <= window:
        return [0]
    n = int(math.ceil((length - window) / (window * WINDOW_STRIDE))) + 1
    return [int(round(v)) for v in np.linspace(0, length - window, n)]


View = tuple[np.ndarray, np.ndarray, str]
"""An image a detector is run on, the 2x3 matrix from its px to the photo's, and the pass's name."""


def window_views(small: np.ndarray, scale: float, min_face: float) -> tuple[list[View], list[View]]:
    """Pass 2's views: the pyramid's windows (see the module), each level area-averaged from ``small`` (the photo
    scaled by ``scale``), then the whole photo as it is and padded; faces under ``min_face`` photo px are not
    looked for. And the second look's views (:data:`SECOND_LEVELS`): windows of those levels centred where four of
    the first grid's meet. Run them with :func:`detect_views`."""
    sh, sw = small.shape[:2]
    out: list[View] = []
    second: list[View] = []
    for level in WINDOW_LEVELS if max(sh, sw) >= TILE_FROM else ():  # a small photo's faces: the whole photo's
        side = level * min(sh, sw)  # in small's px
        if side < SHORT_INPUT or side / 2 / scale < min_face:
            continue  # a window is never enlarged
        k = SHORT_INPUT / side
        img = cv2.resize(
            small, (max(SHORT_INPUT, round(sw * k)), max(SHORT_INPUT, round(sh * k))), interpolation=cv2.INTER_AREA
        )
        ih, iw = img.shape[:2]
        kx, ky = iw / sw * scale, ih / sh * scale  # img px per photo px

        def view(x0: int, y0: int, source: str) -> View:
            win = img[y0 : y0 + SHORT_INPUT, x0 : x0 + SHORT_INPUT]  # noqa: B023 - used at once
            return win, np.array([[1 / kx, 0, x0 / kx], [0, 1 / ky, y0 / ky]], np.float64), source  # noqa: B023

        xs, ys = _positions(iw, SHORT_INPUT), _positions(ih, SHORT_INPUT)
        out += [view(x0, y0, f"short-{level:g}") for y0 in ys for x0 in xs]
        if level in SECOND_LEVELS:
            second += [
                view((a + b) // 2, (c + d) // 2, f"second-{level:g}")
                for c, d in zip(ys, ys[1:])
                for a, b in zip(xs, xs[1:])
            ]
    whole, k = downscaled(small, 2 * SHORT_INPUT)
    padded, p = _padded(whole)
    out.append((whole, _shift_scale(scale * k), "short-whole"))
    out.append((padded, _shift_scale(scale * k, -p, -p), "short-pad"))
    return out, second


def detect_views(detector, views: list[View]) -> list[list[Candidate]]:  # noqa: ANN001 - mediapipe FaceDetection
    """``detector`` on each view: its candidates, per view, in photo px."""
    return [_detect(detector, img, to_image, source) for img, to_image, source in views]


def windows(detector, small: np.ndarray, scale: float, min_face: float) -> list[Candidate]:  # noqa: ANN001
    """Pass 2: the short-range model on :func:`window_views` (the first look's). Boxes in photo px."""
    return [c for found in detect_views(detector, window_views(small, scale, min_face)[0]) for c in found]


def _padded(img: np.ndarray) -> tuple[np.ndarray, int]:
    """``img`` with a black border of :data:`PAD` of its longer side, and the border's width."""
    p = int(round(PAD * max(img.shape[:2])))
    return cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_CONSTANT, value=(0, 0, 0)), p


def around(detector, rgb: np.ndarray, box: np.ndarray, contexts: tuple[float, ...]) -> list[Candidate]:  # noqa: ANN001
    """Pass 3, for a candidate the landmark model did not take: the short-range model on square views centred on
    ``box``, ``contexts`` times its size, at the model's input side (the face then fills a third to a half of the
    view, where the model places it best). Boxes in photo px."""
    from unmask.infer.face.mesh import Roi, upright

    out: list[Candidate] = []
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    size = max(box[2] - box[0], box[3] - box[1])
    for context in contexts:
        view = upright(rgb, Roi(centre, size), SHORT_INPUT, context)
        s = size * context / SHORT_INPUT  # photo px per view px
        to_image = np.array([[s, 0, centre[0] - s * SHORT_INPUT / 2], [0, s, centre[1] - s * SHORT_INPUT / 2]])
        out += _detect(detector, view, to_image, f"around-{context:g}")
    return out


def same_face(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether boxes ``a`` and ``b`` (x0, y0, x1, y1) hold the same face: IoU of at least :data:`MERGE_IOU`, or
    the centre of one inside the other at a size within 2x (a face cut by a window's edge)."""
    if box_iou(a, b) >= MERGE_IOU:
        return True
    sa, sb = max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])
    if not 0.5 <= sa / max(sb, 1e-6) <= 2.0:
        return False
    ca, cb = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    return (b[0] <= ca[0] <= b[2] and b[1] <= ca[1] <= b[3]) or (a[0] <= cb[0] <= a[2] and a[1] <= cb[1] <= a[3])


def merge(cands: list[Candidate]) -> list[Candidate]:
    """One candidate per face, the best-scoring, holding the others of the same face in ``others`` (best first)."""
    heads: list[Candidate] = []
    for c in sorted(cands, key=lambda c: -c.score):
        for h in heads:
            if same_face(c.box, h.box):
                h.others.append(c)
                break
        else:
            heads.append(c)
    return heads
