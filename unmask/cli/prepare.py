"""``unmask prepare PHOTOS -o SET``: find and align the face of every photo once, into a portable training set
(:mod:`unmask.train.data.shards`) that ``unmask train --data SET`` reads on any machine, without mediapipe.

Rerun the same command to resume an interrupted preparation (or to rewrite a shard that fails its checksum).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from unmask.cli._common import one_line_errors, say
from unmask.cli.options import Debug, option
from unmask.cli.progress import Bar


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)  # its help: the docstring


def prepare(
    photos: Path = typer.Argument(..., help="Folder of face photos (its files, not subfolders).", show_default=False),
    out: Path = option(
        "--out -o", "Folder of the training set to write (new, or one to resume).", default=..., show_default=False
    ),
    size: int = option(
        "--size",
        "Crop side in pixels (smaller presets are served from it; paper presets at 256 need --size 256).",
        default=128,
        min=8,
        max=4096,
    ),
    quality: int = option("--quality", "JPEG quality of the crops.", default=92, min=50, max=100),
    limit: int | None = option("--limit", "Only the first N photos by name (default: all).", min=1),
    workers: int = option("--workers", "Processes finding faces (each loads its own detector).", default=1, min=1),
    shard_size: int = option("--shard-size", "Photos per shard.", default=1000, min=1),
    debug: Debug = False,
) -> None:
    """Crop and align the faces of a photo folder once into a portable training set (shards + manifest) for
    `unmask train --data SET` on any machine."""
    from unmask.train.data.shard_writer import write_set

    view = _View()
    with one_line_errors("prepare", debug), view:
        s = write_set(photos, out, size=size, quality=quality, shard_size=shard_size, limit=limit,
                      workers=workers, progress=view.progress)  # fmt: skip
    state = "already complete" if not s.written else (f"resumed, {s.resumed} shard(s) kept" if s.resumed else "")
    unusable = f", {len(s.failed)} photo(s) without a usable face (listed in manifest.json)" if s.failed else ""
    say(
        f"wrote {s.root}: {s.faces} faces of {s.photos} photos at {s.size} px{unusable}; {s.shards} shard(s), "
        f"{s.bytes / 1e6:.1f} MB" + (f" ({state})" if state else "")
    )


class _View:
    """A progress bar on a terminal; elsewhere a plain line every few seconds (photos done, rate, time left)."""

    def __init__(self) -> None:
        self._bar = Bar("finding faces", "bar", "count", "eta", "{task.fields[info]}", bar_width=24, unit="photos")
        self._task: Any = None

    def __enter__(self) -> _View:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def progress(self, done: int, total: int, failed: int) -> None:
        if self._task is None:
            self._task = self._bar.add("finding faces", total=total, completed=done, info="")  # done: earlier runs
        self._bar.update(self._task, completed=done, info=f"{failed} unusable" if failed else "")
