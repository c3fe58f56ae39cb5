"""What ``unmask bench`` shows: the folder runs per stage, the generator alone, scaling and memory, as tables and
lines on stdout (``--json`` prints the report instead)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from unmask.cli._common import out, say

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.bench import BenchReport


def _ms(v: Optional[float]) -> str:
    return "-" if v is None else f"{1000 * v:.1f}"


def render(report: BenchReport) -> None:
    """The tables and lines of ``unmask bench`` on stdout."""
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
