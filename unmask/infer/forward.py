"""Read-only attributes an object passes on from one it holds: a wrapper's ``name`` is its model's, a video
restorer's ``beyond`` is its tracker's. Declared once each as ``name = Forwarded("model")`` rather than a property
written out per attribute."""

from __future__ import annotations

from typing import Any


class Forwarded:
    """A read-only attribute whose value is the same-named attribute of ``self.<holder>``, read at each access:
    ``size = Forwarded("model")`` reads ``self.model.size``. Setting it raises :class:`AttributeError`, as a
    property without a setter does. ``doc``: its docstring."""

    def __init__(self, holder: str, doc: str | None = None) -> None:
        self.holder = holder
        self.name = ""
        self.__doc__ = doc or f"The {holder}'s own (read at each access)."

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.holder), self.name)

    def __set__(self, obj: object, value: Any) -> None:
        raise AttributeError(f"{self.name!r} is {self.holder}'s own: it cannot be set")
