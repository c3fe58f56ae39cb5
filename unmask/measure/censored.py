"""Faces censored as ``unmask eval`` censors them, for the scripts that show restorations side by side
(``scripts/blind_pairs.py``, ``scripts/detail_grid.py``): each photo's largest face gets a randomised censor and
a JPEG pass, and is found again in the censored photo, as the restorer will look for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.face.types import Face
from unmask.infer.io import read_image
from unmask.measure.evaluate import match_face
from unmask.measure.scores import EvalSettings

if TYPE_CHECKING:
    from unmask.infer.face.detect import FaceFinder


@dataclass
class CensoredFace:
    """One photo's largest face, censored: ``index`` is the photo's place in the list; ``kind`` the censor drawn;
    ``clean`` and ``censored`` are HxWx3 uint8 RGB; ``hole`` HxW uint8, 255 where the censor drew; ``face`` the face
    found again in ``censored``."""

    index: int
    photo: Path
    kind: str
    clean: np.ndarray
    censored: np.ndarray
    hole: np.ndarray
    face: Face


def censored_faces(
    photos: Sequence[Path], finder: FaceFinder, kind: Callable[[], str], seed: Callable[[int], int]
) -> Iterator[CensoredFace]:
    """The photos' largest faces censored in turn: photo ``i``'s with the censor ``kind()`` drawn from
    ``default_rng(seed(i))``, then JPEG q90 (as ``unmask eval`` does). A photo without a face, or whose face is not found again or not
    covered once censored, is passed over. ``kind`` is asked once per censored photo, when it is reached."""
    for i, path in enumerate(photos):
        clean = read_image(path).rgb
        faces = finder.search(clean).faces
        if not faces:
            continue
        drawn = kind()
        censored, hole = draw_censor(clean, faces[0].landmarks, drawn, np.random.default_rng(seed(i)))
        censored = jpeg(censored, EvalSettings.jpeg)  # unmask eval's JPEG pass (q90)
        match = match_face(finder.search(censored).faces, faces[0].box)
        if match is None or not hole.any():
            continue
        yield CensoredFace(i, path, drawn, clean, censored, hole, match)
