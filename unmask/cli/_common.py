"""What the thin command modules share: consoles, one-line errors, exit codes."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any, Callable, NoReturn

import typer
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def guarded(body: Callable[..., int], kwargs: dict[str, Any]) -> NoReturn:
    """Runs a command's body with its options and exits with the code it returns; an unexpected error becomes one
    line and exit 1, unless ``kwargs["debug"]`` asks for the traceback."""
    try:
        code = body(**kwargs)
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001 - one line unless --debug
        if kwargs.get("debug"):
            raise
        fail(f"{type(e).__name__}: {e}", EXIT_FAILED)
    raise typer.Exit(code)


def is_tty() -> bool:
    return sys.stderr.isatty()


def set_threads(threads: int) -> None:
    """Caps OpenCV's threads too (onnxruntime and torch get theirs where they are created)."""
    if threads:
        import cv2

        cv2.setNumThreads(threads)


# Choices shared by several commands (typer needs Enums for choice lists). Regions and devices are the library's.
class Region(str, Enum):
    eyes = "eyes"
    mouth = "mouth"


class RegionOrAuto(str, Enum):
    eyes = "eyes"
    mouth = "mouth"
    auto = "auto"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Censor(str, Enum):
    bar = "bar"
    pixelate = "pixelate"
    surgical = "surgical"
