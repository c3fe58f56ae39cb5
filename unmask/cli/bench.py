"""``unmask bench [FOLDER]``: time the pipeline per stage over a folder, the generator alone in ONNX Runtime vs
PyTorch eager, and (``--scaling``) faces per photo, photo size, batch size and peak memory. Measurements only: the
project's targets for them are in ``benchmarks/targets.py``, which reads ``--json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from unmask.cli._common import (
    EXIT_OK,
    Device,
    Region,
    err,
    fail,
    guarded,
    out,
    photos_or_fail,
    say,
    set_threads,
)
from unmask.cli.progress import Counter

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.baselines import Baseline
    from unmask.measure.bench import BenchReport
    from unmask.measure.generator import GeneratorBench
    from unmask.infer.runtime import Model


def register(app: typer.Typer) -> None:
    app.command(
        "bench",
        help="Time the pipeline per stage over a folder, the generator in ONNX Runtime vs PyTorch eager, and scaling.",
    )(bench)


@guarded
def bench(
    folder: Optional[Path] = typer.Argument(
        None, help="Folder of photos (default: copies of scikit-image's astronaut portrait).", show_default=False
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model name or .onnx path, or a baseline (telea, ns, none). Default: the region's default model, else telea.",
    ),
    region: Region = typer.Option(Region.eyes, "--region", "-r", help="Region restored in the folder run."),
    device: Device = typer.Option(Device.auto, "--device", help="Device for the ONNX session (and PyTorch eager)."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads for both runtimes (0 = all cores)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Faces per batch for the generator-alone timing."),
    n: int = typer.Option(50, "--n", min=1, help="Photos of the folder run (the first N, sorted)."),
    repeats: int = typer.Option(10, "--repeats", min=1, help="Timed runs per generator measurement (median reported)."),
    checkpoint: Optional[str] = typer.Option(
        None,
        "--checkpoint",
        help="Training run or .pt the model was exported from: PyTorch eager uses its weights (default: the same arch with random weights).",
    ),
    scaling: bool = typer.Option(
        False,
        "--scaling",
        help="Also: 1 vs 8 faces, 0.3-24 MP photos, batch 1/4/8, memory of a 24 MP photo with 10 faces.",
    ),
    no_folder: bool = typer.Option(False, "--no-folder", help="Skip the folder run."),
    int8: bool = typer.Option(
        True,
        "--int8/--no-int8",
        help="Also time the model's int8 copy (NAME-int8, made by `unmask quantize`) where one is installed: the generator alone and the folder run, in the same run.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout instead of tables."),
    video: bool = typer.Option(
        False,
        "--video",
        help="Time the video path instead: 720p clips made of the folder's first faces (or the astronaut) with 1 and 4 censored faces, file to file, per stage.",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> int:
    from unmask.measure.baselines import Baseline
    from unmask.measure.bench import BenchReport, temp_dir
    from unmask.measure.folder import bench_folder
    from unmask.measure.generator import resolve_threads
    from unmask.measure.probe import probe_group_photo
    from unmask.measure.scaling import scaling_batch, scaling_faces, scaling_size
    from unmask.infer.pipeline import Restorer

    threads = resolve_threads(threads)
    set_threads(threads)
    inpainter, ref = _load(model, region.value, device.value, threads)
    if video:
        from unmask.cli.video import bench_videos

        return bench_videos(folder, inpainter, inpainter.name, region.value, threads, as_json)
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
        # force: a folder of clean photos still runs the whole path (finder, generator, paste-back) for timing
        with Restorer({region.value: inpainter}, region=region.value, force=True) as restorer:
            if not no_folder:
                status.say(f"folder run: {len(photos)} photos")
                status.progress(0, len(photos))  # the bar (or plain lines) from the start: rates from here
                report.folder = bench_folder(photos, restorer, tmp / "out", on_photo=status.progress)
                if quantized is not None:
                    status.say(f"folder run with {quantized.name}: {len(photos)} photos")
                    with Restorer(
                        {region.value: quantized}, region=region.value, force=True, finder=restorer.finder
                    ) as q_restorer:
                        report.folder_int8 = bench_folder(
                            photos, q_restorer, tmp / "out-int8", on_photo=status.progress
                        )
            generator = None if isinstance(inpainter, Baseline) else inpainter
            if generator is not None:
                status.say("generator alone: ONNX Runtime vs PyTorch eager")
                report.generator = _generator(generator, batch, threads, repeats, checkpoint, report.notes, quantized)
            else:
                report.notes.append(f"{info['name']} is a classic baseline, not a generator: no generator-alone timing")
            if scaling:
                face = _first_face_photo(photos)
                status.say("scaling: faces per photo")
                report.faces = scaling_faces(face, restorer, repeats=3)
                status.say("scaling: photo size (0.3-24 MP)")
                report.sizes = scaling_size(face, restorer, tmp / "sizes", repeats=2)
                if generator is not None:
                    status.say("scaling: batch size")
                    report.batches = scaling_batch(generator, (1, 4, 8), threads, repeats=max(3, repeats // 2))
                status.say("scaling: peak memory, 24 MP photo with 10 faces (fresh process)")
                report.memory = probe_group_photo(
                    face, ref, region.value, tmp / "memory", 24, 10, device.value, threads
                )
        status.done()
    if as_json:
        print(json.dumps(report.to_dict()), flush=True)
    else:
        _render(report)
    return EXIT_OK


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


# -- rendering -------------------------------------------------------------------------------------------------
def _ms(v: Optional[float]) -> str:
    return "-" if v is None else f"{1000 * v:.1f}"


def _render(report: BenchReport) -> None:
    from rich.table import Table

    from unmask.cli._common import wide_console
    from unmask.infer.stages import OTHER
    from unmask.measure.folder import STAGES

    con = wide_console(out)
    m = report.model
    load = "" if report.load is None else f"; load average {report.load[0]:.1f} at the start on {os.cpu_count()} cores"
    say(
        f"model {m['name']} ({m['arch']}{' ' + m['preset'] if m['preset'] else ''}, {m['size']} px) on "
        f"{', '.join(m['providers']) or 'CPU'}; {report.threads} threads{load}",
        con,
    )
    runs = [(m["name"], f) for f in (report.folder,) if f is not None]
    if report.folder_int8 is not None:
        runs.append((m["int8"]["name"], report.folder_int8))
    for name, f in runs:
        t = Table(
            title=f"folder run, {name}: {f.photos} photos, {f.faces} faces restored, {f.failed} failed, {f.wall:.2f} s"
        )
        for c in ("stage", "total s", "ms/photo", "share"):
            t.add_column(c, justify="left" if c == "stage" else "right")
        for s in (*STAGES, OTHER):
            v = f.other if s == OTHER else f.stages.get(s, 0.0)
            t.add_row(s, f"{v:.3f}", f"{1000 * v / max(f.photos, 1):.1f}", f"{v / f.wall:.0%}" if f.wall else "-")
        con.print(t)
        con.print(
            f"{f.photos_per_s:.2f} photos/s ({f.photos_per_cpu_s:.2f} per CPU second), {f.faces_per_s:.2f} faces/s; resident memory {f.rss_start / 2**20:.0f} MiB "
            f"at start, peak {f.rss_peak / 2**20:.0f} MiB, drift {f.rss_drift / 2**20:+.1f} MiB over the run"
        )
    if len(runs) == 2 and runs[0][1].photos_per_s > 0:
        (a, fa), (b, fb) = runs
        cpu = f", {fb.photos_per_cpu_s / fa.photos_per_cpu_s:.2f}x per CPU second" if fa.photos_per_cpu_s else ""
        say(
            f"{b} restores {fb.photos_per_s / fa.photos_per_s:.2f}x the photos per second of {a}{cpu} (one after the "
            "other, in this run)",
            con,
        )
    g = report.generator
    if g is not None:
        t = Table(
            title=f"generator alone: batch {g.batch}, {g.threads} threads, {g.device}, {g.repeats} runs each "
            "(median; fastest)"
        )
        for c in ("runtime", "ms/batch", "fastest ms/batch", "ms/face", "faces/s", "GMAC/face", "GMAC/s"):
            t.add_column(c, justify="left" if c == "runtime" else "right")
        gm = "-" if g.macs_per_face is None else f"{g.macs_per_face / 1e9:.3f}"
        t.add_row(
            "ONNX Runtime",
            _ms(g.ort_s),
            _ms(g.ort_min_s),
            f"{g.ort_ms_per_face:.1f}",
            f"{g.batch / g.ort_s:.1f}",
            gm,
            _f(g.gmacs(g.ort_s)),
        )
        if g.int8_s is not None:
            t.add_row(
                f"ONNX Runtime int8 ({g.int8_name})",
                _ms(g.int8_s),
                _ms(g.int8_min_s),
                f"{g.int8_ms_per_face:.1f}",
                f"{g.batch / g.int8_s:.1f}",
                "-",
                "-",
            )
        if g.eager_s is not None:
            t.add_row(
                "PyTorch eager",
                _ms(g.eager_s),
                _ms(g.eager_min_s),
                f"{g.eager_ms_per_face:.1f}",
                f"{g.batch / g.eager_s:.1f}",
                gm,
                _f(g.gmacs(g.eager_s)),
            )
        con.print(t)
        if g.ratio is not None:
            say(
                f"ONNX Runtime is {g.ratio:.2f}x the speed of PyTorch eager ({g.ratio_best:.2f}x on the fastest runs). "
                f"Eager side: {g.eager_weights}"
                + ("" if g.max_abs_diff is None else f"; outputs differ by at most {g.max_abs_diff:.2e}"),
                con,
            )
        if g.int8_speedup is not None:
            say(
                f"int8 is {g.int8_speedup:.2f}x the speed of float32 in ONNX Runtime "
                f"({g.ort_min_s / g.int8_min_s:.2f}x on the fastest runs)",
                con,
            )
        if g.mac_note:
            say(f"note: {g.mac_note}", con)
    _render_scaling(con, report)
    for note in report.notes:
        say(f"note: {note}", con)


def _f(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.1f}"


def _render_scaling(con: Any, report: BenchReport) -> None:
    from rich.table import Table

    if report.faces:
        t = Table(title="faces in one photo (same canvas)")
        for c in ("faces", "restored", "restore ms", "ms/face", "vs 1 face"):
            t.add_column(c, justify="right")
        base = report.faces[0].restore_s
        for p in report.faces:
            k = int(p.label.split()[0])
            t.add_row(
                p.label,
                str(p.faces),
                _ms(p.restore_s),
                f"{1000 * p.restore_s / max(k, 1):.1f}",
                f"{p.restore_s / base:.2f}x",
            )
        con.print(t)
    if report.sizes:
        t = Table(title="photo size, one face (in memory: restore; file to file: read + restore + write)")
        for c in ("size", "pixels", "restored", "restore ms", "read ms", "write ms", "file to file ms"):
            t.add_column(c, justify="right")
        for p in report.sizes:
            t.add_row(
                p.label,
                f"{p.pixels / 1e6:.1f} M",
                str(p.faces),
                _ms(p.restore_s),
                _ms(p.read_s),
                _ms(p.write_s),
                _ms(p.total_s),
            )
        con.print(t)
    if report.batches:
        t = Table(title="generator batch size (ONNX Runtime)")
        for c in ("batch", "ms/batch", "ms/face", "faces/s"):
            t.add_column(c, justify="right")
        for b in report.batches:
            t.add_row(str(b.batch), _ms(b.ort_s), f"{b.ort_ms_per_face:.1f}", f"{b.batch / b.ort_s:.1f}")
        con.print(t)
    if report.memory is not None:
        mm = report.memory
        con.print(
            f"memory: a fresh process restoring a {mm.megapixels:g} MP photo with {mm.faces_in_photo} faces "
            f"({mm.faces} restored, {mm.status}) peaked at {mm.peak / 2**20:.0f} MiB "
            f"({mm.before / 2**20:.0f} MiB before the photo), {mm.seconds:.1f} s"
        )
