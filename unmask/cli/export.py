"""``unmask export RUN_OR_CKPT -o models/NAME.onnx``: the trained generator as an ONNX model with metadata,
checked against PyTorch with ONNX Runtime before it is written."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from unmask.cli._common import EXIT_FAILED, EXIT_USAGE, err, fail, missing_extra, printable


class Region(str, Enum):
    eyes = "eyes"
    mouth = "mouth"


def register(app: typer.Typer) -> None:
    app.command("export", help="Export a trained generator to ONNX (metadata, checker, ONNX Runtime parity).")(export)


def export(
    source: str = typer.Argument(..., help="Run name under --runs, run folder, or checkpoint .pt file.", show_default=False),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="ONNX file to write (default: models/NAME.onnx)."),
    name: Optional[str] = typer.Option(None, "--name", help="Model name in the metadata (default: the output's stem)."),
    region: Optional[Region] = typer.Option(None, "--region", "-r", help="Region the model restores (default: the trained one; required for --region mix runs)."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Folder of runs, for a run given by name."),
    tolerance: float = typer.Option(1e-3, "--tolerance", min=0.0, help="Largest ONNX Runtime vs PyTorch difference accepted."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    try:
        from unmask.export import ExportError
        from unmask.export import export as do_export
        from unmask.train.checkpoint import CheckpointError
    except ImportError as e:
        if debug:
            raise
        fail(missing_extra(e, "export") or f"{type(e).__name__}: {e}", EXIT_USAGE)

    target = output or Path("models") / f"{name or default_name(source)}.onnx"
    try:
        report = do_export(source, target, name=name, region=region.value if region else None, runs=runs, tolerance=tolerance)
    except (ExportError, CheckpointError) as e:
        if debug:
            raise
        fail(str(e), EXIT_FAILED)
    except Exception as e:  # noqa: BLE001 - one line unless --debug
        if debug:
            raise
        missing = missing_extra(e, "export")
        fail(missing or f"{type(e).__name__}: {e}", EXIT_USAGE if missing else EXIT_FAILED)
    t = report.meta.training
    err.print(
        printable(f"wrote {report.path} ({report.meta.arch} {report.meta.preset}, {report.meta.region}, "
                  f"{report.meta.size}px, {t.get('steps')} steps); ONNX Runtime vs PyTorch max |diff| "
                  f"{report.max_abs_diff:.2e}"),
        highlight=False, markup=False,
    )


def default_name(source: str) -> str:
    """The model name a source suggests: the run's name (``runs/NAME``, ``runs/NAME/checkpoints/last.pt``)."""
    p = Path(source)
    if p.suffix == ".pt":
        return p.parent.parent.name if p.parent.name == "checkpoints" else p.stem
    return p.name
