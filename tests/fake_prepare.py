"""What the preparation tests (test_data.py: the crop cache; test_prepare.py: portable sets) share: a face cropper
that needs no mediapipe, and a progress callback that interrupts a preparation part-way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


class Interrupt(Exception):
    """Raised by :func:`stop_after`: an interrupted preparation."""


def stop_after(n: int) -> Callable[[int, int, int], None]:
    """A ``progress(done, total, failed)`` callback that interrupts the preparation once ``n`` photos are done."""

    def progress(done: int, total: int, failed: int) -> None:
        if done >= n:
            raise Interrupt

    return progress


class FakeCropper:
    """A cropper (``cropper(size)(path)``): files named bad* have no face; any other file's crop and landmarks are
    the subclass's :meth:`face`. Each call's file name is appended to the subclass's ``calls``. Subclasses live at
    module level, so preparation workers in other processes can unpickle them."""

    calls: list[str]

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, path: Path) -> str | tuple[np.ndarray, np.ndarray]:
        self.calls.append(path.name)
        if path.name.startswith("bad"):
            return "no face found"
        return self.face(path)

    def face(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError
