"""The CLI's option declarations (unmask/cli/options.py): flags written as ``--help`` shows them, and the options
several commands share."""

from __future__ import annotations

import pytest
import typer

from unmask.cli.options import Debug, Threads, flag, option, shared


def test_option_reads_names_and_metavar_from_its_flags() -> None:
    o = option("--out -o DIR", "Output folder.", default="unmasked", min=1)
    assert o.param_decls == ("--out", "-o") and o.metavar == "DIR" and o.help == "Output folder."
    assert o.default == "unmasked" and o.min == 1
    plain = option("--mosaic-means/--no-mosaic-means", "Keep the means.")
    assert plain.param_decls == ("--mosaic-means/--no-mosaic-means",) and plain.metavar is None
    assert plain.default is None
    assert flag("--compare", "Also write a comparison.").default is False
    assert shared("--seed N", "Seed.").default is ...  # an Annotated alias gives no default
    with pytest.raises(ValueError, match="one metavar at most"):
        option("--faces N M", "Two metavars.")


def test_shared_options_read_the_same_in_every_command() -> None:
    from unmask.cli.app import app

    root = typer.main.get_command(app)
    threads = {name: p for name, c in root.commands.items() for p in c.params if p.name == "threads"}
    debug = {name: p for name, c in root.commands.items() for p in c.params if p.name == "debug"}
    assert threads["eval"].help == threads["run"].help == Threads.__metadata__[0].help
    assert {"run", "train", "export", "quantize", "prepare", "eval", "bench"} <= set(debug)
    assert {debug[c].help for c in ("run", "train", "export", "quantize", "prepare", "eval", "bench")} == {
        Debug.__metadata__[0].help
    }
