"""``unmask bench [FOLDER]``: time the pipeline per stage over a folder, the generator alone in ONNX Runtime vs
PyTorch eager, and (``--scaling``) faces per photo, photo size, batch size and peak memory. Measurements only: the
project's targets for them are in ``benchmarks/targets.py``, which reads ``--json``. Interrupted, the rerun of the
same command keeps the sections measured so far and times the others (:class:`unmask.measure.bench.BenchState`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

from unmask.cli._common import (
    EXIT_OK,
    Device,
    Region,
    err,
    fail,
    guarded,
    photos_or_fail,
    say,
    set_threads,
)
from unmask.cli.progress import Counter
from unmask.cli.options import Debug, JsonReport, flag, option

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.baselines import Baseline
    from unmask.measure.bench import BenchReport
    from unmask.measure.generator import GeneratorBench
    from unmask.measure.video_bench import VideoBenchReport
    from unmask.infer.runtime import Model


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)  # its help: the docstring


@guarded
def bench(
    folder: Optional[Path] = typer.Argument(
        None, help="Folder of photos (default: copies of scikit-image's astronaut portrait).", show_default=False
    ),
    model: str | None = option(
        "--model -m",
        "Model name or .onnx path, or a baseline (telea, ns, none). Default: the region's default model, else telea.",
    ),
    region: Region = option("--region -r", "Region restored in the folder run.", default=Region.eyes),
    device: Device = option("--device", "Device for the ONNX session (and PyTorch eager).", default=Device.auto),
    threads: int = option("--threads N", "CPU threads for both runtimes (0 = all cores).", default=0, min=0),
    batch: int = option("--batch", "Faces per batch for the generator-alone timing.", default=1, min=1),
    n: int = option("--n", "Photos of the folder run (the first N, sorted).", default=50, min=1),
    repeats: int = option("--repeats", "Timed runs per generator measurement (median reported).", default=10, min=1),
    checkpoint: str | None = option(
        "--checkpoint",
        "Training run or .pt the model was exported from: PyTorch eager uses its "
        "weights (default: the same arch with random weights).",
    ),
    scaling: bool = flag(
        "--scaling",
        "Also: 1 vs 8 faces, 0.3-24 MP photos, batch 1/4/8, memory of a 24 MP photo with 10 faces.",
    ),
    no_folder: bool = flag("--no-folder", "Skip the folder run."),
    int8: bool = option(
        "--int8/--no-int8",
        "Also time the model's int8 copy (NAME-int8, made by `unmask quantize`) where one is "
        "installed: the generator alone and the folder run, in the same run.",
        default=True,
    ),
    as_json: JsonReport = False,
    video: bool = flag(
        "--video",
        "Time the video path instead: 720p clips made of the folder's first faces (or the "
        "astronaut) with 1 and 4 censored faces, file to file, per stage.",
    ),
    debug: Debug = False,
) -> int:
    """Time the pipeline per stage over a folder, the generator in ONNX Runtime vs PyTorch eager, and scaling."""
    from unmask.measure.baselines import Baseline
    from unmask.measure.bench import BenchReport, temp_dir
    from unmask.measure.generator import resolve_threads
    from unmask.measure.probe import probe_group_photo
    from unmask.measure.scaling import scaling_batch, scaling_faces, scaling_size
    from unmask.infer.pipeline import Restorer

    threads = resolve_threads(threads)
    set_threads(threads)
    inpainter, ref = _load(model, region.value, device.value, threads)
    if video:
        from unmask.cli.video import bench_videos
        from unmask.measure.video_bench import VideoBenchReport

        video_report = VideoBenchReport([], threads, inpainter.name)
        stills = photos_or_fail(folder, 50) if folder is not None else []  # where the clips' faces come from
        state = _state(folder, stills, [inpainter], ("video", region.value, device.value, threads), video_report)
        bench_videos(folder, inpainter, region.value, as_json, video_report, state)
        return _finished(state)
    info = _model_info(inpainter, ref)
    report = BenchReport(model=info, threads=threads, device=device.value)
    quantized = _int8(inpainter, device.value, threads) if int8 else None
    if quantized is not None:
        info["int8"] = _model_info(quantized, str(quantized.path))
    with temp_dir() as tmp:
        tmp = Path(tmp)
        photos: list[Path] = []
        if not no_folder or scaling:
            photos = _photos(folder, n if not no_folder else 1, tmp, report.notes)
        status = _Status()
        options = (region.value, device.value, threads, batch, n, repeats, checkpoint, scaling, no_folder)
        state = _state(folder, photos, [inpainter, quantized], options, report)

        def measure(name: str, title: str, run: Callable[[], Any]) -> Any:
            status.say(title + (" (kept from the interrupted run)" if name in state.sections else ""))
            return state.section(name, report, run)

        # force: a folder of clean photos still runs the whole path (finder, generator, paste-back) for timing
        with Restorer({region.value: inpainter}, region=region.value, force=True) as restorer:
            if not no_folder:
                report.folder = measure(
                    "folder",
                    f"folder run: {len(photos)} photos",
                    lambda: _folder(photos, restorer, tmp / "out", status),
                )
                if quantized is not None:
                    q_restorer = Restorer(
                        {region.value: quantized}, region=region.value, force=True, finder=restorer.finder
                    )
                    report.folder_int8 = measure(
                        "folder_int8",
                        f"folder run with {quantized.name}: {len(photos)} photos",
                        lambda: _folder(photos, q_restorer, tmp / "out-int8", status),
                    )
            generator = None if isinstance(inpainter, Baseline) else inpainter
            if generator is not None:
                report.generator = measure(
                    "generator",
                    "generator alone: ONNX Runtime vs PyTorch eager",
                    lambda: _generator(generator, batch, threads, repeats, checkpoint, report.notes, quantized),
                )
            else:
                report.notes.append(f"{info['name']} is a classic baseline, not a generator: no generator-alone timing")
            if scaling:
                face = _first_face_photo(photos)
                report.faces = measure(
                    "faces", "scaling: faces per photo", lambda: scaling_faces(face, restorer, repeats=3)
                )
                report.sizes = measure(
                    "sizes",
                    "scaling: photo size (0.3-24 MP)",
                    lambda: scaling_size(face, restorer, tmp / "sizes", repeats=2),
                )
                if generator is not None:
                    report.batches = measure(
                        "batches",
                        "scaling: batch size",
                        lambda: scaling_batch(generator, (1, 4, 8), threads, repeats=max(3, repeats // 2)),
                    )
                report.memory = measure(
                    "memory",
                    "scaling: peak memory, 24 MP photo with 10 faces (fresh process)",
                    lambda: probe_group_photo(face, ref, region.value, tmp / "memory", 24, 10, device.value, threads),
                )
        status.done()
    if as_json:
        print(json.dumps(report.to_dict()), flush=True)
    else:
        from unmask.cli.bench_view import render

        render(report)
    return _finished(state)


def _finished(state: Any) -> int:
    """The result is out: the kept sections go (the next run measures afresh); sections that could not be kept are
    said."""
    state.remove()
    if state.error:
        say(f"note: the finished sections could not be kept ({state.error}): an interrupt would have lost them")
    return EXIT_OK


def _state(folder: Optional[Path], photos: list[Path], models: list, options: tuple,
           report: BenchReport | VideoBenchReport) -> Any:  # fmt: skip
    """The sections an interrupted run of this very command (model files, photos, options, machine) measured; says
    "resumed" (on stderr and in ``report``'s notes) when there are some."""
    import platform

    from unmask.measure.bench import BenchState
    from unmask.measure.resume import method_identity, photo_identities, state_key

    items = photo_identities(photos) if folder is not None else ["demo", len(photos)]
    ids = [None if m is None else method_identity(m) for m in models]
    state = BenchState.open(state_key({"bench": [items, ids, options, platform.node(), os.cpu_count()]}))
    if state.sections:
        say(f"resumed: {', '.join(state.sections)} already measured by an interrupted run of this command")
        report.notes.append(f"{', '.join(state.sections)}: measured by an earlier, interrupted run of this command")
    return state


def _folder(photos: list[Path], restorer: Any, out_dir: Path, status: _Status) -> Any:
    from unmask.measure.folder import bench_folder

    status.progress(0, len(photos))  # the bar (or plain lines) from the start: rates from here
    return bench_folder(photos, restorer, out_dir, on_photo=status.progress)


def _photos(folder: Optional[Path], n: int, tmp: Path, notes: list[str]) -> list[Path]:
    from unmask.measure.folder import demo_photos

    if folder is None:
        notes.append("no folder given: copies of scikit-image's astronaut portrait (512x512, one face)")
        return demo_photos(tmp / "photos", n)
    return photos_or_fail(folder, n)


def _load(model: Optional[str], region: str, device: str, threads: int) -> tuple[Model | Baseline, str]:
    from unmask.measure.baselines import load_inpainter
    from unmask.infer.runtime import find_model

    ref = model
    if ref is None:
        try:
            ref = str(find_model(None, region))
        except LookupError:
            err.print(
                f"note: no {region} model installed; timing the telea baseline (pass --model NAME|PATH)",
                highlight=False,
                markup=False,
            )
            ref = "telea"
    m = load_inpainter(ref, device, threads)  # an UnmaskError: one line, exit 2 (guarded)
    path = getattr(m, "path", None)
    return m, str(path) if path is not None else ref


def _model_info(m: Model | Baseline, ref: str) -> dict[str, Any]:
    meta = getattr(m, "meta", None)
    return {
        "name": m.name,
        "ref": ref,
        "arch": getattr(meta, "arch", "?"),
        "preset": getattr(meta, "preset", ""),
        "size": int(m.size),
        "version": getattr(meta, "version", ""),
        "providers": list(getattr(m, "providers", [])),
    }


def _int8(model: Model | Baseline, device: str, threads: int) -> Model | None:
    """The int8 copy of a float ``model`` (:func:`unmask.infer.runtime.registry.int8_of`), loaded, or None."""
    from unmask.infer.runtime import ModelError, load_model
    from unmask.infer.runtime.registry import int8_of

    path = getattr(model, "path", None)
    meta = getattr(model, "meta", None)
    if path is None or meta is None or meta.quantization:
        return None
    found = int8_of(Path(path))
    if found is None:
        return None
    try:
        return load_model(found, device, threads)
    except ModelError as e:
        fail(str(e))


def _generator(
    model: Model,
    batch: int,
    threads: int,
    repeats: int,
    checkpoint: Optional[str],
    notes: list[str],
    int8: Model | None = None,
) -> GeneratorBench:
    from unmask.measure.generator import bench_generator, eager_generator

    eager, note, weights = None, "", ""
    try:
        eager, note = eager_generator(model.meta, checkpoint)
        weights = note
    except ImportError:
        note = "PyTorch eager not measured: torch is not installed (pip install 'unmask[train]')"
    except KeyError as e:
        note = f"PyTorch eager not measured: {str(e).strip(chr(39) + chr(34))}"
    except Exception as e:  # noqa: BLE001 - a checkpoint that cannot be used: say so, time ONNX Runtime anyway
        if checkpoint is not None:
            fail(str(e))
        note = f"PyTorch eager not measured: {type(e).__name__}: {e}"
    if eager is None:
        notes.append(note)
    return bench_generator(
        model,
        batch,
        threads,
        repeats,
        eager=eager,
        eager_note=note,
        eager_weights=weights,
        compare=eager is not None and checkpoint is not None,
        int8=int8,
    )


def _first_face_photo(photos: list[Path]) -> Any:
    from unmask.infer.io.read import ImageError, read_image

    for p in photos:
        try:
            return read_image(p).rgb
        except ImageError:
            continue
    fail("no readable photo for the scaling runs")


class _Status:
    """Progress lines on stderr while the benchmark runs (a transient bar for the folder run on a terminal)."""

    def __init__(self) -> None:
        self._bar: Counter | None = None

    def say(self, text: str) -> None:
        self.done()
        say(f"bench: {text}")

    def progress(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = Counter(total, "bench: folder run", "bar", "count", "eta", unit="photos").__enter__()
        self._bar.count(done, total)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
