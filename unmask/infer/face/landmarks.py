"""Index sets of mediapipe's 478-point FaceMesh (refine_landmarks=True), written once here.

"Right" is the subject's right, which is the image's left on an unmirrored photo.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478

RIGHT_EYE = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
LEFT_EYE = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
RIGHT_BROW = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
LEFT_BROW = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
LIPS = (0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267, 269,
        270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415)  # fmt: skip
NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440)
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)  # fmt: skip, in order
NOSE_TIP = 1
NOSE_BRIDGE = 168  # between the eyes, at about eye level
CHIN = 152
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
RIGHT_CHEEK, LEFT_CHEEK = 234, 454  # face oval at about eye/nose level, image left / right


def _ids(*groups: tuple[int, ...]) -> np.ndarray:
    return np.array(sorted({i for g in groups for i in g}), dtype=np.int64)


EYES = _ids(RIGHT_EYE, LEFT_EYE, RIGHT_IRIS, LEFT_IRIS)
EYE_REGION = _ids(RIGHT_EYE, LEFT_EYE, RIGHT_IRIS, LEFT_IRIS, RIGHT_BROW, LEFT_BROW)
MOUTH_REGION = _ids(LIPS)


def eye_centres(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres as means of the eye contours. ``pts``: 478x2."""
    return pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)
