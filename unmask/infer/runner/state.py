"""The output folder's state file: inputs that were looked at and needed nothing written (``no-face``,
``no-censor``), so that a rerun with the same settings does not look at them again.

Restored inputs resume on their outputs (an input whose outputs exist is ``exists``); an input with no face or no
censor writes no output, so without this file every rerun would find its faces again. ``OUT/.unmask-state.jsonl``
holds one JSON line per such input: its output path relative to ``OUT``, its status and note, the size and
modification time of the input, and a key of the settings that decide the outcome (region, models and their
versions, ``--force``, ``--faces``/``--largest``, ``--max-faces``, ``--min-face``, ``--mask``, unmask's version).
An input is not looked at again while all of these are unchanged; ``--overwrite`` looks at every input again, and
deleting the file forgets everything. Lines are appended while the output folder is locked; a torn last line (a
killed run) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from unmask.infer.io.jsonl import append_lines, parse_line, read_lines, write_lines
from unmask.spec import VERSION

STATE_FILE = ".unmask-state.jsonl"


def settings_key(restorer: Any, user_mask_path: str | None = None) -> str:
    """A short digest of the settings of ``restorer`` (and the user's mask file) that decide whether an input has a
    face and a censor."""
    models = sorted((str(getattr(m, "name", k)), str(getattr(getattr(m, "meta", None), "version", "")))
                    for k, m in getattr(restorer, "models", {}).items())  # fmt: skip
    choose = getattr(restorer, "choose", None)
    finder = getattr(restorer, "finder", None)
    mask = None
    if user_mask_path:
        try:
            st = os.stat(user_mask_path)
            mask = [os.path.abspath(user_mask_path), st.st_size, st.st_mtime_ns]
        except OSError:
            mask = [user_mask_path]
    parts = {
        "version": VERSION,
        "region": getattr(restorer, "region", None),
        "models": models,
        "force": bool(getattr(restorer, "force", False)),
        "faces": list(getattr(choose, "indices", None) or []),
        "largest": bool(getattr(choose, "largest", False)),
        "max_faces": getattr(finder, "max_faces", None),
        "min_face": getattr(finder, "min_face", None),
        "mask": mask,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _source_id(source: Path) -> list[int] | None:
    try:
        st = os.stat(source)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


class StateFile:
    """The state file of output folder ``out_dir`` (read once, on the first lookup)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / STATE_FILE
        self._entries: dict[str, dict] | None = None
        self._lines = 0  # lines in the file: more than entries after a rerun with --overwrite or new settings

    def _key(self, output: Path) -> str:
        try:
            return Path(os.path.relpath(output, self.out_dir)).as_posix()
        except ValueError:  # another drive (Windows)
            return str(output)

    def entries(self) -> dict[str, dict]:
        if self._entries is None:
            self._entries = {}
            try:
                parsed, tail = read_lines(self.path)
            except OSError:
                parsed, tail = [], b""
            if tail:  # a last line without its newline: kept where it is whole
                parsed.append(parse_line(tail))
            self._lines = len(parsed)
            for e in parsed:
                if e is not None and "output" in e:  # else a torn line of a killed run, or one naming no output
                    self._entries[str(e["output"])] = e
        return self._entries

    def recall(self, source: Path, output: Path, settings: str) -> dict | None:
        """The entry of ``source`` -> ``output`` when it was looked at with the same ``settings`` and has not
        changed since; else None."""
        e = self.entries().get(self._key(output))
        if e is None or e.get("settings") != settings or e.get("status") not in ("no-face", "no-censor"):
            return None
        if e.get("source") != _source_id(source):
            return None
        return e

    def remember(self, source: Path, output: Path, settings: str, status: str, note: str | None) -> None:
        """Appends the outcome of ``source``; an error writing it only costs the next run a second look."""
        ident = _source_id(source)
        if ident is None:
            return
        e = {"output": self._key(output), "status": status, "note": note, "source": ident, "settings": settings}
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            append_lines(self.path, [e])
        except OSError:
            return
        self.entries()[e["output"]] = e
        self._lines += 1

    def compact(self) -> None:
        """Rewrites the file with one line per input (atomically) when lines were superseded."""
        if self._entries is None or self._lines <= len(self._entries):
            return
        try:
            write_lines(self.path, self._entries.values())
            self._lines = len(self._entries)
        except OSError:
            pass
