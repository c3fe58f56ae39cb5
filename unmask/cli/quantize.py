"""``unmask quantize MODEL --val FOLDER``: an int8 copy of a float generator (static QDQ quantisation, calibrated on
censored crops of the folder's photos made as ``unmask PHOTO`` makes them), written beside it as ``NAME-int8.onnx``.
The library does the work (:mod:`unmask.train.quantize`); this module parses, calls and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from unmask.cli._common import EXIT_USAGE, err, one_line_errors, printable


def register(app: typer.Typer) -> None:
    app.command(
        "quantize",
        help="Quantise a float generator to int8 (static QDQ, calibrated on censored validation crops made as "
        "inference makes them) and write it beside the float model as NAME-int8.onnx.",
    )(quantize)


def quantize(
    model: str = typer.Argument(
        ..., help="Float model: a name (see `unmask models`) or an .onnx path.", show_default=False
    ),
    val: Path = typer.Option(
        ...,
        "--val",
        help="Folder of clean face photos to calibrate on (its last --photos, sorted by name).",
        show_default=False,
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="ONNX file to write (default: beside the model, NAME-int8.onnx)."
    ),
    photos: int = typer.Option(
        64, "--photos", min=1, help="Calibration photos (each gives a crop and its mirror image)."
    ),
    keep_float: Optional[str] = typer.Option(
        None,
        "--keep-float",
        help="Comma-separated operator types left in float32, e.g. ConvTranspose ('' for none; default: MatMul where the model has it).",
        show_default=False,
    ),
    seed: int = typer.Option(0, "--seed", help="Censor randomness: photo i uses seed + i."),
    method: str = typer.Option(
        "percentile", "--calibration", help="How activation ranges are set: percentile or minmax."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    with one_line_errors("quantize", debug, other=EXIT_USAGE):
        from unmask.infer.runtime import find_model
        from unmask.infer.runtime.registry import INT8_SUFFIX
        from unmask.train.quantize import quantize as do_quantize

    with one_line_errors("quantize", debug):
        source = find_model(model, None)
        target = output or source.with_name(f"{source.stem}{INT8_SUFFIX}.onnx")
        kept = None if keep_float is None else tuple(k.strip() for k in keep_float.split(",") if k.strip())
        report = do_quantize(source, target, val, photos=photos, keep_float=kept, seed=seed, method=method)
    kept_text = ", ".join(report.kept_float) or "none"
    err.print(
        printable(
            f"wrote {report.path} (int8 QDQ, {report.nodes} quantised tensors; calibrated on {report.crops} crops "
            f"of {report.photos} photos, {method}; kept in float: {kept_text}); in the calibration holes it is "
            f"{report.psnr_vs_fp32:.1f} dB PSNR from the float model"
        ),
        highlight=False,
        markup=False,
    )
