"""What the training loop needs around validation: RNG-neutral blocks, eval mode, and the shape of a validator.

The validator itself (PSNR, SSIM, LPIPS, detail on fixed masks, the sample grid) is the measurement wing's:
:class:`unmask.measure.validation.Validator`, handed to :func:`unmask.train.loop.train` by ``unmask train``. Training
never imports measurement (docs/ARCHITECTURE.md); without a validator, a run that would validate says so in a note.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from unmask.train.data.dataset import CensorDataset


@dataclass(frozen=True)
class Candidate:
    """What a validator scores: ``generator(*inputs(batch))`` returns the completed image (its modules switched to
    eval mode by the caller); ``grid_path``: where the sample grid PNG goes (None: no grid); ``memory_format``: of
    each batch on the device."""

    generator: Callable[..., torch.Tensor]
    inputs: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, ...]]
    grid_path: Path | None = None
    memory_format: torch.memory_format = torch.contiguous_format


class Validates(Protocol):
    """A validator: :attr:`note` says what was left out (empty when nothing); :meth:`run` scores a
    :class:`Candidate`."""

    note: str

    def run(self, candidate: Candidate) -> dict[str, float]: ...


ValidatorFactory = Callable[["CensorDataset", torch.device, int, "str | None", "str | None"], Validates]
"""``factory(dataset, device, batch_size, lpips_weights, features_weights) -> validator``."""


@contextlib.contextmanager
def rng_neutral() -> Iterator[None]:
    """Restores the torch (CPU and CUDA), numpy and Python global RNG states on exit."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Puts ``modules`` in eval mode inside the block and restores each one's mode after."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
