"""One input of a batch: :func:`process` (a photo: read, restore, write, one :class:`~unmask.infer.runner.records.Record`)
and :func:`process_video` (a video, streamed frame by frame). Every failure, expected or not, becomes a ``failed``
record with a one-line reason; the main output is written last, after the extra images. Also the user's own mask
and edge files (:func:`load_user_mask`, :func:`load_user_edges`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from unmask.spec import VERSION
from unmask.infer.runner.outputs import EXTRAS, extras, outputs
from unmask.infer.runner.records import DONE, BatchOptions, Record
from unmask.infer.runner.state import StateFile
from unmask.edges import EdgeGuide
from unmask.infer.inputs import Job
from unmask.infer.io.provenance import Provenance, drawn_tag, is_drawn
from unmask.infer.io.read import DEFAULT_MAX_PIXELS, ImageError, read_image
from unmask.infer.io.write import write_image, write_picture
from unmask.infer.pipeline import Restorer
from unmask.infer.show import draw_faces
from unmask.infer.stages import READ, WRITE
from unmask.spec import is_hole

MIN_SIDE = 16  # photos smaller than this hold no face we can find


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


State = tuple[StateFile, str]
"""The output folder's state file and the key of this batch's settings (:mod:`unmask.infer.runner.state`)."""


def _recalled(job: Job, options: BatchOptions, state: State | None, rec: Record) -> bool:
    """Fills ``rec`` from the state file when an earlier run with the same settings found nothing to restore in
    ``job`` (and wrote every extra image asked for now); whether it did."""
    if state is None or options.overwrite:
        return False
    e = state[0].recall(job.source, job.output, state[1])
    if e is None or not all(os.path.exists(p) for _, p in extras(job, options) if _ == "faces"):
        return False
    rec.status = e["status"]
    rec.note = f"{e.get('note') or rec.status} (found by an earlier run: not looked at again; --overwrite looks again)"
    return True


def _remember(job: Job, rec: Record, state: State | None) -> None:
    if state is not None and rec.status in DONE:
        state[0].remember(job.source, job.output, state[1], rec.status, rec.note)


def _nothing_restored(faces: list) -> tuple[str, str]:
    """(status, note) of a photo where no face was restored: ``no-face`` when no face was examined for a censor
    (none found, or every one too small, beyond ``--max-faces`` or not chosen), else ``no-censor``."""
    if not faces:
        return "no-face", "no face found"
    examined = [f for f in faces if f.status != "skipped"]
    why = "; ".join(sorted({_short(f.decision) for f in (examined or faces)}))
    if not examined:
        return "no-face", f"no face to restore: {len(faces)} found, {why}"
    n = len(examined)
    return "no-censor", f"{n} face{'s' if n > 1 else ''} found, none covered: {why}"


def _short(decision: str) -> str:
    """A face's decision without what the line says already: ``region eyes requested: no censor found over the
    eyes: left untouched (--force ...)`` -> ``no censor found over the eyes (--force ...)``."""
    if decision.startswith("region ") and " requested: " in decision:
        decision = decision.split(" requested: ", 1)[1]
    return decision.replace(": left untouched", "")


def settled(job: Job, options: BatchOptions, state: State | None = None) -> Record | None:
    """The record of ``job`` when it needs no work, else ``None``: ``exists`` when its outputs exist (unless
    ``options.overwrite``), or the state file's outcome when an earlier run with the same settings found nothing to
    restore in it. :func:`process` and :func:`process_video` ask it first; a distributed run (:mod:`unmask.ray`)
    asks it before handing the job out."""
    rec = Record(str(job.source), str(job.output), "exists")
    if not options.overwrite and all(os.path.exists(p) for p in outputs(job, options)):
        rec.note = "its output exists (--overwrite redoes it)"
        return rec
    if _recalled(job, options, state, rec):
        rec.output = None  # no output was written for it
        return rec
    return None


def process(job: Job, restorer: Restorer, options: BatchOptions, state: State | None = None) -> Record:
    """Restores one job; every failure, expected or not, becomes a ``failed`` record (never an exception, except
    ``KeyboardInterrupt`` and the like). ``state``: the output folder's state file, to skip an input an earlier
    run found nothing to restore in, and to remember this one's. With ``options.draw_only`` only the faces picture
    is written."""
    t0 = time.perf_counter()
    rec = Record(str(job.source), str(job.output), "failed")
    timings: dict[str, float] = {}
    written = False
    try:
        if options.draw_only:
            state = None  # the picture is drawn every time: it is what was asked for
        elif (done := settled(job, options, state)) is not None:
            rec = done
            return rec
        t = time.perf_counter()
        loaded = read_image(job.source, options.max_pixels)
        timings[READ] = time.perf_counter() - t
        if loaded.provenance is not None:
            rec.status, rec.note = "skipped", _earlier_output(loaded.provenance)
            return rec
        h, w = loaded.rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            rec.status, rec.note = "no-face", f"{w}x{h} pixels is too small to hold a face"
            _remember(job, rec, state)
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
            rec.warnings.append(
                f"no face numbered {', '.join(map(str, missing))} in this photo ({len(result.faces)} found)"
            )
        if options.show_faces and job.source in options.show_faces:  # also when nothing was restored
            picture = draw_faces(loaded.rgb, result.faces, planned=options.draw_only)
            write_picture(options.show_faces[job.source], picture, drawn_tag(FACES_PICTURE, VERSION, len(result.faces)))
        if result.restored == 0:
            rec.status, rec.note = _nothing_restored(result.faces)
            _remember(job, rec, state)
            return rec
        if options.draw_only:
            rec.status = "drawn"
            rec.note = f"faces picture {options.show_faces[job.source]}: {result.restored} face(s) to restore (nothing restored: --show-faces alone only draws; add --restore)"
            return rec
        tag = Provenance(
            regions=result.regions,
            model=rec.model,
            model_version=_versions(restorer, {f.model for f in result.faces if f.status == "restored"}),
            tool_version=VERSION,
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
        timings[WRITE] = time.perf_counter() - t
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
            rec.faces = [_unwritten(f, rec.status) for f in rec.faces]
        rec.seconds = time.perf_counter() - t0
        rec.timings = timings
    return rec


def _unwritten(face: dict, status: str) -> dict:
    """A face's report when its photo's output was not written: a face the generator restored reads ``failed``
    when the photo failed (its restoration is lost), ``to-restore`` when only its picture was drawn."""
    if face.get("status") != "restored":
        return face
    return {**face, "status": "failed" if status == "failed" else "to-restore"}


def process_video(job: Job, restorer: Restorer, options: BatchOptions,
                  on_frame: Callable[[Job, int, int], None] | None = None, state: State | None = None) -> Record:  # fmt: skip
    """Restores one video (:func:`unmask.infer.video.restore.restore_video`: every frame, audio copied, written
    atomically); as :func:`process`, every failure becomes a ``failed`` record with one line. ``--show-faces``
    draws the first frame in which a face is found, its faces numbered as ``--faces`` numbers them; alone
    (``options.draw_only``) it only draws (:func:`_draw_video`)."""
    from unmask.infer.video.restore import restore_video

    t0 = time.perf_counter()
    rec = Record(str(job.source), str(job.output), "failed")
    try:
        if options.draw_only:
            _draw_video(job, restorer, options, rec)
            return rec
        if (done := settled(job, options, state)) is not None:
            rec = done
            return rec
        if options.user_mask is not None or options.user_edges is not None:
            raise ValueError("--mask and --edges are for photos, not videos (a video's faces move)")
        if options.compare or options.save_mask:
            rec.warnings.append("--compare and --save-mask are for photos: none written for a video")

        def tag(stats) -> Provenance:  # noqa: ANN001 - VideoStats
            return Provenance(*stats.restored_with.names(), _versions(restorer, stats.models), VERSION, stats.faces)

        progress = None if on_frame is None else (lambda done, total: on_frame(job, done, total))
        stats = restore_video(job.source, job.output, restorer, options.video, tag, progress)
        if stats.skipped is not None:
            rec.status, rec.note = "skipped", _earlier_output(stats.skipped)
            return rec
        rec.video, rec.timings, rec.faces = stats.to_dict(), stats.timings, stats.faces_found()
        if options.show_faces and job.source in options.show_faces and stats.first is not None:
            write_picture(options.show_faces[job.source], draw_faces(stats.first[1], stats.first[2]))
        rec.regions, rec.model = stats.restored_with.names()
        rec.warnings += stats.warnings + _model_warnings(restorer)
        if not stats.frames_restored:
            if stats.frames_no_face == stats.frames:
                rec.status, rec.note = "no-face", "no face found in any frame"
            elif all(f["status"] == "skipped" for f in rec.faces):  # none examined: not chosen, as a photo's
                why = "; ".join(sorted({f["decision"].split(" (on ")[0] for f in rec.faces}))
                rec.status, rec.note = "no-face", f"no face to restore: {len(rec.faces)} followed, {why}"
            else:
                rec.status, rec.note = "no-censor", "no censor found on any face in any frame"
            _remember(job, rec, state)
            return rec
        rec.status = "restored"
    except Exception as e:  # noqa: BLE001 - one input must not stop the batch: a failed record, one line
        rec.error = _one_line(e)
    finally:
        if rec.status not in ("exists", "restored"):
            rec.output = None  # no output was written for it
        rec.seconds = time.perf_counter() - t0
    return rec


def _draw_video(job: Job, restorer: Restorer, options: BatchOptions, rec: Record) -> None:
    """``--show-faces`` alone on a video: the first frame in which a face is found, drawn as a photo's faces are
    (nothing restored, no output); ``rec`` says what was found."""
    from unmask.infer.video.restore import first_faces
    from unmask.infer.video.stream import VideoReader

    with VideoReader(job.source, options.max_pixels) as reader:  # the size checked before a frame is decoded
        tag = reader.info.provenance
    if tag is not None:
        rec.status, rec.note = "skipped", _earlier_output(tag)
        return
    index, rgb, reports = first_faces(job.source, restorer, options.video)
    target = options.show_faces[job.source]  # type: ignore[index] - draw_only comes with pictures
    write_picture(target, draw_faces(rgb, reports, planned=True))
    rec.faces = [_unwritten(r.to_dict(), "drawn") for r in sorted(reports, key=lambda r: r.index or 0)]
    to_restore = sum(r.status == "restored" for r in reports)
    if not to_restore:
        rec.status, rec.note = _nothing_restored(reports)
        rec.note += f" (faces picture {target}, frame {index})"
        return
    rec.status = "drawn"
    rec.note = (f"faces picture {target}: frame {index}, {to_restore} face(s) to restore (nothing restored: "
                "--show-faces alone only draws; add --restore)")  # fmt: skip


def _model_warnings(restorer: Restorer) -> list[str]:
    """The warnings the models gathered since last asked (a CUDA failure that fell back to CPU), cleared."""
    out: list[str] = []
    for m in restorer.models.values():
        out += getattr(m, "warnings", [])[:]
        if hasattr(m, "warnings"):
            m.warnings.clear()
    return out


FACES_PICTURE = "faces picture"
"""What a ``--show-faces`` picture's tag calls it (:func:`unmask.infer.io.provenance.drawn_tag`)."""


def _earlier_output(tag: dict) -> str:
    if is_drawn(tag):
        return f"already an output of unmask (a {tag['drawn']} drawn by --show-faces; it carries the provenance tag): not restored"
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
            f"mask {options.user_mask_path} is {m.shape[1]}x{m.shape[0]} but the photo is {shape[1]}x{shape[0]}",
            "unsupported",
        )
    return m


def _fit_user_edges(options: BatchOptions, shape: tuple[int, int]) -> EdgeGuide | None:
    g = options.user_edges
    if g is not None and g.edges.shape[:2] != shape:
        raise ImageError(
            f"edge map {options.user_edges_path} is {g.edges.shape[1]}x{g.edges.shape[0]} but the photo is {shape[1]}x{shape[0]}",
            "unsupported",
        )
    return g


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
    where = (
        np.full(edges.shape, 255, np.uint8)
        if loaded.alpha is None
        else np.where(is_hole(loaded.alpha), 255, 0).astype(np.uint8)
    )
    return EdgeGuide(edges, where)
