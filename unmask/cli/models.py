"""``unmask models``: the installed generators (name, arch, region, size, file)."""

from __future__ import annotations

import json

import typer

from unmask.cli._common import out


def register(app: typer.Typer) -> None:
    app.command("models", help="List installed models (models/ and folders in $UNMASK_MODELS).")(models)


def models(as_json: bool = typer.Option(False, "--json", help="JSON list instead of a table.")) -> None:
    from rich.table import Table

    from unmask.runtime.registry import list_models, model_dirs

    infos = list_models()
    if as_json:
        print(json.dumps([{"name": i.name, "arch": i.arch, "region": i.region, "size": i.size, "bytes": i.bytes,
                           "file": str(i.path), "default": i.default, "error": i.error or None} for i in infos]))
        return
    if not infos:
        dirs = ", ".join(map(str, model_dirs())) or "models/ (missing)"
        out.print(f"no models installed (searched {dirs}); train one with `unmask train` and `unmask export`, or set $UNMASK_MODELS")
        return
    table = Table("name", "arch", "region", "crop", "MB", "file", "note")
    for i in infos:
        note = f"[red]{i.error}[/]" if i.error else ("default" if i.default else "")
        table.add_row(i.name, i.arch, i.region, f"{i.size} px" if i.size else "?", f"{i.bytes / 1e6:.1f}", str(i.path), note)
    out.print(table)
