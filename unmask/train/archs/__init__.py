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

from types import ModuleType

from unmask.registry import Registry
from unmask.spec import ArchSpec

REGISTRY: Registry[ModuleType] = Registry(__name__, "arch", unknown=KeyError)
"""One module per arch (:class:`unmask.registry.Registry`)."""


def register(spec: ArchSpec, module: ModuleType) -> None:
    REGISTRY.add(spec.name, module, module.__name__)


def names() -> list[str]:
    """Registered arch names, sorted."""
    return REGISTRY.names()


def get(name: str) -> ModuleType:
    """The module of arch ``name`` (has SPEC, build_generator, build_discriminators, Trainer)."""
    return REGISTRY.get(name)


def spec(name: str) -> ArchSpec:
    return get(name).SPEC
