"""What the thin command modules share: consoles, one-line errors, exit codes, and making text safe to print.

Every human-readable line goes through :func:`printable` (control characters, such as a newline or an ANSI escape
in a file name, are shown escaped: one line per input, and a file name cannot drive the terminal) and, where rich
markup is on, :func:`safe` (``unmask[train]`` stays ``unmask[train]``)."""

from __future__ import annotations

import functools
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any, NoReturn, ParamSpec

import typer
from rich.console import Console
from rich.markup import escape

from unmask.errors import UnmaskError
from unmask.spec import DEVICES, FACE_CENSORS, HOLE_FILLS, REGIONS, RUN_REGIONS, TRAIN_REGIONS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

P = ParamSpec("P")

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: object) -> str:
    """``text`` with control characters (C0, DEL, C1, line and paragraph separators, bidirectional overrides) and
    undecodable bytes of file names (lone surrogates) written as escapes (``\\n``, ``\\x1b``, ``\\u202e``)."""
    text = str(text)
    out_chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI:
            code = ord(ch)
            if ch == "\n":
                out_chars.append("\\n")
            elif ch == "\t":
                out_chars.append("\\t")
            elif ch == "\r":
                out_chars.append("\\r")
            elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
                out_chars.append(f"\\x{code - 0xDC00:02x}")
            elif code <= 0xFF:
                out_chars.append(f"\\x{code:02x}")
            else:
                out_chars.append(f"\\u{code:04x}")
        else:
            out_chars.append(ch)
    return "".join(out_chars)


def safe(text: object) -> str:
    """:func:`printable`, with rich markup escaped, for text printed where markup is on."""
    return escape(printable(text))


def say(text: object, console: Console | None = None) -> None:
    """One plain line (no markup, control characters escaped) on ``console`` (stderr by default)."""
    (console or err).print(printable(text), markup=False, highlight=False)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr (markup in ``message`` shown as written, control characters escaped), then exit."""
    err.print(f"[bold red]error:[/] {safe(message)}", markup=True, highlight=False)
    raise typer.Exit(code)


MAX_THREADS_PER_CORE = 4


def max_threads() -> int:
    """The most ``--threads`` accepted: 4 per CPU core (more only costs memory and time)."""
    return MAX_THREADS_PER_CORE * (os.cpu_count() or 1)


def check_threads(threads: int | None, option: str = "--threads") -> None:
    """A usage error (exit 2) for a thread count beyond :func:`max_threads`."""
    if threads and threads > max_threads():
        fail(f"{option} {threads} is too many: at most {max_threads()} ({MAX_THREADS_PER_CORE} per CPU core, "
             f"{os.cpu_count() or 1} cores here); 0 uses all cores")  # fmt: skip


def guarded(command: Callable[P, int]) -> Callable[P, NoReturn]:
    """A command (its options as parameters, its ``debug`` option among them) that exits with the code it returns;
    an unexpected error becomes one line and exit 1, unless its ``--debug`` asks for the traceback. The signature
    is the command's own (``functools.wraps``), so typer reads its options and types from it."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> NoReturn:
        try:
            code = command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            interrupted(ON_INTERRUPT.get(command.__name__, "stopped; no half-written file is left"))
        except Exception as e:
            if kwargs.get("debug"):
                raise
            fail_for(e)
        raise typer.Exit(code)

    return run


EXIT_INTERRUPTED = 130
ON_INTERRUPT = {
    "run": "rerun the same command to go on where it stopped (finished outputs are kept)",
    "evaluate": "rerun the same command to go on where it stopped (the photos scored so far are kept)",
    "bench": "rerun the same command to go on: the sections measured so far are kept, the one stopped is timed afresh",
}
"""What the line after Ctrl-C says, per command function (others: nothing half-written is left)."""


def interrupted(resume: str = "rerun the same command to go on where it stopped") -> NoReturn:
    """Ctrl-C or SIGTERM: one line (what the rerun does), exit 130. Everything written so far is complete (every
    write is atomic), so the rerun resumes."""
    err.print(f"interrupted: {printable(resume)}", highlight=False, markup=False)
    raise typer.Exit(EXIT_INTERRUPTED)


def exit_at_once(code: int) -> NoReturn:
    """Ends the process now, as an interrupted command must (issue 25: within two seconds of Ctrl-C or SIGTERM).
    Every file the command wrote is complete by then (atomic writes, rolled back in ``finally`` blocks), so only
    the interpreter's own teardown is skipped: freeing the models, face finders and tensors took about 2 s of
    garbage collection after `unmask eval` had printed its last line. Output streams are flushed first and worker
    processes (a preparation pool, data-loader workers) are ended, as the normal exit would."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if "multiprocessing" in sys.modules:
        import multiprocessing
        import multiprocessing.util

        children = multiprocessing.active_children()
        for child in children:
            child.terminate()
        for child in children:
            child.join(0.5)
        try:  # what multiprocessing runs at exit: its finalizers (a pool's semaphores unlinked and unregistered)
            multiprocessing.util._exit_function()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    os._exit(code)


@contextmanager
def one_line_errors(command: str, debug: bool, *, other: int = EXIT_FAILED) -> Iterator[None]:
    """Ends the command with one line for an exception raised inside (:func:`fail_for`; exit ``other`` for one
    that is not unmask's own). ``debug`` lets it through (the traceback)."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        interrupted()
    except Exception as e:
        if debug:
            raise
        fail_for(e, command, other)


def fail_for(e: BaseException, command: str | None = None, other: int = EXIT_FAILED) -> NoReturn:
    """The one place an exception raised inside a command becomes its last line and exit code: an
    :class:`~unmask.errors.UnmaskError` says its message and exits with its ``exit_code`` (2: usage, model, data;
    1: an input, a job that failed); a missing optional module says what to install (exit 2); anything else, its type
    and message (exit ``other``)."""
    if isinstance(e, UnmaskError):
        fail(str(e).strip("'\""), e.exit_code)
    missing = missing_extra(e, command)
    fail(missing or f"{type(e).__name__}: {e}", EXIT_USAGE if missing else other)


EXTRA_OF = {"torch": "train", "torchvision": "train", "onnx": "train", "onnxscript": "train", "tensorboard": "train",
            "lpips": "train", "onnxruntime": "core", "cv2": "core", "mediapipe": "core"}  # fmt: skip
"""Which extra of unmask brings a module (``core``: unmask itself)."""


def missing_extra(e: BaseException, command: str | None = None) -> str | None:
    """For an ``ImportError`` of a module unmask does not install by default, one line saying what to install."""
    if not isinstance(e, ImportError):
        return None
    name = (getattr(e, "name", None) or "").split(".")[0]
    if not name or name.startswith("unmask"):
        return None
    what = f"`unmask {command}` needs" if command else "this needs"
    if name == "mediapipe":  # no wheel on Python 3.13+: reinstalling cannot help
        from unmask.train.data.prepare import detector_missing

        return detector_missing(f"`unmask {command}`" if command else "finding faces")
    extra = EXTRA_OF.get(name)
    if extra == "core" or extra is None:
        return f"{what} the Python module {name!r}, which is not installed (reinstall unmask: pip install unmask)"
    return f"{what} the Python module {name!r}, which is not installed: pip install 'unmask[{extra}]'"


def photos_or_fail(folder: Any, n: int) -> list:
    """The first ``n`` photos of ``folder`` (sorted by name), or one line (exit 2) when it is not a folder or holds
    none."""
    from unmask.measure.evaluate import list_photos

    try:
        photos = list_photos(folder, n)
    except FileNotFoundError as e:
        fail(str(e))
    if not photos:
        fail(f"{folder}: no photos found")
    return photos


def check_run_options(out_dir: Any, mask: Any, invert_mask: bool) -> None:
    """Usage errors of ``unmask run`` found before anything is loaded: ``--invert-mask`` without ``--mask``, an
    ``--out`` that is a file, not writable, or cannot be created."""
    from unmask.infer.runner.folder import check_output_folder

    if invert_mask and mask is None:
        fail("--invert-mask needs --mask FILE (it inverts that file)")
    problem = check_output_folder(out_dir)
    if problem:
        fail(problem)


def check_file_target(path: Any, option: str) -> None:
    """A usage error (exit 2), before anything slow starts, when the file ``path`` given to ``option`` cannot be
    written: it is a folder, or its nearest existing parent is not a writable folder."""
    import os
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        fail(f"{option} {p}: is a folder, not a file")
    parent = p.parent if str(p.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{option} {p}: {parent} is not a writable folder")


@contextmanager
def output_lock(out_dir: Any, items: list) -> Iterator[None]:
    """Holds the output folder's lock while a batch writes into it (exit 2 when another run holds it); nothing is
    created when no input has an output to write."""
    from unmask.infer.runner.folder import OutputFolderError, lock_output_folder
    from unmask.infer.inputs import Job

    if not any(isinstance(i, Job) for i in items):
        yield
        return
    try:
        lock = lock_output_folder(out_dir)
        lock.__enter__()
    except OutputFolderError as e:
        fail(str(e))
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def is_tty() -> bool:
    return sys.stderr.isatty()


def set_threads(threads: int) -> None:
    """Checks ``--threads`` (:func:`check_threads`) and caps OpenCV's threads too (onnxruntime and torch get theirs
    where they are created)."""
    check_threads(threads)
    if threads:
        import cv2

        cv2.setNumThreads(threads)


def choices(name: str, values: Iterable[str]) -> Any:
    """A choice list for typer (which needs an Enum) of the library's own ``values``: the CLI retypes none."""
    return Enum(name, [(v, v) for v in values], type=str)


# Choices shared by several commands, each built from the tuple that defines it in unmask.spec
Region = choices("Region", REGIONS)
RegionOrAuto = choices("RegionOrAuto", RUN_REGIONS)
TrainRegion = choices("TrainRegion", TRAIN_REGIONS)
Device = choices("Device", DEVICES)
Censor = choices("Censor", FACE_CENSORS)
HoleFill = choices("HoleFill", HOLE_FILLS)


TABLE_WIDTH = 150  # the intervals need room; pipes and files get this width too


def wide_console(console: Any, width: int = TABLE_WIDTH) -> Any:
    """``console`` on a terminal; elsewhere (pipes, files) a console ``width`` wide (default
    :data:`TABLE_WIDTH`), so the intervals are not folded into narrow cells."""
    if console.is_terminal:
        return console
    from rich.console import Console

    return Console(width=width, highlight=False, soft_wrap=True)
