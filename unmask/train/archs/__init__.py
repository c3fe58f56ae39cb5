"""Architecture registry. Each module in this package (not starting with ``_``) declares one architecture:

* ``SPEC``: an :class:`unmask.spec.ArchSpec` (sizes, value range, mask convention, loss weights, presets);
* ``build_generator(preset) -> nn.Module`` whose ``forward(image, mask, *extra_inputs)`` takes the tensors the
  spec describes and returns the completed image (``Nx3xSxS`` in the spec's value range);
* ``build_discriminators(preset) -> nn.ModuleDict`` (may be empty);
* ``Trainer``: a subclass of :class:`unmask.train.archs._base.ArchTrainer` with the arch's losses and G/D steps.

and registers itself with ``register(SPEC, sys.modules[__name__])``. The CLI choices, ``unmask models``,
training defaults, export metadata and the parametrised tests all read :func:`names` / :func:`get`.
A new arch is one new file here. Importing this package imports torch.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from unmask.spec import ArchSpec

_REGISTRY: dict[str, ModuleType] = {}
_loaded = False


def register(spec: ArchSpec, module: ModuleType) -> None:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not module:
        raise ValueError(f"arch {spec.name!r} registered twice")
    _REGISTRY[spec.name] = module


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def names() -> list[str]:
    """Registered arch names, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> ModuleType:
    """The module of arch ``name`` (has SPEC, build_generator, build_discriminators, Trainer)."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown arch {name!r} (choose from {', '.join(sorted(_REGISTRY))})") from None


def spec(name: str) -> ArchSpec:
    return get(name).SPEC
