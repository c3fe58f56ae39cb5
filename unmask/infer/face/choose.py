"""Which faces of a photo: their numbering in reading order, and the user's choice among them.

Faces are numbered as a reader goes through a group photo: row by row from the top, left to right in a row
(:func:`reading_order`). That number is what the report shows and what a choice (:class:`Choice`) names, so a
user reads the numbers off one run (``--show-faces``) and picks faces for the next (``--faces 0,2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Box = Sequence[float]  # x0, y0, x1, y1

ROW_SHARE = 0.5
"""A face belongs to a row when its centre lies within this share of the row's mean face height from the row's
mean centre height."""


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """The positions of ``boxes`` in reading order: rows from the top (faces whose centres lie within
    :data:`ROW_SHARE` of a face height of each other, taken from the top face down), each row left to right."""
    by_height = sorted(range(len(boxes)), key=lambda i: (_cy(boxes[i]), _cx(boxes[i])))
    rows: list[list[int]] = []
    for i in by_height:
        if rows:
            row = rows[-1]
            mean_y = sum(_cy(boxes[j]) for j in row) / len(row)
            mean_h = sum(boxes[j][3] - boxes[j][1] for j in row) / len(row)
            if abs(_cy(boxes[i]) - mean_y) <= ROW_SHARE * mean_h:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: _cx(boxes[j]))]


def _cx(b: Box) -> float:
    return (b[0] + b[2]) / 2


def _cy(b: Box) -> float:
    return (b[1] + b[3]) / 2


@dataclass(frozen=True)
class Choice:
    """The faces of a photo to restore: all (the default), those numbered ``indices`` (reading order, as the
    report numbers them), or only the ``largest``. A face not chosen is left as it is and reported as skipped."""

    indices: tuple[int, ...] | None = None
    largest: bool = False

    def __post_init__(self) -> None:
        if self.indices is not None and self.largest:
            raise ValueError("choose faces by number or the largest, not both")
        if self.indices is not None and any(i < 0 for i in self.indices):
            raise ValueError(f"face numbers start at 0: {', '.join(map(str, self.indices))}")

    @property
    def everything(self) -> bool:
        return self.indices is None and not self.largest

    def missing(self, count: int) -> list[int]:
        """The chosen numbers that no face of a photo with ``count`` numbered faces has."""
        return [i for i in self.indices or () if i >= count]

    def why_not(self, index: int, box: Box, boxes: Sequence[Box]) -> str | None:
        """Why face ``index`` (box ``box``, among the restorable faces' ``boxes``) is not chosen, or None."""
        if self.indices is not None and index not in self.indices:
            return f"not chosen (--faces {','.join(map(str, self.indices))})"
        if self.largest and _area(box) < max(_area(b) for b in boxes):
            return "not the largest face (--largest)"
        return None


def _area(b: Box) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])
