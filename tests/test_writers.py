"""Every writer of the library goes through the one atomic write (:func:`unmask.infer.io.atomic_file`): a short write
(a full disk that takes part of the bytes) is an error, the previous file stays whole and no temporary file is
left, whether the writer hands over bytes, ``np.save``s or ``torch.save``s."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import unmask.infer.io as uio
import unmask.infer.io.atomic as io_atomic


def _full_disk_after_half(monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls: list[int] = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: max(1, len(data) // 2)]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_atomic.os, "write", write)


def _save_checkpoint(path: Path, value: float) -> None:
    import torch

    from unmask.train.checkpoint import save_atomic

    save_atomic({"x": torch.full((4096,), value)}, path)


def _save_npy(path: Path, value: float) -> None:
    from unmask.train.data.prepare import _write_npy

    _write_npy(path, np.full((64, 64), value, np.float32))


def _save_json(path: Path, value: float) -> None:
    from unmask.train.data.prepare import _write_json

    _write_json(path, {"value": value, "pad": "x" * 5000})


def _save_png(path: Path, value: float) -> None:
    rng = np.random.default_rng(int(value))
    uio.write_png(path, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))


WRITERS: dict[str, Callable[[Path, float], None]] = {
    "checkpoint": _save_checkpoint, "npy": _save_npy, "json": _save_json, "png": _save_png,
}  # fmt: skip


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_short_write_never_leaves_a_torn_file(writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save = WRITERS[writer]
    target = tmp_path / f"out.{writer}"
    save(target, 1.0)
    before = target.read_bytes()
    _full_disk_after_half(monkeypatch)
    with pytest.raises(OSError):
        save(target, 2.0)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == [target.name], "no temporary file stays"


def test_the_size_on_disk_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fstat = os.fstat

    def fstat(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((*st[:6], st.st_size // 2, *st[7:]))

    monkeypatch.setattr(io_atomic.os, "fstat", fstat)
    with pytest.raises(OSError, match="short write"):
        _save_npy(tmp_path / "a.npy", 1.0)
    assert os.listdir(tmp_path) == []


def test_atomic_file_takes_streaming_writers_and_sets_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    with uio.atomic_file(path) as f:
        np.save(f, np.arange(10))
        f.write(json.dumps({"tail": 1}).encode())
    assert np.array_equal(np.load(path), np.arange(10))
    assert (path.stat().st_mode & 0o777) == uio.default_file_mode()
    os.chmod(path, 0o640)
    uio.write_atomic(path, b"new")  # an existing file keeps its mode
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640
    with pytest.raises(RuntimeError), uio.atomic_file(path) as f:
        f.write(b"half")
        raise RuntimeError("the writer failed")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["a.npy"]
