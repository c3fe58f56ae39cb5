"""``unmask export RUN_OR_CKPT -o models/NAME.onnx``: the trained generator as an ONNX model with metadata,
checked against PyTorch with ONNX Runtime before it is written.

``unmask export RUN_OR_CKPT --checkpoint OUT.pt [--fp16]``: a slim checkpoint instead (generator and discriminator
weights, no optimiser state; :func:`unmask.train.checkpoint.write_slim`), to continue or fine-tune the run elsewhere
with ``unmask train --init OUT.pt``. Needs torch only (no onnx, no mediapipe)."""

from __future__ import annotations

from pathlib import Path

import typer

from unmask.cli._common import EXIT_USAGE, Region, fail, one_line_errors, say
from unmask.cli.options import Debug, flag, option


def register(app: typer.Typer) -> None:
    app.command("export")(export)  # its help: the docstring


def export(
    source: str = typer.Argument(
        ..., help="Run name under --runs, run folder, or checkpoint .pt file.", show_default=False
    ),
    output: Path | None = option("--output -o", "ONNX file to write (default: models/NAME.onnx)."),
    name: str | None = option("--name", "Model name in the metadata (default: the output's stem)."),
    region: Region | None = option(
        "--region -r", "Region the model restores (default: the trained one; required for --region mix runs)."
    ),
    runs: Path = option("--runs", "Folder of runs, for a run given by name.", default=Path("runs")),
    tolerance: float = option(
        "--tolerance", "Largest ONNX Runtime vs PyTorch difference accepted.", default=1e-3, min=0.0
    ),
    checkpoint: Path | None = option(
        "--checkpoint",
        "Write a slim checkpoint here instead of ONNX: generator and discriminator weights, "
        "no optimiser state (for train --init; default: write ONNX).",
    ),
    fp16: bool = flag("--fp16", "With --checkpoint: store the weights as float16 (half the size)."),
    debug: Debug = False,
) -> None:
    """Export a trained generator to ONNX (metadata, checker, ONNX Runtime parity), or write a slim checkpoint
    (--checkpoint OUT.pt: weights only, to fine-tune elsewhere with train --init)."""
    if checkpoint is not None:
        if output is not None or name is not None or region is not None:
            fail("--checkpoint writes a slim checkpoint, not a model: leave out -o/--name/--region (or export twice)")
        _slim(source, checkpoint, fp16, runs, debug)
        return
    if fp16:
        fail("--fp16 applies to --checkpoint OUT.pt only (ONNX models are exported in float32)")
    with one_line_errors("export", debug, other=EXIT_USAGE):
        from unmask.train.export import export as do_export

    target = output or Path("models") / f"{name or default_name(source)}.onnx"
    with one_line_errors("export", debug):
        report = do_export(
            source, target, name=name, region=region.value if region else None, runs=runs, tolerance=tolerance
        )
    t = report.meta.training
    say(
        f"wrote {report.path} ({report.meta.arch} {report.meta.preset}, {report.meta.region}, "
        f"{report.meta.size}px, {t.get('steps')} steps); ONNX Runtime vs PyTorch max |diff| "
        f"{report.max_abs_diff:.2e}"
    )


def default_name(source: str) -> str:
    """The model name a source suggests: the run's name (``runs/NAME``, ``runs/NAME/checkpoints/last.pt``)."""
    p = Path(source)
    if p.suffix == ".pt":
        return p.parent.parent.name if p.parent.name == "checkpoints" else p.stem
    return p.name


def _slim(source: str, target: Path, fp16: bool, runs: Path, debug: bool) -> None:
    with one_line_errors("export", debug, other=EXIT_USAGE):
        from unmask.train.checkpoint import write_slim
    with one_line_errors("export", debug):
        path, ckpt = write_slim(source, target, fp16=fp16, runs=runs)
    full, small = path.stat().st_size, target.stat().st_size
    say(
        f"wrote {target} ({ckpt['arch']} {ckpt['preset']}, step {ckpt['step']}, generator + discriminators, "
        f"{ckpt['dtype']}, {small / 1e6:.1f} MB; {path} is {full / 1e6:.1f} MB); continue it with "
        f"`unmask train --init {target}`"
    )
