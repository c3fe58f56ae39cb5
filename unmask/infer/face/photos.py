"""Photo files and the faces in them, for the tools that look through a folder for faces to work on (the video
bench's stills, int8 calibration)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unmask.infer.face.types import Face
from unmask.infer.io import ImageError, read_image

if TYPE_CHECKING:
    from unmask.infer.face.detect import FaceFinder


def photo_faces(paths: Iterable[Path], finder: FaceFinder) -> Iterator[tuple[np.ndarray | None, list[Face]]]:
    """Each photo of ``paths`` read and searched, in order: its HxWx3 uint8 RGB pixels and the faces ``finder``
    finds (largest first), or ``(None, [])`` for a file that cannot be read as an image."""
    for path in paths:
        try:
            rgb = read_image(path).rgb
        except ImageError:
            yield None, []
            continue
        yield rgb, finder.search(rgb).faces
