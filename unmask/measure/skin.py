"""Skin tone of the scored faces and ``unmask eval``'s scores per skin-tone group (issue 24).

Each face's individual typology angle (ITA, :func:`unmask.measure.texture.ita`) is measured on the **clean** photo,
on the skin the censor leaves visible: the forehead and both cheeks, as polygons of FaceMesh landmarks
(:data:`SKIN_PATCHES`), less the censor grown by :data:`CENSOR_MARGIN` px (none when too little skin shows, or
the photo is black and white). The scored faces are then split into three groups of (nearly) equal size by ITA
rank, lightest first (:func:`skin_groups`), and PSNR, hole LPIPS and tone are summarised per group and method.

Array conventions: images HxWx3 uint8 RGB; masks HxW uint8 with 255 = inside (skin, or censor); landmarks 478x2
in the image's pixels. Never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from unmask.measure.metrics import summarize
from unmask.measure.texture import ita
from unmask.spec import is_hole


class Scored(Protocol):
    """What :func:`skin_groups` reads of a scored face (:class:`unmask.measure.scores.FaceScore` is one): the photo,
    the method, the face's skin tone, and the metrics of :data:`GROUP_METRICS` as attributes."""

    photo: str
    method: str
    ita: float | None


SKIN_PATCHES = {
    "forehead": (10, 338, 297, 299, 337, 151, 108, 69, 67, 109),
    "right cheek": (117, 118, 101, 36, 206, 207, 187, 123),  # the subject's right: the image's left
    "left cheek": (346, 347, 330, 266, 426, 427, 411, 352),
}
"""Polygons (FaceMesh landmark indices, in order) of skin free of eyes, brows, nose and lips, checked by eye on
validation faces: a band across the middle of the forehead, and a patch on each cheek below the eye."""

CENSOR_MARGIN = 2
"""Skin within this many px of the censor is not used (its edge, anti-aliasing)."""

GROUPS = ("lightest", "middle", "darkest")
GROUP_METRICS = ("psnr", "hole_lpips", "tone")


def visible_skin(landmarks: np.ndarray, shape: Sequence[int], censor: np.ndarray | None = None) -> np.ndarray:
    """HxW uint8 mask (255 = skin) of :data:`SKIN_PATCHES` for ``landmarks`` (478x2, pixels) in an image of
    ``shape`` (H, W, ...), less ``censor`` (HxW uint8, 255 = hidden) grown by :data:`CENSOR_MARGIN` px."""
    import cv2

    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), np.uint8)
    lm = np.asarray(landmarks, np.float64)
    for ids in SKIN_PATCHES.values():
        cv2.fillPoly(mask, [np.round(lm[list(ids)]).astype(np.int32)], 255)
    if censor is not None:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CENSOR_MARGIN + 1, 2 * CENSOR_MARGIN + 1))
        mask[cv2.dilate(is_hole(censor).astype(np.uint8), k) > 0] = 0
    return mask


def face_ita(clean: np.ndarray, landmarks: np.ndarray, censor: np.ndarray | None = None) -> float | None:
    """ITA in degrees of the face with ``landmarks`` on the clean photo ``clean`` (HxWx3 uint8), over
    :func:`visible_skin`; None when too little skin is visible."""
    return ita(clean, visible_skin(landmarks, clean.shape, censor))


@dataclass
class GroupRow:
    """One method on one skin-tone group: each metric as ``(mean, lo, hi)`` (None: not measured)."""

    name: str
    psnr: tuple[float, float, float] | None
    hole_lpips: tuple[float, float, float] | None
    tone: tuple[float, float, float] | None


@dataclass
class SkinGroup:
    """``name``: lightest / middle / darkest; ``ita``: (lowest, highest) ITA of its faces in degrees; ``faces``:
    how many; ``rows``: one per method, in method order."""

    name: str
    ita: tuple[float, float]
    faces: int
    rows: list[GroupRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def s(v: tuple[float, float, float] | None, nd: int) -> dict[str, float] | None:
            return None if v is None else {"mean": round(v[0], nd), "lo": round(v[1], nd), "hi": round(v[2], nd)}

        return {
            "group": self.name,
            "ita": [round(self.ita[0], 2), round(self.ita[1], 2)],
            "faces": self.faces,
            "rows": [
                {"name": r.name, "psnr": s(r.psnr, 4), "hole_lpips": s(r.hole_lpips, 5), "tone": s(r.tone, 4)}
                for r in self.rows
            ],  # fmt: skip
        }


def skin_groups(faces: Sequence[Scored], methods: Sequence[str]) -> list[SkinGroup]:
    """The scored faces with an ITA split by rank into :data:`GROUPS` (sizes differ by at most one; a group with
    no face is left out), each with PSNR, hole LPIPS and tone summarised per method (:func:`summarize`)."""
    itas: dict[str, float] = {}
    for f in faces:
        if f.ita is not None:
            itas.setdefault(f.photo, f.ita)
    order = sorted(itas, key=lambda p: -itas[p])
    groups = []
    for name, members in zip(GROUPS, np.array_split(np.array(order, dtype=object), len(GROUPS))):
        if not len(members):
            continue
        keep = set(members.tolist())
        values = [itas[p] for p in keep]
        group = SkinGroup(name, (min(values), max(values)), len(keep))
        for method in methods:
            fs = [f for f in faces if f.method == method and f.photo in keep]
            group.rows.append(GroupRow(method, *(_summary([getattr(f, m) for f in fs]) for m in GROUP_METRICS)))
        groups.append(group)
    return groups


def _summary(values: Sequence[float | None]) -> tuple[float, float, float] | None:
    vals = [v for v in values if v is not None]
    return summarize(vals) if vals else None
