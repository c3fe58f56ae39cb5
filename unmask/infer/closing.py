"""The context manager the inference wing's resource holders share (face finders, restorers, video readers,
trackers, threads): ``with X(...) as x:`` gives ``x`` and calls ``x.close()`` on leaving, error or not."""

from __future__ import annotations

from typing import TypeVar

C = TypeVar("C", bound="Closing")


class Closing:
    """Mixin: ``__enter__`` returns the object, ``__exit__`` calls its ``close()`` (which the class defines)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
