"""The one progress display of every command: a rich progress bar on stderr when it is a terminal, nothing
elsewhere (commands write their own plain lines there). rich's progress module is imported only when a bar is
shown, so ``unmask --help`` stays instant.

Columns are named by strings: ``"bar"``, ``"count"`` (done/total), ``"eta"`` (time left); any other string is a
text column, a fixed label or a template such as ``"{task.description}"`` or ``"{task.fields[info]}"``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from unmask.cli._common import err, is_tty

DEFAULT_COLUMNS = ("{task.description}", "bar", "count", "eta")


class Bar:
    """A progress display with ``columns`` (see the module docstring) while in its ``with`` block; ``transient``:
    it disappears when done. Off a terminal every method does nothing and :meth:`add` returns None."""

    def __init__(self, *columns: str, bar_width: int | None = None, transient: bool = True) -> None:
        self.columns = columns or DEFAULT_COLUMNS
        self.bar_width = bar_width
        self.transient = transient
        self._progress: Any = None

    @property
    def shown(self) -> bool:
        """Whether a bar is on the screen (stderr is a terminal and the block is open)."""
        return self._progress is not None

    @property
    def console(self) -> Console:
        """Where to print a line without breaking the bar: the bar's console while shown, else stderr."""
        return self._progress.console if self._progress is not None else err

    def __enter__(self) -> Bar:
        if is_tty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            special = {"bar": lambda: BarColumn(bar_width=self.bar_width) if self.bar_width else BarColumn(),
                       "count": MofNCompleteColumn, "eta": TimeRemainingColumn}  # fmt: skip
            columns = [special[c]() if c in special else TextColumn(c) for c in self.columns]
            self._progress = Progress(*columns, console=err, transient=self.transient)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def add(self, description: str = "", total: float | None = None, **fields: Any) -> Any:
        """A new task (its id; None when no bar is shown) with ``fields`` for the templates."""
        return None if self._progress is None else self._progress.add_task(description, total=total, **fields)

    def update(self, task: Any, **changes: Any) -> None:
        """rich's ``Progress.update`` (``completed``, ``advance``, ``total``, fields) of ``task``."""
        if self._progress is not None and task is not None:
            self._progress.update(task, **changes)

    def remove(self, task: Any) -> None:
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)


class Counter(Bar):
    """A bar of one task counted towards ``total`` (None or 0: unknown): :meth:`count` fits the library's
    ``on_photo(done, total)`` and ``on_frame(done, total)`` callbacks."""

    def __init__(self, total: int | None, *columns: str, bar_width: int | None = None, transient: bool = True) -> None:
        super().__init__(*columns, bar_width=bar_width, transient=transient)
        self.total = total
        self._task: Any = None

    def __enter__(self) -> Counter:
        super().__enter__()
        self._task = self.add(total=self.total or None)
        return self

    def count(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` (None or 0: the total given at the start)."""
        self.update(self._task, completed=done, total=total or self.total or None)
