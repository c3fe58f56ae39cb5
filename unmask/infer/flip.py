"""Flip averaging: a model's result on a face, averaged with its result on the mirrored face, mirrored back.

An aligned face crop mirrored left to right is another face of the training distribution (training flips faces
at random), and the generator's two guesses for the hidden pixels differ in what it invents, not in what the
visible pixels tell. Their mean is closer to the hidden truth on average (the "self-ensemble" of image
restoration models): on 198 validation faces with an eye bar (``unmask eval``, dmfn-eyes) hole PSNR 18.37 ->
18.50 dB, SSIM 0.550 -> 0.558, LPIPS 0.043 unchanged. It costs one more generator run per face (one batch of twice
the faces), so photos use it and videos do not by default. Cheaper partners for the mean were measured worse than
none (issue 29; a band of rows or a half-size crop changes what the model's instance normalisation sees, and a face's
own mirror image ignores its turn): ``benchmarks/RESULTS.md``, "CPU speed".

Arrays as everywhere: crops SxSx3 uint8 RGB, holes SxS uint8 (255 = hole).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from unmask.edges import EdgeGuide
from unmask.infer.forward import Forwarded

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.inpainter import Inpainter


def _mirror(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a[:, ::-1])


class FlipAveraged:
    """An inpainter (see :class:`unmask.infer.inpainter.Inpainter`) that runs ``model`` on each crop and on its
    mirror image in one batch and returns the mean of the result and the mirrored-back second result, rounded.
    Pixels outside the hole are the model's own concern (the pipeline pastes back the hole only)."""

    name = Forwarded("model")
    size = Forwarded("model")
    takes_edges = Forwarded("model")

    def __init__(self, model: "Inpainter") -> None:
        self.model = model

    def run(
        self, crops: list[np.ndarray], holes: list[np.ndarray], guides: list[EdgeGuide | None] | None = None
    ) -> list[np.ndarray]:
        if not crops:
            return []
        n = len(crops)
        both_crops = list(crops) + [_mirror(c) for c in crops]
        both_holes = list(holes) + [_mirror(h) for h in holes]
        if guides is None:
            out = self.model.run(both_crops, both_holes)
        else:
            mirrored = [None if g is None else EdgeGuide(_mirror(g.edges), _mirror(g.where)) for g in guides]
            out = self.model.run(both_crops, both_holes, list(guides) + mirrored)  # type: ignore[call-arg]
        return [
            ((a.astype(np.uint16) + _mirror(b).astype(np.uint16) + 1) // 2).astype(np.uint8)
            for a, b in zip(out[:n], out[n:])
        ]
