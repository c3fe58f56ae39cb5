"""Many photos: read, restore, write, one record per input. Never prints; the CLI renders the records.

Guarantees: inputs are never written to; an existing output is skipped unless ``overwrite`` (so an interrupted
folder run resumes where it stopped); each output is written atomically by :func:`unmask.io.write_image`; a broken
input yields a ``failed`` record with a one-line reason and the batch goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from unmask import __version__
from unmask.edges import EdgeGuide
from unmask.inputs import Job, Skip
from unmask.io import DEFAULT_MAX_PIXELS, ImageError, Provenance, read_image, remove_stale_temps, write_image
from unmask.pipeline import Restorer

MIN_SIDE = 16  # photos smaller than this hold no face we can find
STATUSES = ("restored", "no-face", "exists", "failed", "notice")


@dataclass
class Record:
    """What happened to one input. ``status`` is one of :data:`STATUSES`."""

    input: str
    output: str | None
    status: str
    faces: list[dict] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    model: str = ""
    error: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "faces": self.faces,
            "region": ",".join(self.regions) or None,
            "model": self.model,
            "error": self.error,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class BatchOptions:
    overwrite: bool = False
    compare: bool = False
    save_mask: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    user_mask: np.ndarray | None = None
    user_mask_path: str | None = None
    user_edges: EdgeGuide | None = None
    user_edges_path: str | None = None


def sidecar(output: Path, what: str) -> Path:
    """``out/b/c.jpg`` -> ``out/b/c.WHAT.png`` (compare and mask images are always PNG)."""
    return output.with_name(f"{output.stem}.{what}.png")


def run_batch(items: Iterable[Job | Skip], restorer: Restorer, options: BatchOptions) -> Iterator[Record]:
    """One :class:`Record` per job or skip, in order (preceded by a notice when temporary files that a killed run
    left next to this batch's outputs were removed)."""
    items = list(items)
    outputs = [i.output for i in items if isinstance(i, Job)]
    stale = remove_stale_temps(outputs + [sidecar(o, w) for o in outputs for w in ("compare", "mask")])
    if stale:
        yield Record(str(stale[0].parent), None, "notice",
                     error=f"removed {len(stale)} temporary file(s) left by an interrupted run")  # fmt: skip
    for item in items:
        if isinstance(item, Skip):
            yield Record(str(item.path), None, "failed" if item.failed else "notice", error=item.reason)
            continue
        yield process(item, restorer, options)


def process(job: Job, restorer: Restorer, options: BatchOptions) -> Record:
    t0 = time.perf_counter()
    rec = Record(str(job.source), str(job.output), "failed")
    if job.output.exists() and not options.overwrite:
        rec.status = "exists"
        rec.seconds = time.perf_counter() - t0
        return rec
    try:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        loaded = read_image(job.source, options.max_pixels)
        timings["read"] = time.perf_counter() - t
        h, w = loaded.rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            rec.status, rec.error = "no-face", f"{w}x{h} pixels is too small to hold a face"
            return rec
        mask = _fit_user_mask(options, (h, w))
        edges = _fit_user_edges(options, (h, w))
        result = restorer.restore(loaded.rgb, user_mask=mask, want_mask=options.save_mask, edges=edges)
        timings.update(result.timings)
        rec.faces = [f.to_dict() for f in result.faces]
        rec.regions = result.regions
        rec.model = ",".join(sorted({f.model for f in result.faces if f.model}))
        for m in restorer.models.values():
            rec.warnings += getattr(m, "warnings", [])[:]
            if hasattr(m, "warnings"):
                m.warnings.clear()
        if result.too_small:
            rec.warnings.append(f"{result.too_small} face(s) smaller than the minimum face size skipped")
        if result.restored == 0:
            rec.status = "no-face"
            if not result.faces:
                rec.error = "no face found"
            else:
                rec.error = "no face needed restoring (" + "; ".join(sorted({f.decision for f in result.faces})) + ")"
            rec.output = None
            return rec
        tag = Provenance(
            regions=result.regions,
            model=rec.model,
            model_version=_versions(restorer, {f.model for f in result.faces if f.status == "restored"}),
            tool_version=__version__,
            faces=result.restored,
        )
        t = time.perf_counter()
        write_image(job.output, result.rgb, like=loaded, tag=tag)
        if options.compare:
            both = np.concatenate([loaded.rgb, result.rgb], axis=1)
            write_image(sidecar(job.output, "compare"), both, tag=tag, format="PNG")
        if options.save_mask and result.hole is not None:
            write_image(sidecar(job.output, "mask"), np.repeat(result.hole[..., None], 3, axis=2), tag=tag, format="PNG")
        timings["write"] = time.perf_counter() - t
        rec.status = "restored"
        rec.timings = timings
    except ImageError as e:
        rec.error = str(e)
        rec.output = None
    except MemoryError:
        rec.error = "out of memory"
        rec.output = None
    finally:
        rec.seconds = time.perf_counter() - t0
        if not rec.timings and "timings" in locals():
            rec.timings = timings
    return rec


def _versions(restorer: Restorer, used: set[str]) -> str:
    out = set()
    for m in restorer.models.values():
        meta = getattr(m, "meta", None)
        if getattr(m, "name", None) in used and getattr(meta, "version", ""):
            out.add(meta.version)
    return ",".join(sorted(out))


def _fit_user_mask(options: BatchOptions, shape: tuple[int, int]) -> np.ndarray | None:
    m = options.user_mask
    if m is None:
        return None
    if m.shape[:2] != shape:
        raise ImageError(
            f"mask {options.user_mask_path} is {m.shape[1]}x{m.shape[0]} but the photo is {shape[1]}x{shape[0]}", "unsupported"
        )
    return m


def _fit_user_edges(options: BatchOptions, shape: tuple[int, int]) -> EdgeGuide | None:
    g = options.user_edges
    if g is not None and g.edges.shape[:2] != shape:
        raise ImageError(
            f"edge map {options.user_edges_path} is {g.edges.shape[1]}x{g.edges.shape[0]} but the photo is {shape[1]}x{shape[0]}", "unsupported"
        )
    return g


def summary(records: Iterable[Record]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for r in records:
        counts[r.status] += 1
    return counts


def load_user_mask(path: str | Path, invert: bool, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A user's mask file as HxW uint8 with 255 = hole (white = hole, or black with ``invert``)."""
    loaded = read_image(path, max_pixels)
    gray = loaded.rgb.mean(axis=2)
    hole = gray >= 128
    if invert:
        hole = ~hole
    return (hole * 255).astype(np.uint8)


def load_user_edges(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> EdgeGuide:
    """A user's edge map file: white (grey >= 128) = edge, black = no edge; where the file has an alpha channel,
    transparent pixels (alpha < 128) give no edges and leave the model's own prediction there."""
    loaded = read_image(path, max_pixels)
    edges = np.where(loaded.rgb.mean(axis=2) >= 128, 255, 0).astype(np.uint8)
    where = np.full(edges.shape, 255, np.uint8) if loaded.alpha is None else np.where(loaded.alpha >= 128, 255, 0).astype(np.uint8)
    return EdgeGuide(edges, where)
