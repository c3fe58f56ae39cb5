"""``unmask eval DATA --region eyes|mouth``: censor clean faces, restore them with models and baselines, score the
hidden pixels (PSNR, SSIM, L1, LPIPS; the hole's detail, hole LPIPS, KID and tone; PSNR, hole LPIPS and tone by
skin tone) and check nothing changed outside the blend margin. ``DATA``: a folder of photos (faces found with
mediapipe), or a training set made by ``unmask prepare`` (no mediapipe needed). Interrupted (Ctrl-C, SIGTERM: exit
130), the rerun of the same command resumes with the photos scored so far (:mod:`unmask.measure.resume`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from unmask.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Censor,
    check_file_target,
    Device,
    Region,
    err,
    fail,
    guarded,
    out,
    photos_or_fail,
    safe,
    say,
    set_threads,
    wide_console,
)
from unmask.cli.progress import Counter
from unmask.cli.options import Debug, JsonReport, LpipsWeights, RunDevice, Seed, Threads, flag, option
from unmask.infer.video.formats import is_video_name

EVAL_WIDTH = 270
"""Width of the tables on pipes and files: eight columns of intervals."""

NUMBER_COLUMNS = ("faces", "PSNR dB ↑", "SSIM ↑", "L1 ↓", "LPIPS ↓", "outside px", "hole IoU", "spill", "detail →1",
                  "hole LPIPS ↓", "KID×1000 ↓", "tone ΔE ↓", "ms/face")  # fmt: skip
"""The main table's columns after method and kind, right-aligned."""


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)  # its help: the docstring


@guarded
def evaluate(
    data: Path = typer.Argument(
        ...,
        help="Folder of clean face photos (the first --n, sorted by name), a training set made by `unmask prepare` (its first --n faces; no mediapipe needed), or a clean video (every frame censored; hole PSNR and flicker, steady vs frame by frame).",
        show_default=False,
    ),
    region: Region = option("--region -r", "Which region to hide and restore.", default=...),
    censor: Censor | None = option(
        "--censor", "Censor drawn on each face (default: bar for eyes, surgical for mouth)."
    ),
    model: list[str] | None = option(
        "--model -m", "Model name or .onnx path; repeat for several. Default: the region's default model, if installed."
    ),
    baseline: str = option(
        "--baseline",
        "Comma-separated classic baselines (telea, ns, none = the censored photo); '' for none.",
        default="telea,ns,none",
    ),
    n: int = option("--n", "Number of photos.", default=100, min=1),
    seed: Seed = 0,
    as_json: JsonReport = False,
    per_face: bool = flag("--per-face", "With --json: include every face's scores."),
    grid: Path | None = option("--grid", "Write a PNG: censored input, each method, original, for the first faces."),
    grid_faces: int = option("--grid-faces", "Rows of the --grid picture.", default=6, min=1),
    mosaic_means: bool = option(
        "--mosaic-means/--no-mosaic-means",
        "Models keep a mosaic's block means, as `unmask run` does (baselines stay plain OpenCV).",
        default=True,
    ),
    retouch: bool = option(
        "--retouch/--no-retouch", "Models' results pasted with grain, as `unmask run` does on photos.", default=True
    ),
    flip_average: bool = option(
        "--flip-average/--no-flip-average",
        "Models average each result with their result on the mirrored face, as `unmask run` does on photos.",
        default=True,
    ),
    jpeg_quality: int = option(
        "--jpeg",
        "JPEG quality each censored photo goes through before restoring (0: none).",
        default=90,
        min=0,
        max=100,
    ),
    no_lpips: bool = flag("--no-lpips", "Skip LPIPS (no torch or weights needed)."),
    lpips_weights: LpipsWeights = None,
    features_weights: Path | None = option(
        "--features-weights",
        "SqueezeNet 1.1 features (default: $UNMASK_PERCEPTUAL_WEIGHTS, else the copy shipped with unmask).",
    ),
    device: RunDevice = Device.auto,
    threads: Threads = 0,
    debug: Debug = False,
) -> int:
    """Score models against classic baselines on clean face photos: censor, restore, measure the hidden pixels."""
    from unmask.train.data.shards import is_face_set
    from unmask.infer.io.write import write_png
    from unmask.measure.evaluate import evaluate as evaluate_photos
    from unmask.measure.evaluate import evaluate_set
    from unmask.measure.grid import make_grid
    from unmask.measure.scores import EvalSettings

    set_threads(threads)
    if grid is not None:
        check_file_target(grid, "--grid")  # before any model or photo is loaded
    try:
        settings = EvalSettings(
            region.value,
            censor.value if censor else None,
            n,
            seed,
            grid_faces,
            mosaic_means=mosaic_means,
            jpeg=jpeg_quality,
            flip_average=flip_average,
            retouch=retouch,
        )
    except ValueError as e:
        fail(str(e))
    if is_video_name(data) and data.is_file():  # a clean video: steady vs per-frame restoring, flicker
        from unmask.cli.video import eval_video

        return eval_video(data, region.value, settings.censor_kind, model, seed, as_json, device.value, threads)
    faces = _face_set(data) if is_face_set(data) else None
    photos = photos_or_fail(data, n) if faces is None else []
    baselines = [b.strip() for b in baseline.split(",") if b.strip()]
    models = list(model or [])
    if not models:
        models = _default_model(region.value, device.value)
    methods, kinds, notes = _methods(models, baselines, region.value, device.value, threads)
    if not methods:
        fail("nothing to evaluate: no model installed and no --baseline")
    for note in notes:
        say(f"note: {note}")
    lpips = None if no_lpips else _lpips(lpips_weights, features_weights, threads)
    total = min(n, len(faces)) if faces is not None else len(photos)
    lpips_files = None if lpips is None else _lpips_files(lpips_weights, features_weights)
    state = _state(data, faces, photos[:n], methods, kinds, settings, lpips_files, device.value, threads)
    problem = None if state.done else state.check()
    if state.done:
        say(f"resumed: {len(state.done)} of {total} photos already scored (by an interrupted run of this command)")
    elif problem is not None:
        say(f"note: no resume journal ({problem}): if interrupted, this run starts over")
        state.error = problem  # not tried photo after photo
    with Counter(total, "evaluating", "bar", "count", "eta", completed=len(state.done)) as bar:
        kw = {"lpips": lpips, "kinds": kinds, "on_photo": bar.count, "state": state}
        if faces is not None:
            report = evaluate_set(faces, methods, settings, **kw)
        else:
            report = evaluate_photos(photos, methods, settings, **kw)
    if grid is not None:
        if report.grid:
            write_png(grid, make_grid(report))
            say(f"grid written to {grid}")
        else:
            err.print("note: no face was scored, no grid written", highlight=False, markup=False)
    if as_json:
        print(json.dumps(report.to_dict(per_face=per_face)), flush=True)
    else:
        console = wide_console(out, EVAL_WIDTH)
        console.print(_table(report))
        groups = report.skin_groups()
        if groups:
            console.print(_group_table(report, groups))
    state.remove()  # the result is out: the next run starts afresh
    if state.error and state.error != problem:
        say(f"note: the resume journal could not be written ({state.error})")
    if report.outside_total:
        bad = ", ".join(r.name for r in report.rows() if r.outside_pixels)
        err.print(
            f"[bold red]error:[/] {safe(bad)} changed {report.outside_total} pixels outside the hole it restored",
            markup=True,
        )
        return EXIT_FAILED
    return EXIT_OK


def _face_set(data: Path) -> Any:
    """The training set at ``data`` (checksums checked), or one line naming what is wrong with it."""
    from unmask.train.data.shards import FaceSet, SetError

    try:
        return FaceSet(data)
    except SetError as e:
        fail(str(e))


def _state(data: Path, faces: Any, photos: list, methods: dict, kinds: dict, settings: Any, lpips_files: Any,
           device: str, threads: int) -> Any:  # fmt: skip
    """The journal of an interrupted run of this very command (data, methods, settings, options), else a new one."""
    from unmask.measure.resume import EvalState, eval_state_key, file_digest, photo_identities
    from unmask.train.data.shards import MANIFEST

    if faces is not None:
        items: Any = {"names": list(faces.names[: settings.n]), "manifest": file_digest(faces.root / MANIFEST)}
    else:
        items = photo_identities(photos)
    return EvalState.open(
        eval_state_key(data, methods, kinds, settings, items, lpips_files, device=device, threads=threads)
    )


def _lpips_files(weights: Optional[Path], features: Optional[Path]) -> list[Path]:
    """The LPIPS heads and SqueezeNet features files LPIPS loaded (option, else variable, else shipped copy)."""
    from unmask.weights import ENV_FEATURES, ENV_LPIPS, FEATURES_FILE, LPIPS_FILE, resolve

    return [
        resolve(weights, ENV_LPIPS, "LPIPS", LPIPS_FILE),
        resolve(features, ENV_FEATURES, "features", FEATURES_FILE),
    ]


def _default_model(region: str, device: str) -> list[str]:
    from unmask.infer.runtime import find_model, runs_on_cpu

    try:
        return [str(find_model(None, region, runs_on_cpu(device)))]
    except LookupError:
        err.print(
            f"note: no {region} model installed; scoring the baselines only (pass --model NAME|PATH)",
            highlight=False,
            markup=False,
        )
        return []


def _methods(
    models: list[str], baselines: list[str], region: str, device: str, threads: int
) -> tuple[dict, dict, list]:
    from unmask.measure.evaluate import build_methods

    return build_methods(models, baselines, region, device, threads)  # an UnmaskError: one line, exit 2 (guarded)


def _lpips(weights: Optional[Path], features: Optional[Path], threads: int) -> Any:
    try:
        import torch
    except ImportError:
        fail("LPIPS needs torch (pip install 'unmask[train]'), or pass --no-lpips")
    from unmask.train.features import WeightsNotFound
    from unmask.measure.metrics import LPIPS

    if threads:
        torch.set_num_threads(threads)
    try:
        return LPIPS(weights, features)
    except (WeightsNotFound, ValueError) as e:
        fail(f"{e} (pass --lpips-weights/--features-weights, or --no-lpips)")


def _fmt(v: Optional[tuple[float, float, float]], nd: int) -> str:
    if v is None:
        return "-"
    return f"{v[0]:.{nd}f} [{v[1]:.{nd}f}, {v[2]:.{nd}f}]"


def _table(report: Any) -> Any:
    from rich.table import Table

    s = report.settings
    caption = (
        f"{report.scored} faces scored of {report.photos} photos"
        + (f"; {report.no_face} without a face" if report.no_face else "")
        + (f"; {report.unreadable} unreadable" if report.unreadable else "")
        + (f"; {report.lost} lost after censoring (not found again, excluded for every method)" if report.lost else "")
        + (f". Censored photos JPEG q{s.jpeg}." if s.jpeg else ". Censored photos not compressed.")
        + (
            " Faces of a training set: its aligned crops, with its stored landmarks (not found again under the censor)."
            if report.source == "set"
            else ""
        )
    ) + (
        " Mean [95% interval]. PSNR/L1 in the hidden pixels, SSIM on their box, LPIPS on the aligned face;"
        " hole IoU: the restored hole against the censor's true pixels (missed: faces where no censor was found);"
        " spill: visible pixels (beyond 3 px of the censor) changed by more than 12/255, per censor pixel;"
        " Telea and NS are given the true censor."
        " detail: |Laplacian| of grey in the censor (2 px in from its edge), restored over true (1 = as detailed);"
        " hole LPIPS and KID (x1000, over the set): the censor's box padded by 1/4 of its height, 64 px short side;"
        " tone: Delta E (CIE76) of the censor's mean Lab colour."
    )
    table = Table(title=f"unmask eval: {s.region}, censor {s.censor_kind}, seed {s.seed}", caption=caption)
    table.add_column("method")
    table.add_column("kind")
    for name in NUMBER_COLUMNS:
        table.add_column(name, justify="right")
    for r in report.rows():
        outside = str(r.outside_pixels) if not r.outside_pixels else f"[bold red]{r.outside_pixels}[/]"
        ms = "-" if r.seconds_per_face is None or r.name == "none" else f"{1000 * r.seconds_per_face:.1f}"
        iou = "-" if r.iou is None else f"{r.iou:.3f}" + (f" ({r.missed} missed)" if r.missed else "")
        spill = "-" if r.spill is None else f"{r.spill:.3f}"
        table.add_row(safe(r.name), safe(r.kind), str(r.faces), _fmt(r.psnr, 2), _fmt(r.ssim, 3), _fmt(r.l1, 3),
                      _fmt(r.lpips, 3), outside, iou, spill, _fmt(r.detail, 2), _fmt(r.hole_lpips, 3), _fmt(r.kid, 1),
                      _fmt(r.tone, 1), ms)  # fmt: skip
    return table


def _group_table(report: Any, groups: list) -> Any:
    from rich.table import Table

    grouped = sum(g.faces for g in groups)
    table = Table(
        title="by skin tone: ITA tertiles of the scored faces (lightest first)",
        caption=f"ITA = atan2(L* - 50, b*) in degrees from the median Lab of the clean photo's visible forehead and "
        f"cheeks; {grouped} of {report.scored} faces grouped"
        + ("" if grouped == report.scored else " (the others show too little skin, or no colour)") + ". Mean [95% interval].",
    )  # fmt: skip
    for name, justify in (("group", "left"), ("ITA °", "right"), ("faces", "right"), ("method", "left"),
                          ("PSNR dB ↑", "right"), ("hole LPIPS ↓", "right"), ("tone ΔE ↓", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for g in groups:
        for i, r in enumerate(g.rows):
            first = i == 0
            table.add_row(g.name if first else "", f"{g.ita[0]:.1f} to {g.ita[1]:.1f}" if first else "",
                          str(g.faces) if first else "", safe(r.name), _fmt(r.psnr, 2), _fmt(r.hole_lpips, 3),
                          _fmt(r.tone, 1), end_section=i == len(g.rows) - 1)  # fmt: skip
    return table
