"""How the commands declare their options: :func:`option` (and :func:`flag`, an option off unless given), written as
``--help`` shows it, and the options several commands share, each declared once with one help text (typer
``Annotated`` aliases made with :func:`shared`; the parameter gives the default: ``threads: Threads = 0``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from unmask.cli._common import Device


def option(flags: str, help: str, default: Any = None, **settings: Any) -> Any:
    """A ``typer.Option`` from its flags as ``--help`` shows them: ``"--out -o DIR"`` is the names ``--out`` and
    ``-o`` and the metavar ``DIR`` (the one word that does not start with ``-``; without one, the help shows the
    value's kind: N, X, PATH, TEXT). ``default``: ``...`` for a required option, and in an ``Annotated`` alias (the
    parameter gives the default there). ``settings``: typer's own (``min``, ``max``, ``show_default``, ...)."""
    names = [w for w in flags.split() if w.startswith("-")]
    metavar = [w for w in flags.split() if not w.startswith("-")]
    if len(metavar) > 1:
        raise ValueError(f"option {flags!r}: one metavar at most")
    return typer.Option(default, *names, metavar=metavar[0] if metavar else None, help=help, **settings)


def flag(flags: str, help: str, **settings: Any) -> Any:
    """:func:`option` for an on/off flag that is off unless given (``--compare``)."""
    return option(flags, help, False, **settings)


def shared(flags: str, help: str, **settings: Any) -> Any:
    """:func:`option` for an ``Annotated`` alias, which gives no default (the parameter does)."""
    return option(flags, help, ..., **settings)


Debug = Annotated[bool, shared("--debug", "Show tracebacks.")]
Threads = Annotated[int, shared("--threads N", "CPU threads for inference (0 = all cores).", min=0)]
RunDevice = Annotated[
    Device,
    shared("--device", "Where the models run; auto takes CUDA when ONNX Runtime really gets it, else the CPU."),
]
Seed = Annotated[int, shared("--seed N", "Censor randomness: photo i uses seed + i, so runs are comparable.")]
JsonReport = Annotated[bool, shared("--json", "One JSON object on stdout instead of the tables.")]
LpipsWeights = Annotated[
    Path | None,
    shared(
        "--lpips-weights FILE",
        "LPIPS v0.1 SqueezeNet heads (default: $UNMASK_LPIPS_WEIGHTS, else the copy shipped with unmask).",
    ),
]
