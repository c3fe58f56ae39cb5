"""Files of JSON lines that a killed writer may leave torn, read and written one way: each record one line of
compact JSON, appended whole and flushed; a reader parses every whole line (a garbled one gives None) and hands back
the tail after the last newline (empty, or a line torn before its newline) for the caller to judge; a rewrite is
atomic (:func:`unmask.infer.io.atomic.atomic_file`). The output folder's state file
(:mod:`unmask.infer.runner.state`) and ``unmask eval``'s resume journal (:mod:`unmask.measure.resume`) are such
files. Standard library only; every function raises ``OSError`` where the file cannot be read or written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from unmask.infer.io.atomic import atomic_file


def encode_line(record: Mapping[str, Any]) -> bytes:
    """``record`` as one line: compact JSON (NaN and the infinities as Python's json writes them) and a newline."""
    return (json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n").encode()


def parse_line(line: bytes) -> dict[str, Any] | None:
    """The JSON object on ``line``; None for anything else (a torn or garbled line, a value that is no object)."""
    try:
        r = json.loads(line)
    except ValueError:
        return None
    return r if isinstance(r, dict) else None


def read_lines(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any] | None], bytes]:
    """Every whole line of ``path``, parsed (:func:`parse_line`), and the tail after its last newline: empty, or a
    line torn before its newline (a killed writer's)."""
    *lines, tail = Path(path).read_bytes().split(b"\n")
    return [parse_line(line) for line in lines], tail


def append_lines(path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]]) -> None:
    """Appends each of ``records`` to ``path`` (created when missing; its folder must exist) as one whole line,
    flushed."""
    with open(path, "ab") as f:
        for r in records:
            f.write(encode_line(r))
        f.flush()


def write_lines(path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]]) -> None:
    """Replaces ``path`` with ``records``, one line each, atomically: all of them or the old file untouched."""
    with atomic_file(path) as f:
        for r in records:
            f.write(encode_line(r))
