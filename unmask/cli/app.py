"""Root of the ``unmask`` command. ``unmask PHOTO...`` is routed to the default command ``run``."""

from __future__ import annotations

import sys
from importlib import import_module

import typer

app = typer.Typer(
    name="unmask",
    help="Restore faces hidden behind eye bars, pixelation or surgical masks. Restored regions are synthetic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    """Restore faces hidden behind eye bars, pixelation or surgical masks. Restored regions are synthetic."""


# One module per command; each defines register(app). Order is the order of `unmask --help`.
COMMANDS = ("run", "models", "prepare", "train", "export", "eval", "bench")
DEFAULT_COMMAND = "run"

for _name in COMMANDS:
    try:
        import_module(f"unmask.cli.{_name}").register(app)
    except ModuleNotFoundError as e:  # a command module not written yet must not break the others
        if e.name != f"unmask.cli.{_name}":
            raise


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
    args = route(argv)
    app(args=args, prog_name="unmask")


if __name__ == "__main__":
    main()
