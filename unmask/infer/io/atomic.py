"""The library's one atomic write, for every writer (images, models, checkpoints, training sets, videos).

:func:`atomic_file` yields a file whose every byte is written or ``OSError`` is raised (a short write, from a full
disk or a file-size limit, is an error); only then, fsynced and given its mode, does it replace the destination
(:func:`atomic_path`, also for outputs too large for memory). On any error the destination is untouched and the
temporary file (``.NAME.PID.XXXXXXXX.tmp``, next to it) is removed; :func:`remove_stale_temps` removes those a killed
process left. Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from io import RawIOBase
from pathlib import Path
from typing import Any, BinaryIO


def default_file_mode() -> int:
    """The mode a plainly created file gets here (0o666 minus the umask): for atomically written files, whose
    temporary files start as 0o600."""
    return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files :func:`write_atomic` writes before renaming them: ``.NAME.PID.XXXXXXXX.tmp``
(hidden; ``PID`` is the writing process, so a run can tell its own and other live runs' files from a dead one's)."""


def _temp_prefix(path: Path, pid: int | None = None) -> str:
    return f".{path.name[:100]}.{os.getpid() if pid is None else pid}."


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (``True`` when that cannot be told: keep its files rather than delete them)."""
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:  # os.kill(pid, 0) would signal on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def remove_stale_temps(outputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Removes the temporary files that a killed :func:`write_atomic` left next to ``outputs`` and returns their
    paths (``kill -9`` gives no chance to clean up). One listing per folder.

    A temporary file ``.NAME.PID.XXXXXXXX.tmp`` is removed only when process ``PID`` no longer exists: a live run's
    files (this process's too) are left alone. Files of the older form ``.NAME.XXXXXXXX.tmp`` carry no process and
    are removed."""
    by_folder: dict[Path, set[str]] = {}
    for out in outputs:
        p = Path(out)
        by_folder.setdefault(p.parent, set()).add(f".{p.name[:100]}.")
    removed: list[Path] = []
    for folder, prefixes in by_folder.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith(TEMP_SUFFIX):
                continue
            head, dot, rand = name[: -len(TEMP_SUFFIX)].rpartition(".")
            if not (dot and len(rand) == 8):
                continue
            if f"{head}." not in prefixes:  # the pid form: .NAME.PID
                base, dot, pid = head.rpartition(".")
                if not (dot and pid.isdigit() and f"{base}." in prefixes) or _pid_alive(int(pid)):
                    continue
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(folder / name).st_mode):
                    os.unlink(folder / name)
                    removed.append(folder / name)
    return removed


def _write_all(fd: int, data: bytes) -> None:
    """``data`` to ``fd`` completely, or ``OSError``: a short write (full disk, file-size limit) is an error."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, "No space left on device (short write)")
        view = view[n:]


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Writes ``data`` (an encoded file, complete in memory) to ``path`` so that ``path`` is either untouched or
    holds all of ``data`` (:func:`atomic_file`). ``mode``: the new file's permissions (default: an existing
    ``path``'s, else those a plainly created file gets). The parent folder must exist. Raises ``OSError``; on any
    failure the temporary file is removed."""
    with atomic_file(path, mode) as f:
        f.write(data)


class _CheckedWriter(RawIOBase):
    """A write-only binary file on ``fd`` that writes every byte it is given or raises (:func:`_write_all`), and
    counts them."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd, self.written = fd, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        _write_all(self.fd, view)
        self.written += len(view)
        return len(view)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[BinaryIO]:
    """The library's one atomic write, for every writer (images, models, checkpoints, training sets): yields a
    binary file to write ``path``'s new content to (``f.write``, ``torch.save(obj, f)``, ``np.save(f, a)``);
    every byte is written or ``OSError`` is raised (a short write, from a full disk or a file-size limit, is an
    error), the size is checked on the file itself, and only then does the file replace ``path``
    (:func:`atomic_path`: fsync, ``mode``, rename). On any error ``path`` is untouched and no temporary file
    stays."""
    with atomic_path(path, mode) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            f = _CheckedWriter(fd)
            yield f  # type: ignore[misc]
            size = os.fstat(fd).st_size
            if size != f.written:
                raise OSError(errno.EIO, f"short write ({size} of {f.written} bytes reached the disk)")
        finally:
            os.close(fd)


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A new empty file owned by this process next to ``path``, named as :func:`remove_stale_temps` knows
    (``.NAME.PID.XXXXXXXX.tmp``), for the caller to write and remove."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def removed_on_error(remove: Callable[[], object], ignore: type[BaseException] = OSError) -> Iterator[None]:
    """Runs the block; on any error, ``KeyboardInterrupt`` included, calls ``remove`` (a temporary file's removal,
    its own ``ignore`` errors ignored) and raises the error again."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(ignore):
            remove()
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """For outputs too large to hold in memory (videos): yields a temporary path owned by this process next to
    ``path`` (the ``.NAME.PID.XXXXXXXX.tmp`` form :func:`remove_stale_temps` knows) for the caller to write; when
    the block ends without error the file is fsynced, given ``mode`` (as :func:`write_atomic`) and renamed to
    ``path``; on any error, ``KeyboardInterrupt`` included, it is removed and ``path`` is untouched."""
    path = Path(path)
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode = default_file_mode()
    tmp = temp_path(path)
    with removed_on_error(lambda: os.unlink(tmp)):
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    _fsync_dir(path.parent)
