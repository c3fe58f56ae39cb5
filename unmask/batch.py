"""Many photos: read, restore, write, one record per input. Never prints; the CLI renders the records.

Guarantees: inputs are never written to; no output, main or extra (``--compare``, ``--save-mask``), is written twice
in one run (a clash fails the later input); an input whose outputs all exist is skipped unless ``overwrite`` (so an
interrupted folder run resumes where it stopped), and its main output is written last, so an input is never taken
for done while an extra image is missing; each output is written atomically by :func:`unmask.io.write_image` (a
full disk is a failure, never a truncated file); any failure while handling one input, expected or not, yields a
``failed`` record with a one-line reason and the batch goes on; photos that already carry unmask's provenance tag
(outputs of an earlier run) are ``skipped``, not restored again.

:func:`check_output_folder` and :func:`lock_output_folder` are for the caller, before and around a batch: an output
folder that cannot be written, or that another run is writing into, is a usage error, not a failure per photo.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

try:
    import fcntl
except ImportError:  # not on Windows: no lock, the temporary files' process ids still keep runs apart
    fcntl = None  # type: ignore[assignment]

import numpy as np

from unmask import __version__
from unmask.edges import EdgeGuide
from unmask.inputs import Job, Skip
from unmask.io import DEFAULT_MAX_PIXELS, ImageError, Provenance, read_image, remove_stale_temps, write_image, write_png
from unmask.pipeline import Restorer
from unmask.show import draw_faces
from unmask.video.formats import is_video_name

if TYPE_CHECKING:  # pragma: no cover
    from unmask.video.restore import VideoSettings
from unmask.spec import is_hole

MIN_SIDE = 16  # photos smaller than this hold no face we can find
STATUSES = ("restored", "no-face", "exists", "skipped", "failed", "notice")
"""``skipped``: the input is itself an output of unmask (it carries the provenance tag) and is not restored again."""


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
    video: dict | None = None  # a video's frames, frames restored, frames with no face, fps and seconds per stage

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict:
        video = {} if self.video is None else {"video": self.video}
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
            **video,
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
    video: VideoSettings | None = None  # codec, CRF, steadiness of videos (None: the defaults)
    show_faces: Mapping[Path, Path] | None = None  # where each photo's faces picture goes (faces_pictures)


def sidecar(output: Path, what: str) -> Path:
    """``out/b/c.jpg`` -> ``out/b/c.WHAT.png`` (compare and mask images are always PNG)."""
    return output.with_name(f"{output.stem}.{what}.png")


EXTRAS = {"compare": "compare image", "mask": "mask image", "faces": "faces picture"}
"""Extra images a job may write next to its output (:func:`sidecar` names) and how a message calls them."""


def extras(job: Job, options: BatchOptions) -> list[tuple[str, Path]]:
    """The extra images ``options`` asks of ``job``: ``(kind, path)`` for ``--compare`` and ``--save-mask``
    (none for a video)."""
    if is_video_name(job.source):
        return []
    wanted = [("compare", options.compare), ("mask", options.save_mask)]
    shown = [("faces", options.show_faces[job.source])] if options.show_faces and job.source in options.show_faces else []
    return [(what, sidecar(job.output, what)) for what, on in wanted if on] + shown


def faces_pictures(items: Iterable[Job | Skip], target: Path, out_dir: Path) -> dict[Path, Path]:
    """Where ``--show-faces TARGET`` puts each photo's faces picture (:func:`unmask.show.draw_faces`): ``target``
    itself for a run of one photo (unless it is a folder), else ``TARGET/<the output's place under out_dir>``
    named ``NAME.faces.png``; ``ValueError`` when ``target`` is a file and there are several photos."""
    jobs = [i for i in items if isinstance(i, Job) and not is_video_name(i.source)]
    if len(jobs) == 1 and not target.is_dir():
        return {jobs[0].source: target}
    if target.exists() and not target.is_dir():
        raise ValueError(f"--show-faces {target} is a file: for {len(jobs)} photos give a folder")
    out: dict[Path, Path] = {}
    for job in jobs:
        try:
            rel = job.output.relative_to(out_dir)
        except ValueError:
            rel = Path(job.output.name)
        out[job.source] = sidecar(target / rel, "faces")
    return out


def outputs(job: Job, options: BatchOptions) -> list[Path]:
    """Every file ``job`` writes: its extra images, then its main output (written last)."""
    return [p for _, p in extras(job, options)] + [job.output]


def _norm(path: Path) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def plan_clashes(items: list[Job | Skip], options: BatchOptions) -> dict[int, str]:
    """Jobs (by position in ``items``) whose extra images clash: with another job's main output (main outputs
    win: a side image never costs another photo its restoration), with an earlier job's extra image, or with an
    input file. The reason is one line."""
    mains = {_norm(i.output): i for i in items if isinstance(i, Job)}
    inputs: dict[tuple[int, int], Path] = {}
    for i in items:
        key = _file_key(i.source if isinstance(i, Job) else i.path)
        if key is not None:
            inputs.setdefault(key, i.source if isinstance(i, Job) else i.path)
    taken: dict[str, tuple[Job, str]] = {}
    clashes: dict[int, str] = {}
    for k, item in enumerate(items):
        if not isinstance(item, Job):
            continue
        mine: list[tuple[str, str]] = []
        for what, path in extras(item, options):
            n = _norm(path)
            key = _file_key(path)
            if n in mains:
                clashes[k] = f"its {EXTRAS[what]} {path} would overwrite the output of {mains[n].source}"
            elif n in taken:
                other, other_what = taken[n]
                clashes[k] = f"its {EXTRAS[what]} {path} is already the {EXTRAS[other_what]} of {other.source}"
            elif key is not None and key in inputs:
                clashes[k] = f"its {EXTRAS[what]} {path} is the input {inputs[key]} (inputs are never written to)"
            else:
                mine.append((n, what))
                continue
            break
        if k not in clashes:
            for n, what in mine:
                taken[n] = (item, what)
    return clashes


def check_output_folder(out_dir: str | os.PathLike[str]) -> str | None:
    """Why ``out_dir`` cannot receive outputs (one line), or ``None``: it is a file, not writable, or cannot be
    created (its nearest existing parent is a file or not writable). Nothing is created."""
    out = Path(out_dir)
    try:
        if os.path.exists(out):
            if not os.path.isdir(out):
                return f"output folder {out} is a file, not a folder"
            if not os.access(out, os.W_OK | os.X_OK):
                return f"output folder {out} is not writable"
            return None
        if os.path.lexists(out):
            return f"output folder {out} is a broken symbolic link"
        parent = out.parent
        while not os.path.lexists(parent) and parent != parent.parent:
            parent = parent.parent
        if not os.path.isdir(parent):
            return f"output folder {out} cannot be created: {parent} is not a folder"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"output folder {out} cannot be created: {parent} is not writable"
    except (OSError, ValueError) as e:
        return f"output folder {out}: {getattr(e, 'strerror', None) or e}"
    return None


class OutputFolderError(RuntimeError):
    """The output folder cannot be used (one line, naming the folder): a usage error, not a failure per photo."""


class OutputBusy(OutputFolderError):
    """Another run holds the lock of the output folder."""


@contextlib.contextmanager
def lock_output_folder(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Creates ``out_dir`` and holds an exclusive lock on it (``flock`` on the folder itself, so no lock file is
    left behind) while the block runs; raises :class:`OutputBusy` at once when another process holds it (and
    :class:`OutputFolderError` when the folder cannot be created). Where
    locks are not available (no ``fcntl``, a file system without ``flock``) the block runs unlocked: the temporary
    files still carry their process id, so no run deletes another live run's files."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputFolderError(f"output folder {out} cannot be created: {e.strerror or e}") from None
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(out, os.O_RDONLY)
        except OSError:
            fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputBusy(
                    f"output folder {out} is in use by another unmask run; wait for it to finish or choose another --out"
                ) from None
            except OSError:  # no flock on this file system: run unlocked
                pass
        yield out
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def run_batch(items: Iterable[Job | Skip], restorer: Restorer, options: BatchOptions,
              on_frame: Callable[[Job, int, int], None] | None = None) -> Iterator[Record]:  # fmt: skip
    """One :class:`Record` per job or skip, in order (preceded by a notice when temporary files that a killed run
    left next to this batch's outputs were removed). Videos go through :func:`process_video`, which calls
    ``on_frame(job, frames done, frames declared)`` after each frame."""
    items = list(items)
    clashes = plan_clashes(items, options)
    every = [p for i in items if isinstance(i, Job) for p in outputs(i, options)]
    stale = remove_stale_temps(every)
    if stale:
        yield Record(str(stale[0].parent), None, "notice",
                     error=f"removed {len(stale)} temporary file(s) left by an interrupted run")  # fmt: skip
    for k, item in enumerate(items):
        if isinstance(item, Skip):
            yield Record(str(item.path), None, "failed" if item.failed else "notice", error=item.reason)
        elif k in clashes:
            yield Record(str(item.source), None, "failed", error=clashes[k])
        elif is_video_name(item.source):
            yield process_video(item, restorer, options, on_frame)
        else:
            yield process(item, restorer, options)


def _one_line(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return "out of memory"
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror + (f": {e.filename}" if e.filename else "")
    else:
        text = str(e) or type(e).__name__
        if not isinstance(e, (ValueError, ImageError)):
            text = f"{type(e).__name__}: {text}"
    return " ".join(text.split())


def process(job: Job, restorer: Restorer, options: BatchOptions) -> Record:
    """Restores one job; every failure, expected or not, becomes a ``failed`` record (never an exception, except
    ``KeyboardInterrupt`` and the like)."""
    t0 = time.perf_counter()
    rec = Record(str(job.source), str(job.output), "failed")
    timings: dict[str, float] = {}
    written = False
    try:
        if not options.overwrite and all(os.path.exists(p) for p in outputs(job, options)):
            rec.status = "exists"
            return rec
        t = time.perf_counter()
        loaded = read_image(job.source, options.max_pixels)
        timings["read"] = time.perf_counter() - t
        if loaded.provenance is not None:
            rec.status, rec.error = "skipped", _earlier_output(loaded.provenance)
            return rec
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
        rec.warnings += _model_warnings(restorer)
        if result.too_small:
            rec.warnings.append(f"{result.too_small} face(s) smaller than the minimum face size skipped")
        beyond = _faces_beyond_limit(restorer, len(result.faces) - result.too_small, result.beyond)
        if beyond:
            rec.warnings.append(beyond)
        missing = restorer.choose.missing(len(result.faces))
        if missing:
            rec.warnings.append(f"no face numbered {', '.join(map(str, missing))} in this photo ({len(result.faces)} found)")
        if options.show_faces and job.source in options.show_faces:  # also when nothing was restored
            write_png(options.show_faces[job.source], draw_faces(loaded.rgb, result.faces))  # no tag: nothing synthetic
        if result.restored == 0:
            rec.status = "no-face"
            if not result.faces:
                rec.error = "no face found"
            else:
                rec.error = "no face needed restoring (" + "; ".join(sorted({f.decision for f in result.faces})) + ")"
            return rec
        tag = Provenance(
            regions=result.regions,
            model=rec.model,
            model_version=_versions(restorer, {f.model for f in result.faces if f.status == "restored"}),
            tool_version=__version__,
            faces=result.restored,
        )
        t = time.perf_counter()
        for what, path in extras(job, options):  # the main output last: it marks the input as done
            if what == "compare":
                image = np.concatenate([loaded.rgb, result.rgb], axis=1)
            elif what == "mask" and result.hole is not None:
                image = np.repeat(result.hole[..., None], 3, axis=2)
            else:
                continue  # the faces picture is written already
            _write_extra(what, path, image, tag)
        write_image(job.output, result.rgb, like=loaded, tag=tag)
        written = True
        timings["write"] = time.perf_counter() - t
        if loaded.frames > 1:
            rec.warnings.append(
                f"{loaded.format} with {loaded.frames} frames: only the first frame was restored; the output has one frame"
            )
        rec.status = "restored"
    except MemoryError:
        rec.error = "out of memory"
    except Exception as e:  # noqa: BLE001 - one input must not stop the batch: a failed record, one line
        rec.error = _one_line(e)
    finally:
        if rec.status != "exists" and not written:
            rec.output = None  # no output was written for it
        rec.seconds = time.perf_counter() - t0
        rec.timings = timings
    return rec


def process_video(job: Job, restorer: Restorer, options: BatchOptions,
                  on_frame: Callable[[Job, int, int], None] | None = None) -> Record:  # fmt: skip
    """Restores one video (:func:`unmask.video.restore.restore_video`: every frame, audio copied, written
    atomically); as :func:`process`, every failure becomes a ``failed`` record with one line."""
    from unmask.video.restore import restore_video

    t0 = time.perf_counter()
    rec = Record(str(job.source), str(job.output), "failed")
    try:
        if not options.overwrite and os.path.exists(job.output):
            rec.status = "exists"
            return rec
        if options.user_mask is not None or options.user_edges is not None:
            raise ValueError("--mask and --edges are for photos, not videos (a video's faces move)")
        if options.compare or options.save_mask:
            rec.warnings.append("--compare and --save-mask are for photos: none written for a video")

        def tag(stats) -> Provenance:  # noqa: ANN001 - VideoStats
            return Provenance(sorted(stats.regions), ",".join(sorted(stats.models)), _versions(restorer, stats.models),
                              __version__, stats.faces)  # fmt: skip

        progress = None if on_frame is None else (lambda done, total: on_frame(job, done, total))
        stats = restore_video(job.source, job.output, restorer, options.video, tag, progress)
        if stats.skipped is not None:
            rec.status, rec.error = "skipped", _earlier_output(stats.skipped)
            return rec
        rec.video, rec.timings = stats.to_dict(), stats.timings
        rec.regions, rec.model = sorted(stats.regions), ",".join(sorted(stats.models))
        rec.warnings += stats.warnings + _model_warnings(restorer)
        if not stats.frames_restored:
            rec.status = "no-face"
            rec.error = "no face found in any frame" if stats.frames_no_face == stats.frames else "no censor found on any face in any frame"
            return rec
        rec.status = "restored"
    except Exception as e:  # noqa: BLE001 - one input must not stop the batch: a failed record, one line
        rec.error = _one_line(e)
    finally:
        if rec.status not in ("exists", "restored"):
            rec.output = None  # no output was written for it
        rec.seconds = time.perf_counter() - t0
    return rec


def _model_warnings(restorer: Restorer) -> list[str]:
    """The warnings the models gathered since last asked (a CUDA failure that fell back to CPU), cleared."""
    out: list[str] = []
    for m in restorer.models.values():
        out += getattr(m, "warnings", [])[:]
        if hasattr(m, "warnings"):
            m.warnings.clear()
    return out


def _earlier_output(tag: dict) -> str:
    what = ", ".join(str(r) for r in tag.get("regions") or []) or "faces"
    model = f" by model {tag['model']}" if tag.get("model") else ""
    return f"already an output of unmask ({what} restored{model}; it carries the provenance tag): not restored again"


def _faces_beyond_limit(restorer: Restorer, found: int, beyond: int) -> str | None:
    """A warning when the photo holds more faces than the finder's ``max_faces`` (``beyond`` of them past it)."""
    limit = getattr(getattr(restorer, "finder", None), "max_faces", None)
    if not beyond or not limit:
        return None
    return (f"{found} faces found but --max-faces is {limit}: only the {limit} largest were considered, "
            f"{beyond} left untouched (raise --max-faces)")  # fmt: skip


def _write_extra(what: str, path: Path, image: np.ndarray, tag: Provenance) -> None:
    """Writes an extra image (PNG); a failure names it."""
    try:
        write_image(path, image, tag=tag, format="PNG")
    except ImageError as e:
        raise ImageError(f"{EXTRAS[what]} {path.name}: {e}", e.kind) from None


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
    hole = is_hole(gray)
    if invert:
        hole = ~hole
    return (hole * 255).astype(np.uint8)


def load_user_edges(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> EdgeGuide:
    """A user's edge map file: white (grey above 127) = edge, black = no edge; where the file has an alpha channel,
    transparent pixels (alpha up to 127) give no edges and leave the model's own prediction there."""
    loaded = read_image(path, max_pixels)
    edges = np.where(is_hole(loaded.rgb.mean(axis=2)), 255, 0).astype(np.uint8)
    where = np.full(edges.shape, 255, np.uint8) if loaded.alpha is None else np.where(is_hole(loaded.alpha), 255, 0).astype(np.uint8)
    return EdgeGuide(edges, where)
