"""``unmask [run] INPUT...``: restore censored faces in photos and folders (the default command)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from unmask.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Device,
    check_run_options,
    err,
    fail,
    guarded,
    is_tty,
    output_lock,
    say,
    set_threads,
)
from unmask.cli._common import RegionOrAuto as Region
from unmask.spec import AUTO, MAX_FACES, MIN_FACE


def register(app: typer.Typer) -> None:
    app.command("run", help="Restore censored faces in photos and folders (default command: `unmask PHOTO...`).")(run)


def run(
    inputs: list[Path] = typer.Argument(..., help="Photos and folders.", show_default=False, readable=False),
    region: Region = typer.Option(Region.eyes, "--region", "-r", help="What is hidden: eyes (bar or pixelation), mouth (surgical mask), or auto (decided per face)."),
    out_dir: Path = typer.Option(Path("unmasked"), "--out", "-o", help="Output folder (folder structure kept)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (see `unmask models`) or .onnx path. Default: the region's default model."),
    device: Device = typer.Option(Device.auto, "--device", help="auto takes CUDA when the session really gets it."),
    mask: Optional[Path] = typer.Option(None, "--mask", readable=False, help="Your own hole for every input: an image of the photo's size, white = restore."),
    invert_mask: bool = typer.Option(False, "--invert-mask", help="The --mask file has black = restore."),
    edges: Optional[Path] = typer.Option(None, "--edges", readable=False, help="Your own edges for the holes (EdgeConnect models): an image of the photo's size, white = edge; transparent pixels leave the model's own edges."),
    mosaic_means: bool = typer.Option(True, "--mosaic-means/--no-mosaic-means", help="Where the censor is a mosaic, keep the block means it shows (only the detail is invented)."),
    force: bool = typer.Option(False, "--force", help="Where no censor is found over the region, restore the whole landmark region anyway (default: leave the face untouched)."),
    max_faces: int = typer.Option(MAX_FACES, "--max-faces", min=1, help="At most this many faces per photo, largest first."),
    min_face: int = typer.Option(MIN_FACE, "--min-face", min=1, help="Skip faces smaller than this (pixels)."),
    compare: bool = typer.Option(False, "--compare", help="Also write NAME.compare.png: input | result."),
    save_mask: bool = typer.Option(False, "--save-mask", help="Also write NAME.mask.png: the restored region."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that exist (default: skip them, so runs resume)."),
    recursive: bool = typer.Option(False, "--recursive", "-R", help="Search subfolders (symbolic links followed, loops detected)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Output format (png, jpg, webp, tif); default: the input's."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per input on stdout, then a summary object."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads for inference (0 = all cores)."),
    max_pixels: int = typer.Option(100_000_000, "--max-pixels", min=1, help="Refuse photos declaring more pixels (decompression bombs)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    guarded(_run, locals())


def _load_models(model: Optional[str], region: str, device: str, threads: int, debug: bool = False) -> dict:
    from unmask.runtime import ModelError
    from unmask.runtime.registry import load_models
    from unmask.runtime.session import DeviceError

    try:
        models = load_models(model, region, device, threads)
    except (ModelError, LookupError, DeviceError) as e:
        if debug:  # --debug: the traceback, not the one line
            raise
        fail(str(e).strip("'\""))
    m = next(iter(models.values()))
    if model and region != AUTO and m.meta.region != region:
        say(f"note: model {m.name} was trained for the {m.meta.region}; using it for the {region}")
    return models


def _run(inputs, region, out_dir, model, device, mask, invert_mask, edges, mosaic_means, force, max_faces, min_face, compare, save_mask,
         overwrite, recursive, fmt, as_json, threads, max_pixels, debug) -> int:  # noqa: ANN001 - mirrors run()
    from unmask.batch import BatchOptions, load_user_edges, load_user_mask, run_batch, summary
    from unmask.inputs import discover
    from unmask.io import ImageError
    from unmask.pipeline import Restorer
    from unmask.runtime.model import describe_providers

    set_threads(threads)
    check_run_options(out_dir, mask, invert_mask)  # usage errors before any model is loaded
    try:
        items = list(discover(inputs, out_dir, recursive=recursive, fmt=fmt))
    except ValueError as e:
        fail(str(e))
    user_mask = None
    if mask is not None:
        try:
            user_mask = load_user_mask(mask, invert_mask, max_pixels)
        except ImageError as e:
            fail(f"{mask}: {e}")
    user_edges = None
    if edges is not None:
        try:
            user_edges = load_user_edges(edges, max_pixels)
        except ImageError as e:
            fail(f"{edges}: {e}")
    models = _load_models(model, region.value, device.value, threads, debug)
    if user_edges is not None:
        blind = [m.name for m in models.values() if not m.takes_edges]
        if blind:
            fail(f"{edges}: model {blind[0]} cannot follow given edges; --edges needs an EdgeConnect model (--model edgeconnect-...)")
    first = next(iter(models.values()))
    names = ", ".join(f"{r}: {m.name}" for r, m in models.items())
    say(f"models {names} on {describe_providers(first.providers)}")
    options = BatchOptions(overwrite=overwrite, compare=compare, save_mask=save_mask, max_pixels=max_pixels,
                           user_mask=user_mask, user_mask_path=str(mask) if mask else None,
                           user_edges=user_edges, user_edges_path=str(edges) if edges else None)
    records = []
    t0 = time.perf_counter()
    n_jobs = sum(1 for i in items if getattr(i, "failed", True))  # jobs and failed skips; notices are not counted
    with output_lock(out_dir, items), \
            Restorer(models, region=region.value, max_faces=max_faces, min_face=min_face, keep_mosaic=mosaic_means, force=force) as restorer:
        progress = _Progress(n_jobs, as_json)
        with progress:
            for rec in run_batch(items, restorer, options):
                records.append(rec)
                progress.advance(rec)
                if as_json:
                    print(json.dumps(rec.to_dict()), flush=True)
    counts = summary(records)
    wall = time.perf_counter() - t0
    line = (f"done {counts['restored']}, no face {counts['no-face']}, skipped (exists) {counts['exists']}, "
            + (f"skipped (unmask output) {counts['skipped']}, " if counts["skipped"] else "")
            + f"failed {counts['failed']} in {wall:.1f} s")
    if as_json:
        print(json.dumps({"summary": counts, "seconds": round(wall, 3)}), flush=True)
    err.print(line, highlight=False)
    return EXIT_FAILED if counts["failed"] else EXIT_OK


class _Progress:
    """A rich progress bar on a terminal (photos, faces, photos/s, ETA); plain lines otherwise."""

    def __init__(self, total: int, quiet_lines: bool) -> None:
        self.total = total
        self.done = 0
        self.faces = 0
        self.t0 = time.perf_counter()
        self.tty = is_tty()
        self.quiet_lines = quiet_lines
        self._bar = None

    def __enter__(self) -> "_Progress":
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("restoring"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[faces]} faces"),
                TextColumn("{task.fields[rate]} photos/s"), TimeRemainingColumn(), console=err, transient=False,
            )  # fmt: skip
            self._bar.__enter__()
            self._task = self._bar.add_task("restore", total=self.total, faces=0, rate="-")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, rec) -> None:  # noqa: ANN001 - batch.Record
        if rec.status == "notice":
            say(f"note: {rec.input}: {rec.error}")
            return
        self.done += 1
        self.faces += sum(f["status"] == "restored" for f in rec.faces)
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        if self._bar is not None or self.quiet_lines:  # failures and warnings: one line each
            if rec.status == "failed":
                say(f"failed: {rec.input}: {rec.error}")
            for w in rec.warnings:
                say(f"warning: {rec.input}: {w}")
        if self._bar is not None:
            self._bar.update(self._task, advance=1, faces=self.faces, rate=f"{rate:.2f}")
        elif not self.quiet_lines:
            what = {"restored": f"restored {sum(f['status'] == 'restored' for f in rec.faces)} face(s) -> {rec.output}",
                    "no-face": f"no face ({rec.error})", "exists": "skipped: output exists",
                    "skipped": f"skipped: {rec.error}", "failed": f"failed: {rec.error}"}[rec.status]
            warned = "".join(f"; warning: {w}" for w in rec.warnings)  # on the input's own line
            say(f"[{self.done}/{self.total}] {rec.input}: {what}{warned} ({rate:.2f} photos/s)")
