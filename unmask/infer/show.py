"""The faces of a photo drawn for the user (``--show-faces``): each face's box, its number and what was decided.

The numbers are the report's (reading order, :mod:`unmask.infer.face.choose`), so a user reads them off the picture and
picks faces for the next run (``--faces 0,2``). :func:`label` is the one short wording of a decision, for the
picture and the CLI's line alike.
"""

from __future__ import annotations

from typing import Iterable, Protocol

import cv2
import numpy as np

COLOURS = {"restored": (40, 200, 60), "to-restore": (40, 200, 60), "skipped": (150, 150, 150)}
"""Box colour (RGB) per status (a face a picture shows as to be restored is green, as a restored one); any other
status (nothing covered, no censor, outside the mask) is orange."""
OTHER = (255, 150, 0)


class Reported(Protocol):
    """What :func:`draw_faces` needs of a face's report (:class:`unmask.infer.pipeline.FaceReport`)."""

    box: tuple[float, float, float, float]
    status: str
    decision: str
    region: str | None
    index: int | None


def label(status: str, decision: str, region: str | None, planned: bool = False) -> str:
    """A few words for a face's outcome: ``restored eyes``, ``no censor``, ``too small``, ``not chosen`` ...
    ``planned``: nothing was restored (``--show-faces`` alone), a face with a censor reads ``to restore: eyes``."""
    if status == "to-restore" or (status == "restored" and planned):
        return f"to restore: {region}" if region else "to restore"
    if status == "restored":
        return f"restored {region}" if region else "restored"
    if status == "failed":
        return "restored, not written (the photo failed)"
    if status == "skipped":
        return decision.split(" (")[0]
    return {"clean": "nothing covered", "not-covered": "no censor", "outside-mask": "outside the mask"}.get(
        status, status
    )


def draw_faces(rgb: np.ndarray, faces: Iterable[Reported], planned: bool = False) -> np.ndarray:
    """A copy of ``rgb`` (HxWx3 uint8) with each face's box, number and :func:`label` drawn on it (``planned``: see
    :func:`label`)."""
    out = np.ascontiguousarray(rgb.copy())
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 500))
    scale = max(0.4, max(h, w) / 1600)
    for f in faces:
        x0, y0, x1, y1 = (int(round(v)) for v in f.box)
        colour = COLOURS.get(f.status, OTHER)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thick, cv2.LINE_AA)
        words = label(f.status, f.decision, f.region, planned)
        text = f"{f.index}: {words}" if f.index is not None else words
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = y0 - 4 if y0 - th - base - 4 >= 0 else min(y1 + th + 4, h - base)
        tx = min(max(x0, 0), max(w - tw, 0))
        cv2.rectangle(out, (tx, ty - th - 2), (tx + tw, ty + base), (0, 0, 0), -1)
        cv2.putText(out, text, (tx, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return out
