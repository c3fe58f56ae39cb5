"""``unmask models``: the installed generators (name, arch, region, size, file)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rich.markup import escape

from unmask.cli._common import out, printable, safe, say


def register(app: typer.Typer) -> None:
    app.command("models", help="List installed models (models/ and folders in $UNMASK_MODELS).")(models)


def models(as_json: bool = typer.Option(False, "--json", help="JSON list instead of a table.")) -> None:
    from rich import box
    from rich.table import Table

    from unmask.infer.runtime.registry import list_models, model_dirs

    infos = list_models()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": i.name,
                        "arch": i.arch,
                        "region": i.region,
                        "size": i.size,
                        "bytes": i.bytes,
                        "file": str(i.path),
                        "default": i.default,
                        "error": i.error or None,
                    }
                    for i in infos
                ]
            )
        )
        return
    if not infos:
        dirs = ", ".join(map(str, model_dirs())) or "models/ (missing)"
        say(
            f"no models installed (searched {dirs}); train one with `unmask train` and `unmask export`, or set $UNMASK_MODELS",
            out,
        )
        return
    folders: dict[str, list] = {}  # one table per folder, in search order, its path under the table
    for i in infos:
        folders.setdefault(_shown(i.path.parent), []).append(i)
    for folder, group in folders.items():
        table = Table(box=box.SIMPLE_HEAD, caption=f"in {safe(folder)}", caption_justify="left")
        rows = [(printable(i.name), printable(i.arch), printable(i.region), f"{i.size} px" if i.size else "?",
                 f"{i.bytes / 1e6:.1f}") for i in group]  # fmt: skip
        for k, col in enumerate(("name", "arch", "region", "crop", "MB")):  # whole values even in an 80-column pipe
            table.add_column(col, no_wrap=True, min_width=max(len(col), *(len(r[k]) for r in rows)))
        table.add_column("note", overflow="fold")  # a long error wraps instead
        for i, row in zip(group, rows):
            note = f"[red]{safe(i.error)}[/]" if i.error else ("default" if i.default else "")
            table.add_row(*(escape(v) for v in row), note)
        out.print(table)


def _shown(path: Path) -> str:
    """A model file's path, relative to the working folder when it lies under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
