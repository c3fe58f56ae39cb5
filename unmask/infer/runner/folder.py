"""The output folder, before and around a batch: :func:`check_output_folder` (can it receive outputs?) and
:func:`lock_output_folder` (no two runs write into it at once). Both are usage errors, not failures per photo."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from unmask.errors import UsageError

try:
    import fcntl
except ImportError:  # not on Windows: no lock, the temporary files' process ids still keep runs apart
    fcntl = None  # type: ignore[assignment]


def check_output_folder(out_dir: str | os.PathLike[str]) -> str | None:
    """Why ``out_dir`` cannot receive outputs (one line), or ``None``: it is a file, not writable, or cannot be
    created (its nearest existing parent is a file or not writable). Nothing is created."""
    out = Path(out_dir)
    try:
        if os.path.exists(out):
            if not os.path.isdir(out):
                return f"output folder {out} is a file, not a folder"
            if not os.access(out, os.W_OK | os.X_OK):
                return f"output folder {out} is not writable"
            return None
        if os.path.lexists(out):
            return f"output folder {out} is a broken symbolic link"
        parent = out.parent
        while not os.path.lexists(parent) and parent != parent.parent:
            parent = parent.parent
        if not os.path.isdir(parent):
            return f"output folder {out} cannot be created: {parent} is not a folder"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"output folder {out} cannot be created: {parent} is not writable"
    except (OSError, ValueError) as e:
        return f"output folder {out}: {getattr(e, 'strerror', None) or e}"
    return None


class OutputFolderError(UsageError, RuntimeError):
    """The output folder cannot be used (one line, naming the folder): a usage error, not a failure per photo."""


class OutputBusy(OutputFolderError):
    """Another run holds the lock of the output folder."""


@contextlib.contextmanager
def lock_output_folder(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Creates ``out_dir`` and holds an exclusive lock on it (``flock`` on the folder itself, so no lock file is
    left behind) while the block runs; raises :class:`OutputBusy` at once when another process holds it (and
    :class:`OutputFolderError` when the folder cannot be created). Where
    locks are not available (no ``fcntl``, a file system without ``flock``) the block runs unlocked: the temporary
    files still carry their process id, so no run deletes another live run's files."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputFolderError(f"output folder {out} cannot be created: {e.strerror or e}") from None
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(out, os.O_RDONLY)
        except OSError:
            fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputBusy(
                    f"output folder {out} is in use by another unmask run; wait for it to finish or choose another --out"
                ) from None
            except OSError:  # no flock on this file system: run unlocked
                pass
        yield out
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock
