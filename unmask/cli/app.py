"""Root of the ``unmask`` command. ``unmask PHOTO...`` is routed to the default command ``run``."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer
import typer.core

ROOT_HELP = (
    "Restore faces hidden behind eye bars, pixelation or surgical masks in photos and videos: `unmask INPUT...` "
    "(the run command: photos, videos, folders). Restored regions are synthetic. `unmask COMMAND --help` for each "
    "command."
)

app = typer.Typer(
    name="unmask",
    help=ROOT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: wrapped to the terminal, never cut with "…" (rich panels cut at 80 columns)
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from unmask import __version__

        print(f"unmask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Restore faces hidden behind eye bars, pixelation or surgical masks (see ROOT_HELP)."""


# One module per command; each defines register(app). Order is the order of `unmask --help`.
COMMANDS = ("run", "models", "prepare", "train", "export", "quantize", "eval", "bench", "serve")
DEFAULT_COMMAND = "run"


class PlainCommand(typer.core.TyperCommand):
    """click's plain help with arguments shown by their metavar (``INPUT...``, not ``{inputs}...`` and the Python
    type ``<list[Path]>``): ``Usage: unmask run [OPTIONS] INPUT...``."""

    @staticmethod
    def _name(param: Any) -> str:
        name = param.metavar or param.name.upper()
        if param.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if param.required else f"[{name}]"

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [self._name(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]

    @staticmethod
    def _metavar(param: Any, ctx: Any) -> str | None:
        """A word for an option's value where none was given (N for integers, X for numbers, PATH, TEXT) in place
        of typer's Python type (``<int range>``); None keeps typer's own (a choice's ``<a|b|c>``, a flag)."""
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            return None
        try:
            shown = str(param.display_type(ctx) or "")
        except Exception:  # noqa: BLE001 - another typer: keep its display
            return None
        words = {"<int": "N", "<float": "X", "<path": "PATH", "<str": "TEXT", "<list[str": "TEXT",
                 "<list[path": "PATH", "<list[int": "N"}  # fmt: skip
        return next((w for k, w in words.items() if shown.lower().startswith(k)), None)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for p in self.get_params(ctx):
            if p.param_type_name == "option" and p.metavar is None:
                p.metavar = self._metavar(p, ctx)
            record = p.get_help_record(ctx)
            if record is None:
                continue
            if p.param_type_name == "argument":
                args.append((self._name(p), (p.help or "") + ("  [required]" if p.required else "")))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


for _name in COMMANDS:
    try:
        import_module(f"unmask.cli.{_name}").register(app)
    except ModuleNotFoundError as e:  # a command module not written yet must not break the others
        if e.name != f"unmask.cli.{_name}":
            raise
SHORT_HELP = {
    "run": "Restore censored faces in photos, videos and folders (default).",
    "models": "List the installed models.",
    "prepare": "Crop and align a photo folder's faces into a training set.",
    "train": "Train an inpainting generator (resumable).",
    "export": "Export a trained generator to ONNX, or a slim checkpoint.",
    "quantize": "Quantise a generator to int8, calibrated on validation crops.",
    "eval": "Score models against classic baselines on clean faces.",
    "bench": "Time the pipeline per stage, the generator alone, scaling.",
    "serve": "Serve a local web page and HTTP API.",
}
"""One line per command in ``unmask --help`` (click would cut the long help at 45 characters with "...")."""

for _info in app.registered_commands:
    _info.short_help = _info.short_help or SHORT_HELP.get(_info.name or "")
    if _info.cls in (None, typer.core.TyperCommand):
        _info.cls = PlainCommand


def route(argv: list[str]) -> list[str]:
    """Insert the default command unless the first argument is a command or a root option.

    ``unmask photo.jpg`` -> ``unmask run photo.jpg``. A file named like a command stays reachable with
    ``unmask run train`` or ``unmask -- train`` (everything after ``--`` is input).
    """
    if not argv:
        return argv
    first = argv[0]
    if first == "--":
        return [DEFAULT_COMMAND, "--", *argv[1:]]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return argv
    return [DEFAULT_COMMAND, *argv]


def mistyped(argv: list[str]) -> str | None:
    """The command a first argument that is no command, no option and no existing path most likely meant
    (``modles`` -> ``models``), or ``None``."""
    import difflib
    import os

    if not argv or argv[0].startswith("-") or argv[0] in COMMANDS or os.path.lexists(argv[0]):
        return None
    first = argv[0]
    if os.sep in first or "/" in first or "." in first:  # a path or a file name, not a word
        return None
    close = difflib.get_close_matches(first.lower(), COMMANDS, n=1, cutoff=0.6)
    return close[0] if close else None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    meant = mistyped(argv)
    if meant is not None:  # a usage error, said before anything is loaded
        from unmask.cli._common import fail

        try:
            fail(f"{argv[0]}: no such command, file or folder; did you mean `unmask {meant}`?")
        except typer.Exit as e:
            sys.exit(e.exit_code)
    from unmask.cli._common import EXIT_INTERRUPTED, exit_at_once

    args = route(argv)
    stop_on_sigterm()
    try:
        app(args=args, prog_name="unmask")
    except SystemExit as e:
        if e.code == EXIT_INTERRUPTED:
            exit_at_once(EXIT_INTERRUPTED)
        raise


def stop_on_sigterm() -> None:
    """SIGTERM stops a command as Ctrl-C does: a ``KeyboardInterrupt`` where the command is, the state it leaves
    resumable (atomic writes, shards, checkpoints), exit 130 (typer's code for an interrupt)."""
    import signal

    try:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    except (ValueError, OSError):  # not the main thread, or no SIGTERM here
        pass


if __name__ == "__main__":
    main()
