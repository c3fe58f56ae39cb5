"""The shape of a model as the restoring path uses it: :class:`Inpainter` (a trained ONNX model,
:class:`unmask.infer.runtime.Model`, and the classic baselines of :mod:`unmask.measure.baselines` alike). Its own
module, so that the pipeline and the wrappers it composes (:mod:`unmask.infer.flip`) both import it and not each
other."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Inpainter(Protocol):
    """What the pipeline needs of a model: its name (for the reports), its crop side, whether it follows given
    edges, and a batch run (see :class:`unmask.infer.runtime.Model`; the baselines of :mod:`unmask.measure.baselines`
    are inpainters too)."""

    name: str

    @property
    def size(self) -> int: ...

    @property
    def takes_edges(self) -> bool: ...

    def run(self, crops: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]: ...
