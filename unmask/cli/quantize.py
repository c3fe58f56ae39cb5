"""``unmask quantize MODEL --val FOLDER``: an int8 copy of a float generator (static QDQ quantisation, calibrated on
censored crops of the folder's photos made as ``unmask PHOTO`` makes them), written beside it as ``NAME-int8.onnx``.
The library does the work (:mod:`unmask.train.quantize`); this module parses, calls and reports."""

from __future__ import annotations

from pathlib import Path

import typer

from unmask.cli._common import EXIT_USAGE, one_line_errors, say
from unmask.cli.options import Debug, Seed, option


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize)  # its help: the docstring


def quantize(
    model: str = typer.Argument(
        ..., help="Float model: a name (see `unmask models`) or an .onnx path.", show_default=False
    ),
    val: Path = option(
        "--val",
        "Folder of clean face photos to calibrate on (its last --photos, sorted by name).",
        default=...,
        show_default=False,
    ),
    output: Path | None = option("--output -o", "ONNX file to write (default: beside the model, NAME-int8.onnx)."),
    photos: int = option("--photos", "Calibration photos (each gives a crop and its mirror image).", default=64, min=1),
    keep_float: str | None = option(
        "--keep-float",
        "Comma-separated operator types left in float32, e.g. ConvTranspose ('' for none; the default).",
        show_default=False,
    ),
    seed: Seed = 0,
    method: str = option("--calibration", "How activation ranges are set: percentile or minmax.", default="percentile"),
    debug: Debug = False,
) -> None:
    """Quantise a float generator to int8 (static QDQ, calibrated on censored validation crops made as inference
    makes them) and write it beside the float model as NAME-int8.onnx."""
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
    say(
        f"wrote {report.path} (int8 QDQ, {report.nodes} quantised tensors; calibrated on {report.crops} crops "
        f"of {report.photos} photos, {method}; kept in float: {kept_text}); in the calibration holes it is "
        f"{report.psnr_vs_fp32:.1f} dB PSNR from the float model"
    )
