"""``unmask [run] INPUT...``: restore censored faces in photos, videos and folders (the default command)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from unmask.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Device,
    check_file_target,
    check_run_options,
    err,
    fail,
    guarded,
    output_lock,
    say,
    set_threads,
)
from unmask.cli._common import RegionOrAuto as Region
from unmask.cli import cluster
from unmask.cli.options import Debug, RunDevice, Threads, flag, option
from unmask.cli.run_view import Progress, summary_line
from unmask.spec import AUTO, MAX_FACES, MIN_FACE
from unmask.infer.video.formats import CODECS, DEFAULT_CODEC, DEFAULT_CRF, MAX_CRF, WEBM_CODEC, is_video_name

if TYPE_CHECKING:
    from unmask.infer.video.settings import VideoSettings


def register(app: typer.Typer) -> None:
    app.command("run")(run)  # its help: the docstring; its line in `unmask --help`: app.SHORT_HELP


@guarded
def run(
    inputs: list[Path] = typer.Argument(
        ...,
        metavar="INPUT...",
        help="Photos (jpg, png, webp, tif, ...), videos (mp4, mov, mkv, webm, avi, m4v) and folders of them.",
        show_default=False,
        readable=False,
    ),
    region: Region = option(
        "--region -r",
        "What is hidden: eyes (a bar or pixelation), mouth (a surgical or cloth mask), or auto (decided per face).",
        default=Region.eyes,
    ),
    out_dir: Path = option(
        "--out -o DIR", "Output folder; a folder's structure is kept under it.", default=Path("unmasked")
    ),
    model: str | None = option(
        "--model -m NAME|PATH", "Model name (see `unmask models`) or .onnx file.  [default: the region's default model]"
    ),
    device: RunDevice = Device.auto,
    mask: Path | None = option(
        "--mask FILE",
        "Your own hole for every input: an image of the photo's size, white = "
        "restore (used as given).  [default: find the censor]",
        readable=False,
    ),
    invert_mask: bool = flag("--invert-mask", "The --mask file has black = restore."),
    edges: Path | None = option(
        "--edges FILE",
        "Your own edges for the holes (EdgeConnect models only): an image of the photo's size, white = edge; "
        "transparent pixels leave the model's own edges.  [default: the model's own]",
        readable=False,
    ),
    mosaic_means: bool = option(
        "--mosaic-means/--no-mosaic-means",
        "Where the censor is a mosaic, keep the block means it shows (only the detail is invented).",
        default=True,
    ),
    flip_average: bool | None = option(
        "--flip-average/--no-flip-average",
        "Average each result with the model's result on the mirrored face: a little closer to the "
        "truth, twice the generator's time.  [default: on for photos, off for videos]",
        show_default=False,
    ),
    retouch: bool | None = option(
        "--retouch/--no-retouch",
        "Paste as a retoucher: top the fill's grain up to half the photo's own, measured around the hole, so the "
        "patch is not smoother than the skin beside it (default: on for photos, off for videos).",
    ),
    force: bool = flag(
        "--force",
        "Where no censor is found over the region, restore the whole landmark "
        "region anyway (default: leave the face untouched).",
    ),
    max_faces: int = option(
        "--max-faces N", "At most this many faces per photo, largest first.", default=MAX_FACES, min=1
    ),
    min_face: int = option("--min-face PX", "Skip faces smaller than this many pixels.", default=MIN_FACE, min=1),
    faces: str | None = option(
        "--faces N,M",
        "Restore only these faces, numbered as the report numbers them (left to right, "
        "top to bottom, from 0), e.g. 0,2.  [default: every face]",
    ),
    largest: bool = flag("--largest", "Restore only the largest face of each photo."),
    show_faces: Path | None = option(
        "--show-faces FILE|DIR",
        "Draw each face's box, number and decision on the photo: into FILE for one photo, into DIR as NAME.faces.png "
        "for several. Only draws (nothing restored, no outputs) unless --restore is given too (default: no picture).",
    ),
    restore_too: bool = flag("--restore", "With --show-faces: restore and write the outputs as well."),
    compare: bool = flag("--compare", "Also write NAME.compare.png: input | result."),
    save_mask: bool = flag("--save-mask", "Also write NAME.mask.png: the restored region."),
    overwrite: bool = flag(
        "--overwrite",
        "Redo every input: those whose outputs exist, and those an earlier run found no "
        "face or no censor in (default: skip them, so a rerun resumes).",
    ),
    recursive: bool = flag("--recursive -R", "Search subfolders too (symbolic links followed, loops detected)."),
    fmt: str | None = option(
        "--format png|jpg|webp|tif",
        "Format of the restored photos.  [default: the input's; videos keep their container]",
    ),
    codec: str | None = option(
        f"--codec {'|'.join(CODECS)}",
        f"Video encoder (audio is copied as it is).  [default: {DEFAULT_CODEC}; {WEBM_CODEC} for .webm]",
    ),
    crf: int = option(
        "--crf N",
        "Video quality: the encoder's constant rate factor, 0-51 for h264 and hevc, "
        f"0-{MAX_CRF} for vp9 and av1 (lower is better and larger).",
        default=DEFAULT_CRF,
        min=0,
        max=MAX_CRF,
    ),
    as_json: bool = flag("--json", "One JSON object per input on stdout, then a summary object."),
    threads: Threads = 0,
    max_pixels: int = option(
        "--max-pixels N", "Refuse photos declaring more pixels (decompression bombs).", default=100_000_000, min=1
    ),
    ray: str | None = option(
        "--ray ADDRESS|local",
        "Restore on a Ray cluster through Ray Data: local starts one on this machine, an address "
        "(HOST:6379, or auto on a cluster node) joins a running one; inputs and --out may then be URLs "
        "(s3://, gs://, ...). Needs unmask[ray].  [default: this process]",
    ),
    ray_workers: int | None = option(
        "--ray-workers N",
        "With --ray: actors in the pool, each loading the models once.  "
        "[default: one per CPU, two per GPU with --device cuda]",
    ),
    debug: Debug = False,
) -> int:
    """Restore censored faces in photos, videos and folders of them (the default command: `unmask PHOTO...` is
    `unmask run PHOTO...`). Each input gets a status: restored, no-face, no-censor (faces found, nothing covered),
    exists (its output is there already), skipped (an output of unmask), failed; exit 1 when any failed."""
    from unmask.infer.runner import BatchOptions, faces_pictures, load_user_edges, load_user_mask, run_batch, summary
    from unmask.infer.face.choose import Choice
    from unmask.infer.inputs import discover
    from unmask.infer.io import ImageError
    from unmask.infer.pipeline import Restorer
    from unmask.infer.runtime.model import describe_providers

    set_threads(threads)
    check_run_options(out_dir, mask, invert_mask)  # usage errors before any model is loaded
    if restore_too and show_faces is None:
        fail("--restore goes with --show-faces (without it, unmask restores anyway)")
    urls = ray is not None and cluster.check(ray, ray_workers, inputs, out_dir, show_faces)
    try:
        items = (
            cluster.url_items(inputs, out_dir, recursive, fmt)
            if urls
            else list(discover(inputs, out_dir, recursive=recursive, fmt=fmt))
        )
    except ValueError as e:
        fail(str(e))
    video = _video_settings(items, codec, crf, max_pixels, bool(flip_average), bool(retouch))
    try:
        choice = Choice(indices=_numbers(faces), largest=largest)
        pictures = faces_pictures(items, show_faces, out_dir) if show_faces is not None else None
    except ValueError as e:
        fail(str(e))
    if pictures:
        _check_pictures_target(show_faces, pictures)
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
    models = _load_models(
        model, region.value, "cpu" if ray else device.value, threads, debug
    )  # --ray: the actors load theirs
    if user_edges is not None:
        blind = [m.name for m in models.values() if not m.takes_edges]
        if blind:
            fail(
                f"{edges}: model {blind[0]} cannot follow given edges; --edges needs an EdgeConnect model (--model edgeconnect-...)"
            )
    first = next(iter(models.values()))
    names = ", ".join(f"{r}: {m.name}" for r, m in models.items())
    say(f"models {names} on {describe_providers(first.providers)}")
    draw_only = pictures is not None and not restore_too
    if draw_only:
        say(
            "--show-faces: drawing the faces only; nothing is restored or written besides the pictures (add --restore to restore too)"
        )
    options = BatchOptions(
        overwrite=overwrite,
        compare=compare,
        save_mask=save_mask,
        max_pixels=max_pixels,
        user_mask=user_mask,
        user_mask_path=str(mask) if mask else None,
        user_edges=user_edges,
        user_edges_path=str(edges) if edges else None,
        video=video,
        show_faces=pictures,
        draw_only=draw_only,
        state_dir=None if draw_only else out_dir,
    )
    records = []
    t0 = time.perf_counter()
    n_jobs = sum(1 for i in items if getattr(i, "failed", True))  # jobs and failed skips; notices are not counted
    with (
        output_lock(out_dir, [] if draw_only or urls else items),
        Restorer(
            models,
            region=region.value,
            max_faces=max_faces,
            min_face=min_face,
            keep_mosaic=mosaic_means,
            force=force,
            choose=choice,
            flip_average=flip_average is not False,
            retouch=retouch is not False,
        ) as restorer,
    ):
        progress = Progress(n_jobs, as_json)
        with progress:
            batch = (
                run_batch(items, restorer, options, on_frame=progress.frame)
                if ray is None
                else cluster.records(ray, ray_workers, items, restorer, options, model, device.value, threads)
            )
            for rec in batch:
                records.append(rec)
                progress.advance(rec)
                if as_json:
                    print(json.dumps(rec.to_dict()), flush=True)
    counts = summary(records)
    wall = time.perf_counter() - t0
    line = summary_line(counts, wall)
    if as_json:
        print(json.dumps({"summary": counts, "seconds": round(wall, 3)}), flush=True)
    err.print(line, highlight=False)
    return EXIT_FAILED if counts["failed"] else EXIT_OK


def _load_models(model: Optional[str], region: str, device: str, threads: int, debug: bool = False) -> dict:
    from unmask.infer.pipeline import load_models

    models = load_models(model, region, device, threads)  # an UnmaskError: one line, exit 2 (guarded)
    m = next(iter(models.values()))
    if model and region != AUTO and m.meta.region != region:
        say(f"note: model {m.name} was trained for the {m.meta.region}; using it for the {region}")
    return models


def _check_pictures_target(target: Path, pictures: dict) -> None:
    """``--show-faces`` that cannot be written is a usage error before any model is loaded (issue 26): the file's
    folder, or the folder of pictures, must be a writable folder or creatable in one."""
    from unmask.infer.runner.folder import check_output_folder

    if list(pictures.values()) == [target]:
        check_file_target(target, "--show-faces")
    else:
        problem = check_output_folder(target)
        if problem:
            fail(f"--show-faces: {problem.replace('output folder', 'folder of faces pictures', 1)}")


def _numbers(text: Optional[str]) -> Optional[tuple[int, ...]]:
    """``--faces 0,2`` as (0, 2); ``ValueError`` naming the option for anything else."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--faces {text!r}: give face numbers separated by commas, e.g. 0,2") from None


def _video_settings(
    items: list, codec: Optional[str], crf: int, max_pixels: int, flip_average: bool = False, retouch: bool = False
) -> VideoSettings:
    """The settings of the videos among ``items``; a ``--codec`` one of their containers cannot hold, or a ``--crf``
    out of that codec's range, is a usage error, said before any model is loaded."""
    from unmask.infer.inputs import Job
    from unmask.infer.video.settings import VideoSettings
    from unmask.infer.video.formats import check_codec

    for item in items:
        if isinstance(item, Job) and is_video_name(item.source):
            try:
                check_codec(item.output.suffix, codec, crf)
            except ValueError as e:
                fail(f"{item.source}: {e}")
    return VideoSettings(codec=codec, crf=crf, max_pixels=max_pixels, flip_average=flip_average, retouch=retouch)
