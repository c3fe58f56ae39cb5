"""One registry shape for the archs, the regions and the censor kinds: a package holds one module per entry, each
module registers its entry when imported, and the package's modules are imported on the first lookup. Pure Python
(no numpy, no torch), so either wing can use it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of package ``package`` (dotted name), called ``what`` in messages. ``expected``: names that must
    each have a module (checked after loading; their order is :meth:`in_order`'s). ``unknown``: the exception an
    unknown name raises in :meth:`get`."""

    def __init__(
        self, package: str, what: str, expected: Sequence[str] = (), unknown: type[Exception] = ValueError
    ) -> None:
        self.package, self.what, self.expected, self.unknown = package, what, tuple(expected), unknown
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loaded = False

    def add(self, name: str, entry: T, origin: str) -> T:
        """Registers ``entry`` under ``name`` from module ``origin``; the same module registering again (a reload)
        replaces it, another module is an error. Returns ``entry``."""
        known = self._origins.get(name)
        if known is not None and known != origin:
            raise ValueError(f"{self.what} {name!r} registered twice ({known}, {origin})")
        self._entries[name], self._origins[name] = entry, origin
        return entry

    def _load(self) -> None:
        if self._loaded:
            return
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")
        missing = [n for n in self.expected if n not in self._entries]
        if missing:
            folder = self.package.replace(".", "/")
            raise RuntimeError(f"{self.what} {', '.join(missing)} has no module in {folder}")
        self._loaded = True

    def get(self, name: str) -> T:
        """The entry of ``name``; :attr:`unknown` with the names to choose from for an unknown one."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            choices = self.expected or tuple(sorted(self._entries))
            raise self.unknown(f"unknown {self.what} {name!r} (choose from {', '.join(choices)})") from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load()
        return sorted(self._entries)

    def in_order(self) -> tuple[T, ...]:
        """The entries of :attr:`expected`, in its order."""
        self._load()
        return tuple(self._entries[n] for n in self.expected)
