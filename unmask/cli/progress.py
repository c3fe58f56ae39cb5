"""The one progress display of every command: a rich progress bar on stderr when it is a terminal; elsewhere (a
file, a pipe, a CI log) a plain line per task every :data:`PLAIN_EVERY` seconds and when it completes: its stage,
done/total, rate and time left. rich's progress module is imported only when a bar is shown, so ``unmask --help``
stays instant.

Columns are named by strings: ``"bar"``, ``"count"`` (done/total), ``"eta"`` (time left); any other string is a
text column, a fixed label or a template such as ``"{task.description}"`` or ``"{task.fields[info]}"``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from unmask.cli._common import err, is_tty, say

DEFAULT_COLUMNS = ("{task.description}", "bar", "count", "eta")
PLAIN_EVERY = 5.0
"""Seconds between the plain progress lines of a task when stderr is not a terminal."""
_SPECIAL = ("bar", "count", "eta")


def duration(seconds: float) -> str:
    """``0.4 s``, ``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    if seconds < 9.95:
        return f"{max(seconds, 0):.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def rate_text(done: float, seconds: float, unit: str) -> str:
    """``12.3 photos/s`` (``0.25 photos/s`` below 1; ``- photos/s`` before anything is done)."""
    if done <= 0 or seconds <= 0:
        return f"- {unit}/s"
    r = done / seconds
    return f"{r:.2f} {unit}/s" if r < 1 else f"{r:.1f} {unit}/s"


@dataclass
class _Plain:
    """A task's state for plain lines: label, total, done, fields, when it started and last printed."""

    label: str
    total: float | None
    unit: str
    done: float = 0.0
    base: float = 0.0  # done at the start (a resumed task): not counted in the rate
    t0: float = field(default_factory=lambda: time.monotonic())
    said: float = field(default_factory=lambda: time.monotonic())
    ended: bool = False
    info: str = ""

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        total = f"/{self.total:.0f}" if self.total else ""
        parts = [f"{self.label}: {self.done:.0f}{total} {self.unit}"]
        counted = self.done - self.base
        parts.append(rate_text(counted, elapsed, self.unit))
        if self.total and counted > 0 and self.done < self.total:
            parts.append(f"about {duration((self.total - self.done) * elapsed / counted)} left")
        elif self.total and self.done >= self.total:
            parts.append(f"done in {duration(elapsed)}")
        if self.info:
            parts.append(self.info)
        return ", ".join(parts)


class Bar:
    """A progress display with ``columns`` (see the module docstring) while in its ``with`` block; ``transient``:
    it disappears when done. Off a terminal, with ``plain`` (the default), each task prints a plain line every
    :data:`PLAIN_EVERY` seconds and one when it completes (``unit``: what is counted, e.g. ``photos``, ``frames``);
    without ``plain`` nothing is shown there. :meth:`add` returns None when nothing is shown."""

    def __init__(self, *columns: str, bar_width: int | None = None, transient: bool = True, unit: str = "items",
                 plain: bool = True, every: float = PLAIN_EVERY) -> None:  # fmt: skip
        self.columns = columns or DEFAULT_COLUMNS
        self.bar_width = bar_width
        self.transient = transient
        self.unit = unit
        self.plain = plain
        self.every = every
        self._progress: Any = None
        self._plain: dict[int, _Plain] = {}
        self._open = False

    @property
    def shown(self) -> bool:
        """Whether a bar is on the screen (stderr is a terminal and the block is open)."""
        return self._progress is not None

    @property
    def console(self) -> Console:
        """Where to print a line without breaking the bar: the bar's console while shown, else stderr."""
        return self._progress.console if self._progress is not None else err

    def __enter__(self) -> Bar:
        self._open = True
        if is_tty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            special = {"bar": lambda: BarColumn(bar_width=self.bar_width) if self.bar_width else BarColumn(),
                       "count": MofNCompleteColumn, "eta": TimeRemainingColumn}  # fmt: skip
            columns = [special[c]() if c in special else TextColumn(c) for c in self.columns]
            self._progress = Progress(*columns, console=err, transient=self.transient)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def _label(self, description: str) -> str:
        """A plain line's label: the description, else the first fixed label among the columns."""
        if description:
            return description.strip()
        fixed = [c for c in self.columns if c not in _SPECIAL and "{" not in c]
        return fixed[0] if fixed else "progress"

    def add(self, description: str = "", total: float | None = None, unit: str | None = None, completed: float = 0,
            **fields: Any) -> Any:  # fmt: skip
        """A new task (its id; None when nothing is shown) with ``fields`` for the templates; ``unit``: what a
        plain line counts (default: the bar's); ``completed``: done before (a resumed task: not counted in the
        rate)."""
        if self._progress is not None:
            return self._progress.add_task(description, total=total, completed=completed, **fields)
        if not (self.plain and self._open):
            return None
        key = len(self._plain) + 1
        self._plain[key] = _Plain(self._label(description), total or None, unit or self.unit, completed, completed)
        return key

    def update(self, task: Any, **changes: Any) -> None:
        """rich's ``Progress.update`` (``completed``, ``advance``, ``total``, fields) of ``task``; a plain line
        when one is due (``info``: a field shown at the end of plain lines)."""
        if task is None:
            return
        if self._progress is not None:
            self._progress.update(task, **changes)
            return
        p = self._plain.get(task)
        if p is None:
            return
        if changes.get("total"):
            p.total = changes["total"]
        if "completed" in changes:
            p.done = float(changes["completed"])
        p.done += float(changes.get("advance", 0))
        if isinstance(changes.get("info"), str):
            p.info = changes["info"]
        now = time.monotonic()
        complete = bool(p.total) and p.done >= p.total
        if (complete and not p.ended) or (not complete and now - p.said >= self.every):
            p.said = now
            p.ended = complete
            say(p.line())

    def remove(self, task: Any) -> None:
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)
        self._plain.pop(task, None)


class Counter(Bar):
    """A bar of one task counted towards ``total`` (None or 0: unknown): :meth:`count` fits the library's
    ``on_photo(done, total)`` and ``on_frame(done, total)`` callbacks."""

    def __init__(self, total: int | None, *columns: str, bar_width: int | None = None, transient: bool = True,
                 unit: str = "photos", plain: bool = True, completed: int = 0) -> None:  # fmt: skip
        super().__init__(*columns, bar_width=bar_width, transient=transient, unit=unit, plain=plain)
        self.total = total
        self.completed = completed  # done before (a resumed run): not counted in the rate
        self._task: Any = None

    def __enter__(self) -> Counter:
        super().__enter__()
        self._task = self.add(total=self.total or None, completed=self.completed)
        return self

    def count(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` (None or 0: the total given at the start)."""
        self.update(self._task, completed=done, total=total or self.total or None)
