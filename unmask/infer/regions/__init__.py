"""Face regions a censor hides (``eyes``, ``mouth``), registered like the archs: one module per region.

Each module ends with ``REGION = register(Region(name, fit_weights, areas, outline, finds))``, which declares:

* ``fit_weights(template) -> weights``: per landmark of the unit template (478x2), 0 for the landmarks the
  region's censors cover (they drift under a bar or a mask), 1 elsewhere: the alignment fits only the others
  (:func:`unmask.infer.crop.fit_weights`);
* ``areas(template) -> (window, core, free)``: polygons in the frame of the template given (crop pixels): the
  window the region's censors can reach (the only place searched), the core every such censor covers, and skin
  next to them that they leave free (a list, may be empty; :mod:`unmask.infer.censors.find`);
* ``outline(landmarks) -> polygon``: the landmark region in any frame, what ``--force`` restores when no censor
  is found (:func:`unmask.infer.censors.hole.hole_mask`);
* ``finds``: its ``auto`` cue, the censor kinds whose finders tell that the region is covered, in the order they
  are tried (a registry entry of :mod:`unmask.infer.censors` each);
* ``grain``: the share of the photo's grain a restored area is topped up to when pasted with ``retouch``
  (:func:`unmask.infer.compose.grain_for`; 0: none), measured per region on 200 validation faces.

The names and their order (the order ``auto`` searches the regions) are the public choices
:data:`unmask.spec.REGIONS`, and the censor kinds of each region :data:`unmask.spec.KIND_REGION`: the CLI reads
them without importing numpy. A new region is one module here plus its name in ``spec.REGIONS`` (and its tests).
This package imports no numpy until a region is looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unmask.registry import Registry
from unmask.spec import REGION_KINDS, REGIONS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass(frozen=True)
class Region:
    """One face region (see the module docstring)."""

    name: str
    fit_weights: Callable[[np.ndarray], np.ndarray]
    areas: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, list[np.ndarray]]]
    outline: Callable[[np.ndarray], np.ndarray]
    finds: tuple[str, ...]
    grain: float = 0.0

    @property
    def kinds(self) -> tuple[str, ...]:
        """The censor kinds that hide it, its commonest first (:data:`unmask.spec.REGION_KINDS`)."""
        return REGION_KINDS[self.name]


REGISTRY: Registry[Region] = Registry(__name__, "region", REGIONS)
"""One entry per region, from the package's modules (:class:`unmask.registry.Registry`)."""


def register(region: Region) -> Region:
    """Adds ``region`` to the registry (its name must be one of :data:`unmask.spec.REGIONS`, its ``finds`` among
    its kinds); returns it."""
    if region.name not in REGIONS:
        raise ValueError(f"region {region.name!r} is not in unmask.spec.REGIONS")
    stray = [k for k in region.finds if k not in REGION_KINDS[region.name]]
    if stray:
        raise ValueError(
            f"region {region.name!r} finds {', '.join(stray)}: not its censor kinds in unmask.spec.KIND_REGION"
        )
    return REGISTRY.add(region.name, region, region.outline.__module__)


def get(name: str) -> Region:
    """The registry entry of region ``name`` (``ValueError`` for an unknown one)."""
    return REGISTRY.get(name)


def all_regions() -> tuple[Region, ...]:
    """Every region, in the order ``auto`` searches them (:data:`unmask.spec.REGIONS`)."""
    return REGISTRY.in_order()


__all__ = ["Region", "all_regions", "get", "register"]
